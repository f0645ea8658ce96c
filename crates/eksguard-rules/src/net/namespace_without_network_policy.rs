use crate::context::SkipNamespaces;
use crate::net::report_namespaces_without;
use crate::{declare_rule, Ctx, InventoryRule, Sink};

declare_rule! {
    /// ## What it checks
    /// Namespaces that hold workloads but no NetworkPolicy, across all files of the scan.
    /// The finding sits on the Namespace object when the scan has it, otherwise on the
    /// first workload in the namespace.
    ///
    /// ## Why it matters
    /// Without a policy every pod accepts traffic from every other pod in the cluster, so
    /// one compromised pod can reach all the others.
    ///
    /// ## Example
    /// A `Deployment` in namespace `shop` and no `NetworkPolicy` with `namespace: shop`.
    ///
    /// ## Fix
    /// Add a default-deny NetworkPolicy to the namespace and allow the flows it needs.
    pub NamespaceWithoutNetworkPolicy {
        id: "NET001",
        name: "namespace-without-network-policy",
        severity: Medium,
        data: [Kubernetes],
        scope: Inventory,
        reads: &["Namespace", "Pod", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController", "Job", "CronJob", "PodTemplate", "Rollout", "NetworkPolicy"],
        summary: "Workload namespace has no NetworkPolicy",
        remediation: "Add a default-deny NetworkPolicy to the namespace and allow only the needed flows.",
        params: SkipNamespaces,
        guide: &["NS-02"],
    }
}

impl InventoryRule for NamespaceWithoutNetworkPolicy {
    fn check_inventory(&self, cx: &Ctx<'_>, out: &mut Sink) {
        report_namespaces_without(cx, &cx.params(&Self::META), "NetworkPolicy", out);
    }
}
