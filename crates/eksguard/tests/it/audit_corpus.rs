//! The Falco k8s-audit regression fixtures: every event that a Falco rule must flag is
//! flagged by the corresponding AUD rule, and nothing else fires (the negative cases
//! produce nothing). Each fixture is read on its own, as the Falco suite does (several
//! fixtures reuse one auditID).

use crate::common;

use std::collections::BTreeMap;

use eksguard_load::audit::{AuditReader, ReadOptions};
use eksguard_model::audit::AuditEvent;
use eksguard_rules::engine::EngineConfig;
use eksguard_rules::events::AuditEngine;
use eksguard_rules::{registry, Params};

/// Fixture → the AUD findings expected, in event order. The Falco rule each stands for
/// is in the comment; fixtures not listed must produce no finding.
const EXPECTED: &[(&str, &[&str])] = &[
    ("anonymous_creates_namespace_foo", &["AUD001"]), // Anonymous Request Allowed
    ("attach_cluster_admin_role", &["AUD010", "AUD023"]), // Attach to cluster-admin Role
    ("attach_pod", &["AUD002"]),                      // Attach/Exec Pod
    ("exec_pod", &["AUD002"]),                        // Attach/Exec Pod
    ("create_cluster_role_pod_exec", &["AUD012", "AUD023"]), // ClusterRole With Pod Exec Created
    (
        "create_cluster_role_wildcard_resources",
        &["AUD011", "AUD023"],
    ), // ClusterRole With Wildcard Created
    ("create_cluster_role_wildcard_verbs", &["AUD011", "AUD023"]),
    // ClusterRole With Write Privileges Created has no AUD rule; the activity record stays.
    ("create_cluster_role_write_privileges", &["AUD023"]),
    ("create_clusterrole", &["AUD023"]), // K8s ClusterRole Created
    ("create_clusterrolebinding", &["AUD023"]), // K8s ClusterRoleBinding Created
    ("delete_clusterrole", &["AUD023"]), // K8s ClusterRole Deleted
    ("delete_clusterrolebinding", &["AUD023"]), // K8s ClusterRoleBinding Deleted
    (
        "create_configmap_sensitive_values",
        &["AUD009", "AUD009", "AUD009", "AUD009", "AUD009", "AUD009"],
    ), // Create/Modify Configmap With Private Credentials (6)
    ("create_nginx_pod_hostnetwork", &["AUD007"]), // Create HostNetwork Pod
    ("create_nginx_pod_privileged", &["AUD005"]), // Create Privileged Pod
    ("create_nginx_pod_privileged_2nd_container", &["AUD005"]),
    (
        "create_nginx_pod_no_secctx_1st_container_privileged_2nd_container",
        &["AUD005"],
    ),
    ("create_nginx_pod_sensitive_mount", &["AUD006"]), // Create Sensitive Mount Pod
    (
        "create_nginx_pod_sensitive_mount_2nd_container",
        &["AUD006"],
    ),
    ("create_nginx_service_nodeport", &["AUD008"]), // Create NodePort Service
    ("create_pod_kube_public_namespace", &["AUD014"]), // Pod Created in Kube Namespace
    ("create_pod_kube_system_namespace", &["AUD014"]),
    ("create_serviceaccount_kube_public_namespace", &["AUD015"]), // Service Account Created in Kube Namespace
    ("create_serviceaccount_kube_system_namespace", &["AUD015"]),
    ("delete_cluster_role_kube_aggregator", &["AUD013", "AUD023"]), // System ClusterRole Modified/Deleted
    (
        "modify_cluster_role_node_problem_detector",
        &["AUD013", "AUD023"],
    ),
    ("some-user_creates_namespace_foo", &["AUD025"]), // Disallowed K8s User
];

/// Falco's default `allowed_k8s_users`, so that `AUD025` judges users as Falco does.
fn params() -> Params {
    let mut p = Params::default();
    p.0.entry("AUD025".into()).or_default().insert(
        "allowed_users".into(),
        serde_json::json!([
            "minikube",
            "minikube-user",
            "kubelet",
            "kops",
            "admin",
            "kube",
            "kube-proxy",
            "kubernetes-admin"
        ]),
    );
    p
}

/// Rule IDs found in one file, with the reader's error count.
fn scan(path: &std::path::Path) -> (Vec<String>, usize) {
    let mut engine = AuditEngine::new(
        registry::all(),
        EngineConfig {
            params: params(),
            ..EngineConfig::default()
        },
    );
    let mut reader = AuditReader::new(ReadOptions::default());
    let mut ids = Vec::new();
    reader.read_path(path, &mut |batch| {
        let events: Vec<&AuditEvent<'_>> = batch.events.iter().map(|p| &p.event).collect();
        ids.extend(
            engine
                .check(&events)
                .into_iter()
                .map(|f| f.hit.rule.id.to_string()),
        );
    });
    (ids, reader.errors().len())
}

#[test]
fn falco_fixtures() {
    let Some(dir) = common::corpus("audit/falco-k8s-audit") else {
        return;
    };
    let expected: BTreeMap<&str, &[&str]> = EXPECTED.iter().copied().collect();
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert_eq!(files.len(), 47);
    let mut failures = Vec::new();
    for path in &files {
        let stem = path.file_stem().unwrap().to_str().unwrap();
        let (got, errors) = scan(path);
        let want: Vec<String> = expected
            .get(stem)
            .map(|w| w.iter().map(|s| s.to_string()).collect())
            .unwrap_or_default();
        if got != want {
            failures.push(format!("{stem}: got {got:?}, want {want:?}"));
        }
        // Only the malformed FAL-01-003 object is an error; it must not stop the run.
        assert_eq!(errors, usize::from(stem == "fal_01_003"), "{stem}");
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn impersonation_demo_log() {
    // audit2rbac's demo: every event is system:admin impersonating someone, and the
    // legacy `timestamp` is the only time.
    let Some(path) = common::corpus("audit/audit2rbac/demo.log") else {
        return;
    };
    let (ids, errors) = scan(&path);
    assert_eq!(errors, 0);
    assert_eq!(ids.iter().filter(|i| *i == "AUD021").count(), 37);
}
