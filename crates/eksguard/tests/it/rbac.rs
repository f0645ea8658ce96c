//! `eksguard rbac` through the built binary: who-can, lookup and risks over the fixtures
//! in `tests/rbac/` and over real RBAC objects of the corpus.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/rbac")
}

fn eksguard(args: &[&str], paths: &[&Path]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_eksguard"));
    cmd.arg("rbac").args(args).args(paths);
    // Relative paths in the output.
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"));
    cmd.output().unwrap()
}

fn ok(out: &Output) -> String {
    assert_eq!(
        out.status.code(),
        Some(0),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_str(&ok(out)).unwrap()
}

const FIX: &str = "tests/rbac";

/// Subject display names of a who-can JSON answer, with the binding name.
fn subjects(v: &serde_json::Value) -> Vec<String> {
    v["grants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            format!(
                "{} {} <- {}",
                g["subject"]["kind"].as_str().unwrap(),
                g["subject"]["name"].as_str().unwrap(),
                g["binding"]["name"].as_str().unwrap()
            )
        })
        .collect()
}

#[test]
fn who_can_exec_in_a_namespace_text() {
    let out = eksguard(
        &["who-can", "create", "pods/exec", "-n", "dev"],
        &[Path::new(FIX)],
    );
    insta::assert_snapshot!(ok(&out));
}

#[test]
fn who_can_exec_elsewhere_leaves_out_the_role_binding() {
    let out = eksguard(
        &["who-can", "create", "pods/exec", "-n", "prod", "-f", "json"],
        &[Path::new(FIX)],
    );
    let s = subjects(&json(&out));
    assert!(!s.iter().any(|s| s.contains("dev-edit")), "{s:?}");
    assert!(
        s.contains(&"Group ops-team <- ops-debug".to_string()),
        "{s:?}"
    );
}

#[test]
fn who_can_non_resource_url_json() {
    let out = eksguard(
        &["who-can", "get", "/debug/pprof", "-f", "json"],
        &[Path::new(FIX)],
    );
    let v = json(&out);
    insta::assert_json_snapshot!(v);
    let s = subjects(&v);
    assert!(s.contains(&"Group ops-team <- ops-debug".to_string()));
    // `/metrics` alone does not cover `/metrics/x`.
    let out = eksguard(
        &["who-can", "get", "/metrics/x", "-f", "json"],
        &[Path::new(FIX)],
    );
    assert!(!subjects(&json(&out)).iter().any(|s| s.contains("ops-team")));
}

#[test]
fn who_can_with_resource_names_and_subresource_of_a_group() {
    let named = eksguard(
        &[
            "who-can",
            "update",
            "configmaps",
            "-n",
            "dev",
            "--name",
            "settings",
            "-f",
            "json",
        ],
        &[Path::new(FIX)],
    );
    let s = subjects(&json(&named));
    assert!(
        s.contains(&"User carol <- settings-editor".to_string()),
        "{s:?}"
    );
    let other = eksguard(
        &[
            "who-can",
            "update",
            "configmaps",
            "-n",
            "dev",
            "--name",
            "other",
            "-f",
            "json",
        ],
        &[Path::new(FIX)],
    );
    assert!(!subjects(&json(&other)).iter().any(|s| s.contains("carol")));
    let scale = eksguard(
        &[
            "who-can",
            "update",
            "deployments.apps/scale",
            "-n",
            "dev",
            "-f",
            "json",
        ],
        &[Path::new(FIX)],
    );
    let v = json(&scale);
    assert_eq!(v["query"]["apiGroup"], "apps");
    assert_eq!(v["query"]["subresource"], "scale");
    assert!(subjects(&v).contains(&"User carol <- settings-editor".to_string()));
    // The short name and the plain name find the same group.
    let short = eksguard(
        &[
            "who-can",
            "update",
            "deploy/scale",
            "-n",
            "dev",
            "-f",
            "json",
        ],
        &[Path::new(FIX)],
    );
    assert_eq!(json(&short)["query"], v["query"]);
}

#[test]
fn lookup_assumed_role_session_text() {
    let out = eksguard(
        &["lookup", "arn:aws:sts::111122223333:assumed-role/Ops/alice"],
        &[Path::new(FIX)],
    );
    insta::assert_snapshot!(ok(&out));
}

#[test]
fn lookup_access_entry_role_json() {
    let out = eksguard(
        &["lookup", "arn:aws:iam::111122223333:role/Dev", "-f", "json"],
        &[Path::new(FIX)],
    );
    insta::assert_json_snapshot!(json(&out));
}

