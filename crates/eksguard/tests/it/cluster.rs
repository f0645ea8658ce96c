//! `eksguard cluster`, `snapshot` and `generate --live` against a fake Kubernetes API
//! server, through the real binary and a generated kubeconfig whose credentials come from
//! an exec plugin.
#![cfg(feature = "cluster")]

use crate::common;
use crate::fake_kube;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use fake_kube::{Behaviour, FakeKube, Resource};
use serde_json::{json, Value};

const TOKEN: &str = "exec-plugin-token-7f3a";
/// `super-secret-value` in base64, and a token the last-applied annotation repeats.
const SECRET_B64: &str = "c3VwZXItc2VjcmV0LXZhbHVl";
const SECRET_PLAIN: &str = "super-secret-value";
const SA_TOKEN_B64: &str = "ZXlKaGJHY2lPaUpTVXpJMU5pSXNJbXRwWkNJNkluTmhJbjA=";

fn eksguard() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_eksguard"));
    // Never the developer's cluster or AWS account.
    c.env("KUBECONFIG", "/nonexistent/eksguard-test")
        .env_remove("KUBERNETES_SERVICE_HOST")
        .env("AWS_CONFIG_FILE", "/nonexistent/eksguard-test")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/eksguard-test");
    c
}

fn res(
    group: &'static str,
    version: &'static str,
    plural: &'static str,
    kind: &'static str,
    namespaced: bool,
    items: Vec<Value>,
) -> Resource {
    Resource {
        group,
        version,
        plural,
        kind,
        namespaced,
        items,
    }
}

fn meta(ns: &str, name: &str) -> Value {
    json!({"name": name, "namespace": ns, "uid": format!("uid-{ns}-{name}")})
}

fn owned(ns: &str, name: &str, owner_kind: &str, owner: &str) -> Value {
    let mut m = meta(ns, name);
    m["ownerReferences"] = json!([{"apiVersion": "apps/v1", "kind": owner_kind, "name": owner,
        "uid": format!("uid-{ns}-{owner}"), "controller": true}]);
    m
}

fn privileged_spec() -> Value {
    json!({"containers": [{"name": "web", "image": "nginx:1.27", "securityContext": {"privileged": true}}]})
}

