//! Real inputs written by other projects (`../shared/holdout`, beside the repository),
//! scanned in place; each test skips, saying so, when its folder is absent.
//!
//! The rendered charts are held to expected findings written from a reading of each chart
//! (`tests/fixtures/holdout/charts/<chart>.tsv`: rule, resource, field path per line, and
//! `#` comments saying why). Any finding not expected, and any expected finding missing,
//! fails the test; precision and recall against those expectations are printed. The peer
//! checkers' test manifests and the real infrastructure code must load and scan without a
//! crash, an unreadable file or a finding that reading the file shows to be wrong.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use eksguard_load::LoadOptions;
use eksguard_model::{Finding, Inventory};
use eksguard_rules::engine::{Engine, EngineConfig};
use eksguard_rules::registry;

use crate::common::holdout;

/// `(rule, kind/namespace/name, field path)`.
type Key = (String, String, String);

fn run(inv: &Inventory) -> Vec<Finding> {
    Engine::new(registry::all(), EngineConfig::default())
        .run(inv)
        .findings
}

fn key(inv: &Inventory, f: &Finding) -> Key {
    let o = inv.get(f.object);
    let ns = o.ns().unwrap_or("-");
    (
        f.rule.id.to_string(),
        format!("{}/{ns}/{}", o.kind, o.name),
        f.path.to_string(),
    )
}

fn expectations(file: &Path) -> BTreeSet<Key> {
    let text = std::fs::read_to_string(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let mut cols = l.split('\t');
            match (cols.next(), cols.next(), cols.next(), cols.next()) {
                (Some(r), Some(o), Some(p), None) => (r.into(), o.into(), p.into()),
                _ => panic!(
                    "{}: `{l}` is not rule<TAB>resource<TAB>path",
                    file.display()
                ),
            }
        })
        .collect()
}

fn expected_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/holdout/charts")
}

#[test]
fn charts_give_the_expected_findings() {
    let Some(dir) = holdout("charts") else {
        return;
    };
    let mut charts: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    charts.sort();
    assert_eq!(charts.len(), 14, "the holdout has 14 charts");
    let (mut right, mut wrong, mut missed) = (0usize, 0usize, 0usize);
    let mut report = String::new();
    for chart in &charts {
        let stem = chart.file_stem().unwrap().to_string_lossy().to_string();
        let want = expectations(&expected_dir().join(format!("{stem}.tsv")));
        let inv = eksguard_load::load(std::slice::from_ref(chart), &LoadOptions::default());
        assert!(inv.errors.is_empty(), "{stem}: {:#?}", inv.errors);
        let got: BTreeSet<Key> = run(&inv).iter().map(|f| key(&inv, f)).collect();
        let extra: Vec<&Key> = got.difference(&want).collect();
        let absent: Vec<&Key> = want.difference(&got).collect();
        right += got.intersection(&want).count();
        wrong += extra.len();
        missed += absent.len();
        for k in extra {
            report.push_str(&format!(
                "{stem}: not expected: {}\t{}\t{}\n",
                k.0, k.1, k.2
            ));
        }
        for k in absent {
            report.push_str(&format!("{stem}: missing: {}\t{}\t{}\n", k.0, k.1, k.2));
        }
    }
    let precision = right as f64 / (right + wrong).max(1) as f64;
    let recall = right as f64 / (right + missed).max(1) as f64;
    eprintln!(
        "charts: {right} expected findings found, {wrong} not expected, {missed} missed: \
         precision {precision:.3}, recall {recall:.3}"
    );
    assert!(report.is_empty(), "{report}");
}

#[test]
fn peers_and_real_infrastructure_scan_cleanly() {
    let dirs: Vec<PathBuf> = ["peers", "iac-real"]
        .iter()
        .filter_map(|d| holdout(d))
        .collect();
    if dirs.is_empty() {
        return;
    }
    for dir in dirs {
        let inv = eksguard_load::load(std::slice::from_ref(&dir), &LoadOptions::default());
        assert!(inv.objects.len() > 10, "{}: too few objects", dir.display());
        let findings = run(&inv);
        // Every finding resolves to a line in its file.
        for f in &findings {
            let obj = inv.get(f.object);
            assert!(
                obj.locate(&f.path).is_some(),
                "{} {} has no position",
                f.rule.id,
                obj.display_name()
            );
        }
        assert!(
            !findings.is_empty(),
            "{}: no findings at all",
            dir.display()
        );
        holds_to_reading(&dir, &inv, &findings);
    }
}

/// What reading the peers' and infrastructure files shows, checked finding by finding.
fn holds_to_reading(dir: &Path, inv: &Inventory, findings: &[Finding]) {
    let has = |rule: &str, file_part: &str, path_part: &str| {
        findings.iter().any(|f| {
            let o = inv.get(f.object);
            f.rule.id == rule
                && o.file().is_some_and(|p| p.contains(file_part))
                && f.path.to_string().contains(path_part)
        })
    };
    let name = dir.file_name().unwrap().to_string_lossy();
    for f in findings {
        let o = inv.get(f.object);
        let file = o.file().unwrap_or("");
        let path = f.path.to_string();
        // These are files, not cluster reads or node reads: the rules that need those
        // stay silent.
        assert!(
            !(f.rule.id == "IMG012" && !file.is_empty() && o.metadata().get("uid").is_none()),
            "{name}: IMG012 on a manifest that is not a cluster read: {file}"
        );
        assert!(
            f.rule.id != "NODE018",
            "{name}: NODE018 without a node read: {file} {path}"
        );
    }
    if name == "peers" {
        // badPods' everything-allowed pods mount the host root: the runtime socket rule
        // and the credential rule both fire; their priv pods are privileged.
        assert!(has("POD006", "everything-allowed-exec-pod", "hostPath"));
        assert!(has("POD020", "everything-allowed-exec-pod", "hostPath"));
        assert!(has("POD001", "priv-exec-pod", "privileged"));
    }
    if name == "iac-real" {
        // The Bottlerocket node group template of aws-samples sets no key pair and no
        // public address: nothing from NODE001 or NODE002 there.
        for f in findings {
            let file = inv.get(f.object).file().unwrap_or("");
            if file.contains("bottlerocket-mngnodegrp") {
                assert!(
                    !matches!(f.rule.id, "NODE001" | "NODE002"),
                    "{file}: {} {}",
                    f.rule.id,
                    f.path
                );
            }
        }
    }
}