#[test]
fn lookup_service_account_forms_and_missing_role() {
    let a = json(&eksguard(
        &["lookup", "dev:ci", "-k", "serviceaccount", "-f", "json"],
        &[Path::new(FIX)],
    ));
    let b = json(&eksguard(
        &["lookup", "system:serviceaccount:dev:ci", "-f", "json"],
        &[Path::new(FIX)],
    ));
    assert_eq!(a["bindings"], b["bindings"]);
    let roles: Vec<String> = a["bindings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            format!(
                "{}/{} {}{}",
                r["role"]["kind"].as_str().unwrap(),
                r["role"]["name"].as_str().unwrap(),
                r["scope"].as_str().unwrap(),
                if r["role"]["missing"] == true {
                    " missing"
                } else {
                    ""
                }
            )
        })
        .collect();
    assert_eq!(
        roles,
        [
            "ClusterRole/system:basic-user cluster-wide",
            "ClusterRole/system:discovery cluster-wide",
            "ClusterRole/system:public-info-viewer cluster-wide",
            "ClusterRole/edit dev",
            "Role/not-there dev missing",
        ]
    );
}

#[test]
fn risks_text_and_json() {
    let out = eksguard(&["risks"], &[Path::new(FIX)]);
    let text = ok(&out);
    insta::assert_snapshot!(text);
    let v = json(&eksguard(&["risks", "-f", "json"], &[Path::new(FIX)]));
    let risks = v["risks"].as_array().unwrap();
    // Ranked: severities never increase down the list.
    let rank = |s: &str| {
        ["critical", "high", "medium", "low", "info"]
            .iter()
            .position(|x| *x == s)
            .unwrap()
    };
    let sev: Vec<usize> = risks
        .iter()
        .map(|r| rank(r["severity"].as_str().unwrap()))
        .collect();
    assert!(sev.windows(2).all(|w| w[0] <= w[1]));
    // Control-plane identities of the default policy are left out unless asked for.
    assert!(!text.contains("system:kube-controller-manager"));
    let all = ok(&eksguard(&["risks", "--all"], &[Path::new(FIX)]));
    assert!(all.contains("User system:kube-controller-manager"));
    let backup = risks
        .iter()
        .find(|r| r["subject"]["name"] == "backup")
        .unwrap();
    assert_eq!(backup["risk"], "secrets-read");
    assert_eq!(backup["severity"], "high");
    assert_eq!(backup["binding"]["file"], "tests/rbac/cluster.yaml");
}

