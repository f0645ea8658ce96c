use eksguard_model::{Node, Object};

use super::{field, is_kubelet_config, KUBELET_KINDS};
use crate::{declare_rule, Ctx, ObjectRule, Sink};

declare_rule! {
    /// ## What it checks
    /// A `KubeletConfiguration` with `authorization.mode: AlwaysAllow`. Unset means
    /// `Webhook` in the `kubelet.config.k8s.io/v1beta1` file format and does not fire; the
    /// `--authorization-mode` flag overrides the file (`eksguard node` reads it).
    ///
    /// ## Why it matters
    /// `AlwaysAllow` lets every authenticated caller of the kubelet API, and every
    /// anonymous one if anonymous auth is on, run commands in any pod on the node and read
    /// its logs and secrets. CIS Amazon EKS Benchmark 3.2.2.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: kubelet.config.k8s.io/v1beta1
    /// kind: KubeletConfiguration
    /// authorization:
    ///   mode: AlwaysAllow
    /// ```
    ///
    /// ## Fix
    /// Set `authorization.mode: Webhook` so the API server's RBAC decides.
    pub KubeletAuthorizationAlwaysAllow {
        id: "NODE006",
        name: "kubelet-authorization-always-allow",
        severity: Critical,
        data: [Node],
        scope: Objects(KUBELET_KINDS),
        summary: "Kubelet authorizes every request (AlwaysAllow)",
        remediation: "Set `authorization.mode: Webhook` in the kubelet configuration and remove `--authorization-mode=AlwaysAllow`.",
        guide: &["HS-04"],
    }
}

impl ObjectRule for KubeletAuthorizationAlwaysAllow {
    fn check_object(&self, _cx: &Ctx<'_>, obj: &Object, out: &mut Sink) {
        if !is_kubelet_config(obj) {
            return;
        }
        let (node, path) = field(obj, "authorization.mode");
        if node.and_then(Node::as_str).map(str::trim) == Some("AlwaysAllow") {
            out.report(obj, path, "kubelet authorization mode is AlwaysAllow");
        }
    }
}
