use eksguard_model::Object;

use eksguard_model::rbac::powers::{BIND, ESCALATE, IMPERSONATE};

use super::report_grants;
use crate::{declare_rule, Ctx, ObjectRule, Sink};

declare_rule! {
    /// ## What it checks
    /// Role and ClusterRole rules that grant `escalate` or `bind` on roles or
    /// clusterroles (API group `rbac.authorization.k8s.io`), or `impersonate` on users,
    /// groups, service accounts or UIDs, matched as the API server matches them (`*` in
    /// verbs, resources and API groups counts). The verbs only mean something on those
    /// resources, so `verbs: ["*"]` on, say, pods does not fire.
    /// The built-in roles (`system:*`, and the ClusterRoles `cluster-admin`, `admin`,
    /// `edit` and `view`) are exempt; one finding per role rule.
    ///
    /// ## Why it matters
    /// These verbs switch off RBAC's own escalation checks: `escalate` lets the holder
    /// write a role with more rights than it has, `bind` lets it bind any role, and
    /// `impersonate` lets it act as any other identity, cluster-admin included.
    ///
    /// ## Example
    /// ```yaml
    /// rules:
    /// - apiGroups: [rbac.authorization.k8s.io]
    ///   resources: [clusterroles]
    ///   verbs: [bind, escalate]
    /// ```
    ///
    /// ## Fix
    /// Drop the verbs; where an operator truly needs them, limit the rule with
    /// `resourceNames` to the roles it manages.
    pub RbacEscalationVerbs {
        id: "IAM011",
        name: "rbac-escalation-verbs",
        severity: High,
        data: [Kubernetes],
        scope: Objects(&["Role", "ClusterRole"]),
        summary: "Role grants escalate, bind or impersonate",
        remediation: "Remove `escalate`, `bind` and `impersonate` unless the subject administers RBAC, and limit them with `resourceNames`.",
        guide: &["IAM-08"],
    }
}

impl ObjectRule for RbacEscalationVerbs {
    fn check_object(&self, _cx: &Ctx<'_>, obj: &Object, out: &mut Sink) {
        report_grants(obj, &[&ESCALATE, &BIND, &IMPERSONATE], false, out);
    }
}
