//! `eksguard generate admission-policy`: thresholds, configuration, bindings, and the YAML
//! (snapshot). The CEL itself is checked against the rule fixtures in `eksguard-policy`.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use eksguard_load::files::{load_text, LoadOptions};
use eksguard_model::{Inventory, Node, Object};

fn run(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_eksguard"))
        .env("NO_COLOR", "1")
        .current_dir(dir)
        .args(["generate", "admission-policy"])
        .args(args)
        .output()
        .unwrap()
}

fn generated(dir: &Path, args: &[&str]) -> (String, Inventory) {
    let out = run(dir, args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let text = String::from_utf8(out.stdout).unwrap();
    let inv = load_text("policy.yaml", text.as_bytes(), &LoadOptions::default());
    assert!(inv.errors.is_empty(), "{:?}\n{text}", inv.errors);
    (text, inv)
}

fn object<'a>(inv: &'a Inventory, kind: &str, name: &str) -> &'a Object {
    inv.objects
        .iter()
        .find(|o| &*o.kind == kind && &*o.name == name)
        .unwrap_or_else(|| panic!("no {kind} {name}"))
}

/// The rule IDs the validations of a policy name, in order.
fn rule_ids(policy: &Object) -> Vec<String> {
    policy
        .root
        .at("spec.validations")
        .map(Node::items)
        .unwrap_or(&[])
        .iter()
        .map(|v| {
            let msg = v.get("message").and_then(Node::as_str).unwrap();
            msg.split(' ').next().unwrap().to_string()
        })
        .collect()
}

fn strings(n: Option<&Node>) -> Vec<String> {
    n.map(Node::items)
        .unwrap_or(&[])
        .iter()
        .filter_map(|i| i.as_str().map(str::to_string))
        .collect()
}

fn empty_dir(tag: &str) -> PathBuf {
    common::temp_dir(tag)
}

#[test]
fn default_thresholds_deny_high_and_warn_below_with_kube_system_exempt() {
    let dir = empty_dir("vap-default");
    let (text, inv) = generated(&dir, &[]);
    let deny = object(&inv, "ValidatingAdmissionPolicy", "eksguard-deny");
    let warn = object(&inv, "ValidatingAdmissionPolicy", "eksguard-warn");
    let deny_ids = rule_ids(deny);
    let warn_ids = rule_ids(warn);
    // Critical and high rules deny; medium and low ones warn; info ones are left out.
    for id in ["POD001", "POD007", "POD011", "RUN002", "POD019"] {
        assert!(deny_ids.iter().any(|i| i == id), "{id} in {deny_ids:?}");
    }
    for id in ["POD002", "POD013", "RUN001", "DATA002"] {
        assert!(warn_ids.iter().any(|i| i == id), "{id} in {warn_ids:?}");
    }
    assert!(!deny_ids.iter().any(|i| warn_ids.contains(i)));
    assert_eq!(
        deny.root.at("spec.failurePolicy").and_then(Node::as_str),
        Some("Fail")
    );
    // Messages name the rule, its name and severity.
    assert!(
        text.contains(
            "message: \"POD001 privileged-container (critical): Container runs privileged\""
        ),
        "{text}"
    );
    // Both policies match pods and the workload controllers, on create and update.
    let resources: Vec<String> = deny
        .root
        .at("spec.matchConstraints.resourceRules")
        .map(Node::items)
        .unwrap()
        .iter()
        .flat_map(|r| strings(r.get("resources")))
        .collect();
    for r in [
        "pods",
        "pods/ephemeralcontainers",
        "deployments",
        "statefulsets",
        "daemonsets",
        "replicasets",
        "jobs",
        "cronjobs",
    ] {
        assert!(resources.iter().any(|x| x == r), "{r} in {resources:?}");
    }
    for (name, action) in [("eksguard-deny", "Deny"), ("eksguard-warn", "Warn")] {
        let b = object(&inv, "ValidatingAdmissionPolicyBinding", name);
        assert_eq!(
            b.root.at("spec.policyName").and_then(Node::as_str),
            Some(name)
        );
        assert_eq!(strings(b.root.at("spec.validationActions")), [action]);
        let sel = &b
            .root
            .at("spec.matchResources.namespaceSelector.matchExpressions")
            .unwrap()
            .items()[0];
        assert_eq!(sel.get("operator").and_then(Node::as_str), Some("NotIn"));
        assert_eq!(strings(sel.get("values")), ["kube-system"]);
    }
    // Rules without a CEL form are named in a comment with the reason.
    assert!(
        text.contains("#   POD006 container-runtime-socket (critical): host paths are compared"),
        "{text}"
    );
    assert!(text.contains("#   QOS003"), "{text}");
}

