//! Suppressions and configuration, through the built binary: inline annotations name
//! rules explicitly, suppressed findings stay visible, `--no-inline-suppressions` brings
//! them back, and the configuration file in use is shown with what it turns off.

use crate::common::{self, json};

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn bin(dir: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_eksguard"));
    c.env("NO_COLOR", "1").current_dir(dir);
    c
}

fn run(dir: &Path, args: &[&str]) -> Output {
    bin(dir).args(args).output().unwrap()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn ids(v: &Value, key: &str) -> Vec<String> {
    v[key]
        .as_array()
        .unwrap_or_else(|| panic!("no `{key}` array in {v}"))
        .iter()
        .map(|f| f["rule_id"].as_str().unwrap().to_string())
        .collect()
}

/// A privileged pod whose annotation (line 7) is `annotation`; `privileged` is on line 14.
fn annotated_pod(annotation: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  namespace: a\n  annotations:\n    eksguard.io/ignore: \"{annotation}\"\nspec:\n  containers:\n  - name: c\n    image: nginx:1.27\n    securityContext:\n      runAsNonRoot: true\n      privileged: true\n"
    )
}

/// A directory holding `pod.yaml` with `annotation`.
fn pod_dir(tag: &str, annotation: &str) -> PathBuf {
    let d = common::temp_dir(tag);
    std::fs::write(d.join("pod.yaml"), annotated_pod(annotation)).unwrap();
    d
}

