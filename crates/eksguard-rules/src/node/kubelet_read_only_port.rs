use eksguard_model::Object;

use super::{field, is_kubelet_config, KUBELET_KINDS};
use crate::{declare_rule, Ctx, ObjectRule, Sink};

declare_rule! {
    /// ## What it checks
    /// A `KubeletConfiguration` whose `readOnlyPort` is not `0`. Unset means `0` (disabled)
    /// in the `kubelet.config.k8s.io/v1beta1` file format and does not fire; the
    /// `--read-only-port` flag (default 10255 without a config file) overrides the file
    /// (`eksguard node` reads it).
    ///
    /// ## Why it matters
    /// The read-only port serves pod specs, environment and node metrics with no
    /// authentication and no authorization to anything that can reach the node.
    /// CIS Amazon EKS Benchmark 3.2.4.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: kubelet.config.k8s.io/v1beta1
    /// kind: KubeletConfiguration
    /// readOnlyPort: 10255
    /// ```
    ///
    /// ## Fix
    /// Set `readOnlyPort: 0`, or remove it.
    pub KubeletReadOnlyPort {
        id: "NODE007",
        name: "kubelet-read-only-port",
        severity: High,
        data: [Node],
        scope: Objects(KUBELET_KINDS),
        summary: "Kubelet serves the unauthenticated read-only port",
        remediation: "Set `readOnlyPort: 0` in the kubelet configuration and remove `--read-only-port`.",
        guide: &["HS-04"],
    }
}

impl ObjectRule for KubeletReadOnlyPort {
    fn check_object(&self, _cx: &Ctx<'_>, obj: &Object, out: &mut Sink) {
        if !is_kubelet_config(obj) {
            return;
        }
        let (node, path) = field(obj, "readOnlyPort");
        let Some(port) = node.and_then(|n| n.as_i64()) else {
            return;
        };
        if port != 0 {
            out.report(
                obj,
                path,
                format!("kubelet serves an unauthenticated read-only port on {port}"),
            );
        }
    }
}