#[test]
fn config_overrides_severities_and_disables_rules() {
    let dir = empty_dir("vap-config");
    std::fs::write(
        dir.join(".eksguard.toml"),
        "ignore = [\"POD001\"]\n\n[severity]\nPOD013 = \"critical\"\n",
    )
    .unwrap();
    let (text, inv) = generated(&dir, &["--warn-on", "never"]);
    let deny = rule_ids(object(&inv, "ValidatingAdmissionPolicy", "eksguard-deny"));
    assert!(deny.contains(&"POD013".to_string()), "{deny:?}");
    assert!(!deny.contains(&"POD001".to_string()), "{deny:?}");
    assert!(
        text.contains("POD013 writable-root-filesystem (critical)"),
        "{text}"
    );
    assert!(
        !inv.objects.iter().any(|o| o.name.ends_with("-warn")),
        "{text}"
    );
    // --no-config goes back to the defaults.
    let (_, inv) = generated(&dir, &["--warn-on", "never", "--no-config"]);
    let deny = rule_ids(object(&inv, "ValidatingAdmissionPolicy", "eksguard-deny"));
    assert!(deny.contains(&"POD001".to_string()), "{deny:?}");
    assert!(!deny.contains(&"POD013".to_string()), "{deny:?}");
}

#[test]
fn exempt_namespaces_names_and_output_file() {
    let dir = empty_dir("vap-opts");
    let out_file = dir.join("vap.yaml");
    let out = run(
        &dir,
        &[
            "--exempt-namespace",
            "kube-system",
            "--exempt-namespace",
            "platform",
            "--name",
            "acme",
            "--select",
            "POD00",
            "-o",
            out_file.to_str().unwrap(),
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stdout.is_empty());
    let text = std::fs::read_to_string(&out_file).unwrap();
    let inv = load_text("vap.yaml", text.as_bytes(), &LoadOptions::default());
    let b = object(&inv, "ValidatingAdmissionPolicyBinding", "acme-deny");
    let sel = &b
        .root
        .at("spec.matchResources.namespaceSelector.matchExpressions")
        .unwrap()
        .items()[0];
    assert_eq!(strings(sel.get("values")), ["kube-system", "platform"]);
    let ids = rule_ids(object(&inv, "ValidatingAdmissionPolicy", "acme-deny"));
    assert!(ids.iter().all(|i| i.starts_with("POD00")), "{ids:?}");
}

#[test]
fn nothing_to_enforce_is_an_error() {
    let dir = empty_dir("vap-none");
    let out = run(&dir, &["--deny-on", "never", "--warn-on", "never"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no selected rule with a CEL form"), "{err}");
    let out = run(&dir, &["--select", "QOS"]);
    assert_eq!(out.status.code(), Some(2));
    // Names become object names: nothing else gets through.
    let out = run(&dir, &["--name", "Bad\nname"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--name `Bad\\nname`"), "{err}");
}

#[test]
fn snapshot_of_critical_rules_only() {
    let dir = empty_dir("vap-snap");
    let (text, _) = generated(
        &dir,
        &["--no-config", "--deny-on", "critical", "--warn-on", "never"],
    );
    insta::assert_snapshot!(text);
}
