use eksguard_model::{Node, Object};

use super::host_path_volumes;
use crate::{declare_rule, Ctx, ObjectRule, Sink, WORKLOAD_KINDS};

declare_rule! {
    /// ## What it checks
    /// Each `volumeMount` of a container (init, regular or ephemeral) that mounts a
    /// `hostPath` volume without `readOnly: true`. A hostPath volume that no container
    /// mounts is left to POD004.
    ///
    /// ## Why it matters
    /// A writable host directory lets the container change the node: drop a binary or a
    /// systemd unit, edit kubelet or runtime configuration, tamper with other pods' files.
    /// That is a direct path to taking over the node.
    ///
    /// ## Example
    /// ```yaml
    /// volumeMounts:
    /// - name: host-etc
    ///   mountPath: /host/etc
    /// ```
    ///
    /// ## Fix
    /// Add `readOnly: true` to the mount, or stop using the hostPath volume.
    pub HostPathWritable {
        id: "POD005",
        name: "host-path-writable",
        severity: High,
        data: [Kubernetes],
        scope: Objects(WORKLOAD_KINDS),
        summary: "hostPath volume mounted writable",
        remediation: "Mount the hostPath volume with `readOnly: true`, or remove it.",
        guide: &["PS-06"],
    }
}

impl ObjectRule for HostPathWritable {
    fn check_object(&self, _cx: &Ctx<'_>, obj: &Object, out: &mut Sink) {
        let Some(pod) = obj.pod_spec() else { return };
        let vols = host_path_volumes(&pod);
        if vols.is_empty() {
            return;
        }
        for c in pod.containers() {
            let mounts = c.node.get("volumeMounts").map(Node::items).unwrap_or(&[]);
            for (j, m) in mounts.iter().enumerate() {
                let name = m.get("name").and_then(Node::as_str).unwrap_or("");
                let Some(v) = vols.iter().find(|v| v.name == name) else {
                    continue;
                };
                if m.get("readOnly").and_then(Node::as_bool) == Some(true) {
                    continue;
                }
                let at = m.get("mountPath").and_then(Node::as_str).unwrap_or("");
                out.report(
                    obj,
                    c.path.key("volumeMounts").index(j),
                    format!(
                        "{} mounts host path `{}` writable at `{at}`",
                        c.describe(),
                        v.host_path
                    ),
                );
            }
        }
    }
}
