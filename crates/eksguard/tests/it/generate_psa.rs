//! `generate pod-security`: levels of real namespaces, and round trips through the engine:
//! the generated labels must satisfy POD014, and the patches must clear what they set.

use crate::common;

use std::path::PathBuf;

use eksguard_load::files::load_text;
use eksguard_load::LoadOptions;
use eksguard_model::{Inventory, Node, Object, Source};
use eksguard_policy::pss::{self, Level};

fn load(paths: &[PathBuf]) -> Inventory {
    eksguard_load::load(paths, &LoadOptions::default())
}

fn text(s: &str) -> Inventory {
    let inv = load_text("t.yaml", s.as_bytes(), &LoadOptions::default());
    assert!(inv.errors.is_empty(), "{:?}", inv.errors);
    inv
}

fn run(inv: &Inventory, rules: &[&str]) -> Vec<(String, String, String)> {
    common::findings(inv, rules)
        .into_iter()
        .map(|f| {
            (
                f.rule.id.to_string(),
                inv.get(f.object).display_name(),
                f.message,
            )
        })
        .collect()
}

fn level_of(inv: &Inventory, ns: &str) -> pss::NamespaceLevel {
    pss::namespace_levels(inv.iter())
        .into_iter()
        .find(|l| l.namespace == ns)
        .unwrap_or_else(|| panic!("namespace {ns} not found"))
}

// Checked by hand against the standard:
// kubernetes-sigs__metrics-server/manifests/base/deployment.yaml: the one container sets
// runAsNonRoot, runAsUser 1000, allowPrivilegeEscalation false, RuntimeDefault seccomp and
// drops ALL; its only volume is an emptyDir: restricted.
/// A file of the corpus's manifests, or `None` after saying SKIPPED.
fn corpus(rel: &str) -> Option<PathBuf> {
    common::corpus(&format!("manifests/{rel}"))
}

#[test]
fn metrics_server_is_restricted() {
    let Some(p) = corpus("kubernetes-sigs__metrics-server/manifests/base/deployment.yaml") else {
        return;
    };
    let ns = level_of(&load(&[p]), "kube-system");
    assert_eq!(ns.level, Level::Restricted);
    assert!(ns.workloads.iter().all(|w| w.blockers.is_empty()));
}

// GoogleCloudPlatform__microservices-demo/release/kubernetes-manifests.yaml: every pod runs as
// user 1000 with runAsNonRoot, every container drops ALL and forbids privilege escalation,
// but no seccomp profile is set anywhere: baseline, blocked only by Seccomp.
#[test]
fn microservices_demo_is_baseline_for_want_of_seccomp() {
    let Some(p) =
        corpus("GoogleCloudPlatform__microservices-demo/release/kubernetes-manifests.yaml")
    else {
        return;
    };
    let ns = level_of(&load(&[p]), "default");
    assert_eq!(ns.level, Level::Baseline);
    assert!(ns.workloads.len() >= 10);
    for w in &ns.workloads {
        assert_eq!(w.level, Level::Baseline, "{}", w.workload);
        assert!(!w.blockers.is_empty());
        for (v, line) in &w.blockers {
            assert_eq!(v.check, "Seccomp", "{}: {}", w.workload, v.path);
            assert!(line.is_some());
        }
    }
}

// aws__amazon-vpc-cni-k8s/config/master/aws-k8s-cni.yaml: aws-node uses hostNetwork,
// hostPath volumes, a privileged init container and NET_ADMIN/NET_RAW: privileged.
// cni-metrics-helper.yaml in the same namespace: no securityContext, but nothing the
// baseline forbids: baseline.
#[test]
fn vpc_cni_is_privileged_and_metrics_helper_baseline() {
    let (Some(cni), Some(helper)) = (
        corpus("aws__amazon-vpc-cni-k8s/config/master/aws-k8s-cni.yaml"),
        corpus("aws__amazon-vpc-cni-k8s/config/master/cni-metrics-helper.yaml"),
    ) else {
        return;
    };
    let ns = level_of(&load(&[cni, helper]), "kube-system");
    assert_eq!(ns.level, Level::Privileged);
    let node = ns
        .workloads
        .iter()
        .find(|w| w.workload == "DaemonSet/kube-system/aws-node")
        .unwrap();
    let checks: Vec<&str> = node.blockers.iter().map(|(v, _)| v.check).collect();
    for c in [
        "Host Namespaces",
        "Privileged Containers",
        "Capabilities",
        "HostPath Volumes",
    ] {
        assert!(checks.contains(&c), "{c} missing from {checks:?}");
    }
    let helper = ns
        .workloads
        .iter()
        .find(|w| w.workload == "Deployment/kube-system/cni-metrics-helper")
        .unwrap();
    assert_eq!(helper.level, Level::Baseline);
}