#[test]
fn wildcard_annotations_suppress_nothing_and_say_where() {
    for annotation in [
        "* -- temporary",
        "ALL -- temporary",
        "all -- temporary",
        "POD* -- temporary",
        "POD001,* -- temporary",
        " -- temporary",
    ] {
        let d = pod_dir("wildcard", annotation);
        let out = run(
            &d,
            &[
                "scan",
                ".",
                "-f",
                "json",
                "--select",
                "POD001",
                "--no-config",
            ],
        );
        // The finding is reported as if the annotation were not there: exit 1, not 2.
        assert_eq!(out.status.code(), Some(1), "{annotation}: {}", stdout(&out));
        let v = json(&out);
        assert_eq!(ids(&v, "findings"), vec!["POD001"], "{annotation}");
        assert_eq!(v["findings"][0]["location"]["line"], 14);
        assert_eq!(v["suppressed"], serde_json::json!([]), "{annotation}");
        assert_eq!(v["summary"]["suppressed"], 0);
        assert_eq!(v["errors"], serde_json::json!([]));
        let w = &v["warnings"][0];
        assert_eq!(w["file"], "pod.yaml", "{annotation}");
        assert_eq!(w["line"], 7, "{annotation}");
        let message = w["message"].as_str().unwrap();
        assert!(message.starts_with("Pod/a/p: "), "{message}");
        assert!(message.contains("suppresses nothing"), "{message}");
    }

    // In text too, at the annotation's line.
    let d = pod_dir("wildcard-text", "* -- temporary");
    let out = run(&d, &["scan", ".", "--select", "POD001", "--no-config"]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(
        text.contains("critical POD001 privileged-container"),
        "{text}"
    );
    assert!(
        text.contains("warning: pod.yaml:7: Pod/a/p: `eksguard.io/ignore`: `*` would suppress rules by wildcard"),
        "{text}"
    );
    assert!(text.contains("; 1 warning"), "{text}");
}

#[test]
fn unknown_rules_in_an_annotation_are_warned_about() {
    let d = pod_dir("unknown", "POD001,NOPE123 -- vendor chart");
    let out = run(
        &d,
        &[
            "scan",
            ".",
            "-f",
            "json",
            "--select",
            "POD001",
            "--no-config",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let v = json(&out);
    assert_eq!(ids(&v, "suppressed"), vec!["POD001"]);
    assert_eq!(v["warnings"][0]["line"], 7);
    assert!(v["warnings"][0]["message"]
        .as_str()
        .unwrap()
        .contains("`NOPE123`"));

    // Nothing known at all: nothing suppressed.
    let d = pod_dir("unknown-all", "NOPE123 -- vendor chart");
    let out = run(
        &d,
        &[
            "scan",
            ".",
            "-f",
            "json",
            "--select",
            "POD001",
            "--no-config",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(ids(&json(&out), "findings"), vec!["POD001"]);
}

#[test]
fn explicit_suppressions_are_listed_with_rule_resource_and_reason() {
    let d = pod_dir(
        "explicit",
        "POD001 -- debug pod, deleted after use until=2099-01-31",
    );
    let scan = |extra: &[&str]| {
        let mut args = vec!["scan", ".", "--select", "POD001", "--no-config"];
        args.extend_from_slice(extra);
        run(&d, &args)
    };

    let out = scan(&["-f", "json"]);
    assert_eq!(out.status.code(), Some(0));
    let v = json(&out);
    assert_eq!(ids(&v, "findings"), Vec::<String>::new());
    assert_eq!(v["summary"]["suppressed"], 1);
    let s = &v["suppressed"][0];
    assert_eq!(s["rule_id"], "POD001");
    assert_eq!(s["severity"], "critical");
    assert_eq!(s["resource"]["kind"], "Pod");
    assert_eq!(s["resource"]["namespace"], "a");
    assert_eq!(s["resource"]["name"], "p");
    assert_eq!(s["location"]["file"], "pod.yaml");
    assert_eq!(s["location"]["line"], 14);
    assert_eq!(
        s["field_path"],
        "spec.containers[0].securityContext.privileged"
    );
    assert_eq!(s["source"], "inline");
    assert_eq!(s["reason"], "debug pod, deleted after use");
    assert_eq!(s["until"], "2099-01-31");
    assert_eq!(v["config"]["inline_suppressions"], true);

    let out = scan(&["-f", "sarif"]);
    let v = json(&out);
    let results = v["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results.len(), 1);
    assert_eq!(results[0]["ruleId"], "POD001");
    assert_eq!(
        results[0]["locations"][0]["physicalLocation"]["region"]["startLine"],
        14
    );
    assert_eq!(
        results[0]["suppressions"],
        serde_json::json!([{
            "kind": "inSource",
            "justification": "inline annotation: debug pod, deleted after use",
            "properties": {"source": "inline", "until": "2099-01-31"}
        }])
    );

    // Text: a count by default, the list on request.
    let text = stdout(&scan(&[]));
    assert!(
        text.contains(
            "No findings in 1 resource from 1 file; 1 suppressed (--show-suppressed lists them)"
        ),
        "{text}"
    );
    assert!(!text.contains("debug pod"), "{text}");
    let text = stdout(&scan(&["--show-suppressed"]));
    assert!(
        text.contains(
            "Suppressed findings:\n  critical POD001 privileged-container Pod/a/p  (pod.yaml:14:7)\n    inline annotation: debug pod, deleted after use (until 2099-01-31)\n"
        ),
        "{text}"
    );

    let md = stdout(&scan(&["-f", "markdown", "--show-suppressed"]));
    assert!(
        md.contains("| critical | POD001 privileged-container | Pod/a/p | `pod.yaml:14` | inline annotation | debug pod, deleted after use \\(until 2099-01-31\\) |"),
        "{md}"
    );
}

#[test]
fn no_inline_suppressions_brings_the_finding_back() {
    let d = pod_dir("no-inline", "POD001 -- debug pod");
    let out = run(
        &d,
        &[
            "scan",
            ".",
            "-f",
            "json",
            "--select",
            "POD001",
            "--no-config",
            "--no-inline-suppressions",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let v = json(&out);
    assert_eq!(ids(&v, "findings"), vec!["POD001"]);
    assert_eq!(v["suppressed"], serde_json::json!([]));
    assert_eq!(v["config"]["inline_suppressions"], false);

    let out = run(
        &d,
        &[
            "scan",
            ".",
            "--select",
            "POD001",
            "--no-config",
            "--no-inline-suppressions",
        ],
    );
    let text = stdout(&out);
    assert!(text.contains("critical POD001"), "{text}");
    assert!(
        text.contains("inline suppressions: ignored (--no-inline-suppressions)"),
        "{text}"
    );

    // Configured suppressions still apply: the flag is about the scanned objects only.
    std::fs::write(
        d.join(".eksguard.toml"),
        "[[suppress]]\nrules = [\"POD001\"]\nname = \"p\"\nreason = \"reviewed\"\n",
    )
    .unwrap();
    let out = run(
        &d,
        &[
            "scan",
            ".",
            "-f",
            "json",
            "--select",
            "POD001",
            "--no-inline-suppressions",
        ],
    );
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(json(&out)["suppressed"][0]["source"], "config");
}

#[test]
fn repository_config_is_named_with_what_it_turns_off() {
    // The configuration sits in the repository root, the scan runs in a subdirectory.
    let d = common::temp_dir("repo-config");
    let sub = d.join("k8s");
    std::fs::create_dir_all(&sub).unwrap();
    let pod = annotated_pod("x").replace("  annotations:\n    eksguard.io/ignore: \"x\"\n", "");
    std::fs::write(sub.join("pod.yaml"), pod).unwrap();

    // Everything excluded: the scan passes on nothing, and says why.
    std::fs::write(d.join(".eksguard.toml"), "exclude = [\"**\"]\n").unwrap();
    let out = run(&sub, &["scan", "."]);
    assert_eq!(out.status.code(), Some(0));
    let text = stdout(&out);
    let file = d.join(".eksguard.toml").display().to_string();
    assert!(
        text.contains(&format!(
            "config: {file} (discovered)\n  excludes paths: **\n"
        )),
        "{text}"
    );
    let v = json(&run(&sub, &["scan", ".", "-f", "json"]));
    assert_eq!(v["config"]["file"], file.as_str());
    assert_eq!(v["config"]["origin"], "discovered");
    assert_eq!(v["config"]["exclude"], serde_json::json!(["**"]));
    assert_eq!(v["summary"]["files_scanned"], 0);

    // Ignored rules, a lowered severity, a suppression and `fail_on = "never"`.
    std::fs::write(
        d.join(".eksguard.toml"),
        "ignore = [\"RUN\", \"IMG\", \"QOS\"]\nfail_on = \"never\"\n\n[severity]\nPOD001 = \"low\"\n\n[[suppress]]\nrules = [\"POD\"]\nnamespace = \"a\"\nname = \"p\"\nreason = \"fixture pod\"\n",
    )
    .unwrap();
    let out = run(&sub, &["scan", ".", "-f", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let v = json(&out);
    let c = &v["config"];
    assert_eq!(c["ignore"], serde_json::json!(["RUN", "IMG", "QOS"]));
    assert_eq!(c["fail_on"], "never");
    assert_eq!(
        c["severity_overrides"],
        serde_json::json!([{"rule_id": "POD001", "default": "critical", "severity": "low"}])
    );
    assert_eq!(c["suppress"][0]["rules"], serde_json::json!(["POD"]));
    assert_eq!(c["suppress"][0]["namespace"], "a");
    assert_eq!(c["suppress"][0]["reason"], "fixture pod");
    let suppressed = v["suppressed"].as_array().unwrap();
    assert!(suppressed.iter().any(|s| s["rule_id"] == "POD001"
        && s["severity"] == "low"
        && s["source"] == "config"
        && s["reason"] == "fixture pod"));
    assert!(ids(&v, "findings")
        .iter()
        .chain(&ids(&v, "suppressed"))
        .all(|id| !id.starts_with("RUN") && !id.starts_with("IMG") && !id.starts_with("QOS")));

    let text = stdout(&run(&sub, &["scan", "."]));
    for line in [
        format!("config: {file} (discovered)"),
        "  ignores rules: RUN, IMG, QOS".to_string(),
        "  severity: POD001 critical -> low (lowered)".to_string(),
        "  suppresses: POD on a/p: fixture pod".to_string(),
        "  fail_on: never".to_string(),
    ] {
        assert!(text.contains(&format!("{line}\n")), "{line}\n{text}");
    }
    let md = stdout(&run(&sub, &["scan", ".", "-f", "markdown"]));
    assert!(md.contains("## Configuration\n"), "{md}");
    assert!(
        md.contains("- severity: `POD001` critical → low (lowered)"),
        "{md}"
    );
    let sarif = json(&run(&sub, &["scan", ".", "-f", "sarif"]));
    assert_eq!(
        sarif["runs"][0]["invocations"][0]["properties"]["config"]["fail_on"],
        "never"
    );

    // `--no-config` and `--config` say so.
    let out = run(&sub, &["scan", ".", "--no-config", "-f", "json"]);
    assert_eq!(out.status.code(), Some(1));
    let v = json(&out);
    assert_eq!(v["config"]["file"], Value::Null);
    assert_eq!(v["config"]["origin"], "--no-config");
    assert!(
        stdout(&run(&sub, &["scan", ".", "--no-config"])).contains("config: none (--no-config)\n")
    );
    let other = d.join("other.toml");
    std::fs::write(&other, "ignore = [\"POD001\"]\n").unwrap();
    let v = json(&run(
        &sub,
        &[
            "scan",
            ".",
            "-f",
            "json",
            "--config",
            other.to_str().unwrap(),
        ],
    ));
    assert_eq!(v["config"]["origin"], "--config");
    assert_eq!(v["config"]["ignore"], serde_json::json!(["POD001"]));
    // Nothing to find (unless the machine keeps a `.eksguard.toml` above the temporary
    // directory).
    let lone = common::temp_dir("no-config-found");
    if discovered_above(&lone).is_none() {
        let v = json(&run(&lone, &["scan", ".", "-f", "json"]));
        assert_eq!(v["config"]["origin"], "not-found");
    }
}

/// A `.eksguard.toml` in `dir` or above, as the binary would find it.
fn discovered_above(dir: &Path) -> Option<PathBuf> {
    dir.ancestors()
        .map(|d| d.join(".eksguard.toml"))
        .find(|p| p.is_file())
}

#[test]
fn config_suppressions_name_rules_explicitly() {
    let d = pod_dir("config-wildcard", "x");
    for rules in ["\"*\"", "\"ALL\"", "\"POD0*\""] {
        std::fs::write(
            d.join(".eksguard.toml"),
            format!("fail_on = \"high\"\n[[suppress]]\nrules = [{rules}]\nreason = \"x\"\n"),
        )
        .unwrap();
        let out = run(&d, &["scan", "."]);
        assert_eq!(out.status.code(), Some(2), "{rules}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(".eksguard.toml:2:") && err.contains("wildcard"),
            "{rules}: {err}"
        );
    }
}

#[test]
fn baseline_suppressions_are_listed_as_such() {
    let d = pod_dir("baseline-source", "x");
    let base = d.join("base.json");
    let out = run(
        &d,
        &[
            "scan",
            ".",
            "--select",
            "POD001",
            "--no-config",
            "-q",
            "--write-baseline",
            base.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(0));
    let v = json(&run(
        &d,
        &[
            "scan",
            ".",
            "--select",
            "POD001",
            "--no-config",
            "-f",
            "json",
            "--baseline",
            base.to_str().unwrap(),
        ],
    ));
    assert_eq!(ids(&v, "suppressed"), vec!["POD001"]);
    assert_eq!(v["suppressed"][0]["source"], "baseline");
    let sarif = json(&run(
        &d,
        &[
            "scan",
            ".",
            "--select",
            "POD001",
            "--no-config",
            "-f",
            "sarif",
            "--baseline",
            base.to_str().unwrap(),
        ],
    ));
    assert_eq!(
        sarif["runs"][0]["results"][0]["suppressions"][0]["kind"],
        "external"
    );
}

/// A kubelet configuration with anonymous authentication on (NODE005).
const ANONYMOUS_KUBELET: &str = "{\"kind\":\"KubeletConfiguration\",\"apiVersion\":\"kubelet.config.k8s.io/v1beta1\",\"authentication\":{\"anonymous\":{\"enabled\":true},\"webhook\":{\"enabled\":true},\"x509\":{\"clientCAFile\":\"/etc/kubernetes/pki/ca.crt\"}},\"authorization\":{\"mode\":\"Webhook\"},\"readOnlyPort\":0,\"serverTLSBootstrap\":true,\"featureGates\":{\"RotateKubeletServerCertificate\":true}}\n";

#[test]
fn node_reads_the_config_and_has_no_config() {
    let d = common::temp_dir("node-config");
    let root = d.join("root");
    let cfg = root.join("etc/kubernetes/kubelet/kubelet-config.json");
    std::fs::create_dir_all(cfg.parent().unwrap()).unwrap();
    std::fs::write(&cfg, ANONYMOUS_KUBELET).unwrap();
    let node = |extra: &[&str]| {
        let mut c = bin(&d);
        c.args(["node", "--root"]).arg(&root).args(["-f", "json"]);
        c.args(extra).output().unwrap()
    };
    std::fs::write(
        d.join(".eksguard.toml"),
        "fail_on = \"never\"\n\n[severity]\nNODE005 = \"info\"\n",
    )
    .unwrap();

    let out = node(&[]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let v = json(&out);
    assert!(v["config"]["file"]
        .as_str()
        .unwrap()
        .ends_with(".eksguard.toml"));
    let node005: Vec<&Value> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule_id"] == "NODE005")
        .collect();
    assert_eq!(node005.len(), 1, "{v}");
    assert_eq!(node005[0]["severity"], "info");

    let out = node(&["--no-config"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let v = json(&out);
    assert_eq!(v["config"]["origin"], "--no-config");
    assert!(v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["rule_id"] == "NODE005" && f["severity"] == "critical"));

    // And select/ignore, like every command that reports findings.
    let out = node(&["--no-config", "--ignore", "NODE005"]);
    assert!(json(&out)["findings"]
        .as_array()
        .unwrap()
        .iter()
        .all(|f| f["rule_id"] != "NODE005"));
}
