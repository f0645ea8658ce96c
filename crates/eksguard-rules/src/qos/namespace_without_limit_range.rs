use crate::context::SkipNamespaces;
use crate::net::report_namespaces_without;
use crate::{declare_rule, Ctx, InventoryRule, Sink};

declare_rule! {
    /// ## What it checks
    /// Namespaces that hold workloads but no LimitRange, across all files of the scan.
    /// The finding sits on the Namespace object when the scan has it, otherwise on the
    /// first workload in the namespace.
    ///
    /// ## Why it matters
    /// A LimitRange gives containers that set no requests or limits sane defaults and caps
    /// what one container may ask for; without it, a pod that forgets its resources runs
    /// unbounded and BestEffort.
    ///
    /// ## Example
    /// A `Deployment` in namespace `shop` and no `LimitRange` with `namespace: shop`.
    ///
    /// ## Fix
    /// Add a LimitRange with default requests and limits for containers.
    pub NamespaceWithoutLimitRange {
        id: "QOS005",
        name: "namespace-without-limit-range",
        severity: Low,
        data: [Kubernetes],
        scope: Inventory,
        reads: &["Namespace", "Pod", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController", "Job", "CronJob", "PodTemplate", "Rollout", "LimitRange"],
        summary: "Workload namespace has no LimitRange",
        remediation: "Add a LimitRange with default container requests and limits to the namespace.",
        params: SkipNamespaces,
        guide: &["MT-04", "PS-07"],
    }
}

impl InventoryRule for NamespaceWithoutLimitRange {
    fn check_inventory(&self, cx: &Ctx<'_>, out: &mut Sink) {
        report_namespaces_without(cx, &cx.params(&Self::META), "LimitRange", out);
    }
}
