//! `generate network-policy`: the YAML (snapshot) and a round trip through the engine, which
//! must find nothing left for NET001, NET002, NET003 and NET005 in the namespaces covered.

use crate::common;

use eksguard_load::files::load_text;
use eksguard_load::LoadOptions;
use eksguard_model::Inventory;
use eksguard_policy::netpol;

const RULES: &[&str] = &["NET001", "NET002", "NET003", "NET005"];

fn text(s: &str) -> Inventory {
    let inv = load_text("t.yaml", s.as_bytes(), &LoadOptions::default());
    assert!(inv.errors.is_empty(), "{:?}", inv.errors);
    inv
}

/// Rule findings as (rule, namespace of the object).
fn run(inv: &Inventory) -> Vec<(String, String)> {
    common::findings(inv, RULES)
        .into_iter()
        .map(|f| {
            let o = inv.get(f.object);
            let ns = o
                .ns()
                .map(str::to_string)
                .unwrap_or_else(|| o.name.to_string());
            (f.rule.id.to_string(), ns)
        })
        .collect()
}

/// Input plus the generated policies, and the namespaces they were generated for.
fn round_trip(mut inv: Inventory) -> (Vec<(String, String)>, Vec<String>) {
    let generated = netpol::generate(inv.iter());
    let names = generated.iter().map(|n| n.namespace.clone()).collect();
    inv.extend(text(&netpol::render(&generated)));
    (run(&inv), names)
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
      containers:
        - name: web
          image: web
          ports:
            - name: http
              containerPort: 8080
---
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: shop
spec:
  selector:
    app: web
  ports:
    - port: 80
      targetPort: http
    - port: 9090
      protocol: UDP
      targetPort: metrics
---
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: db
  namespace: shop
spec:
  template:
    metadata:
      labels:
        app: db
    spec:
      containers:
        - name: db
          image: db
---
apiVersion: v1
kind: Service
metadata:
  name: db
  namespace: shop
spec:
  selector:
    app: db
  ports:
    - port: 5432
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: db-from-web
  namespace: shop
spec:
  podSelector:
    matchLabels:
      app: db
  ingress:
    - from:
        - podSelector:
            matchLabels:
              app: web
---
apiVersion: v1
kind: Service
metadata:
  name: external
  namespace: shop
spec:
  type: ExternalName
  externalName: example.com
---
apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: agent
  namespace: kube-system
spec:
  template:
    spec:
      containers:
        - name: agent
          image: agent
---
apiVersion: batch/v1
kind: Job
metadata:
  name: report
  namespace: batch
spec:
  template:
    spec:
      containers:
        - name: report
          image: report
";

#[test]
fn snapshot() {
    let inv = text(SAMPLE);
    insta::assert_snapshot!(netpol::render(&netpol::generate(inv.iter())));
}

#[test]
fn system_namespaces_are_skipped() {
    let generated = netpol::generate(text(SAMPLE).iter());
    let names: Vec<&str> = generated.iter().map(|n| n.namespace.as_str()).collect();
    assert_eq!(names, vec!["batch", "shop"]);
}

#[test]
fn generated_policies_clear_the_network_rules() {
    let inv = text(SAMPLE);
    let before = run(&inv);
    assert!(
        before.iter().any(|(_, ns)| ns == "batch") && before.iter().any(|(r, _)| r == "NET005"),
        "{before:?}"
    );
    let (after, names) = round_trip(inv);
    let left: Vec<_> = after.iter().filter(|(_, ns)| names.contains(ns)).collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn corpus_round_trip() {
    let Some(p) = common::corpus(
        "manifests/GoogleCloudPlatform__microservices-demo/release/kubernetes-manifests.yaml",
    ) else {
        return;
    };
    let inv = eksguard_load::load(&[p], &LoadOptions::default());
    assert!(!run(&inv).is_empty());
    let (after, names) = round_trip(inv);
    assert_eq!(names, vec!["default"]);
    assert!(after.is_empty(), "{after:?}");
}