#[test]
fn markdown_output_and_output_file() {
    let dir = std::env::temp_dir().join(format!("eksguard-rbac-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("who.md");
    let out = eksguard(
        &[
            "who-can",
            "get",
            "secrets",
            "-f",
            "markdown",
            "-o",
            file.to_str().unwrap(),
        ],
        &[Path::new(FIX)],
    );
    assert_eq!(ok(&out), "");
    let md = std::fs::read_to_string(&file).unwrap();
    assert!(md.starts_with("## Who may get secrets in any namespace:"));
    assert!(md.contains("| ServiceAccount tools/backup | - | cluster-wide | ClusterRoleBinding/backup-secret-reader |"));
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn unreadable_input_is_reported_and_the_rest_answered() {
    let dir = std::env::temp_dir().join(format!("eksguard-rbac-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("bad.yaml");
    std::fs::write(&bad, "kind: Role\nmetadata: [unclosed\n").unwrap();
    let out = eksguard(
        &["who-can", "get", "secrets", "-f", "json"],
        &[&fixtures(), &bad],
    );
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("bad.yaml:"), "{stderr}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(subjects(&v).contains(&"ServiceAccount backup <- backup-secret-reader".to_string()));
    assert_eq!(v["errors"].as_array().unwrap().len(), 1);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn reads_standard_input() {
    let text = std::fs::read_to_string(fixtures().join("cluster.yaml")).unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_eksguard"));
    cmd.args(["rbac", "who-can", "get", "nodes/proxy", "-f", "json", "-"]);
    let out = common::run_with_stdin(&mut cmd, &text);
    let s = subjects(&json(&out));
    assert!(
        s.contains(&"Group ops-team <- ops-debug".to_string()),
        "{s:?}"
    );
}

// ---------------------------------------------------------------------------------------
// Real RBAC objects of the corpus, answers checked by hand.

#[test]
fn corpus_rook_prometheus_aggregated_role() {
    let Some(p) = common::corpus("manifests/rook__rook/deploy/examples/monitoring/prometheus.yaml")
    else {
        return;
    };
    // `prometheus` has no rules of its own: they come from `prometheus-rules` by label.
    let v = json(&eksguard(
        &["who-can", "list", "pods", "-n", "rook-ceph", "-f", "json"],
        &[&p],
    ));
    let g = v["grants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["subject"]["name"] == "prometheus")
        .expect("prometheus may list pods");
    assert_eq!(g["subject"]["namespace"], "rook-ceph");
    assert_eq!(g["role"]["name"], "prometheus");
    assert_eq!(g["rules"][0]["role"], "prometheus-rules");
    assert_eq!(g["rules"][0]["index"], 0);
    let v = json(&eksguard(
        &["who-can", "get", "/metrics", "-f", "json"],
        &[&p],
    ));
    let g = v["grants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["subject"]["name"] == "prometheus")
        .unwrap();
    assert_eq!(g["rules"][0]["index"], 2);
    // configmaps: get only.
    let v = json(&eksguard(
        &["who-can", "list", "configmaps", "-f", "json"],
        &[&p],
    ));
    assert!(!subjects(&v).iter().any(|s| s.contains("prometheus")));
}

#[test]
fn corpus_metrics_server_aggregates_into_view() {
    let Some(p) = common::corpus("manifests/kubernetes-sigs__metrics-server/manifests/base") else {
        return;
    };
    // The corpus roles, plus a RoleBinding of our own to the default `view`.
    let dir = std::env::temp_dir().join(format!("eksguard-rbac-ms-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let extra = dir.join("view.yaml");
    std::fs::write(
        &extra,
        "apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: team-view, namespace: team}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: view}
subjects: [{kind: Group, name: team-readers}]
",
    )
    .unwrap();
    let v = json(&eksguard(
        &[
            "who-can",
            "list",
            "pods.metrics.k8s.io",
            "-n",
            "team",
            "-f",
            "json",
        ],
        &[&p, &extra],
    ));
    let g = v["grants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["subject"]["name"] == "team-readers")
        .unwrap();
    assert_eq!(g["role"]["name"], "view");
    assert_eq!(g["role"]["default_policy"], true);
    assert_eq!(g["rules"][0]["role"], "system:aggregated-metrics-reader");
    // metrics-server's own service account: its ClusterRole, the default auth-delegator
    // and the kube-system Role of the default policy.
    let v = json(&eksguard(
        &[
            "lookup",
            "kube-system:metrics-server",
            "-k",
            "serviceaccount",
            "-f",
            "json",
        ],
        &[&p],
    ));
    let mut roles: Vec<String> = v["bindings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["via"] == "direct")
        .map(|r| {
            format!(
                "{} {}",
                r["role"]["name"].as_str().unwrap(),
                r["scope"].as_str().unwrap()
            )
        })
        .collect();
    roles.sort();
    assert_eq!(
        roles,
        [
            "extension-apiserver-authentication-reader kube-system",
            "system:auth-delegator cluster-wide",
            "system:metrics-server cluster-wide",
        ]
    );
    std::fs::remove_dir_all(dir).unwrap();
}

/// Offline, a custom resource is known by the names its CustomResourceDefinition in the
/// input gives it, with its scope; a name nothing defines gets the nearest ones.
#[test]
fn custom_resource_names_come_from_definitions_in_the_input() {
    let dir = common::temp_dir("rbac-crd-names");
    std::fs::write(
        dir.join("crd.yaml"),
        "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: certificates.cert-manager.io\nspec:\n  group: cert-manager.io\n  scope: Namespaced\n  names:\n    plural: certificates\n    singular: certificate\n    kind: Certificate\n    shortNames: [cert, certs]\n  versions: [{name: v1, served: true, storage: true}]\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: {name: cert-admin, namespace: shop}\nrules:\n- apiGroups: [cert-manager.io]\n  resources: [certificates]\n  verbs: [delete]\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {name: dana-certs, namespace: shop}\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: cert-admin}\nsubjects:\n- {kind: User, apiGroup: rbac.authorization.k8s.io, name: dana}\n",
    )
    .unwrap();
    for word in ["cert", "certificate", "certificates.cert-manager.io"] {
        let out = eksguard(
            &["who-can", "delete", word, "-n", "shop", "-f", "json"],
            &[&dir],
        );
        let v = json(&out);
        assert_eq!(v["query"]["apiGroup"], "cert-manager.io", "{word}");
        assert_eq!(v["query"]["resource"], "certificates", "{word}");
        assert!(
            subjects(&v).contains(&"User dana <- dana-certs".to_string()),
            "{word}: {:?}",
            subjects(&v)
        );
    }
    let out = eksguard(&["who-can", "delete", "certificat"], &[&dir]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(
            "unknown resource `certificat`: not a built-in resource, and no \
             CustomResourceDefinition in the input defines it; did you mean `certificate`, `certificates` or \
             `certificatesigningrequest`?"
        ),
        "{stderr}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
