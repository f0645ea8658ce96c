use eksguard_model::{FieldPath, Node, Object};

use crate::{declare_rule, Ctx, ObjectRule, Sink};

declare_rule! {
    /// ## What it checks
    /// The kubelet's files on a node: its configuration file, its `--config-dir` drop-ins
    /// and its kubeconfig. It fires when a file's mode has any bit outside `0644` (group or
    /// world write, any execute bit, setuid/setgid/sticky) or when its owner is not
    /// `root:root` (uid and gid 0). `eksguard node` gathers these facts as synthetic
    /// `NodeFile` objects (`apiVersion: node.eksguard.io/v1`); a scan of files sees such
    /// objects only when given them.
    ///
    /// ## Why it matters
    /// Whoever can write the kubelet configuration can turn on anonymous access or
    /// `AlwaysAllow` at the next restart; whoever can rewrite the kubeconfig can point the
    /// kubelet at another API server or steal its credentials.
    /// CIS Amazon EKS Benchmark 3.1.1 to 3.1.4.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: node.eksguard.io/v1
    /// kind: NodeFile
    /// metadata:
    ///   name: /etc/kubernetes/kubelet/config.json
    /// spec:
    ///   path: /etc/kubernetes/kubelet/config.json
    ///   role: kubelet-config
    ///   mode: "0666"
    ///   uid: 1000
    ///   gid: 1000
    /// ```
    ///
    /// ## Fix
    /// `chmod 644 FILE` (or stricter) and `chown root:root FILE`.
    pub KubeletConfigFilePermissions {
        id: "NODE012",
        name: "kubelet-config-file-permissions",
        severity: Medium,
        data: [Node],
        scope: Objects(&["NodeFile"]),
        summary: "Kubelet config or kubeconfig is writable by others or not owned by root",
        remediation: "Run `chmod 644` (or stricter) and `chown root:root` on the file.",
        guide: &["HS-04"],
    }
}

/// The mode as written: an octal string (`"0644"`, `"644"`), or an integer whose decimal
/// digits are the octal digits (YAML reads an unquoted `644` so).
fn mode_of(n: &Node) -> Option<u32> {
    let text = n.scalar_text()?;
    let t = text.trim();
    let t = t.strip_prefix("0o").unwrap_or(t);
    u32::from_str_radix(t, 8).ok()
}

fn id_of(spec: &Node, id_key: &str, name_key: &str) -> Option<bool> {
    match spec.get(id_key).and_then(Node::as_i64) {
        Some(id) => Some(id == 0),
        None => spec
            .get(name_key)
            .and_then(Node::as_str)
            .map(|name| name == "root"),
    }
}

impl ObjectRule for KubeletConfigFilePermissions {
    fn check_object(&self, _cx: &Ctx<'_>, obj: &Object, out: &mut Sink) {
        if &*obj.api_version != "node.eksguard.io/v1" {
            return;
        }
        let spec = obj.spec();
        let path = spec.get("path").and_then(Node::as_str).unwrap_or(&obj.name);
        let role = match spec.get("role").and_then(Node::as_str) {
            Some("kubelet-kubeconfig") => "kubelet kubeconfig",
            Some("kubelet-config-drop-in") => "kubelet config drop-in",
            _ => "kubelet config",
        };
        if let Some(mode) = spec.get("mode").and_then(mode_of) {
            if mode & !0o644 != 0 {
                out.report(
                    obj,
                    FieldPath::parse("spec.mode"),
                    format!("{role} {path} has mode {mode:04o}, more permissive than 0644"),
                );
            }
        }
        let uid_root = id_of(spec, "uid", "owner");
        let gid_root = id_of(spec, "gid", "group");
        if uid_root == Some(false) || gid_root == Some(false) {
            let show = |id: &str, name: &str| {
                let id = spec.get(id).and_then(Node::scalar_text);
                let name = spec.get(name).and_then(Node::as_str);
                match (id, name) {
                    (Some(i), Some(n)) => format!("{n}({i})"),
                    (Some(i), None) => i,
                    (None, Some(n)) => n.to_string(),
                    (None, None) => "?".into(),
                }
            };
            let at = if uid_root == Some(false) {
                if spec.get("uid").is_some() {
                    "spec.uid"
                } else {
                    "spec.owner"
                }
            } else if spec.get("gid").is_some() {
                "spec.gid"
            } else {
                "spec.group"
            };
            out.report(
                obj,
                FieldPath::parse(at),
                format!(
                    "{role} {path} is owned by {}:{}, not root:root",
                    show("uid", "owner"),
                    show("gid", "group")
                ),
            );
        }
    }
}