const SAMPLE: &str = "apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
spec:
  template:
    metadata:
      labels:
        app: web
    spec:
      volumes:
        - name: tmp
          emptyDir: {}
      containers:
        - name: web
          image: web
          securityContext:
            runAsUser: 1000
          volumeMounts:
            - name: tmp
              mountPath: /tmp
        - name: sidecar
          image: side
          securityContext:
            capabilities:
              add: [NET_BIND_SERVICE]
      initContainers:
        - name: init
          image: init
---
apiVersion: batch/v1
kind: CronJob
metadata:
  name: nightly
  namespace: batch
spec:
  jobTemplate:
    spec:
      template:
        spec:
          hostNetwork: true
          containers:
            - name: job
              image: job
---
apiVersion: v1
kind: Namespace
metadata:
  name: empty
";

/// The scanned Namespaces replaced by the generated ones.
fn with_labels(inv: Inventory) -> Inventory {
    let levels = pss::namespace_levels(inv.iter());
    let generated = text(&pss::render_namespaces(&levels));
    let mut out = Inventory::default();
    for o in inv.objects {
        if &*o.kind != "Namespace" {
            out.push(std::sync::Arc::unwrap_or_clone(o));
        }
    }
    out.extend(generated);
    out
}

fn assert_labels_satisfy_pod014(inv: Inventory) {
    let levels = pss::namespace_levels(inv.iter());
    let labelled = with_labels(inv);
    let findings = run(&labelled, &["POD014"]);
    for ns in &levels {
        let name = format!("Namespace/{}", ns.namespace);
        let mine: Vec<_> = findings.iter().filter(|f| f.1 == name).collect();
        if ns.level == Level::Privileged {
            // The honest label for a namespace that runs privileged pods; POD014 rightly
            // says so, but never that the labels are missing.
            assert!(
                mine.iter()
                    .all(|f| f.2.contains("enforces the privileged level")),
                "{mine:?}"
            );
        } else {
            assert!(mine.is_empty(), "{mine:?}");
        }
    }
}

#[test]
fn generated_labels_round_trip_through_pod014() {
    let inv = text(SAMPLE);
    // The unlabelled Namespace of the input is flagged before the labels are applied.
    assert_eq!(run(&inv, &["POD014"]).len(), 1);
    let levels = pss::namespace_levels(inv.iter());
    let names: Vec<(&str, Level)> = levels
        .iter()
        .map(|l| (l.namespace.as_str(), l.level))
        .collect();
    assert_eq!(
        names,
        vec![
            ("batch", Level::Privileged),
            ("empty", Level::Restricted),
            ("shop", Level::Baseline),
        ]
    );
    assert_labels_satisfy_pod014(inv);
}

#[test]
fn corpus_labels_round_trip_through_pod014() {
    let paths: Vec<PathBuf> = [
        "GoogleCloudPlatform__microservices-demo/release/kubernetes-manifests.yaml",
        "kubernetes-sigs__external-dns",
        "NVIDIA__k8s-device-plugin",
        "cert-manager__cert-manager/deploy/manifests/namespace.yaml",
    ]
    .iter()
    .filter_map(|p| corpus(p))
    .collect();
    if paths.is_empty() {
        return;
    }
    assert_labels_satisfy_pod014(load(&paths));
}

