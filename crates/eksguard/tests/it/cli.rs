//! End-to-end tests of the built binary.

use crate::common::{self, json};

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_eksguard"));
    c.env("NO_COLOR", "1").current_dir(repo());
    c
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

fn run(args: &[&str]) -> Output {
    bin().args(args).output().unwrap()
}

fn run_stdin(args: &[&str], input: &str) -> Output {
    common::run_with_stdin(bin().args(args), input)
}

fn rule_ids(v: &serde_json::Value) -> Vec<String> {
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule_id"].as_str().unwrap().to_string())
        .collect()
}

const PRIVILEGED_POD: &str = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  namespace: a\nspec:\n  containers:\n  - name: c\n    image: nginx:1.27\n    securityContext:\n      privileged: true\n";

#[test]
fn example_scan_fails_with_findings() {
    let out = run(&[
        "scan",
        "examples/insecure-eks",
        "--format",
        "json",
        "--no-config",
    ]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v = json(&out);
    assert_eq!(v["schema_version"], 1);
    let ids = rule_ids(&v);
    for id in [
        "POD001", "IAM008", "NET001", "IAM001", "IRSA009", "SG002", "NODE005", "DET001",
    ] {
        assert!(ids.iter().any(|i| i == id), "{id} missing from {ids:?}");
    }
    let f = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule_id"] == "POD001" && f["resource"]["name"] == "storefront")
        .unwrap();
    assert_eq!(
        f["location"]["file"],
        "examples/insecure-eks/storefront.yaml"
    );
    assert_eq!(f["location"]["line"], 32);
    assert_eq!(
        f["field_path"],
        "spec.template.spec.containers[0].securityContext.privileged"
    );
    assert_eq!(v["summary"]["files_scanned"], 14);
}

#[test]
fn fail_on_and_select_decide_the_exit_status() {
    let out = run(&[
        "scan",
        "examples/insecure-eks",
        "-q",
        "--fail-on",
        "never",
        "--no-config",
    ]);
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stdout.is_empty());
    let out = run(&[
        "scan",
        "examples/insecure-eks",
        "--select",
        "IAM008",
        "-f",
        "json",
        "--no-config",
    ]);
    let ids = rule_ids(&json(&out));
    assert!(
        !ids.is_empty() && ids.iter().all(|i| i == "IAM008"),
        "{ids:?}"
    );
    let out = run(&[
        "scan",
        "examples/insecure-eks",
        "--ignore",
        "POD,IAM",
        "-f",
        "json",
        "--no-config",
    ]);
    let ids = rule_ids(&json(&out));
    assert!(
        ids.iter()
            .all(|i| !i.starts_with("POD") && !i.starts_with("IAM")),
        "{ids:?}"
    );
}

#[test]
fn stdin_is_scanned() {
    let out = run_stdin(
        &[
            "scan",
            "-",
            "-f",
            "json",
            "--select",
            "POD001",
            "--no-config",
        ],
        PRIVILEGED_POD,
    );
    assert_eq!(out.status.code(), Some(1));
    let v = json(&out);
    assert_eq!(v["findings"][0]["location"]["file"], "-");
    assert_eq!(v["findings"][0]["location"]["line"], 11);
}

