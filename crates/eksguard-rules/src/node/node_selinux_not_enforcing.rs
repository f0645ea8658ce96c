use eksguard_model::{FieldPath, Node, Object};

use crate::{declare_rule, Ctx, ObjectRule, Sink};

declare_rule! {
    /// ## What it checks
    /// `eksguard node` on a Bottlerocket or Amazon Linux 2023 node (told apart by
    /// `/etc/os-release`), both of which ship SELinux enforcing: the node reads
    /// `/sys/fs/selinux/enforce` as `0` (permissive), or has sysfs mounted without
    /// `/sys/fs/selinux` (SELinux disabled). The facts are the `NodeOS` object the node
    /// reader makes; when the node's sysfs is not visible under `--root`, nothing is
    /// known and nothing is reported. Other operating systems are not judged.
    ///
    /// ## Why it matters
    /// On these systems SELinux labels keep containers away from the host's files and
    /// from each other even when a container escapes its namespaces; in permissive mode
    /// denials are only logged. The guide recommends keeping SELinux enforcing on nodes.
    ///
    /// ## Example
    /// ```text
    /// $ cat /sys/fs/selinux/enforce
    /// 0
    /// ```
    ///
    /// ## Fix
    /// Restore enforcing mode (`setenforce 1` and `SELINUX=enforcing` on Amazon Linux
    /// 2023; Bottlerocket enforces unless its settings were changed) and replace the node.
    pub NodeSelinuxNotEnforcing {
        id: "NODE018",
        name: "node-selinux-not-enforcing",
        severity: Low,
        data: [Node],
        scope: Objects(&["NodeOS"]),
        summary: "Node's SELinux is not enforcing",
        remediation: "Run the node with SELinux in enforcing mode.",
        guide: &["RT-05", "HS-09"],
    }
}

impl ObjectRule for NodeSelinuxNotEnforcing {
    fn check_object(&self, _cx: &Ctx<'_>, obj: &Object, out: &mut Sink) {
        if !obj.api_version.starts_with("node.eksguard.io/") {
            return;
        }
        let Some(selinux) = obj.spec().get("selinux") else {
            return;
        };
        let os = obj
            .spec()
            .get("prettyName")
            .and_then(Node::as_str)
            .unwrap_or("the node's OS");
        if selinux.get("mounted").and_then(Node::as_bool) == Some(false) {
            out.report(
                obj,
                FieldPath::parse("spec.selinux.mounted"),
                format!("SELinux is disabled on this {os} node: /sys/fs/selinux is absent"),
            );
            return;
        }
        if selinux
            .get("enforce")
            .and_then(Node::scalar_text)
            .is_some_and(|v| v.trim() == "0")
        {
            out.report(
                obj,
                FieldPath::parse("spec.selinux.enforce"),
                format!(
                    "SELinux is permissive on this {os} node: denials are logged, not enforced"
                ),
            );
        }
    }
}
