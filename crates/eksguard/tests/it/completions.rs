//! Shell completions, man pages and the kubectl plugin name, through the built binary.

use std::path::PathBuf;
use std::process::{Command, Output};

use serde_json::json;

use crate::common::temp_dir;
use crate::fake_kube::{Behaviour, FakeKube, Resource};

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_eksguard"))
        .args(args)
        .output()
        .unwrap()
}

const SUBCOMMANDS: &[&str] = &[
    "scan",
    "cluster",
    "node",
    "rules",
    "audit",
    "completions",
    "man",
];

#[test]
fn completion_scripts_for_every_shell() {
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let out = run(&["completions", shell]);
        assert_eq!(out.status.code(), Some(0), "{shell}");
        let script = String::from_utf8(out.stdout).unwrap();
        for sub in SUBCOMMANDS {
            assert!(script.contains(sub), "{shell} completion lacks `{sub}`");
        }
        // Flags of subcommands are completed too, and values of enums where the shell can.
        assert!(script.contains("security-hub"), "{shell}");
    }
    for shell in ["bash", "zsh", "fish"] {
        let script = String::from_utf8(run(&["completions", shell]).stdout).unwrap();
        assert!(script.contains("sarif"), "{shell}");
    }
    let bash = String::from_utf8(run(&["completions", "bash"]).stdout).unwrap();
    assert!(bash.contains("complete -F _eksguard"));
    assert_eq!(run(&["completions", "tcsh"]).status.code(), Some(2));
}

#[test]
fn man_pages_for_the_command_and_each_subcommand() {
    let out = run(&["man"]);
    assert_eq!(out.status.code(), Some(0));
    let page = String::from_utf8(out.stdout).unwrap();
    assert!(
        page.starts_with(".ie") || page.contains(".TH eksguard 1"),
        "{}",
        &page[..200]
    );
    assert!(page.contains(".TH eksguard 1"));
    for sub in SUBCOMMANDS {
        assert!(
            page.contains(&format!("eksguard\\-{sub}")) || page.contains(sub),
            "{sub}"
        );
    }
    let dir = temp_dir("man");
    let out = run(&["man", "--out", dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    for page in [
        "eksguard.1",
        "eksguard-scan.1",
        "eksguard-cluster.1",
        "eksguard-audit-summary.1",
    ] {
        let text = std::fs::read_to_string(dir.join(page)).unwrap_or_else(|_| panic!("{page}"));
        assert!(text.contains(".TH"), "{page}");
    }
    let scan = std::fs::read_to_string(dir.join("eksguard-scan.1")).unwrap();
    assert!(scan.contains("\\-\\-format"));
    let _ = std::fs::remove_dir_all(dir);
}

/// The built binary under the name kubectl looks for on PATH.
fn plugin() -> (PathBuf, PathBuf) {
    let dir = temp_dir("kubectl-plugin");
    let path = dir.join("kubectl-eksguard");
    #[cfg(unix)]
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_eksguard"), &path).unwrap();
    #[cfg(not(unix))]
    std::fs::copy(env!("CARGO_BIN_EXE_eksguard"), &path).unwrap();
    (dir, path)
}

fn namespaces_and_pods() -> Vec<Resource> {
    vec![
        Resource {
            group: "",
            version: "v1",
            plural: "namespaces",
            kind: "Namespace",
            namespaced: false,
            items: vec![json!({"metadata": {"name": "shop"}})],
        },
        Resource {
            group: "",
            version: "v1",
            plural: "pods",
            kind: "Pod",
            namespaced: true,
            items: vec![json!({
                "metadata": {"name": "web", "namespace": "shop"},
                "spec": {"containers": [{"name": "app", "image": "nginx:1.27", "securityContext": {"privileged": true}}]}
            })],
        },
    ]
}

#[test]
fn works_as_a_kubectl_plugin() {
    let (dir, bin) = plugin();
    let help = Command::new(&bin).arg("--help").output().unwrap();
    assert_eq!(help.status.code(), Some(0));
    let help = String::from_utf8(help.stdout).unwrap();
    assert!(
        help.contains("Usage: kubectl eksguard [OPTIONS] <COMMAND>"),
        "{help}"
    );
    let err = Command::new(&bin).arg("scna").output().unwrap();
    assert_eq!(err.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&err.stderr).contains("kubectl eksguard"));

    // Two clusters: the kubeconfig's current context, and another one.
    let current = FakeKube::start(namespaces_and_pods(), Behaviour::default());
    let other = FakeKube::start(namespaces_and_pods(), Behaviour::default());
    let kubeconfig = dir.join("config");
    std::fs::write(
        &kubeconfig,
        format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: a\nclusters:\n- name: a\n  cluster: {{server: {}}}\n- name: b\n  cluster: {{server: {}}}\ncontexts:\n- name: a\n  context: {{cluster: a, user: u}}\n- name: b\n  context: {{cluster: b, user: u}}\nusers:\n- name: u\n  user: {{token: t}}\n",
            current.url, other.url
        ),
    )
    .unwrap();
    let cluster = |extra: &[&str]| {
        Command::new(&bin)
            .args([
                "cluster",
                "--no-config",
                "--no-aws",
                "--no-progress",
                "-f",
                "json",
            ])
            .args(extra)
            // kubectl hands its plugins the environment, KUBECONFIG included.
            .env("KUBECONFIG", &kubeconfig)
            .env("HOME", &dir)
            .output()
            .unwrap()
    };
    let pods = |server: &FakeKube| {
        server
            .requests("/api/v1")
            .iter()
            .filter(|r| r.contains("pods"))
            .count()
    };

    // `kubectl eksguard cluster`: kubectl's current context.
    // The fake API serves namespaces and pods only: the other kinds are input errors.
    let out = cluster(&[]);
    let v = crate::common::json(&out);
    assert_eq!(out.status.code(), Some(2));
    let privileged = |v: &serde_json::Value| {
        v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["rule_id"] == "POD001" && f["resource"]["name"] == "web")
    };
    assert!(privileged(&v), "{v}");
    assert!(pods(&current) > 0 && pods(&other) == 0);

    // --context picks the other cluster; --namespace narrows the reads.
    let out = cluster(&["--context", "b", "--namespace", "shop"]);
    assert!(privileged(&crate::common::json(&out)));
    let reads = other.requests("/api/v1");
    assert!(
        reads.iter().any(|r| r.contains("/namespaces/shop/pods")),
        "{reads:?}"
    );
    assert!(
        !reads.iter().any(|r| r.starts_with("/api/v1/pods")),
        "{reads:?}"
    );

    // --kubeconfig names another file than kubectl's.
    let moved = dir.join("elsewhere");
    std::fs::copy(&kubeconfig, &moved).unwrap();
    let before = pods(&current);
    let out = Command::new(&bin)
        .args([
            "cluster",
            "--no-config",
            "--no-aws",
            "--no-progress",
            "-f",
            "json",
        ])
        .arg("--kubeconfig")
        .arg(&moved)
        .env("KUBECONFIG", "/nonexistent/eksguard-test")
        .env("HOME", &dir)
        .output()
        .unwrap();
    assert!(privileged(&crate::common::json(&out)));
    assert!(pods(&current) > before);
    let _ = std::fs::remove_dir_all(dir);
}