/// The recorded cluster: a privileged Deployment with its ReplicaSet and pods, a CronJob
/// with a Job and pod, bare pods (one host-network pod on the last page), Secrets with
/// values, RBAC, the aws-auth ConfigMap mapping an IAM user, and filler service accounts.
fn cluster_resources() -> Vec<Resource> {
    let template = json!({"metadata": {"labels": {"app": "web"}}, "spec": privileged_spec()});
    let mut pods: Vec<Value> = (0..5)
        .map(|i| {
            json!({"metadata": owned("shop", &format!("web-6d4-{i}"), "ReplicaSet", "web-6d4"),
                   "spec": privileged_spec()})
        })
        .collect();
    pods.push(
        json!({"metadata": owned("shop", "backup-29-x", "Job", "backup-29"),
                     "spec": privileged_spec()}),
    );
    pods.push(json!({"metadata": meta("shop", "debug"),
                     "spec": {"hostNetwork": true, "containers": [{"name": "sh", "image": "busybox:1.36"}]}}));
    let cron_template = json!({"spec": {"template": {"spec": privileged_spec()}}});
    let mut sas: Vec<Value> = (0..9)
        .map(|i| json!({"metadata": meta("shop", &format!("sa-{i}"))}))
        .collect();
    sas.push(json!({"metadata": meta("shop", "default")}));
    vec![
        res(
            "",
            "v1",
            "namespaces",
            "Namespace",
            false,
            vec![
                json!({"metadata": {"name": "shop"}}),
                json!({"metadata": {"name": "kube-system"}}),
                json!({"metadata": {"name": "default"}}),
            ],
        ),
        res("", "v1", "pods", "Pod", true, pods),
        res(
            "",
            "v1",
            "replicationcontrollers",
            "ReplicationController",
            true,
            vec![],
        ),
        res("", "v1", "serviceaccounts", "ServiceAccount", true, sas),
        res(
            "",
            "v1",
            "secrets",
            "Secret",
            true,
            vec![
                json!({"metadata": {"name": "db", "namespace": "shop", "annotations": {
                      "kubectl.kubernetes.io/last-applied-configuration":
                          format!("{{\"stringData\":{{\"password\":\"{SECRET_PLAIN}\"}}}}")}},
                   "type": "Opaque", "data": {"password": SECRET_B64}}),
                json!({"metadata": {"name": "ci-token", "namespace": "shop",
                      "annotations": {"kubernetes.io/service-account.name": "sa-1"}},
                   "type": "kubernetes.io/service-account-token", "data": {"token": SA_TOKEN_B64}}),
            ],
        ),
        res(
            "",
            "v1",
            "services",
            "Service",
            true,
            vec![
                json!({"metadata": meta("shop", "web"), "spec": {"selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": 8080}]}}),
            ],
        ),
        res("", "v1", "resourcequotas", "ResourceQuota", true, vec![]),
        res("", "v1", "limitranges", "LimitRange", true, vec![]),
        res(
            "",
            "v1",
            "persistentvolumes",
            "PersistentVolume",
            false,
            vec![],
        ),
        res(
            "",
            "v1",
            "configmaps",
            "ConfigMap",
            true,
            vec![
                json!({"metadata": {"name": "aws-auth", "namespace": "kube-system"},
                   "data": {"mapUsers": "- userarn: arn:aws:iam::111122223333:user/alice\n  username: alice\n  groups: [developers]\n"}}),
                json!({"metadata": {"name": "app-settings", "namespace": "shop"}, "data": {"color": "blue"}}),
            ],
        ),
        res(
            "apps",
            "v1",
            "deployments",
            "Deployment",
            true,
            vec![
                json!({"metadata": meta("shop", "web"), "spec": {"replicas": 5, "template": template}}),
            ],
        ),
        res(
            "apps",
            "v1",
            "replicasets",
            "ReplicaSet",
            true,
            vec![
                json!({"metadata": owned("shop", "web-6d4", "Deployment", "web"), "spec": {"template": template}}),
            ],
        ),
        res("apps", "v1", "statefulsets", "StatefulSet", true, vec![]),
        res("apps", "v1", "daemonsets", "DaemonSet", true, vec![]),
        res(
            "batch",
            "v1",
            "jobs",
            "Job",
            true,
            vec![
                json!({"metadata": owned("shop", "backup-29", "CronJob", "backup"), "spec": {"template": {"spec": privileged_spec()}}}),
            ],
        ),
        res(
            "batch",
            "v1",
            "cronjobs",
            "CronJob",
            true,
            vec![
                json!({"metadata": meta("shop", "backup"), "spec": {"schedule": "0 * * * *", "jobTemplate": cron_template}}),
            ],
        ),
        res(
            "rbac.authorization.k8s.io",
            "v1",
            "roles",
            "Role",
            true,
            vec![],
        ),
        res(
            "rbac.authorization.k8s.io",
            "v1",
            "clusterroles",
            "ClusterRole",
            false,
            vec![
                json!({"metadata": {"name": "everything"}, "rules": [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}]}),
            ],
        ),
        res(
            "rbac.authorization.k8s.io",
            "v1",
            "rolebindings",
            "RoleBinding",
            true,
            vec![
                json!({"metadata": meta("shop", "carol-everything"), "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "everything"}, "subjects": [{"kind": "User", "apiGroup": "rbac.authorization.k8s.io", "name": "carol"}]}),
            ],
        ),
        res(
            "rbac.authorization.k8s.io",
            "v1",
            "clusterrolebindings",
            "ClusterRoleBinding",
            false,
            vec![],
        ),
        res(
            "networking.k8s.io",
            "v1",
            "networkpolicies",
            "NetworkPolicy",
            true,
            vec![],
        ),
        res(
            "networking.k8s.io",
            "v1",
            "ingresses",
            "Ingress",
            true,
            vec![],
        ),
        res(
            "storage.k8s.io",
            "v1",
            "storageclasses",
            "StorageClass",
            false,
            vec![],
        ),
        res(
            "admissionregistration.k8s.io",
            "v1",
            "validatingwebhookconfigurations",
            "ValidatingWebhookConfiguration",
            false,
            vec![],
        ),
        res(
            "admissionregistration.k8s.io",
            "v1",
            "mutatingwebhookconfigurations",
            "MutatingWebhookConfiguration",
            false,
            vec![],
        ),
        // Served only at the older version of a group whose preferred version lacks it.
        res(
            "policy",
            "v1beta1",
            "podsecuritypolicies",
            "PodSecurityPolicy",
            false,
            vec![json!({"metadata": {"name": "open"}, "spec": {"privileged": true}})],
        ),
    ]
}

