use eksguard_model::{FieldPath, Node, Object};

use crate::{declare_rule, Ctx, ObjectRule, Sink};

declare_rule! {
    /// ## What it checks
    /// Karpenter `NodePool`s (`karpenter.sh`) whose nodes never expire: `expireAfter:
    /// Never` in `spec.template.spec` (`karpenter.sh/v1`) or in `spec.disruption`
    /// (`v1beta1`, where it lived before). Unset takes Karpenter's default, 720 hours.
    ///
    /// ## Why it matters
    /// Expiry is how Karpenter replaces nodes with ones built from the current AMI. Nodes
    /// that never expire keep the kernel, container runtime and kubelet they were launched
    /// with, patched or not, for as long as they run; the guide asks for immutable nodes
    /// replaced regularly instead of long-lived hosts.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: karpenter.sh/v1
    /// kind: NodePool
    /// spec:
    ///   template:
    ///     spec:
    ///       expireAfter: Never
    /// ```
    ///
    /// ## Fix
    /// Set `expireAfter` to a duration (for example `720h`) and let drift replace nodes
    /// when the AMI changes.
    pub KarpenterNodesNeverExpire {
        id: "NODE017",
        name: "karpenter-nodes-never-expire",
        severity: Low,
        data: [Kubernetes],
        scope: Objects(&["NodePool"]),
        summary: "Karpenter NodePool nodes never expire",
        remediation: "Set `expireAfter` on the NodePool to a duration such as `720h`.",
        guide: &["HS-03"],
    }
}

impl ObjectRule for KarpenterNodesNeverExpire {
    fn check_object(&self, _cx: &Ctx<'_>, obj: &Object, out: &mut Sink) {
        if !obj.api_version.starts_with("karpenter.sh/") {
            return;
        }
        for at in [
            "spec.template.spec.expireAfter",
            "spec.disruption.expireAfter",
        ] {
            let never = obj
                .root
                .at(at)
                .and_then(Node::as_str)
                .is_some_and(|v| v.trim().eq_ignore_ascii_case("never"));
            if never {
                out.report(
                    obj,
                    FieldPath::parse(at),
                    "nodes of this NodePool never expire, so they are never replaced with a patched AMI",
                );
            }
        }
    }
}
