use crate::context::SkipNamespaces;
use crate::net::report_namespaces_without;
use crate::{declare_rule, Ctx, InventoryRule, Sink};

declare_rule! {
    /// ## What it checks
    /// Namespaces that hold workloads but no ResourceQuota, across all files of the scan.
    /// The finding sits on the Namespace object when the scan has it, otherwise on the
    /// first workload in the namespace.
    ///
    /// ## Why it matters
    /// Without a quota one team, a runaway controller or an attacker with create rights in
    /// the namespace can consume the cluster's capacity, starving every other tenant.
    ///
    /// ## Example
    /// A `Deployment` in namespace `shop` and no `ResourceQuota` with `namespace: shop`.
    ///
    /// ## Fix
    /// Add a ResourceQuota capping cpu, memory and object counts for the namespace.
    pub NamespaceWithoutResourceQuota {
        id: "QOS004",
        name: "namespace-without-resource-quota",
        severity: Medium,
        data: [Kubernetes],
        scope: Inventory,
        reads: &["Namespace", "Pod", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController", "Job", "CronJob", "PodTemplate", "Rollout", "ResourceQuota"],
        summary: "Workload namespace has no ResourceQuota",
        remediation: "Add a ResourceQuota to the namespace.",
        params: SkipNamespaces,
        guide: &["MT-04", "PS-07"],
    }
}

impl InventoryRule for NamespaceWithoutResourceQuota {
    fn check_inventory(&self, cx: &Ctx<'_>, out: &mut Sink) {
        report_namespaces_without(cx, &cx.params(&Self::META), "ResourceQuota", out);
    }
}