fn behaviour() -> Behaviour {
    Behaviour {
        token: Some(TOKEN.into()),
        forbidden: vec!["networkpolicies"],
        slow: vec![("ingresses", Duration::from_secs(4))],
        extra_versions: vec![("policy", "v1", "v1beta1")],
        ..Behaviour::default()
    }
}

struct Fixture {
    server: FakeKube,
    dir: PathBuf,
    kubeconfig: PathBuf,
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Starts the server and writes a kubeconfig whose user runs an exec plugin (a shell
/// script printing an ExecCredential with the token).
fn fixture(tag: &str, behaviour: Behaviour) -> Fixture {
    let server = FakeKube::start(cluster_resources(), behaviour);
    let dir = common::temp_dir(&format!("cluster-{tag}"));
    let plugin = dir.join("get-token.sh");
    std::fs::write(
        &plugin,
        format!(
            "#!/bin/sh\nprintf '%s' '{{\"apiVersion\":\"client.authentication.k8s.io/v1beta1\",\"kind\":\"ExecCredential\",\"status\":{{\"token\":\"{TOKEN}\"}}}}'\n"
        ),
    )
    .expect("plugin");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&plugin, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    let kubeconfig = dir.join("config");
    std::fs::write(
        &kubeconfig,
        format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: test\nclusters:\n- name: fake\n  cluster:\n    server: {url}\ncontexts:\n- name: test\n  context: {{cluster: fake, user: plugin}}\n- name: static\n  context: {{cluster: fake, user: wrong}}\nusers:\n- name: plugin\n  user:\n    exec:\n      apiVersion: client.authentication.k8s.io/v1beta1\n      command: {plugin}\n      interactiveMode: Never\n- name: wrong\n  user:\n    token: not-the-token\n",
            url = server.url,
            plugin = plugin.display()
        ),
    )
    .expect("kubeconfig");
    Fixture {
        server,
        dir,
        kubeconfig,
    }
}

fn run(fx: &Fixture, args: &[&str]) -> Output {
    eksguard()
        .args(args)
        .arg("--kubeconfig")
        .arg(&fx.kubeconfig)
        .output()
        .expect("eksguard runs")
}

fn cluster_json(fx: &Fixture, extra: &[&str]) -> (i32, Value) {
    let mut args = vec![
        "cluster",
        "--no-config",
        "-f",
        "json",
        "--page-size",
        "2",
        "--request-timeout",
        "1",
    ];
    args.extend_from_slice(extra);
    let out = eksguard()
        .args(&args)
        .arg("--kubeconfig")
        .arg(&fx.kubeconfig)
        .output()
        .expect("eksguard runs");
    let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "JSON report ({e}); stderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap_or(-1), report)
}

/// (rule, kind/namespace/name) of every finding.
fn found(report: &Value) -> BTreeSet<(String, String)> {
    report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| {
            let r = &f["resource"];
            let who = match r["namespace"].as_str() {
                Some(ns) => format!(
                    "{}/{ns}/{}",
                    r["kind"].as_str().unwrap_or(""),
                    r["name"].as_str().unwrap_or("")
                ),
                None => format!(
                    "{}/{}",
                    r["kind"].as_str().unwrap_or(""),
                    r["name"].as_str().unwrap_or("")
                ),
            };
            (f["rule_id"].as_str().unwrap_or("").to_string(), who)
        })
        .collect()
}

fn errors(report: &Value) -> Vec<String> {
    report["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| {
            format!(
                "{}: {}",
                e["file"].as_str().unwrap_or(""),
                e["message"].as_str().unwrap_or("")
            )
        })
        .collect()
}

