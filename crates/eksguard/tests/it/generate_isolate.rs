//! `generate isolate`: the policy for one pod, the label that makes it select the pod, and
//! the warnings about what would keep the pod reachable.

use crate::common;

use std::process::{Command, Output};

use eksguard_load::files::load_text;
use eksguard_load::LoadOptions;
use eksguard_model::selector::selector_matches;
use eksguard_model::Node;

const INPUT: &str = "apiVersion: v1
kind: Pod
metadata:
  name: web-7d4b9c-x2x5q
  namespace: shop
  labels:
    app: web
spec:
  containers:
  - name: web
    image: shop/web:1.4.2
---
apiVersion: v1
kind: Pod
metadata:
  name: node-exporter-abcde
  namespace: shop
  labels:
    app: node-exporter
spec:
  hostNetwork: true
  containers:
  - name: exporter
    image: prom/node-exporter:v1.8.2
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: default-deny-all
  namespace: shop
spec:
  podSelector: {}
  policyTypes: [Ingress, Egress]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: allow-web
  namespace: shop
spec:
  podSelector:
    matchLabels:
      app: web
  ingress:
  - from:
    - podSelector: {}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: allow-dns
  namespace: shop
spec:
  podSelector: {}
  policyTypes: [Egress]
  egress:
  - ports:
    - {port: 53, protocol: UDP}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: allow-db
  namespace: other
spec:
  podSelector: {}
  ingress:
  - {}
";

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_eksguard"))
        .env("NO_COLOR", "1")
        .args(args)
        .output()
        .unwrap()
}

fn input() -> String {
    let dir = common::temp_dir("isolate");
    let path = dir.join("shop.yaml");
    std::fs::write(&path, INPUT).unwrap();
    path.to_string_lossy().to_string()
}

#[test]
fn isolates_a_pod_and_names_the_policies_that_still_allow_traffic() {
    let path = input();
    let out = run(&["generate", "isolate", "shop/web-7d4b9c-x2x5q", &path]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let yaml = String::from_utf8(out.stdout).unwrap();
    insta::assert_snapshot!("isolate_web", yaml);
    let stderr = String::from_utf8_lossy(&out.stderr);
    // allow-web selects the pod by its own label and allows ingress; allow-dns selects
    // every pod and allows egress. The policy of another namespace does not count.
    assert!(
        stderr.contains("`allow-web` also selects the pod and allows ingress"),
        "{stderr}"
    );
    assert!(
        stderr.contains("`allow-dns` also selects the pod and allows egress"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("allow-db") && !stderr.contains("default-deny-all"),
        "{stderr}"
    );

    // The document is a NetworkPolicy that denies both ways and selects the pod once the
    // label the comment gives is on it, and no other pod.
    let inv = load_text("out.yaml", yaml.as_bytes(), &LoadOptions::default());
    assert!(inv.errors.is_empty(), "{:?}", inv.errors);
    let np = &inv.objects[0];
    assert_eq!(
        (&*np.kind, np.ns(), &*np.name),
        ("NetworkPolicy", Some("shop"), "isolate-web-7d4b9c-x2x5q")
    );
    let types: Vec<_> = np
        .spec()
        .get("policyTypes")
        .unwrap()
        .items()
        .iter()
        .filter_map(Node::as_str)
        .collect();
    assert_eq!(types, ["Ingress", "Egress"]);
    assert!(np.spec().get("ingress").is_none() && np.spec().get("egress").is_none());
    let selector = np.spec().get("podSelector").unwrap();
    let labelled = Node::from_json(
        &serde_json::json!({"app": "web", "eksguard.io/isolate": "web-7d4b9c-x2x5q"}),
    );
    assert!(selector_matches(selector, &labelled));
    assert!(!selector_matches(
        selector,
        &Node::from_json(&serde_json::json!({"app": "web"}))
    ));
    assert!(yaml.contains(
        "kubectl label pod --namespace shop web-7d4b9c-x2x5q eksguard.io/isolate=web-7d4b9c-x2x5q"
    ));
}

#[test]
fn host_network_pods_and_pods_not_in_the_input_are_said() {
    let path = input();
    let out = run(&["generate", "isolate", "shop/node-exporter-abcde", &path]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("hostNetwork: true"), "{stderr}");

    let out = run(&["generate", "isolate", "shop/gone-12345", &path]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let yaml = String::from_utf8_lossy(&out.stdout);
    assert!(yaml.contains("# The pod was not in the input"), "{yaml}");
}

#[test]
fn bad_targets_are_refused_with_the_reason() {
    for (target, reason) in [
        ("web", "NAMESPACE/POD"),
        ("Shop/web", "namespace must be a DNS label"),
        ("shop/web\u{1b}[31m", "pod name must be a DNS subdomain"),
    ] {
        let out = run(&["generate", "isolate", target, "-"]);
        assert_eq!(out.status.code(), Some(2), "{target}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(reason), "{target}: {stderr}");
        assert!(!stderr.contains('\u{1b}'), "{target}: {stderr}");
    }
}
