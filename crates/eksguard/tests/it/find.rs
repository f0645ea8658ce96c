//! `eksguard find`: workloads and pods by image, service account or workload, from files
//! and from a live cluster, with the nodes the pods run on.

use crate::common;
use crate::fake_kube::{Behaviour, FakeKube, Resource};

use std::process::{Command, Output};

use serde_json::{json, Value};

const INPUT: &str = "apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
spec:
  template:
    spec:
      serviceAccountName: web
      containers:
      - name: web
        image: 111122223333.dkr.ecr.eu-west-1.amazonaws.com/shop/web:1.4.2
      - name: proxy
        image: docker.io/library/nginx:1.27
---
apiVersion: batch/v1
kind: CronJob
metadata:
  name: report
  namespace: shop
spec:
  jobTemplate:
    spec:
      template:
        spec:
          serviceAccountName: reports
          containers:
          - name: report
            image: shop/report:2
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: blog
spec:
  template:
    spec:
      containers:
      - name: web
        image: nginx:1.27
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: web
  namespace: shop
data: {}
";

fn eksguard(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_eksguard"))
        .env("NO_COLOR", "1")
        .args(args)
        .output()
        .unwrap()
}

fn input() -> String {
    let dir = common::temp_dir("find");
    let path = dir.join("apps.yaml");
    std::fs::write(&path, INPUT).unwrap();
    path.to_string_lossy().to_string()
}

/// (kind, namespace, name) of each match of a JSON answer.
fn names(out: &Output) -> Vec<(String, String, String)> {
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    v["matches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            let s = |k: &str| m[k].as_str().unwrap().to_string();
            (s("kind"), s("namespace"), s("name"))
        })
        .collect()
}

fn triple(k: &str, ns: &str, n: &str) -> (String, String, String) {
    (k.into(), ns.into(), n.into())
}

#[test]
fn finds_workloads_in_files_by_image_service_account_and_name() {
    let path = input();
    let out = eksguard(&["find", "--image", "nginx", "--json", &path]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(
        names(&out),
        [
            triple("Deployment", "blog", "web"),
            triple("Deployment", "shop", "web")
        ]
    );
    let out = eksguard(&[
        "find",
        "--image",
        "*.dkr.ecr.*.amazonaws.com/shop/*",
        "--json",
        &path,
    ]);
    assert_eq!(names(&out), [triple("Deployment", "shop", "web")]);

    let out = eksguard(&["find", "--service-account", "shop/reports", "--json", &path]);
    assert_eq!(names(&out), [triple("CronJob", "shop", "report")]);
    // `default` is the service account of pods that name none.
    let out = eksguard(&["find", "--service-account", "default", "--json", &path]);
    assert_eq!(names(&out), [triple("Deployment", "blog", "web")]);

    // Filters add up.
    let out = eksguard(&[
        "find",
        "--workload",
        "deployment/web",
        "--image",
        "nginx:*",
        "--service-account",
        "web",
        &path,
    ]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let text = String::from_utf8(out.stdout).unwrap();
    insta::assert_snapshot!("find_text", text.replace(&path, "apps.yaml"));

    // Nothing matches: exit 1, as grep does.
    let out = eksguard(&["find", "--image", "redis", &path]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("0 matching"));
}

#[test]
fn a_filter_is_required() {
    let out = eksguard(&["find", "-"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--image, --service-account or --workload")
    );
}

fn live_objects() -> Vec<Resource> {
    let pod = |name: &str, rs: &str, node: &str, image: &str| {
        json!({
            "metadata": {"name": name, "namespace": "shop", "ownerReferences": [{"kind": "ReplicaSet", "name": rs, "controller": true}]},
            "spec": {"nodeName": node, "serviceAccountName": "web", "containers": [{"name": "web", "image": image}]}
        })
    };
    vec![
        Resource {
            group: "",
            version: "v1",
            plural: "pods",
            kind: "Pod",
            namespaced: true,
            items: vec![
                pod(
                    "web-6d9f-a1",
                    "web-6d9f",
                    "ip-10-0-1-10.eu-west-1.compute.internal",
                    "shop/web:1.4.2",
                ),
                pod(
                    "web-6d9f-b2",
                    "web-6d9f",
                    "ip-10-0-2-20.eu-west-1.compute.internal",
                    "shop/web:1.4.2",
                ),
                pod(
                    "api-77c4-c3",
                    "api-77c4",
                    "ip-10-0-1-10.eu-west-1.compute.internal",
                    "shop/api:3",
                ),
            ],
        },
        Resource {
            group: "apps",
            version: "v1",
            plural: "replicasets",
            kind: "ReplicaSet",
            namespaced: true,
            items: vec![json!({
                "metadata": {"name": "web-6d9f", "namespace": "shop", "ownerReferences": [{"kind": "Deployment", "name": "web", "controller": true}]},
                "spec": {"template": {"spec": {"serviceAccountName": "web", "containers": [{"name": "web", "image": "shop/web:1.4.2"}]}}}
            })],
        },
    ]
}

#[test]
fn finds_pods_and_their_nodes_in_a_live_cluster() {
    let server = FakeKube::start(live_objects(), Behaviour::default());
    let dir = common::temp_dir("find-live");
    let kubeconfig = dir.join("config");
    std::fs::write(
        &kubeconfig,
        format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: a\nclusters:\n- name: a\n  cluster: {{server: {}}}\ncontexts:\n- name: a\n  context: {{cluster: a, user: u}}\nusers:\n- name: u\n  user: {{token: t}}\n",
            server.url
        ),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_eksguard"))
        .args([
            "find",
            "--live",
            "--no-progress",
            "--workload",
            "web",
            "--json",
        ])
        .env("KUBECONFIG", &kubeconfig)
        .env("HOME", &dir)
        .output()
        .unwrap();
    // The fake server serves pods and ReplicaSets only: the other types are read errors
    // (exit 2), as for every command, and the answer is given from what was read.
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows: Vec<(String, Value, Value)> = v["matches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["name"].as_str().unwrap().to_string(),
                m["node"].clone(),
                m["owners"].clone(),
            )
        })
        .collect();
    // The Deployment is not served; the pods reach it through their ReplicaSet.
    assert_eq!(
        rows,
        [
            (
                "web-6d9f".to_string(),
                Value::Null,
                json!(["Deployment/web"])
            ),
            (
                "web-6d9f-a1".to_string(),
                json!("ip-10-0-1-10.eu-west-1.compute.internal"),
                json!(["ReplicaSet/web-6d9f", "Deployment/web"])
            ),
            (
                "web-6d9f-b2".to_string(),
                json!("ip-10-0-2-20.eu-west-1.compute.internal"),
                json!(["ReplicaSet/web-6d9f", "Deployment/web"])
            ),
        ]
    );
}