#[test]
fn live_scan_reports_on_owners_follows_pages_and_names_unreadable_types() {
    let fx = fixture("scan", behaviour());
    let (code, report) = cluster_json(&fx, &[]);
    assert_eq!(code, 2, "read errors make the exit status 2: {report:#}");
    let found = found(&report);
    let has = |rule: &str, who: &str| found.contains(&(rule.to_string(), who.to_string()));
    // Privileged containers: once on the Deployment, once on the CronJob; never on the
    // ReplicaSet, the Job or their pods.
    assert!(has("POD001", "Deployment/shop/web"), "{found:?}");
    assert!(has("POD001", "CronJob/shop/backup"), "{found:?}");
    let pod001: Vec<_> = found.iter().filter(|(r, _)| r == "POD001").collect();
    assert_eq!(pod001.len(), 2, "{pod001:?}");
    // The bare pod, last of seven pods served two at a time: all pages were read.
    assert!(has("POD007", "Pod/shop/debug"), "{found:?}");
    assert_eq!(
        fx.server.requests("/api/v1/pods").len(),
        4,
        "{:?}",
        fx.server.requests("/api/v1/pods")
    );
    assert!(fx
        .server
        .requests("/api/v1/pods")
        .iter()
        .any(|r| r.contains("continue=offset-6") && r.contains("limit=2")));
    // Metadata of Secrets, RBAC, aws-auth, and a kind found at a non-preferred version.
    assert!(has("IAM019", "Secret/shop/ci-token"), "{found:?}");
    assert!(has("IAM008", "ClusterRole/everything"), "{found:?}");
    assert!(has("IAM005", "ConfigMap/kube-system/aws-auth"), "{found:?}");
    assert!(
        found.iter().any(|(_, w)| w == "PodSecurityPolicy/open"),
        "{found:?}"
    );
    // Only the two named ConfigMaps are read.
    assert!(fx.server.requests("/api/v1/configmaps").is_empty());
    assert!(!found.iter().any(|(_, w)| w.contains("app-settings")));
    // Live objects have no file position.
    assert!(report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .all(|f| f.get("location").is_none()));
    // 3 namespaces, 7 pods, 10 service accounts, 2 secrets, 1 service, aws-auth, 1 + 1 + 1
    // + 1 workloads, 1 cluster role, 1 role binding, 1 PSP.
    assert_eq!(report["summary"]["resources_scanned"], 31, "{report:#}");

    let errs = errors(&report);
    assert_eq!(errs.len(), 2, "{errs:?}");
    let forbidden = errs
        .iter()
        .find(|e| e.contains("networkpolicies"))
        .expect("403 error");
    assert!(forbidden.contains("forbidden (403)"), "{forbidden}");
    for rule in ["NET001", "NET002", "NET005"] {
        assert!(forbidden.contains(rule), "{forbidden}");
    }
    let slow = errs
        .iter()
        .find(|e| e.contains("ingresses"))
        .expect("timeout error");
    assert!(slow.contains("no answer within 1 s"), "{slow}");
}

