use crate::context::SkipNamespaces;
use crate::{declare_rule, Ctx, InventoryRule, Sink};

use super::{is_default_deny, namespace_path, Direction};

declare_rule! {
    /// ## What it checks
    /// Workload namespaces with no default-deny NetworkPolicy for Ingress, for Egress, or
    /// for both. A policy denies a direction by default when its `podSelector` is empty,
    /// its `policyTypes` include the direction and it lists no rules for it. Without
    /// `policyTypes`, Ingress is implied and Egress only when egress rules are present
    /// (so such a policy never denies egress). Namespaces with no policy at all are
    /// reported too. The finding sits on the Namespace object when the scan has it,
    /// otherwise on the first workload there, and names the missing direction.
    ///
    /// ## Why it matters
    /// Allow-lists only hold when everything else is denied. Without a default deny, a
    /// new pod, or a pod no policy selects, is open to and from the whole cluster, and
    /// without an egress deny a compromised pod can reach anything, including the
    /// internet and cloud APIs.
    ///
    /// ## Example
    /// ```yaml
    /// kind: NetworkPolicy
    /// spec:
    ///   podSelector: {}
    ///   policyTypes: [Ingress]   # egress stays open
    /// ```
    ///
    /// ## Fix
    /// Add a policy with `podSelector: {}` and `policyTypes: [Ingress, Egress]` and no
    /// rules, then allow the needed flows (DNS included) with further policies.
    pub NamespaceWithoutDefaultDeny {
        id: "NET002",
        name: "namespace-without-default-deny",
        severity: Low,
        data: [Kubernetes],
        scope: Inventory,
        reads: &["Namespace", "Pod", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController", "Job", "CronJob", "PodTemplate", "Rollout", "NetworkPolicy"],
        summary: "Namespace has no default-deny NetworkPolicy for Ingress or Egress",
        remediation: "Add a NetworkPolicy with an empty podSelector and policyTypes Ingress and Egress, then allow the needed flows.",
        params: SkipNamespaces,
        guide: &["MT-02", "NS-02"],
    }
}

impl InventoryRule for NamespaceWithoutDefaultDeny {
    fn check_inventory(&self, cx: &Ctx<'_>, out: &mut Sink) {
        for (ns, obj) in cx.workload_namespaces(&cx.params(&Self::META)) {
            let missing: Vec<&str> = [Direction::Ingress, Direction::Egress]
                .into_iter()
                .filter(|d| {
                    !cx.objects_in("NetworkPolicy", &ns)
                        .any(|p| is_default_deny(p, *d))
                })
                .map(Direction::name)
                .collect();
            if !missing.is_empty() {
                out.report(
                    obj,
                    namespace_path(obj),
                    format!(
                        "namespace `{ns}` has no default-deny NetworkPolicy for {}",
                        missing.join(" and ")
                    ),
                );
            }
        }
    }
}
