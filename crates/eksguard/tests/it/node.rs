//! `eksguard node` against fake node root trees, the kubelet samples of the corpus, and
//! `eksguard scan` over the deploy/ manifests that run it.

use crate::common::json;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_eksguard"));
    c.env("NO_COLOR", "1");
    c
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// A fake node file system in a temporary directory.
struct Tree(PathBuf);

impl Tree {
    fn new(name: &str) -> Tree {
        let d = std::env::temp_dir().join(format!("eksguard-node-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        Tree(d)
    }

    fn path(&self, node_path: &str) -> PathBuf {
        self.0.join(node_path.trim_start_matches('/'))
    }

    /// Writes a file with an exact mode (the umask does not apply to `set_permissions`).
    fn file(&self, node_path: &str, text: &str, mode: u32) -> &Tree {
        let p = self.path(node_path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, text).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
        self
    }

    fn node(&self, extra: &[&str]) -> Output {
        bin()
            .args(["node", "--root"])
            .arg(&self.0)
            .args(["--format", "json"])
            .args(extra)
            .output()
            .unwrap()
    }
}

impl Drop for Tree {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Each finding as `RULE field_path @file-suffix:line`, sorted.
fn findings(v: &serde_json::Value, root: &Path) -> Vec<String> {
    let prefix = root.to_string_lossy().to_string();
    let mut out: Vec<String> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let loc = match f.get("location") {
                Some(l) => format!(
                    " @{}:{}",
                    l["file"].as_str().unwrap().trim_start_matches(&prefix),
                    l["line"]
                ),
                None => String::new(),
            };
            format!(
                "{} {}{loc}",
                f["rule_id"].as_str().unwrap(),
                f["field_path"].as_str().unwrap()
            )
        })
        .collect();
    out.sort();
    out
}

fn messages(v: &serde_json::Value) -> Vec<String> {
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["message"].as_str().unwrap().to_string())
        .collect()
}

const HARDENED: &str = r#"{
  "kind": "KubeletConfiguration",
  "apiVersion": "kubelet.config.k8s.io/v1beta1",
  "authentication": {
    "anonymous": {
      "enabled": false
    },
    "webhook": {
      "enabled": true
    },
    "x509": {
      "clientCAFile": "/etc/kubernetes/pki/ca.crt"
    }
  },
  "authorization": {
    "mode": "Webhook"
  },
  "readOnlyPort": 0,
  "featureGates": {
    "RotateKubeletServerCertificate": true
  },
  "serverTLSBootstrap": true
}
"#;

const KUBECONFIG: &str = "apiVersion: v1\nkind: Config\nclusters: []\n";

const AL2_UNIT: &str = "[Unit]\nDescription=Kubernetes Kubelet\n\n[Service]\nExecStartPre=/sbin/iptables -P FORWARD ACCEPT -w 5\nExecStart=/usr/bin/kubelet --cloud-provider aws \\\n    --config /etc/kubernetes/kubelet/kubelet-config.json \\\n    --kubeconfig /var/lib/kubelet/kubeconfig \\\n    --container-runtime-endpoint unix:///run/containerd/containerd.sock \\\n    $KUBELET_ARGS $KUBELET_EXTRA_ARGS\n\nRestart=always\n\n[Install]\nWantedBy=multi-user.target\n";

fn al2(name: &str) -> Tree {
    let t = Tree::new(name);
    t.file(
        "/etc/kubernetes/kubelet/kubelet-config.json",
        HARDENED,
        0o644,
    )
    .file("/var/lib/kubelet/kubeconfig", KUBECONFIG, 0o600)
    .file("/etc/systemd/system/kubelet.service", AL2_UNIT, 0o644)
    .file(
        "/etc/systemd/system/kubelet.service.d/10-kubelet-args.conf",
        "[Service]\nEnvironment='KUBELET_ARGS=--node-ip=10.0.0.1 --v=2'\n",
        0o644,
    );
    t
}

#[test]
fn al2_layout_that_is_hardened_is_clean() {
    let t = al2("al2");
    let out = t.node(&[]);
    let v = json(&out);
    assert_eq!(findings(&v, &t.0), Vec::<String>::new());
    assert_eq!(out.status.code(), Some(0), "{v}");
    // The config, and the kubeconfig, each as a file object.
    assert_eq!(v["summary"]["resources_scanned"], 3);
}

