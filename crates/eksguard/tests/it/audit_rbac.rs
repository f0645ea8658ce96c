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
    assert!(
        stderr.contains("left out 1 denied request(s)") && text.starts_with("# left out 1 denied"),
        "{stderr}"
    );

    let file = temp_file("deployer.yaml", &text);
    let sa = "system:serviceaccount:ci:deployer";
    assert!(who_can(&file, "patch", "deployments.apps", Some("shop")).contains(sa));
    // The denied update grants nothing by default.
    assert!(!who_can(&file, "update", "configmaps", Some("shop")).contains(sa));
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
fn denied_requests_count_only_with_include_denied_and_are_marked() {
    let default = yaml(&run(&[
        &"audit",
        &"rbac",
        &"--serviceaccount",
        &"system:serviceaccount:ci:deployer",
        &LOG,
    ]));
    assert!(!default.contains("configmaps"), "{default}");
    assert!(default.contains("deployments"), "{default}");
    // The former opt-in is the default now, and still accepted.
    let allowed_only = yaml(&run(&[
        &"audit",
        &"rbac",
        &"--serviceaccount",
        &"ci:deployer",
        &"--allowed-only",
        &LOG,
    ]));
    assert_eq!(allowed_only, default);

    let text = yaml(&run(&[
        &"audit",
        &"rbac",
        &"--serviceaccount",
        &"ci:deployer",
        &"--include-denied",
        &LOG,
    ]));
    assert!(
        text.contains("  # denied: the subject was refused this when observed\n  - apiGroups:\n      - \"\"\n    resources:\n      - configmaps\n    verbs:\n      - get\n      - update\n"),
        "{text}"
    );
    let file = temp_file("deployer-denied.yaml", &text);
    let sa = "system:serviceaccount:ci:deployer";
    assert!(who_can(&file, "update", "configmaps", Some("shop")).contains(sa));
    let out = run(&[
        &"audit",
        &"rbac",
        &"--user",
        &"x",
        &"--include-denied",
        &"--allowed-only",
        &LOG,
    ]);
    assert_eq!(out.status.code(), Some(2));
}

/// Requests of `mallory`: one allowed read, then what anyone can try and be refused
/// (impersonating an admin, the kubelet API through nodes/proxy, kube-system Secrets), and
/// an allowed nodes/proxy read.
fn mallory_log() -> PathBuf {
    let event = |id: &str, verb: &str, uri: &str, obj: &str, code: u16| {
        let decision = if code == 403 { "forbid" } else { "allow" };
        format!(
            r#"{{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"{id}","stage":"ResponseComplete","requestURI":"{uri}","verb":"{verb}","user":{{"username":"mallory","groups":["system:authenticated"]}},"sourceIPs":["10.0.0.7"],"objectRef":{obj},"responseStatus":{{"code":{code}}},"annotations":{{"authorization.k8s.io/decision":"{decision}"}}}}"#
        )
    };
    let lines = [
        event(
            "m1",
            "get",
            "/api/v1/namespaces/default/pods/web",
            r#"{"resource":"pods","namespace":"default","name":"web","apiVersion":"v1"}"#,
            200,
        ),
        event(
            "m2",
            "impersonate",
            "/api/v1/users/admin",
            r#"{"resource":"users","name":"admin","apiVersion":"v1"}"#,
            403,
        ),
        event(
            "m3",
            "get",
            "/api/v1/nodes/ip-10-0-0-1/proxy/pods",
            r#"{"resource":"nodes","subresource":"proxy","name":"ip-10-0-0-1","apiVersion":"v1"}"#,
            403,
        ),
        event(
            "m4",
            "list",
            "/api/v1/namespaces/kube-system/secrets",
            r#"{"resource":"secrets","namespace":"kube-system","apiVersion":"v1"}"#,
            403,
        ),
        event(
            "m5",
            "get",
            "/api/v1/nodes/ip-10-0-0-2/proxy/metrics",
            r#"{"resource":"nodes","subresource":"proxy","name":"ip-10-0-0-2","apiVersion":"v1"}"#,
            200,
        ),
    ];
    temp_file("mallory.log", &(lines.join("\n") + "\n"))
}

/// The lines that are not comments.
fn body(text: &str) -> String {
    text.lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .map(|l| format!("{l}\n"))
        .collect()
}

#[test]
fn refused_and_dangerous_requests_grant_nothing_by_default() {
    let log = mallory_log();
    let out = run(&[&"audit", &"rbac", &"--user", &"mallory", &log]);
    let text = yaml(&out);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let objects = body(&text);
    for absent in [
        "secrets",
        "kube-system",
        "impersonate",
        "users",
        "nodes/proxy",
    ] {
        assert!(!objects.contains(absent), "{absent} granted:\n{text}");
    }
    let file = temp_file("mallory.yaml", &text);
    assert!(who_can(&file, "get", "pods", Some("default")).contains("mallory"));
    assert!(!who_can(&file, "list", "secrets", Some("kube-system")).contains("mallory"));
    assert!(!who_can(&file, "get", "nodes/proxy", None).contains("mallory"));
    assert!(!who_can(&file, "impersonate", "users", None).contains("mallory"));
    // Both the output and standard error say what was left out.
    for said in [
        "left out 3 denied request(s)",
        "not granted: nodes/proxy (1 request(s))",
        "--allow-dangerous nodes/proxy",
        "get nodes/proxy named ip-10-0-0-2 cluster-wide",
    ] {
        assert!(text.contains(said), "{said} missing from:\n{text}");
        assert!(stderr.contains(said), "{said} missing from:\n{stderr}");
    }

    // Denied ones included: the Secrets read comes in marked; the powers stay out.
    let out = run(&[
        &"audit",
        &"rbac",
        &"--user",
        &"mallory",
        &"--include-denied",
        &log,
    ]);
    let text = yaml(&out);
    let file = temp_file("mallory-denied.yaml", &text);
    assert!(who_can(&file, "list", "secrets", Some("kube-system")).contains("mallory"));
    assert!(text.contains(
        "namespace: kube-system\n  labels:\n    eksguard.io/generated: \"true\"\n  annotations:\n    eksguard.io/generated-from: \"observed API requests\"\n    eksguard.io/subject: mallory\nrules:\n  # denied: the subject was refused this when observed\n  - apiGroups:\n      - \"\"\n    resources:\n      - secrets\n"
    ), "{text}");
    assert!(!who_can(&file, "impersonate", "users", None).contains("mallory"));
    assert!(!who_can(&file, "get", "nodes/proxy", None).contains("mallory"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("not granted: impersonate (1 request(s))"),
        "{stderr}"
    );

    // Named powers are granted.
    let text = yaml(&run(&[
        &"audit",
        &"rbac",
        &"--user",
        &"mallory",
        &"--include-denied",
        &"--allow-dangerous",
        &"impersonate,nodes/proxy",
        &log,
    ]));
    assert!(!text.contains("not granted"), "{text}");
    let file = temp_file("mallory-all.yaml", &text);
    assert!(who_can(&file, "impersonate", "users", None).contains("mallory"));
    assert!(who_can(&file, "get", "nodes/proxy", None).contains("mallory"));

    // Only the four powers can be named.
    let out = run(&[
        &"audit",
        &"rbac",
        &"--user",
        &"mallory",
        &"--allow-dangerous",
        &"everything",
        &log,
    ]);
    assert_eq!(out.status.code(), Some(2));
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