/// A strategic merge as far as the patches need it: maps merge, container lists merge by
/// name, everything else is replaced.
fn merge(base: &mut serde_json::Value, patch: &serde_json::Value) {
    use serde_json::Value as J;
    match (base, patch) {
        (J::Object(b), J::Object(p)) => {
            for (k, v) in p {
                match b.get_mut(k) {
                    Some(slot) => merge(slot, v),
                    None => {
                        b.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (J::Array(b), J::Array(p)) if p.iter().all(|i| i.get("name").is_some()) => {
            for item in p {
                match b.iter_mut().find(|x| x.get("name") == item.get("name")) {
                    Some(slot) => merge(slot, item),
                    None => b.push(item.clone()),
                }
            }
        }
        (b, p) => *b = p.clone(),
    }
}

/// Each workload with its generated patch merged in.
fn patched(inv: &Inventory) -> Inventory {
    let patches = text(&pss::render_patches(inv.iter()));
    let mut out = Inventory::default();
    for o in &inv.objects {
        let mut root = o.root.to_json();
        if let Some(p) = patches
            .objects
            .iter()
            .find(|p| p.kind == o.kind && p.name == o.name && p.namespace == o.namespace)
        {
            merge(&mut root, &p.root.to_json());
        }
        let obj = Object::from_node(Node::from_json(&root), Source::Live, "default").unwrap();
        out.push(obj);
    }
    out
}

const PATCHED_RULES: &[&str] = &["POD003", "POD012", "RUN001"];

#[test]
fn patches_clear_what_they_set() {
    let inv = text(SAMPLE);
    let before = run(&inv, PATCHED_RULES);
    assert!(before.len() >= 6, "{before:?}");
    let after = run(&patched(&inv), PATCHED_RULES);
    assert!(after.is_empty(), "{after:?}");
    // The patched objects load and still meet at least what they met.
    let levels = pss::namespace_levels(patched(&inv).iter());
    assert!(levels
        .iter()
        .all(|l| l.level >= Level::Baseline || l.namespace == "batch"));
}

#[test]
fn patches_leave_privileged_containers_alone() {
    let inv = text(
        "apiVersion: v1
kind: Pod
metadata:
  name: p
spec:
  containers:
    - name: priv
      securityContext:
        privileged: true
",
    );
    let after = run(&patched(&inv), PATCHED_RULES);
    let ids: Vec<&str> = after.iter().map(|f| f.0.as_str()).collect();
    // Only the seccomp profile can be set on a privileged pod without breaking it.
    assert_eq!(ids, vec!["POD003", "POD012"]);
}

#[test]
fn corpus_patches_clear_what_they_set() {
    let Some(p) =
        corpus("GoogleCloudPlatform__microservices-demo/release/kubernetes-manifests.yaml")
    else {
        return;
    };
    let inv = load(&[p]);
    assert!(!run(&inv, &["RUN001"]).is_empty());
    let after = run(&patched(&inv), PATCHED_RULES);
    assert!(after.is_empty(), "{after:?}");
    let ns = level_of(&patched(&inv), "default");
    assert_eq!(ns.level, Level::Restricted);
}

fn cli(args: &[&str], stdin: &str) -> std::process::Output {
    common::run_with_stdin(
        std::process::Command::new(env!("CARGO_BIN_EXE_eksguard")).args(args),
        stdin,
    )
}

#[test]
fn cli_writes_labels_and_reports_blockers_on_stderr() {
    let out = cli(&["generate", "pod-security", "-"], SAMPLE);
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stdout.contains("pod-security.kubernetes.io/enforce: baseline"));
    assert!(stdout.contains("pod-security.kubernetes.io/enforce-version: v1.33"));
    assert!(stderr.contains("spec.jobTemplate.spec.template.spec.hostNetwork"));
    assert!(stderr.contains("(-:42)"), "{stderr}");
    // The output loads back as Namespace objects.
    assert_eq!(text(&stdout).of_kind("Namespace").count(), 3);
}

#[test]
fn cli_patch_and_network_policy_to_a_file() {
    let out = cli(&["generate", "pod-security", "--patch", "-"], SAMPLE);
    assert!(out.status.success());
    let patches = text(&String::from_utf8_lossy(&out.stdout));
    assert_eq!(patches.objects.len(), 2);

    let file = std::env::temp_dir().join(format!("eksguard-netpol-{}.yaml", std::process::id()));
    let f = file.to_str().unwrap();
    let out = cli(&["generate", "network-policy", "-", "--output", f], SAMPLE);
    assert!(out.status.success());
    let written = std::fs::read_to_string(&file).unwrap();
    let _ = std::fs::remove_file(&file);
    assert_eq!(text(&written).of_kind("NetworkPolicy").count(), 4);
}

#[test]
fn cli_fails_on_unreadable_input_only() {
    let out = cli(&["generate", "network-policy", "/nonexistent/x.yaml"], "");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no such file"));
}

/// What a crafted name tries to append: a binding of cluster-admin to every user.
const PAYLOAD: &str = "\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata:\n  name: pwned\nroleRef:\n  apiGroup: rbac.authorization.k8s.io\n  kind: ClusterRole\n  name: cluster-admin\nsubjects:\n  - apiGroup: rbac.authorization.k8s.io\n    kind: Group\n    name: system:authenticated\n";

/// `s` as a double-quoted YAML scalar, so the input itself is well-formed.
fn quoted(s: &str) -> String {
    serde_json::to_string(s).unwrap()
}

/// No document but the expected ones, and no stray line of the payload on standard error.
fn assert_no_injection(out: &std::process::Output) -> Inventory {
    let stdout = String::from_utf8(out.stdout.clone()).unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let inv = text(&stdout);
    assert_eq!(inv.of_kind("ClusterRoleBinding").count(), 0, "{stdout}");
    for o in [&stdout[..], &stderr[..]] {
        assert!(!o.lines().any(|l| l == "kind: ClusterRoleBinding"), "{o}");
        assert!(!o.contains('\u{1b}'), "{o}");
    }
    inv
}

#[test]
fn crafted_container_name_cannot_add_documents() {
    let name = format!("app{PAYLOAD}\u{1b}[2J");
    let input = format!(
        "apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
spec:
  template:
    spec:
      containers:
        - name: {}
          image: app
          securityContext:
            privileged: true
            procMount: {}
            capabilities:
              add: [{}]
",
        quoted(&name),
        quoted(&name),
        quoted(&name)
    );
    let out = cli(&["generate", "pod-security", "-"], &input);
    let inv = assert_no_injection(&out);
    assert_eq!(inv.objects.len(), 1);
    assert_eq!(&*inv.objects[0].kind, "Namespace");
    assert_eq!(&*inv.objects[0].name, "shop");
    // The report names the container, escaped.
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("container `app\\n---\\napiVersion: rbac.authorization.k8s.io/v1\\nkind: ClusterRoleBinding"),
        "{stderr}"
    );
    assert!(stderr.lines().all(|l| l.starts_with('#')), "{stderr}");
}

#[test]
fn crafted_workload_and_container_names_cannot_add_patch_documents() {
    let name = format!("web{PAYLOAD}");
    let input = format!(
        "apiVersion: apps/v1
kind: Deployment
metadata:
  name: {}
  namespace: shop
spec:
  template:
    spec:
      containers:
        - name: {}
          image: app
          securityContext:
            capabilities:
              add: [{}]
",
        quoted(&name),
        quoted(&name),
        quoted(&name)
    );
    let out = cli(&["generate", "pod-security", "--patch", "-"], &input);
    let inv = assert_no_injection(&out);
    assert_eq!(inv.objects.len(), 1);
    let patch = &inv.objects[0];
    assert_eq!((&*patch.kind, &*patch.name), ("Deployment", name.as_str()));
    // The names come back exactly, as values.
    let c = patch.root.at("spec.template.spec.containers").unwrap();
    assert_eq!(
        c.index(0).unwrap().get("name").unwrap().as_str(),
        Some(name.as_str())
    );
}

#[test]
fn crafted_namespace_and_policy_names_cannot_add_network_policy_documents() {
    let ns = format!("shop{PAYLOAD}");
    let policy = format!("old{PAYLOAD}\u{1b}]0;x\u{7}");
    let input = format!(
        "apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: {ns}
spec:
  template:
    spec:
      containers:
        - name: web
          image: web
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: {policy}
  namespace: {ns}
spec:
  podSelector: {{}}
",
        ns = quoted(&ns),
        policy = quoted(&policy)
    );
    let out = cli(&["generate", "network-policy", "-"], &input);
    let inv = assert_no_injection(&out);
    let kinds: Vec<&str> = inv.objects.iter().map(|o| &*o.kind).collect();
    assert_eq!(kinds, ["NetworkPolicy", "NetworkPolicy"]);
    assert!(inv.objects.iter().all(|o| o.ns() == Some(ns.as_str())));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.starts_with("# namespace shop\\n---\\napiVersion: rbac.authorization.k8s.io/v1\\n"),
        "{stdout}"
    );
}