#[test]
fn systemd_drop_in_flags_override_the_file() {
    let t = al2("systemd");
    t.file(
        "/etc/systemd/system/kubelet.service.d/30-kubelet-extra-args.conf",
        "[Service]\n# extra\nEnvironment='KUBELET_EXTRA_ARGS=--authorization-mode=AlwaysAllow --read-only-port 10255'\n",
        0o644,
    );
    let out = t.node(&[]);
    let v = json(&out);
    let drop_in = "/etc/systemd/system/kubelet.service.d/30-kubelet-extra-args.conf:3";
    assert_eq!(
        findings(&v, &t.0),
        vec![
            format!("NODE006 authorization.mode @{drop_in}"),
            format!("NODE007 readOnlyPort @{drop_in}"),
        ]
    );
    assert!(messages(&v)[0].contains("set by `--authorization-mode=AlwaysAllow`"));
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn running_kubelet_command_line_wins_over_the_unit() {
    let t = al2("proc");
    // The unit says nothing bad; the process does. PID 1 is not the kubelet.
    t.file("/proc/1/cmdline", "/sbin/init\0splash\0", 0o444).file(
        "/proc/4321/cmdline",
        "/usr/bin/kubelet\0--config\0/etc/kubernetes/kubelet/kubelet-config.json\0--anonymous-auth\0--feature-gates=RotateKubeletServerCertificate=false\0",
        0o444,
    );
    let v = json(&t.node(&[]));
    assert_eq!(
        findings(&v, &t.0),
        vec![
            "NODE005 authentication.anonymous.enabled".to_string(),
            "NODE011 featureGates.RotateKubeletServerCertificate".to_string(),
        ]
    );
    assert!(messages(&v)
        .iter()
        .all(|m| m.contains("running kubelet (PID 4321)")));
}

#[test]
fn al2023_drop_in_reenabling_anonymous_auth_fires() {
    let t = Tree::new("al2023");
    t.file("/etc/kubernetes/kubelet/config.json", HARDENED, 0o644)
        .file(
            "/etc/kubernetes/kubelet/config.json.d/40-nodeadm.conf",
            "{\"apiVersion\": \"kubelet.config.k8s.io/v1beta1\", \"kind\": \"KubeletConfiguration\", \"maxPods\": 58}\n",
            0o644,
        )
        .file(
            "/etc/kubernetes/kubelet/config.json.d/50-user.conf",
            "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\nauthentication:\n  anonymous:\n    enabled: true\n",
            0o644,
        )
        // Not `*.conf`: the kubelet ignores it, and so must eksguard.
        .file(
            "/etc/kubernetes/kubelet/config.json.d/60-ignored.yaml",
            "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\nreadOnlyPort: 10255\n",
            0o644,
        )
        .file("/var/lib/kubelet/kubeconfig", KUBECONFIG, 0o600)
        .file(
            "/etc/systemd/system/kubelet.service",
            "[Service]\nExecStart=/usr/bin/kubelet $NODEADM_KUBELET_ARGS\nEnvironmentFile=/etc/eks/kubelet/environment\n",
            0o644,
        )
        .file(
            "/etc/eks/kubelet/environment",
            "NODEADM_KUBELET_ARGS=\"--node-ip=10.0.0.1 --config=/etc/kubernetes/kubelet/config.json --config-dir=/etc/kubernetes/kubelet/config.json.d --kubeconfig=/var/lib/kubelet/kubeconfig\"\n",
            0o644,
        );
    let out = t.node(&[]);
    let v = json(&out);
    assert_eq!(
        findings(&v, &t.0),
        vec![
            "NODE005 authentication.anonymous.enabled @/etc/kubernetes/kubelet/config.json.d/50-user.conf:5"
                .to_string()
        ]
    );
    assert_eq!(out.status.code(), Some(1));
    // Config, two drop-ins and the kubeconfig.
    assert_eq!(v["summary"]["files_scanned"], 3);
    assert_eq!(v["summary"]["resources_scanned"], 5);
}

#[test]
fn bottlerocket_layout() {
    let t = Tree::new("bottlerocket");
    t.file(
        "/etc/kubernetes/kubelet/config",
        "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\nauthentication:\n  anonymous:\n    enabled: false\n  x509:\n    clientCAFile: /etc/kubernetes/pki/ca.crt\nauthorization:\n  mode: Webhook\nreadOnlyPort: 10255\nserverTLSBootstrap: true\n",
        0o644,
    )
    .file("/etc/kubernetes/kubelet/kubeconfig", KUBECONFIG, 0o644);
    let out = t.node(&[]);
    let v = json(&out);
    assert_eq!(
        findings(&v, &t.0),
        vec!["NODE007 readOnlyPort @/etc/kubernetes/kubelet/config:10".to_string()]
    );
    assert_eq!(
        v["findings"][0]["resource"]["name"],
        "/etc/kubernetes/kubelet/config"
    );
}

#[test]
fn loose_permissions_and_foreign_owner_fire_node012() {
    use std::os::unix::fs::chown;
    let t = Tree::new("perms");
    t.file(
        "/etc/kubernetes/kubelet/kubelet-config.json",
        HARDENED,
        0o666,
    )
    .file("/var/lib/kubelet/kubeconfig", KUBECONFIG, 0o600)
    .file(
        "/etc/passwd",
        "root:x:0:0:root:/root:/bin/bash\nec2-user:x:1000:1000::/home/ec2-user:/bin/bash\n",
        0o644,
    )
    .file("/etc/group", "root:x:0:\nec2-user:x:1000:\n", 0o644);
    if chown(
        t.path("/var/lib/kubelet/kubeconfig"),
        Some(1000),
        Some(1000),
    )
    .is_err()
    {
        println!("SKIPPED ownership part: chown needs root");
        return;
    }
    let out = t.node(&[]);
    let v = json(&out);
    assert_eq!(
        findings(&v, &t.0),
        vec![
            "NODE012 spec.mode".to_string(),
            "NODE012 spec.uid".to_string()
        ]
    );
    let msgs = messages(&v);
    assert!(msgs.iter().any(|m| m.contains("has mode 0666")), "{msgs:?}");
    assert!(
        msgs.iter()
            .any(|m| m.contains("owned by ec2-user(1000):ec2-user(1000), not root:root")),
        "{msgs:?}"
    );
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn missing_config_is_an_input_error() {
    let t = Tree::new("empty");
    t.file("/var/lib/kubelet/kubeconfig", KUBECONFIG, 0o600);
    let out = t.node(&[]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no kubelet configuration found under"),
        "{err}"
    );
    assert!(err.contains("--kubelet-config"), "{err}");

    let out = t.node(&["--kubelet-config", "/nonexistent/kubelet.yaml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/kubelet.yaml"));
}

#[test]
fn broken_config_names_file_and_line() {
    let t = Tree::new("broken");
    t.file(
        "/etc/kubernetes/kubelet/config.json",
        "{\n  \"kind\": \"KubeletConfiguration\",\n  \"apiVersion\": [\n",
        0o644,
    );
    let out = t.node(&[]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("config.json:"), "{err}");
}

#[test]
fn scan_merges_drop_ins_into_their_base() {
    let t = Tree::new("scan");
    t.file("/k/config.json", HARDENED, 0o644).file(
        "/k/config.json.d/50-user.conf",
        "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\nauthentication:\n  anonymous:\n    enabled: true\n",
        0o644,
    );
    let out = bin()
        .args(["scan", "--no-config", "-f", "json"])
        .arg(t.path("/k"))
        .output()
        .unwrap();
    let v = json(&out);
    // One merged object; the finding points at the base line of the field overridden.
    assert_eq!(v["summary"]["resources_scanned"], 1);
    assert_eq!(
        findings(&v, &t.0),
        vec!["NODE005 authentication.anonymous.enabled @/k/config.json:6".to_string()]
    );

    // The drop-in alone is judged only on what it sets.
    let out = bin()
        .args(["scan", "--no-config", "-f", "json"])
        .arg(t.path("/k/config.json.d/50-user.conf"))
        .output()
        .unwrap();
    assert_eq!(
        findings(&json(&out), &t.0),
        vec![
            "NODE005 authentication.anonymous.enabled @/k/config.json.d/50-user.conf:5".to_string()
        ]
    );
}

#[test]
fn deploy_manifests_have_no_unsuppressed_high_findings() {
    let out = bin()
        .current_dir(repo())
        .args(["scan", "deploy/manifests", "--no-config", "-f", "json"])
        .output()
        .unwrap();
    let v = json(&out);
    assert_eq!(v["errors"], serde_json::json!([]), "{v}");
    let bad: Vec<&serde_json::Value> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| matches!(f["severity"].as_str(), Some("high" | "critical")))
        .collect();
    assert!(bad.is_empty(), "{bad:#?}");
    assert!(v["summary"]["resources_scanned"].as_u64().unwrap() >= 4);
}

/// The EKS AMI samples of the shared corpus, in the places the AMIs install them.
#[test]
fn corpus_eks_ami_samples() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus/node");
    if !corpus.is_dir() {
        println!("SKIPPED: {} is absent", corpus.display());
        return;
    }
    let read = |f: &str| std::fs::read_to_string(corpus.join(f)).unwrap();

    let t = Tree::new("corpus-al2");
    t.file(
        "/etc/kubernetes/kubelet/kubelet-config.json",
        &read("eks-ami-al2-kubelet-config.json"),
        0o644,
    )
    .file("/var/lib/kubelet/kubeconfig", KUBECONFIG, 0o600);
    let out = t.node(&[]);
    let v = json(&out);
    // Anonymous auth off, Webhook, client CA, read-only port 0, serving certificates
    // bootstrapped and rotated: the AL2 AMI passes every kubelet rule.
    assert_eq!(findings(&v, &t.0), Vec::<String>::new());
    assert_eq!(out.status.code(), Some(0));

    let t = Tree::new("corpus-al2023");
    t.file(
        "/etc/kubernetes/kubelet/config.json",
        &read("eks-ami-al2023-nodeadm-kubelet-config.json"),
        0o644,
    )
    .file(
        "/etc/kubernetes/kubelet/config.json.d/00-nodeadm.conf",
        &read("eks-ami-al2023-nodeadm-kubelet-config-drop-in.json"),
        0o644,
    )
    .file("/var/lib/kubelet/kubeconfig", KUBECONFIG, 0o600);
    let out = t.node(&[]);
    let v = json(&out);
    assert_eq!(findings(&v, &t.0), Vec::<String>::new());
    assert_eq!(v["summary"]["files_scanned"], 2);
    assert_eq!(out.status.code(), Some(0));
}