#[test]
fn broken_input_is_an_error_with_a_line_and_the_rest_is_scanned() {
    let d = common::temp_dir("broken");
    std::fs::write(d.join("good.yaml"), PRIVILEGED_POD).unwrap();
    std::fs::write(
        d.join("bad.yaml"),
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: [oops\n",
    )
    .unwrap();
    std::fs::write(d.join("junk.yaml"), b"\x00\x01binary").unwrap();
    std::fs::write(d.join("latin1.yaml"), b"a: 1\nb: caf\xe9\n").unwrap();
    let out = run(&[
        "scan",
        d.to_str().unwrap(),
        "-f",
        "json",
        "--select",
        "POD001",
        "--no-config",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let v = json(&out);
    assert_eq!(rule_ids(&v), vec!["POD001"]);
    let errors = v["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 3, "{errors:?}");
    let by_file = |name: &str| {
        errors
            .iter()
            .find(|e| e["file"].as_str().unwrap().ends_with(name))
            .unwrap()
    };
    assert!(by_file("bad.yaml")["line"].as_u64().unwrap() >= 4);
    assert!(by_file("junk.yaml")["message"]
        .as_str()
        .unwrap()
        .contains("binary"));
    assert_eq!(by_file("latin1.yaml")["line"], 2);
}

#[test]
fn missing_path_is_an_error() {
    let out = run(&["scan", "does/not/exist", "-f", "json", "--no-config"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(json(&out)["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("no such file"));
}

#[test]
fn ignore_annotation_needs_a_reason() {
    let d = common::temp_dir("suppress");
    let ok = PRIVILEGED_POD.replace(
        "  namespace: a\n",
        "  namespace: a\n  annotations:\n    eksguard.io/ignore: \"POD001 -- debug pod, deleted after use\"\n",
    );
    std::fs::write(d.join("ok.yaml"), ok).unwrap();
    let out = run(&[
        "scan",
        d.to_str().unwrap(),
        "-f",
        "json",
        "--select",
        "POD001",
        "--no-config",
    ]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(json(&out)["summary"]["suppressed"], 1);

    let bad = PRIVILEGED_POD.replace(
        "  namespace: a\n",
        "  namespace: a\n  annotations:\n    eksguard.io/ignore: \"POD001\"\n",
    );
    std::fs::write(d.join("ok.yaml"), bad).unwrap();
    let out = run(&[
        "scan",
        d.to_str().unwrap(),
        "-f",
        "json",
        "--select",
        "POD001",
        "--no-config",
    ]);
    // It suppresses nothing, so nothing is lost: a warning, and the finding decides.
    assert_eq!(out.status.code(), Some(1));
    let v = json(&out);
    assert_eq!(rule_ids(&v), vec!["POD001"]);
    assert_eq!(v["warnings"][0]["line"], 7);
    assert!(v["warnings"][0]["message"]
        .as_str()
        .unwrap()
        .contains("reason"));
}

#[test]
fn config_applies_and_its_mistakes_name_the_line() {
    let d = common::temp_dir("config");
    std::fs::write(d.join("pod.yaml"), PRIVILEGED_POD).unwrap();
    std::fs::write(
        d.join(".eksguard.toml"),
        "select = [\"POD001\"]\n\n[severity]\nPOD001 = \"low\"\n",
    )
    .unwrap();
    let out = bin()
        .args(["scan", ".", "-f", "json"])
        .current_dir(&d)
        .output()
        .unwrap();
    let v = json(&out);
    assert_eq!(rule_ids(&v), vec!["POD001"]);
    assert_eq!(v["findings"][0]["severity"], "low");
    let out = bin()
        .args(["scan", ".", "-f", "json", "--fail-on", "medium"])
        .current_dir(&d)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));

    std::fs::write(
        d.join(".eksguard.toml"),
        "select = [\"POD001\"]\nfail_on = \"severe\"\n",
    )
    .unwrap();
    let out = bin().args(["scan", "."]).current_dir(&d).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(".eksguard.toml:2:"), "{err}");
}

#[test]
fn baseline_hides_known_findings_even_when_lines_move() {
    let d = common::temp_dir("baseline");
    std::fs::write(d.join("pod.yaml"), PRIVILEGED_POD).unwrap();
    let base = d.join("baseline.json");
    let dir = d.to_str().unwrap();
    let out = run(&[
        "scan",
        dir,
        "--select",
        "POD001",
        "--no-config",
        "-q",
        "--write-baseline",
        base.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0));
    std::fs::write(
        d.join("pod.yaml"),
        format!("# moved down\n\n{PRIVILEGED_POD}"),
    )
    .unwrap();
    let out = run(&[
        "scan",
        dir,
        "--select",
        "POD001",
        "--no-config",
        "-f",
        "json",
        "--baseline",
        base.to_str().unwrap(),
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_eq!(json(&out)["summary"]["suppressed"], 1);
}

#[test]
fn secret_values_never_appear_in_any_format() {
    for format in ["text", "json", "sarif", "junit", "markdown"] {
        let out = run(&["scan", "examples/insecure-eks", "-f", format, "--no-config"]);
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(!text.is_empty(), "{format}: empty report");
        assert!(
            !text.contains("wJalrXUtnFEMI"),
            "{format} leaks a secret value"
        );
        assert!(
            !text.contains("AKIAIOSFODNN7EXAMPLE"),
            "{format} leaks an access key"
        );
    }
}

#[test]
fn output_file_gets_the_report() {
    let d = common::temp_dir("output");
    let file = d.join("r.sarif");
    let out = run(&[
        "scan",
        "examples/insecure-eks",
        "-f",
        "sarif",
        "-o",
        file.to_str().unwrap(),
        "--no-config",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
    assert_eq!(v["version"], "2.1.0");
}

#[test]
fn rules_list_and_explain() {
    let out = run(&["rules", "list"]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("POD001") && text.contains("privileged-container"));
    let out = run(&["rules", "list", "-f", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(v.as_array().unwrap().len() >= 3);
    let out = run(&["rules", "explain", "privileged-container"]);
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("# POD001 privileged-container"));
    let out = run(&["rules", "explain", "NOPE999"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn usage_errors_exit_2() {
    let out = run(&["scan", "--format", "yaml"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn oversized_files_alias_bombs_and_deep_nesting_are_reported_and_skipped() {
    let d = common::temp_dir("hostile");
    std::fs::write(d.join("good.yaml"), PRIVILEGED_POD).unwrap();
    std::fs::write(d.join("huge.yaml"), "a: b\n".repeat(300_000)).unwrap();
    let mut bomb = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..10 {
        let p = i - 1;
        bomb.push_str(&format!(
            "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
        ));
    }
    std::fs::write(d.join("bomb.yaml"), format!("{PRIVILEGED_POD}---\n{bomb}")).unwrap();
    std::fs::write(
        d.join("deep.json"),
        format!("{}1{}", "[".repeat(100_000), "]".repeat(100_000)),
    )
    .unwrap();
    std::fs::write(
        d.join(".eksguard.toml"),
        "max_file_size_mb = 1\nselect = [\"POD001\"]\n",
    )
    .unwrap();
    let out = bin()
        .args(["scan", ".", "-f", "json"])
        .current_dir(&d)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let v = json(&out);
    // The privileged pod in good.yaml and the one before the bomb are both still reported.
    assert_eq!(rule_ids(&v), vec!["POD001", "POD001"]);
    let errors = v["errors"].as_array().unwrap();
    let msg = |name: &str| {
        errors
            .iter()
            .find(|e| e["file"].as_str().unwrap().ends_with(name))
            .unwrap_or_else(|| panic!("no error for {name}: {errors:?}"))
            .clone()
    };
    assert!(msg("huge.yaml")["message"]
        .as_str()
        .unwrap()
        .contains("larger than"));
    let bomb = msg("bomb.yaml");
    assert!(
        bomb["message"].as_str().unwrap().contains("alias bomb"),
        "{bomb}"
    );
    assert!(bomb["line"].as_u64().unwrap() >= 13);
    assert!(msg("deep.json")["message"]
        .as_str()
        .unwrap()
        .contains("nesting"));
}

#[test]
fn gitignore_in_a_git_work_tree_and_excludes_are_honoured() {
    let d = common::temp_dir("walk");
    // `.gitignore` applies only inside a git work tree.
    assert!(Command::new("git")
        .args(["init", "-q"])
        .current_dir(&d)
        .status()
        .unwrap()
        .success());
    for sub in ["app", "ignored", "vendor/chart"] {
        std::fs::create_dir_all(d.join(sub)).unwrap();
        std::fs::write(
            d.join(sub).join("pod.yaml"),
            PRIVILEGED_POD.replace("name: p", &format!("name: {}", sub.replace('/', "-"))),
        )
        .unwrap();
    }
    std::fs::write(d.join("app/notes.txt"), "not yaml").unwrap();
    std::fs::write(d.join(".gitignore"), "ignored/\n").unwrap();
    let out = bin()
        .args([
            "scan",
            ".",
            "-f",
            "json",
            "--select",
            "POD001",
            "--exclude",
            "vendor/**",
        ])
        .current_dir(&d)
        .output()
        .unwrap();
    let v = json(&out);
    let names: Vec<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["resource"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["app"]);
    assert_eq!(v["summary"]["files_scanned"], 1);
}
