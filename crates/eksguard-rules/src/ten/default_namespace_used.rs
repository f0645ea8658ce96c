use eksguard_model::FieldPath;

use crate::{declare_rule, Ctx, InventoryRule, Sink};

/// Objects Kubernetes itself creates in `default`; they are not a user's choice.
const BUILT_IN: &[(&str, &str)] = &[
    ("Service", "kubernetes"),
    ("Endpoints", "kubernetes"),
    ("EndpointSlice", "kubernetes"),
    ("ServiceAccount", "default"),
    ("ConfigMap", "kube-root-ca.crt"),
];

declare_rule! {
    /// ## What it checks
    /// Namespaced objects in the `default` namespace, whether named explicitly or
    /// defaulted because the manifest gives no namespace. Objects the control plane
    /// creates there itself are exempt: the `kubernetes` Service (and its Endpoints and
    /// EndpointSlice), the `default` ServiceAccount and the `kube-root-ca.crt` ConfigMap.
    ///
    /// ## Why it matters
    /// `default` is shared by everyone and rarely has its own RBAC, network policies,
    /// quotas or Pod Security labels, so what runs there is the least isolated and the
    /// hardest to attribute to an owner.
    ///
    /// ## Example
    /// ```yaml
    /// kind: Deployment
    /// metadata:
    ///   name: api   # no namespace: lands in default
    /// ```
    ///
    /// ## Fix
    /// Create a namespace per application or team and set `metadata.namespace`.
    pub DefaultNamespaceUsed {
        id: "TEN001",
        name: "default-namespace-used",
        severity: Low,
        data: [Kubernetes],
        scope: Inventory,
        reads: &["Namespace", "Pod", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController", "Job", "CronJob", "PodTemplate", "Rollout"],
        summary: "Object in the default namespace",
        remediation: "Move the object to a dedicated namespace.",
        guide: &["MT-01"],
    }
}

impl InventoryRule for DefaultNamespaceUsed {
    fn check_inventory(&self, cx: &Ctx<'_>, out: &mut Sink) {
        for obj in &cx.inv.objects {
            if obj.ns() != Some("default") || BUILT_IN.contains(&(&*obj.kind, &*obj.name)) {
                continue;
            }
            let how = if obj.metadata().get("namespace").is_some() {
                "is in"
            } else {
                "has no namespace and lands in"
            };
            out.report(
                obj,
                FieldPath::parse("metadata.namespace"),
                format!("{} `{}` {how} the `default` namespace", obj.kind, obj.name),
            );
        }
    }
}