/// A marker that must never show: the outside file holding it is read only by a resolver
/// that leaves the root.
const OUTSIDE_MARKER: &str = "OUTSIDE-ROOT-7c1e9a";

/// A kubelet configuration outside any root, that would fire NODE006 on the line holding
/// the marker if it were read.
fn outside_file(tag: &str) -> PathBuf {
    let p = std::env::temp_dir().join(format!("eksguard-node-{}-{tag}.json", std::process::id()));
    std::fs::write(
        &p,
        format!("{{\"kind\": \"KubeletConfiguration\", \"apiVersion\": \"kubelet.config.k8s.io/v1beta1\",\n\"authorization\": {{\"mode\": \"AlwaysAllow\", \"note\": \"{OUTSIDE_MARKER}\"}}}}\n"),
    )
    .unwrap();
    p
}

/// Both output streams of `node` in text and JSON, none showing the marker.
fn assert_marker_never_shown(t: &Tree, extra: &[&str]) -> Output {
    let text = bin()
        .args(["node", "--root"])
        .arg(&t.0)
        .args(["--format", "text"])
        .args(extra)
        .output()
        .unwrap();
    let json_out = t.node(extra);
    for o in [&text, &json_out] {
        for stream in [&o.stdout, &o.stderr] {
            let s = String::from_utf8_lossy(stream);
            assert!(!s.contains(OUTSIDE_MARKER), "outside file read:\n{s}");
            assert!(!s.contains("AlwaysAllow"), "outside file read:\n{s}");
        }
    }
    json_out
}

