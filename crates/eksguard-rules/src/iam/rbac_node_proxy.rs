use eksguard_model::Object;

use eksguard_model::rbac::powers::NODE_PROXY;

use super::report_grants;
use crate::{declare_rule, Ctx, ObjectRule, Sink};

declare_rule! {
    /// ## What it checks
    /// ClusterRole rules that grant any verb on `nodes/proxy` in the core API group,
    /// including through `*` and `*/proxy`. The finding points at the resource entry, since
    /// any verb is enough. Only ClusterRoles are checked: nodes are cluster-scoped, so a
    /// namespaced Role cannot grant them. The built-in roles (`system:*`, and the
    /// ClusterRoles `cluster-admin`, `admin`, `edit` and `view`) are exempt; one finding
    /// per role rule.
    ///
    /// ## Why it matters
    /// The node proxy forwards requests to the kubelet API, which runs commands in any
    /// pod on the node; the kubelet authorizes them as `nodes/proxy`, so admission
    /// control and the audit trail of `pods/exec` are bypassed.
    ///
    /// ## Example
    /// ```yaml
    /// rules:
    /// - apiGroups: [""]
    ///   resources: [nodes/proxy]
    ///   verbs: [get]
    /// ```
    ///
    /// ## Fix
    /// Scrape `nodes/metrics` and `nodes/stats` instead of proxying through the node.
    pub RbacNodeProxy {
        id: "IAM015",
        name: "rbac-node-proxy",
        severity: High,
        data: [Kubernetes],
        scope: Objects(&["ClusterRole"]),
        summary: "Role grants access to nodes/proxy",
        remediation: "Remove access to `nodes/proxy`; use metrics endpoints or `nodes/metrics` and `nodes/stats` instead.",
        guide: &["IAM-08"],
    }
}

impl ObjectRule for RbacNodeProxy {
    fn check_object(&self, _cx: &Ctx<'_>, obj: &Object, out: &mut Sink) {
        report_grants(obj, &[&NODE_PROXY], true, out);
    }
}
