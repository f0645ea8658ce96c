//! `eksguard scan` of chart directories: rendered by the `helm` on `PATH` (here the shim
//! `crates/eksguard/tests/helm/shim/helm`, Helm's engine through helm-python-sdk), with
//! `--helm-values` and `--helm-set` passed through and findings at the template; without
//! `helm`, one message per chart saying how to render it, never a YAML error on a
//! template. The shim tests are skipped with a message when helm-python-sdk is absent,
//! unless `EKSGUARD_TEST_HELM=1` says it must be there.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

use crate::common;

fn write(root: &Path, rel: &str, text: &str) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

const TEMPLATE: &str = "\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}-web
spec:
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: app
        image: {{ .Values.image | quote }}
        securityContext:
          {{- toYaml .Values.securityContext | nindent 10 }}
";

fn chart(root: &Path) {
    write(
        root,
        "charts/web/Chart.yaml",
        "apiVersion: v2\nname: web\nversion: 0.1.0\n",
    );
    write(
        root,
        "charts/web/values.yaml",
        "image: nginx:1.27\nsecurityContext:\n  runAsNonRoot: true\n",
    );
    write(root, "charts/web/templates/deployment.yaml", TEMPLATE);
}

fn shim_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/helm/shim")
}

/// Runs `eksguard scan` with `path_dir` as the whole `PATH`.
fn scan(root: &Path, path_dir: &Path, args: &[&str]) -> (Output, Value) {
    let out = Command::new(env!("CARGO_BIN_EXE_eksguard"))
        .current_dir(root)
        .env("PATH", path_dir)
        .args(["scan", "--format", "json", "--no-config"])
        .args(args)
        .output()
        .unwrap();
    let json = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!("{e}: {}", String::from_utf8_lossy(&out.stderr));
    });
    (out, json)
}

/// `PATH` for the shim: its directory and the one holding `python3`. `None` (after
/// saying so) when helm-python-sdk is absent and not required.
fn shim_path() -> Option<String> {
    let probe = Command::new("python3")
        .args(["-c", "import helm_python"])
        .output();
    let present = probe.is_ok_and(|o| o.status.success());
    let required = std::env::var("EKSGUARD_TEST_HELM").is_ok_and(|v| v == "1");
    if !present {
        assert!(
            !required,
            "EKSGUARD_TEST_HELM=1 but helm-python-sdk is missing"
        );
        eprintln!("SKIPPED: helm-python-sdk is not installed (pip install helm-python-sdk)");
        return None;
    }
    let python = Command::new("python3")
        .args([
            "-c",
            "import sys, os; print(os.path.dirname(sys.executable))",
        ])
        .output()
        .unwrap();
    let python_dir = String::from_utf8(python.stdout).unwrap();
    Some(format!(
        "{}:{}:/usr/bin:/bin",
        shim_dir().display(),
        python_dir.trim()
    ))
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

#[test]
fn without_helm_a_chart_is_one_message_saying_how_to_render_it() {
    let root = common::temp_dir("helm-absent");
    chart(&root);
    write(&root, "app/pod.yaml", "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n  - name: c\n    image: nginx:1.27\n");
    let empty = common::temp_dir("helm-absent-path");
    // Found by a walk: a warning, and the rest is scanned.
    let (out, json) = scan(&root, &empty, &["."]);
    assert_ne!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let warnings = messages(&json, "warnings");
    let about: Vec<_> = warnings
        .iter()
        .filter(|w| w.starts_with("charts/web"))
        .collect();
    assert_eq!(about.len(), 1, "{warnings:#?}");
    assert!(
        about[0].contains("helm template charts/web | eksguard scan -"),
        "{about:?}"
    );
    assert!(
        messages(&json, "errors").is_empty(),
        "no YAML error on a template"
    );
    assert!(json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["resource"]["name"] == "p"));
    // Named: an error, exit 2, still one message and no YAML error.
    let (out, json) = scan(&root, &empty, &["charts/web"]);
    assert_eq!(out.status.code(), Some(2));
    let errors = messages(&json, "errors");
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert!(errors[0].contains("no `helm` on PATH"), "{errors:?}");
}

#[test]
fn a_chart_is_rendered_with_values_and_findings_point_at_its_template() {
    let Some(path) = shim_path() else { return };
    let root = common::temp_dir("helm-render");
    chart(&root);
    write(&root, "prod-values.yaml", "image: nginx:latest\n");
    let (out, json) = scan(
        &root,
        Path::new(&path),
        &[
            "charts/web",
            "--helm-values",
            "prod-values.yaml",
            "--helm-set",
            "securityContext.privileged=true",
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let findings = json["findings"].as_array().unwrap();
    let of =
        |rule: &str| -> Vec<&Value> { findings.iter().filter(|f| f["rule_id"] == rule).collect() };
    let privileged = of("POD001");
    assert_eq!(privileged.len(), 1, "{findings:#?}");
    let f = privileged[0];
    assert_eq!(f["resource"]["name"], "release-name-web");
    assert_eq!(
        f["location"]["file"],
        "charts/web/templates/deployment.yaml"
    );
    // The value came through `toYaml` on line 16 of the template.
    assert_eq!(f["location"]["line"], 16);
    // The values file's tag reached the render.
    let latest = of("IMG001");
    assert_eq!(latest.len(), 1, "{findings:#?}");
    assert_eq!(latest[0]["location"]["line"], 14);
    assert!(messages(&json, "errors").is_empty());
}

#[test]
fn a_failing_render_is_an_error_naming_the_chart() {
    let Some(path) = shim_path() else { return };
    let root = common::temp_dir("helm-fail");
    chart(&root);
    write(
        &root,
        "charts/web/templates/bad.yaml",
        "kind: {{ .Values.missing.field }}\n",
    );
    let (out, json) = scan(&root, Path::new(&path), &["charts/web"]);
    assert_eq!(out.status.code(), Some(2));
    let errors = messages(&json, "errors");
    assert!(
        errors
            .iter()
            .any(|e| e.starts_with("charts/web: helm template failed")),
        "{errors:#?}"
    );
}