#[test]
fn an_absolute_link_out_of_the_root_is_resolved_inside_it() {
    let outside = outside_file("abs-link");
    let t = Tree::new("abs-link");
    t.file("/var/lib/kubelet/kubeconfig", KUBECONFIG, 0o600);
    std::fs::create_dir_all(t.path("/etc/kubernetes/kubelet")).unwrap();
    let link = t.path("/etc/kubernetes/kubelet/config.json");
    std::os::unix::fs::symlink(&outside, &link).unwrap();
    let out = assert_marker_never_shown(&t, &[]);
    let _ = std::fs::remove_file(&outside);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    // The link's target, taken on the node: under the root, where it does not exist.
    assert!(
        err.contains(&format!("{} does not exist", outside.display()))
            && err.contains("config.json: cannot read")
            && err.contains("inside --root"),
        "{err}"
    );

    // An absolute link to a file of the node works as on the node.
    t.file("/etc/kubernetes/kubelet/real.json", HARDENED, 0o644);
    std::fs::remove_file(&link).unwrap();
    std::os::unix::fs::symlink("/etc/kubernetes/kubelet/real.json", &link).unwrap();
    let out = t.node(&[]);
    let v = json(&out);
    assert_eq!(findings(&v, &t.0), Vec::<String>::new());
    assert_eq!(out.status.code(), Some(0), "{v}");
}

