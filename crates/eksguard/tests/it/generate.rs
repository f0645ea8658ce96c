//! `eksguard generate`: the binary end to end, and generated tenants scanned by eksguard.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use eksguard_load::files::{load_text, LoadOptions};
use eksguard_policy::tenant::{self, Tenant, Toleration};
use eksguard_rules::engine::{Engine, EngineConfig};
use eksguard_rules::registry;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_eksguard"))
        .env("NO_COLOR", "1")
        .current_dir(repo())
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn seccomp_from_recorded_traces() {
    let dir = common::temp_dir("seccomp");
    let out_file = dir.join("web.json");
    let out = run(&[
        "generate",
        "seccomp",
        "crates/eksguard-policy/tests/data/ls.strace",
        "crates/eksguard-policy/tests/data/edge.strace",
        "--arch",
        "x86_64",
        "--output",
        out_file.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("unknown syscall `made_up_call`"),
        "{stderr}"
    );
    assert!(
        stderr.contains("localhostProfile: profiles/web.json"),
        "{stderr}"
    );
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out_file).unwrap()).unwrap();
    assert_eq!(v["defaultAction"], "SCMP_ACT_ERRNO");
    assert_eq!(v["architectures"][0], "SCMP_ARCH_X86_64");
    let names: Vec<&str> = v["syscalls"][0]["names"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap())
        .collect();
    assert!(names.contains(&"getdents64") && names.contains(&"connect"));
    assert!(!names.contains(&"made_up_call"));
}

#[test]
fn seccomp_errors_are_clear() {
    let out = run(&["generate", "seccomp", "no/such/trace"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no/such/trace"));
    let out = run(&[
        "generate",
        "seccomp",
        "crates/eksguard-policy/tests/data/list.txt",
        "--arch",
        "sparc",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("sparc"));
}

#[test]
fn tenant_from_flags_and_file() {
    let out = run(&[
        "generate",
        "tenant",
        "team-a",
        "--group",
        "team-a-devs",
        "--toleration",
        "dedicated=team-a:NoSchedule",
        "--node-selector",
        "pool=team-a",
    ]);
    let yaml = String::from_utf8(out.stdout).unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(yaml.contains("scheduler.alpha.kubernetes.io/node-selector: \"pool=team-a\""));
    assert_eq!(yaml.matches("\n---\n").count(), 6);

    let dir = common::temp_dir("tenants");
    let file = dir.join("tenants.yaml");
    std::fs::write(
        &file,
        "- name: a\n  groups: [ga]\n- name: b\n  users: bob\n  pss: baseline\n",
    )
    .unwrap();
    let out = run(&["generate", "tenant", "--file", file.to_str().unwrap()]);
    let yaml = String::from_utf8(out.stdout).unwrap();
    assert!(out.status.success());
    assert!(
        yaml.contains("name: a\n") && yaml.contains("pod-security.kubernetes.io/enforce: baseline")
    );

    std::fs::write(&file, "- name: a\n  pods: many\n").unwrap();
    let out = run(&["generate", "tenant", "--file", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("tenants.yaml:line 2") && err.contains("pods"),
        "{err}"
    );

    let out = run(&["generate", "tenant", "Bad_Name"]);
    assert_eq!(out.status.code(), Some(2));
}

/// A workload in the tenant namespace, so the namespace rules have something to judge.
const WORKLOAD: &str = r#"
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: app
  namespace: team-a
spec:
  selector: {matchLabels: {app: app}}
  template:
    metadata: {labels: {app: app}}
    spec:
      containers:
        - name: app
          image: example.com/app@sha256:0000000000000000000000000000000000000000000000000000000000000000
"#;

#[test]
fn generated_tenant_passes_eksguard() {
    let mut t = Tenant::new("team-a");
    t.groups = vec!["team-a-devs".into()];
    t.users = vec!["alice@example.com".into()];
    t.node_selector = vec![("pool".into(), "team-a".into())];
    t.tolerations = vec![Toleration::parse("dedicated=team-a:NoSchedule").unwrap()];
    let text = tenant::render(&[t]) + WORKLOAD;
    let inv = load_text("tenant.yaml", text.as_bytes(), &LoadOptions::default());
    assert!(inv.errors.is_empty(), "{:?}", inv.errors);
    let engine = Engine::new(registry::all(), EngineConfig::default());
    let result = engine.run(&inv);
    let fired: Vec<String> = result
        .findings
        .iter()
        .map(|f| f.rule.id.to_string())
        .collect();
    let checked: Vec<String> = [
        "POD014", "QOS004", "QOS005", "NET001", "NET002", "NET003", "TEN001",
    ]
    .into_iter()
    .map(String::from)
    .chain((8..=18).map(|n| format!("IAM{n:03}")))
    .collect();
    let bad: Vec<&String> = fired.iter().filter(|id| checked.contains(id)).collect();
    assert!(
        bad.is_empty(),
        "rules fired on the generated tenant: {bad:?}\nall: {fired:?}"
    );
    // Only IAM014 (create pods) and IAM012 (create Secrets) are waived, by the Role's own
    // annotation: once per role rule that grants create (core pods, secrets, apps, batch).
    assert_eq!(result.suppressed.len(), 4);
    // The rules did run: without the tenant's objects the namespace rules fire.
    let bare = load_text("w.yaml", WORKLOAD.as_bytes(), &LoadOptions::default());
    let fired: Vec<String> = engine
        .run(&bare)
        .findings
        .iter()
        .map(|f| f.rule.id.to_string())
        .collect();
    assert!(
        fired.iter().any(|id| id == "QOS004") && fired.iter().any(|id| id == "NET001"),
        "{fired:?}"
    );
}

#[test]
fn seccomp_warnings_and_tenant_errors_carry_no_control_characters() {
    let dir = common::temp_dir("seccomp-esc");
    let trace = dir.join("trace.txt");
    std::fs::write(
        &trace,
        "read(3, \"\", 0) = 0\n\u{1b}]0;owned\u{7}\u{1b}[2J \u{9b}31m\u{202e}txt.exe\r\n",
    )
    .unwrap();
    let out = run(&[
        "generate",
        "seccomp",
        trace.to_str().unwrap(),
        "--output",
        dir.join("p.json").to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains(
            "trace.txt:2: not a strace line or syscall name, skipped: `\\u001b]0;owned\\u0007\\u001b[2J \\u009b31m\\u202etxt.exe`"
        ),
        "{stderr}"
    );
    assert!(
        !stderr
            .chars()
            .any(|c| c != '\n' && eksguard_policy::yaml::must_escape(c)),
        "{stderr:?}"
    );

    let file = dir.join("tenants.yaml");
    std::fs::write(&file, "- name: a\n  \"bad\\u001b[2J\\nkey\": 1\n").unwrap();
    let out = run(&["generate", "tenant", "--file", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("line 2: unknown tenant key `bad\\u001b[2J\\nkey`"),
        "{stderr}"
    );
    assert!(!stderr.contains('\u{1b}'), "{stderr:?}");
}
