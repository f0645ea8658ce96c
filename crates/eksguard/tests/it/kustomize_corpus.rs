//! Every kustomization of the corpus, built by eksguard and by `kubectl kustomize`: the
//! objects must be the same, object for object, or both builds must fail, or eksguard's
//! build must say which kustomization field it did not carry out. Skipped with a message
//! when the corpus or kubectl is absent, unless `EKSGUARD_TEST_KUSTOMIZE=1` says kubectl
//! must be there. `EKSGUARD_TEST_KUBECTL` names the kubectl to run (default: the one on
//! `PATH`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use eksguard_load::files::LoadOptions;
use serde_json::Value;

use crate::common;

/// The corpus root: `EKSGUARD_CORPUS`, else `../shared/corpus` beside the repository.
fn corpus_root() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("EKSGUARD_CORPUS") {
        return Some(PathBuf::from(p));
    }
    common::corpus("manifests").map(|p| p.parent().unwrap().to_path_buf())
}

fn kustomization_dirs(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<PathBuf> = rd.flatten().map(|e| e.path()).collect();
    entries.sort();
    if entries.iter().any(|p| {
        p.is_file()
            && matches!(
                p.file_name().and_then(|n| n.to_str()),
                Some("kustomization.yaml" | "kustomization.yml" | "Kustomization")
            )
    }) {
        out.push(dir.to_path_buf());
    }
    for p in entries {
        if p.is_dir() && !p.is_symlink() {
            kustomization_dirs(&p, out);
        }
    }
}

/// kubectl's objects, or its error; `None` when kubectl is absent.
fn kubectl(dir: &Path) -> Option<Result<Vec<Value>, String>> {
    let kubectl = std::env::var_os("EKSGUARD_TEST_KUBECTL").unwrap_or_else(|| "kubectl".into());
    let out = Command::new(kubectl).arg("kustomize").arg(dir).output();
    let out = match out {
        Ok(o) => o,
        Err(_) => return None,
    };
    if !out.status.success() {
        return Some(Err(String::from_utf8_lossy(&out.stderr).into_owned()));
    }
    let text = String::from_utf8(out.stdout).unwrap();
    let docs = eksguard_model::yaml::parse_documents(&text, true, Default::default());
    Some(Ok(docs
        .into_iter()
        .map(|d| d.expect("kubectl prints YAML").root.to_json())
        .filter(|v| !v.is_null())
        .collect()))
}

/// A block scalar that ends its file without a final newline keeps none in kustomize;
/// eksguard's YAML reader (libyaml) adds one. Both sides drop it before comparing, so
/// that only the builds are compared.
fn without_final_newlines(v: &mut Value) {
    match v {
        Value::String(s) if s.ends_with('\n') => {
            s.pop();
        }
        Value::Array(a) => a.iter_mut().for_each(without_final_newlines),
        Value::Object(m) => m.values_mut().for_each(without_final_newlines),
        _ => {}
    }
}