#[test]
fn a_config_flag_with_dotdot_cannot_climb_out_of_the_root() {
    let outside = outside_file("dotdot");
    let name = outside.file_name().unwrap().to_str().unwrap().to_string();
    let t = Tree::new("dotdot");
    // `<root>/../<name>` is the outside file; on the node, `/..` is `/`.
    assert!(t.0.join("..").join(&name).is_file());
    t.file("/var/lib/kubelet/kubeconfig", KUBECONFIG, 0o600)
        .file(
            "/proc/77/cmdline",
            &format!("/usr/bin/kubelet\0--config=/../../{name}\0"),
            0o444,
        );
    let out = assert_marker_never_shown(&t, &[]);
    let _ = std::fs::remove_file(&outside);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&format!("/{name} does not exist")), "{err}");
}

#[test]
fn kubeconfig_paths_reaching_etc_shadow_name_the_nodes_own_file() {
    // Through an absolute link, named by the unit's `--kubeconfig`.
    let t = al2("shadow");
    let kc = t.path("/var/lib/kubelet/kubeconfig");
    std::fs::remove_file(&kc).unwrap();
    std::os::unix::fs::symlink("/etc/shadow", &kc).unwrap();
    let out = t.node(&[]);
    assert_eq!(out.status.code(), Some(2));
    let v = json(&out);
    let errs = v["errors"].as_array().unwrap();
    assert_eq!(errs.len(), 1, "{v}");
    assert_eq!(errs[0]["file"], kc.display().to_string());
    let msg = errs[0]["message"].as_str().unwrap();
    assert!(
        msg.contains("/etc/shadow does not exist") && msg.contains("inside --root"),
        "{msg}"
    );
    // With the node's own /etc/shadow, that file is judged (never the host's).
    t.file("/etc/shadow", "root:*:19000:0:99999:7:::\n", 0o666);
    let out = t.node(&[]);
    let v = json(&out);
    assert_eq!(v["errors"], serde_json::json!([]), "{v}");
    let msgs = messages(&v);
    assert!(msgs.iter().any(|m| m.contains("has mode 0666")), "{msgs:?}");

    // Through `..` in the running kubelet's flag.
    t.file(
        "/proc/88/cmdline",
        "/usr/bin/kubelet\0--config\0/etc/kubernetes/kubelet/kubelet-config.json\0--kubeconfig=/var/lib/../../../../../../etc/shadow\0",
        0o444,
    );
    std::fs::remove_file(&kc).unwrap();
    let v = json(&t.node(&[]));
    assert_eq!(v["errors"], serde_json::json!([]), "{v}");
    let f = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule_id"] == "NODE012")
        .expect("NODE012 on the node's /etc/shadow");
    // Named as the flag gives it; judged on the node's own file.
    assert!(
        f["resource"]["name"]
            .as_str()
            .unwrap()
            .ends_with("/../etc/shadow"),
        "{f}"
    );
    assert!(f["message"].as_str().unwrap().contains("0666"), "{f}");
}

#[test]
fn symbolic_link_loops_are_errors_not_hangs() {
    let t = Tree::new("loop");
    std::fs::create_dir_all(t.path("/etc/kubernetes/kubelet")).unwrap();
    std::fs::create_dir_all(t.path("/var/lib/kubelet")).unwrap();
    std::os::unix::fs::symlink("config.json", t.path("/etc/kubernetes/kubelet/config.json"))
        .unwrap();
    let out = t.node(&[]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("config.json: cannot read") && err.contains("symbolic links"),
        "{err}"
    );

    // A loop of two links as the kubeconfig: reported, the config still checked.
    std::fs::remove_file(t.path("/etc/kubernetes/kubelet/config.json")).unwrap();
    t.file("/etc/kubernetes/kubelet/config.json", HARDENED, 0o644);
    std::os::unix::fs::symlink("/var/lib/kubelet/b", t.path("/var/lib/kubelet/kubeconfig"))
        .unwrap();
    std::os::unix::fs::symlink("kubeconfig", t.path("/var/lib/kubelet/b")).unwrap();
    let out = t.node(&[]);
    assert_eq!(out.status.code(), Some(2));
    let v = json(&out);
    let msg = v["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(msg.contains("symbolic links"), "{v}");
    assert_eq!(v["summary"]["resources_scanned"], 2, "{v}");
}

#[test]
fn node_files_over_the_size_limit_are_not_read() {
    let t = Tree::new("big");
    let big = format!("{HARDENED}{}", " ".repeat(16 * 1024 * 1024));
    t.file("/etc/kubernetes/kubelet/config.json", &big, 0o644);
    let out = t.node(&[]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("larger than the 16777216-byte limit"), "{err}");
}
