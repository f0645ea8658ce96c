//! `eksguard audit rbac` through the built binary: least-privilege RBAC from the requests
//! of one identity, checked by reading the output back with `eksguard rbac who-can`.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const LOG: &str = "tests/data/audit/ci-deployer.log";

fn run(args: &[&dyn AsRef<std::ffi::OsStr>]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_eksguard"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(args)
        .output()
        .unwrap()
}

fn yaml(out: &Output) -> String {
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn temp_file(name: &str, text: &str) -> PathBuf {
    let p = common::temp_dir("audit-rbac").join(name);
    std::fs::write(&p, text).unwrap();
    p
}

/// Subjects `rbac who-can` finds in `file` for the request.
fn who_can(file: &Path, verb: &str, resource: &str, ns: Option<&str>) -> String {
    let mut args: Vec<&dyn AsRef<std::ffi::OsStr>> =
        vec![&"rbac", &"who-can", &verb, &resource, &"-f", &"json", &file];
    if let Some(ns) = &ns {
        args.push(&"-n");
        args.push(ns);
    }
    let out = run(&args);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn service_account_gets_exactly_what_it_asked_for() {
    let out = run(&[&"audit", &"rbac", &"--serviceaccount", &"ci:deployer", &LOG]);
    let text = yaml(&out);
    insta::assert_snapshot!("ci_deployer", text);
    let stderr = String::from_utf8_lossy(&out.stderr);
    // /version is open to every authenticated user already.
    assert!(
        stderr.contains("5 requests") && stderr.contains("1 left out"),
        "{stderr}"
    );

    let file = temp_file("deployer.yaml", &text);
    let sa = "system:serviceaccount:ci:deployer";
    assert!(who_can(&file, "patch", "deployments.apps", Some("shop")).contains(sa));
    // The denied update counts: it is what the deployer still lacks.
    assert!(who_can(&file, "update", "configmaps", Some("shop")).contains(sa));
    // Cluster-scoped CRDs through a ClusterRole; nothing namespaced leaks to other namespaces.
    assert!(who_can(
        &file,
        "list",
        "customresourcedefinitions.apiextensions.k8s.io",
        None
    )
    .contains(sa));
    assert!(!who_can(&file, "patch", "deployments.apps", Some("kube-system")).contains(sa));
    assert!(!who_can(&file, "delete", "deployments.apps", Some("shop")).contains(sa));
}

#[test]
fn allowed_only_leaves_denied_requests_out() {
    let text = yaml(&run(&[
        &"audit",
        &"rbac",
        &"--serviceaccount",
        &"system:serviceaccount:ci:deployer",
        &"--allowed-only",
        &LOG,
    ]));
    assert!(!text.contains("configmaps"), "{text}");
    assert!(text.contains("deployments"), "{text}");
}

#[test]
fn group_requests_bind_the_group_and_resource_names_are_kept_on_request() {
    let text = yaml(&run(&[
        &"audit",
        &"rbac",
        &"--group",
        &"dev",
        &"--resource-names",
        &"--name-prefix",
        &"observed",
        &LOG,
    ]));
    insta::assert_snapshot!("dev_group", text);
    assert!(text.contains("kind: Group") && text.contains("name: dev"));
    assert!(
        text.contains("pods/log") && text.contains("web-1"),
        "{text}"
    );
    assert!(text.contains("\"observed:dev\""), "{text}");
}

#[test]
fn one_identity_is_required() {
    let out = run(&[&"audit", &"rbac", &LOG]);
    assert_eq!(out.status.code(), Some(2));
    let out = run(&[&"audit", &"rbac", &"--serviceaccount", &"deployer", &LOG]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("NS:NAME"));
}

#[test]
fn audit2rbac_demo_log_is_a_golden_case() {
    let Some(log) = common::corpus("audit/audit2rbac/demo.log") else {
        return;
    };
    // Every request of these identities was impersonated by system:admin; the impersonated
    // user is the one the generated objects name.
    for (flag, who, snap) in [
        ("--user", "alice", "demo_alice"),
        ("--user", "bob", "demo_bob"),
        ("--serviceaccount", "ns1:sa1", "demo_sa1"),
    ] {
        let text = yaml(&run(&[&"audit", &"rbac", &flag, &who, &log]));
        insta::assert_snapshot!(snap, text);
    }
}

#[test]
fn rbac_tool_data_uses_the_namespace_that_was_authorized() {
    let Some(log) = common::corpus("audit/rbac-tool-auditgen/testdata-02.json") else {
        return;
    };
    // The object references say `alcide`; the request paths, which the API server
    // authorized, say ns1, ns2 and ns3.
    let text = yaml(&run(&[&"audit", &"rbac", &"--user", &"diana", &log]));
    insta::assert_snapshot!("rbac_tool_diana", text);
    assert!(!text.contains("alcide"));
    let file = temp_file("diana.yaml", &text);
    for (res, ns) in [("pods", "ns1"), ("configmaps", "ns2"), ("secrets", "ns3")] {
        assert!(
            who_can(&file, "create", res, Some(ns)).contains("diana"),
            "{res} {ns}"
        );
        assert!(!who_can(&file, "create", res, Some("alcide")).contains("diana"));
    }
}