fn key(v: &Value) -> String {
    let s = |p: &str| {
        v.pointer(p)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    format!(
        "{} {} {}/{}",
        s("/apiVersion"),
        s("/kind"),
        s("/metadata/namespace"),
        s("/metadata/name")
    )
}

fn by_key(objects: Vec<Value>) -> BTreeMap<String, Vec<Value>> {
    let mut m: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for mut o in objects {
        without_final_newlines(&mut o);
        m.entry(key(&o)).or_default().push(o);
    }
    m
}

/// The first difference between two object sets, for the failure message.
fn difference(ours: &[Value], theirs: &[Value]) -> Option<String> {
    let (a, b) = (by_key(ours.to_vec()), by_key(theirs.to_vec()));
    for k in a.keys().chain(b.keys()) {
        match (a.get(k), b.get(k)) {
            (Some(x), Some(y)) if x == y => {}
            (Some(x), Some(y)) => {
                let at = first_difference(&Value::from(x.clone()), &Value::from(y.clone()), "");
                return Some(format!("{k} differs at {at}"));
            }
            (Some(_), None) => return Some(format!("{k} only in eksguard's build")),
            (None, _) => return Some(format!("{k} only in kubectl's build")),
        }
    }
    None
}

/// Where two values first differ, with both sides there.
fn first_difference(a: &Value, b: &Value, at: &str) -> String {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for k in x.keys().chain(y.keys()) {
                if x.get(k) != y.get(k) {
                    let (l, r) = (
                        x.get(k).unwrap_or(&Value::Null),
                        y.get(k).unwrap_or(&Value::Null),
                    );
                    return first_difference(l, r, &format!("{at}/{k}"));
                }
            }
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            for (i, (l, r)) in x.iter().zip(y).enumerate() {
                if l != r {
                    return first_difference(l, r, &format!("{at}/{i}"));
                }
            }
        }
        (Value::String(x), Value::String(y)) => {
            let same = x.chars().zip(y.chars()).take_while(|(a, b)| a == b).count();
            let from = same.saturating_sub(40);
            let cut = |s: &str| s.chars().skip(from).take(120).collect::<String>();
            return format!(
                "{at} (from character {from}):\n  eksguard: {:?}\n  kubectl:  {:?}",
                cut(x),
                cut(y)
            );
        }
        _ => {}
    }
    let show = |v: &Value| {
        let s = serde_json::to_string(v).unwrap();
        s.chars().take(300).collect::<String>()
    };
    format!("{at}:\n  eksguard: {}\n  kubectl:  {}", show(a), show(b))
}

#[test]
fn every_corpus_kustomization_builds_as_kubectl_kustomize_does() {
    let Some(root) = corpus_root() else { return };
    let mut dirs = Vec::new();
    kustomization_dirs(&root, &mut dirs);
    assert!(
        dirs.len() >= 20,
        "the corpus has dozens of kustomizations, found {}",
        dirs.len()
    );
    let required = std::env::var("EKSGUARD_TEST_KUSTOMIZE").is_ok_and(|v| v == "1");
    let opts = LoadOptions::default();
    let (mut equal, mut both_failed, mut explained) = (0, 0, 0);
    let mut wrong = Vec::new();
    for dir in &dirs {
        let Some(theirs) = kubectl(dir) else {
            assert!(
                !required,
                "EKSGUARD_TEST_KUSTOMIZE=1 but kubectl is missing"
            );
            eprintln!(
                "SKIPPED: kubectl is not installed (it builds kustomizations to compare with)"
            );
            return;
        };
        let ours = eksguard_load::kustomize::build_json(dir, &opts);
        let notes = eksguard_load::kustomize::build_notes(dir, &opts);
        let not_carried_out = notes.iter().any(|n| n.contains("not carried out"));
        let rel = dir.strip_prefix(&root).unwrap_or(dir).display().to_string();
        match (ours, theirs) {
            (Ok(o), Ok(t)) => match difference(&o, &t) {
                None => equal += 1,
                Some(_) if not_carried_out => explained += 1,
                Some(d) => wrong.push(format!("{rel}: {d}")),
            },
            (Err(_), Err(_)) => both_failed += 1,
            (Err(e), Ok(_)) if not_carried_out => {
                explained += 1;
                eprintln!("{rel}: eksguard: {e}");
            }
            (Err(e), Ok(_)) => wrong.push(format!("{rel}: eksguard failed, kubectl built it: {e}")),
            (Ok(_), Err(e)) => wrong.push(format!(
                "{rel}: kubectl failed, eksguard built it: {}",
                e.lines().last().unwrap_or("")
            )),
        }
    }
    eprintln!(
        "kustomize corpus: {} kustomizations, {equal} equal to kubectl, {both_failed} failed in both, {explained} noted as not fully carried out, {} wrong",
        dirs.len(),
        wrong.len()
    );
    assert!(wrong.is_empty(), "{}", wrong.join("\n\n"));
    assert!(
        equal * 10 >= dirs.len() * 7,
        "fewer than 70% equal: {equal}"
    );
}
