//! `eksguard scan` of kustomize layouts: overlays built as `kubectl kustomize` builds
//! them, findings at the file and line that set the value, bases scanned through their
//! overlays (and a note saying so), remote bases, cycles and fields not carried out
//! reported, never skipped in silence.

use std::path::Path;
use std::process::{Command, Output};

use eksguard_load::files::LoadOptions;
use serde_json::Value;

use crate::common;

fn write(root: &Path, rel: &str, text: &str) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

fn scan(args: &[&str], cwd: &Path) -> (Output, Value) {
    let out = Command::new(env!("CARGO_BIN_EXE_eksguard"))
        .current_dir(cwd)
        .args(["scan", "--format", "json", "--no-config"])
        .args(args)
        .output()
        .unwrap();
    let json = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out, json)
}

/// The line of `needle` in a fixture file (1-based).
fn line_of(root: &Path, rel: &str, needle: &str) -> u64 {
    let text = std::fs::read_to_string(root.join(rel)).unwrap();
    text.lines().position(|l| l.contains(needle)).expect(needle) as u64 + 1
}

/// (rule, kind, namespace, name, file, line) of every finding.
fn findings(json: &Value) -> Vec<(String, String, String, String, String, u64)> {
    json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let s = |v: &Value| v.as_str().unwrap_or("").to_string();
            (
                s(&f["rule_id"]),
                s(&f["resource"]["kind"]),
                s(&f["resource"]["namespace"]),
                s(&f["resource"]["name"]),
                s(&f["location"]["file"]),
                f["location"]["line"].as_u64().unwrap_or(0),
            )
        })
        .collect()
}

fn messages(json: &Value, key: &str) -> Vec<String> {
    json[key]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| {
            format!(
                "{}: {}",
                w["file"].as_str().unwrap(),
                w["message"].as_str().unwrap()
            )
        })
        .collect()
}

const DEPLOYMENT: &str = "\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: app
        image: nginx:1.27
        envFrom:
        - configMapRef: {name: web-config}
";

/// A base with two overlays; prod adds a privileged patch, a `latest` image and a
/// remote base.
fn layout(root: &Path) {
    write(
        root,
        "base/kustomization.yaml",
        "resources:\n- deployment.yaml\nconfigMapGenerator:\n- name: web-config\n  literals:\n  - MODE=base\n",
    );
    write(root, "base/deployment.yaml", DEPLOYMENT);
    write(
        root,
        "overlays/dev/kustomization.yaml",
        "resources:\n- ../../base\nnamePrefix: dev-\nnamespace: dev\n",
    );
    write(
        root,
        "overlays/prod/kustomization.yaml",
        "resources:\n- ../../base\n- https://github.com/example/platform//base?ref=v1\nnamePrefix: prod-\nnamespace: prod\ncommonLabels:\n  team: shop\npatches:\n- path: privileged.yaml\nimages:\n- name: nginx\n  newTag: latest\n",
    );
    write(
        root,
        "overlays/prod/privileged.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  template:\n    spec:\n      containers:\n      - name: app\n        securityContext:\n          privileged: true\n",
    );
}

#[test]
fn overlays_are_built_and_findings_point_at_the_patch_that_set_the_value() {
    let root = common::temp_dir("kustomize-overlays");
    layout(&root);
    let (out, json) = scan(&["."], &root);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let all = findings(&json);
    // The privileged container is prod's, found where prod's patch sets it.
    let privileged: Vec<_> = all.iter().filter(|f| f.0 == "POD001").collect();
    assert_eq!(privileged.len(), 1, "{all:#?}");
    let p = privileged[0];
    assert_eq!(
        (p.1.as_str(), p.2.as_str(), p.3.as_str()),
        ("Deployment", "prod", "prod-web")
    );
    assert_eq!(p.4, "overlays/prod/privileged.yaml");
    assert_eq!(
        p.5,
        line_of(&root, "overlays/prod/privileged.yaml", "privileged: true")
    );
    // The `latest` tag is set by prod's `images` entry, and reported there.
    let latest: Vec<_> = all
        .iter()
        .filter(|f| f.0 == "IMG001" && f.3 == "prod-web")
        .collect();
    assert_eq!(latest.len(), 1, "{all:#?}");
    assert_eq!(latest[0].4, "overlays/prod/kustomization.yaml");
    assert_eq!(
        latest[0].5,
        line_of(&root, "overlays/prod/kustomization.yaml", "- name: nginx")
    );
    // What the base wrote is reported in the base, for each overlay's object.
    let resources: Vec<(&str, &str)> = all.iter().map(|f| (f.2.as_str(), f.3.as_str())).collect();
    assert!(resources.contains(&("dev", "dev-web")), "{resources:?}");
    // The base is not scanned alone: no unprefixed object.
    assert!(!all.iter().any(|f| f.3 == "web"), "{all:#?}");
    // dev's objects: what the base wrote is found in the base, their namespace where dev
    // set it.
    for f in json["findings"].as_array().unwrap() {
        if f["resource"]["name"] != "dev-web" {
            continue;
        }
        let (file, line) = (&f["location"]["file"], &f["location"]["line"]);
        match f["field_path"].as_str().unwrap() {
            "metadata.namespace" => {
                assert_eq!(
                    (file.as_str().unwrap(), line.as_u64().unwrap()),
                    ("overlays/dev/kustomization.yaml", 4)
                )
            }
            _ => assert_eq!(file, "base/deployment.yaml", "{f}"),
        }
    }
    let warnings = messages(&json, "warnings");
    let built: Vec<_> = warnings
        .iter()
        .filter(|w| w.contains("built as `kubectl kustomize"))
        .collect();
    assert_eq!(built.len(), 2, "{warnings:#?}");
    assert!(built.iter().all(|w| w.contains("base")), "{built:?}");
    assert!(
        warnings
            .iter()
            .any(|w| w.starts_with("overlays/prod/kustomization.yaml")
                && w.contains("1 remote resource not followed")
                && w.contains("github.com/example/platform")),
        "{warnings:#?}"
    );
    assert!(messages(&json, "errors").is_empty());
    // Files read by the builds count as scanned.
    assert_eq!(json["summary"]["files_scanned"], 5, "{}", json["summary"]);
}