#[test]
fn no_secret_value_in_any_format() {
    let fx = fixture("secrets", behaviour());
    let snap = fx.dir.join("snap.json");
    let mut outputs = Vec::new();
    for format in ["text", "json", "sarif", "junit", "markdown"] {
        let out = run(
            &fx,
            &[
                "cluster",
                "--no-config",
                "-f",
                format,
                "--request-timeout",
                "1",
            ],
        );
        assert_eq!(out.status.code(), Some(2), "{format}");
        outputs.push(out.stdout);
        outputs.push(out.stderr);
    }
    let out = run(
        &fx,
        &[
            "snapshot",
            "-o",
            snap.to_str().unwrap(),
            "--request-timeout",
            "1",
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    outputs.push(std::fs::read(&snap).expect("snapshot written"));
    for o in outputs {
        let text = String::from_utf8_lossy(&o);
        for secret in [SECRET_B64, SECRET_PLAIN, SA_TOKEN_B64, TOKEN] {
            assert!(!text.contains(secret), "`{secret}` leaked:\n{text}");
        }
    }
}

#[test]
fn text_report_names_live_objects_without_positions() {
    let fx = fixture("text", behaviour());
    let out = run(
        &fx,
        &[
            "cluster",
            "--no-config",
            "--select",
            "POD001",
            "--color",
            "never",
            "--request-timeout",
            "1",
        ],
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Deployment shop/web"), "{text}");
    // Named by identity instead of a file position, with no code frame.
    assert!(
        text.contains(
            "--> Deployment/shop/web .spec.template.spec.containers[0].securityContext.privileged"
        ),
        "{text}"
    );
    assert!(!text.contains(" | "), "no code frame: {text}");
    assert!(text.contains("networkpolicies"), "{text}");
}

#[test]
fn snapshot_then_offline_scan_gives_the_same_findings() {
    let fx = fixture("snapshot", behaviour());
    let (_, live) = cluster_json(&fx, &[]);
    let snap = fx.dir.join("cluster.json");
    let out = run(
        &fx,
        &[
            "snapshot",
            "-o",
            snap.to_str().unwrap(),
            "--page-size",
            "2",
            "--request-timeout",
            "1",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    let out = eksguard()
        .args(["scan", "--no-config", "-f", "json"])
        .arg(&snap)
        .output()
        .expect("scan runs");
    assert_eq!(
        out.status.code(),
        Some(2),
        "recorded read errors keep exit status 2"
    );
    let offline: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let key = |r: &Value| -> BTreeSet<String> {
        r["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                format!(
                    "{} {} {} {}",
                    f["rule_id"], f["resource"], f["field_path"], f["message"]
                )
            })
            .collect()
    };
    assert!(!key(&live).is_empty());
    assert_eq!(key(&live), key(&offline));
    assert_eq!(
        live["summary"]["resources_scanned"],
        offline["summary"]["resources_scanned"]
    );
    let errs = errors(&offline);
    assert!(
        errs.iter().any(|e| e.contains("networkpolicies")
            && e.contains("NET001")
            && e.contains("recorded in snapshot")),
        "{errs:?}"
    );
    // Offline findings point into the snapshot file.
    assert!(offline["findings"][0]["location"]["file"]
        .as_str()
        .unwrap()
        .ends_with("cluster.json"));
}

#[test]
fn credentials_are_required_and_a_failed_discovery_is_reported() {
    let fx = fixture("auth", behaviour());
    let out = run(
        &fx,
        &[
            "cluster",
            "--no-config",
            "-f",
            "json",
            "--context",
            "static",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    let report: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let errs = errors(&report);
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert!(
        errs[0].contains("discovery failed") && errs[0].contains("401"),
        "{errs:?}"
    );
    assert_eq!(report["summary"]["resources_scanned"], 0);
    // Every request of the exec-plugin context carried the token: it read objects.
    let (_, ok) = cluster_json(&fx, &["--select", "POD001"]);
    assert!(ok["summary"]["resources_scanned"].as_u64().unwrap() > 0);
}

#[test]
fn namespace_flag_restricts_namespaced_reads() {
    let fx = fixture(
        "ns",
        Behaviour {
            token: Some(TOKEN.into()),
            ..Behaviour::default()
        },
    );
    let (code, report) = cluster_json(&fx, &["--namespace", "shop"]);
    assert_eq!(code, 1, "{report:#}");
    let found = found(&report);
    assert!(
        found.iter().all(|(_, w)| !w.contains("kube-system")),
        "{found:?}"
    );
    assert!(fx.server.requests("/api/v1/pods").is_empty());
    assert!(!fx
        .server
        .requests("/api/v1/namespaces/shop/pods")
        .is_empty());
    assert!(fx
        .server
        .requests("/api/v1/namespaces/kube-system")
        .is_empty());
    // Cluster-scoped kinds are still read.
    assert!(found.contains(&("IAM008".to_string(), "ClusterRole/everything".to_string())));
}

#[test]
fn generators_read_the_live_cluster() {
    let fx = fixture(
        "gen",
        Behaviour {
            token: Some(TOKEN.into()),
            ..Behaviour::default()
        },
    );
    let out = run(&fx, &["generate", "pod-security", "--live"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let yaml = String::from_utf8_lossy(&out.stdout);
    assert!(yaml.contains("name: shop"), "{yaml}");
    assert!(
        yaml.contains("pod-security.kubernetes.io/enforce: privileged"),
        "{yaml}"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    // Blockers are named on the owners, not on each pod.
    assert!(
        stderr.contains("Deployment/shop/web") || stderr.contains("Deployment shop/web"),
        "{stderr}"
    );
    assert!(!stderr.contains("web-6d4-"), "{stderr}");

    let out = run(&fx, &["generate", "network-policy", "--live"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let yaml = String::from_utf8_lossy(&out.stdout);
    assert!(yaml.contains("namespace: shop"), "{yaml}");
    assert!(yaml.contains("port: 8080"), "{yaml}");
}

#[test]
fn file_scan_reports_controlled_workloads_on_their_owner_too() {
    let dir = common::temp_dir("cluster-files");
    let mut docs = Vec::new();
    for r in cluster_resources() {
        for i in r
            .items
            .iter()
            .filter(|i| r.kind != "Secret" && i["metadata"]["namespace"] == "shop")
        {
            let mut i = i.clone();
            i["kind"] = json!(r.kind);
            i["apiVersion"] = json!(if r.group.is_empty() {
                r.version.to_string()
            } else {
                format!("{}/{}", r.group, r.version)
            });
            docs.push(serde_json::to_string_pretty(&i).unwrap());
        }
    }
    let file = dir.join("shop.yaml");
    std::fs::write(&file, docs.join("\n---\n")).unwrap();
    let out = eksguard()
        .args(["scan", "--no-config", "-f", "json", "--select", "POD001"])
        .arg(&file)
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    let found = found(&report);
    assert_eq!(
        found,
        [
            ("POD001".to_string(), "CronJob/shop/backup".to_string()),
            ("POD001".to_string(), "Deployment/shop/web".to_string()),
        ]
        .into_iter()
        .collect()
    );
}

#[test]
fn rbac_queries_read_the_live_cluster() {
    let fx = fixture(
        "rbac",
        Behaviour {
            token: Some(TOKEN.into()),
            ..Behaviour::default()
        },
    );
    let out = run(
        &fx,
        &[
            "rbac", "who-can", "delete", "secrets", "-n", "shop", "--live", "-f", "json",
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let answer: Value = serde_json::from_slice(&out.stdout).expect("json");
    let text = answer.to_string();
    assert!(
        text.contains("carol") && text.contains("carol-everything"),
        "{answer:#}"
    );
    // The RoleBinding grants only in its own namespace.
    let out = run(
        &fx,
        &[
            "rbac",
            "who-can",
            "delete",
            "secrets",
            "-n",
            "kube-system",
            "--live",
            "-f",
            "json",
        ],
    );
    assert_eq!(out.status.code(), Some(0));
    assert!(!String::from_utf8_lossy(&out.stdout).contains("carol"));

    let out = run(&fx, &["rbac", "lookup", "carol", "--live"]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("ClusterRole/everything") && text.contains("shop"),
        "{text}"
    );
    assert!(!fx
        .server
        .requests("/apis/rbac.authorization.k8s.io/v1/rolebindings")
        .is_empty());
}

/// With `--live`, resource names come from the cluster's discovery: a custom resource
/// and an aggregated API the inputs do not define are known by every name, their scope
/// is the server's, an unknown name gets the nearest served ones, and a group version
/// that is down is named.
#[test]
fn rbac_resource_names_come_from_live_discovery() {
    let fx = fixture(
        "rbac-discovery",
        Behaviour {
            token: Some(TOKEN.into()),
            discovered: vec![
                fake_kube::Discovered {
                    group: "cert-manager.io",
                    version: "v1",
                    plural: "certificates",
                    singular: "certificate",
                    kind: "Certificate",
                    short_names: &["cert", "certs"],
                    namespaced: true,
                },
                fake_kube::Discovered {
                    group: "metrics.k8s.io",
                    version: "v1beta1",
                    plural: "podmetricses",
                    singular: "",
                    kind: "PodMetrics",
                    short_names: &[],
                    namespaced: true,
                },
                fake_kube::Discovered {
                    group: "example.com",
                    version: "v1",
                    plural: "clusterwidgets",
                    singular: "clusterwidget",
                    kind: "ClusterWidget",
                    short_names: &["cw"],
                    namespaced: false,
                },
            ],
            unavailable: vec![("custom.metrics.k8s.io", "v1beta2")],
            ..Behaviour::default()
        },
    );
    let who_can = |args: &[&str]| {
        let mut all = vec!["rbac", "who-can"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["--live", "-f", "json"]);
        run(&fx, &all)
    };
    for word in [
        "cert",
        "certificate",
        "Certificates",
        "certificates.cert-manager.io",
    ] {
        let out = who_can(&["delete", word, "-n", "shop"]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{word}: {stderr}");
        let answer: Value = serde_json::from_slice(&out.stdout).expect("json");
        assert_eq!(answer["query"]["apiGroup"], "cert-manager.io", "{word}");
        assert_eq!(answer["query"]["resource"], "certificates", "{word}");
        assert_eq!(answer["query"]["namespace"], "shop", "{word}");
        assert!(
            answer.to_string().contains("carol-everything"),
            "{answer:#}"
        );
        assert!(
            stderr.contains(
                "note: API discovery: /apis/custom.metrics.k8s.io/v1beta2: HTTP 503: the server \
                 is currently unable to handle the request; its resources are not known by name"
            ),
            "{stderr}"
        );
    }
    // The aggregated API by its kind; the cluster-scoped custom resource drops -n.
    let out = who_can(&["get", "podmetrics", "-n", "shop"]);
    let answer: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(answer["query"]["apiGroup"], "metrics.k8s.io");
    assert_eq!(answer["query"]["resource"], "podmetricses");
    let out = who_can(&["delete", "cw", "-n", "shop"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let answer: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(answer["query"]["resource"], "clusterwidgets");
    assert_eq!(answer["query"]["namespace"], Value::Null, "{answer:#}");
    assert!(
        stderr.contains("clusterwidgets are cluster-scoped; --namespace is ignored"),
        "{stderr}"
    );
    // Not served: the nearest served names.
    let out = who_can(&["get", "certificat"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(
            "unknown resource `certificat`: the API server does not serve it (not in its \
             discovery documents); did you mean `certificate`, `certificates` or \
             `certificatesigningrequest`?"
        ),
        "{stderr}"
    );
    assert!(!fx.server.requests("/apis/cert-manager.io/v1").is_empty());
}

#[test]
fn generators_still_write_but_fail_when_a_type_was_refused() {
    let fx = fixture("gen-403", behaviour());
    let out = run(&fx, &["generate", "network-policy", "--live"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    // Existing policies could not be read: the output may repeat what is there.
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("networkpolicies"), "{stderr}");
    let yaml = String::from_utf8_lossy(&out.stdout);
    assert!(yaml.contains("kind: NetworkPolicy"), "{yaml}");
}

/// Pods answer with a page larger than the cap (its length declared), Secrets with an
/// endless chunked body as fast as it can be read, service accounts with an endless body
/// trickling in, and Roles with a continue token that never changes.
fn hostile() -> Behaviour {
    Behaviour {
        token: Some(TOKEN.into()),
        oversized: vec![("pods", 200_000)],
        endless: vec![
            ("secrets", Duration::ZERO),
            ("serviceaccounts", Duration::from_millis(20)),
        ],
        repeat_continue: vec!["roles"],
        ..Behaviour::default()
    }
}

#[test]
fn oversized_and_endless_responses_are_errors_naming_their_type() {
    let fx = fixture("hostile", hostile());
    let started = Instant::now();
    let (code, report) = cluster_json(&fx, &["--max-response-bytes", "100KiB"]);
    // The endless bodies end at the cap or at the one-second timeout, not never.
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(code, 2, "{report:#}");
    let errs = errors(&report);
    assert_eq!(errs.len(), 4, "{errs:#?}");
    let error = |plural: &str| -> &String {
        errs.iter()
            .find(|e| e.starts_with(&format!("kubernetes/{plural}: cannot list {plural}: ")))
            .unwrap_or_else(|| panic!("no error for {plural}: {errs:#?}"))
    };
    let pods = error("pods");
    assert!(
        pods.contains("over the limit of 102400 bytes (--max-response-bytes); not read"),
        "{pods}"
    );
    assert!(
        pods.contains("not checked: ") && pods.contains("POD007"),
        "{pods}"
    );
    let secrets = error("secrets");
    assert!(
        secrets.contains("grew past the limit of 102400 bytes (--max-response-bytes)"),
        "{secrets}"
    );
    let sas = error("serviceaccounts");
    assert!(sas.contains("response not complete within 1 s ("), "{sas}");
    let roles = error("roles");
    assert!(
        roles.contains("repeated an earlier continue token"),
        "{roles}"
    );
    assert_eq!(
        fx.server
            .requests("/apis/rbac.authorization.k8s.io/v1/roles")
            .len(),
        2
    );
    // The other types were read and checked.
    let found = found(&report);
    assert!(
        found.contains(&("POD001".to_string(), "Deployment/shop/web".to_string())),
        "{found:?}"
    );
    assert!(
        found.contains(&("IAM008".to_string(), "ClusterRole/everything".to_string())),
        "{found:?}"
    );
    assert!(
        !found.iter().any(|(_, w)| w.starts_with("Pod/")),
        "{found:?}"
    );

    // `snapshot` shares the flag and records the same errors.
    let snap = fx.dir.join("hostile.json");
    let out = run(
        &fx,
        &[
            "snapshot",
            "-o",
            snap.to_str().unwrap(),
            "--request-timeout",
            "1",
            "--max-response-bytes",
            "100KiB",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    let doc: Value = serde_json::from_slice(&std::fs::read(&snap).expect("snapshot")).unwrap();
    let files: BTreeSet<&str> = doc["errors"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["file"].as_str())
        .collect();
    assert!(
        ["pods", "secrets", "serviceaccounts", "roles"]
            .iter()
            .all(|p| files.contains(format!("kubernetes/{p}").as_str())),
        "{files:?}"
    );
}

#[test]
fn the_default_cap_reads_ordinary_pages_and_bad_sizes_are_refused() {
    let fx = fixture(
        "cap-default",
        Behaviour {
            token: Some(TOKEN.into()),
            oversized: vec![("pods", 200_000)],
            ..Behaviour::default()
        },
    );
    // 200 kB pages are far below the default.
    let (code, report) = cluster_json(&fx, &[]);
    assert_eq!(code, 1, "{report:#}");
    assert!(errors(&report).is_empty(), "{report:#}");
    // A page over a cap given in plain bytes.
    let (code, report) = cluster_json(&fx, &["--max-response-bytes", "150000"]);
    assert_eq!(code, 2);
    assert!(
        errors(&report)
            .iter()
            .any(|e| e.starts_with("kubernetes/pods:") && e.contains("limit of 150000 bytes")),
        "{report:#}"
    );
    for bad in ["12XB", "0", "MiB"] {
        let out = run(
            &fx,
            &["cluster", "--no-config", "--max-response-bytes", bad],
        );
        assert_eq!(out.status.code(), Some(2), "{bad}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("--max-response-bytes"), "{stderr}");
    }
}

#[test]
fn secrets_lose_their_values_whatever_their_kind_is_spelled() {
    let mut resources = cluster_resources();
    let secrets = resources
        .iter_mut()
        .find(|r| r.plural == "secrets")
        .expect("secrets");
    for (i, kind) in ["secret", " Secret ", "SECRET"].iter().enumerate() {
        secrets.items.push(json!({"kind": kind, "apiVersion": "v1",
            "metadata": {"name": format!("odd-{i}"), "namespace": "shop"},
            "data": {"password": SECRET_B64}, "stringData": {"password": SECRET_PLAIN}}));
    }
    let server = FakeKube::start(
        resources,
        Behaviour {
            token: Some(TOKEN.into()),
            ..Behaviour::default()
        },
    );
    let fx = fixture("odd-kind", Behaviour::default());
    // The fixture's kubeconfig, pointed at this server instead.
    let text = std::fs::read_to_string(&fx.kubeconfig).unwrap();
    std::fs::write(&fx.kubeconfig, text.replace(&fx.server.url, &server.url)).unwrap();
    let snap = fx.dir.join("odd.json");
    let out = run(&fx, &["snapshot", "-o", snap.to_str().unwrap()]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&snap).expect("snapshot");
    assert!(text.contains("odd-2"), "{text}");
    for secret in [SECRET_B64, SECRET_PLAIN] {
        assert!(!text.contains(secret), "`{secret}` kept:\n{text}");
    }
}