#[test]
fn a_kustomization_named_by_its_file_is_built() {
    let root = common::temp_dir("kustomize-file");
    layout(&root);
    let (out, json) = scan(&["overlays/dev/kustomization.yaml"], &root);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let all = findings(&json);
    assert!(
        !all.is_empty() && all.iter().all(|f| f.3.starts_with("dev-web")),
        "{all:#?}"
    );
    assert!(messages(&json, "errors").is_empty());
}

#[test]
fn built_objects_carry_prefix_namespace_labels_and_hashed_generated_names() {
    let root = common::temp_dir("kustomize-objects");
    layout(&root);
    let inv = eksguard_load::load(&[root.join("overlays/prod")], &LoadOptions::default());
    let names: Vec<(String, String)> = inv
        .objects
        .iter()
        .map(|o| (o.kind.to_string(), o.name.to_string()))
        .collect();
    let config = names
        .iter()
        .find(|(k, _)| k == "ConfigMap")
        .map(|(_, n)| n.clone())
        .unwrap();
    // prefix, generator name, then kustomize's ten-character content hash.
    assert!(
        config.starts_with("prod-web-config-") && config.len() == "prod-web-config-".len() + 10
    );
    let deploy = inv
        .objects
        .iter()
        .find(|o| &*o.kind == "Deployment")
        .unwrap();
    assert_eq!(&*deploy.name, "prod-web");
    assert_eq!(deploy.ns(), Some("prod"));
    let spec = &deploy.root;
    let at = |p: &str| spec.at(p).and_then(|n| n.as_str()).map(str::to_string);
    assert_eq!(at("metadata.labels.team").as_deref(), Some("shop"));
    assert_eq!(
        at("spec.selector.matchLabels.team").as_deref(),
        Some("shop")
    );
    let container = &spec.at("spec.template.spec.containers").unwrap().items()[0];
    assert_eq!(
        container.get("image").and_then(|n| n.as_str()),
        Some("nginx:latest")
    );
    let env_ref = container.get("envFrom").unwrap().items()[0]
        .at("configMapRef.name")
        .and_then(|n| n.as_str())
        .unwrap();
    assert_eq!(env_ref, config, "the reference follows the generated name");
}

#[test]
fn cycles_remote_only_and_fields_not_carried_out_are_reported() {
    let root = common::temp_dir("kustomize-cycle");
    write(&root, "a/kustomization.yaml", "resources:\n- ../b\n");
    write(&root, "b/kustomization.yaml", "resources:\n- ../a\n");
    write(
        &root,
        "c/kustomization.yaml",
        "resources:\n- pod.yaml\nvars:\n- name: X\n  objref: {kind: Pod, name: p, apiVersion: v1}\n",
    );
    write(
        &root,
        "c/pod.yaml",
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n  - name: c\n    image: nginx:1.27\n",
    );
    // Found by a walk, a kustomization that does not build is a warning.
    let (out, json) = scan(&["."], &root);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let warnings = messages(&json, "warnings");
    assert!(
        warnings
            .iter()
            .any(|e| e.contains("kustomizations form a cycle")),
        "{warnings:#?}"
    );
    assert!(
        warnings
            .iter()
            .any(|w| w.starts_with("c/kustomization.yaml")
                && w.contains("`vars` is not carried out")),
        "{warnings:#?}"
    );
    // The build that does work is scanned.
    assert!(findings(&json).iter().any(|f| f.3 == "p"));
    // Named, it is an input error.
    let (out, json) = scan(&["a"], &root);
    assert_eq!(out.status.code(), Some(2));
    let errors = messages(&json, "errors");
    assert!(
        errors.iter().any(|e| e.starts_with("b/kustomization.yaml")
            && e.contains("kustomizations form a cycle: a -> b -> a")),
        "{errors:#?}"
    );
}

#[test]
fn a_resource_outside_the_scanned_directory_is_read_with_a_note() {
    let root = common::temp_dir("kustomize-escape");
    write(&root, "shared/pod.yaml", "apiVersion: v1\nkind: Pod\nmetadata:\n  name: outside\nspec:\n  containers:\n  - name: c\n    image: nginx:1.27\n");
    write(
        &root,
        "app/kustomization.yaml",
        "resources:\n- ../shared/pod.yaml\n",
    );
    let (_, json) = scan(&["app"], &root);
    assert!(findings(&json).iter().any(|f| f.3 == "outside"));
    let warnings = messages(&json, "warnings");
    assert!(
        warnings.iter().any(
            |w| w.starts_with("shared/pod.yaml") && w.contains("outside the scanned directory")
        ),
        "{warnings:#?}"
    );
}
