use eksguard_model::Object;

use eksguard_model::rbac::powers::WEBHOOK_WRITE;

use super::report_grants;
use crate::{declare_rule, Ctx, ObjectRule, Sink};

declare_rule! {
    /// ## What it checks
    /// ClusterRole rules that grant `create`, `update`, `patch` or `delete` on
    /// `validatingwebhookconfigurations` or `mutatingwebhookconfigurations` in the
    /// `admissionregistration.k8s.io` group, including through `*`. Only ClusterRoles are
    /// checked: webhook configurations are cluster-scoped, so a namespaced Role cannot
    /// grant them. The built-in roles (`system:*`, and the ClusterRoles `cluster-admin`,
    /// `admin`, `edit` and `view`) are exempt; one finding per role rule.
    ///
    /// ## Why it matters
    /// A mutating webhook sees and can rewrite every object it registers for, Secrets
    /// and pods included; deleting a validating webhook switches off the policy it
    /// enforces.
    ///
    /// ## Example
    /// ```yaml
    /// rules:
    /// - apiGroups: [admissionregistration.k8s.io]
    ///   resources: [mutatingwebhookconfigurations]
    ///   verbs: [create, patch]
    /// ```
    ///
    /// ## Fix
    /// Leave webhook configurations to the operator that owns them and limit its rule
    /// with `resourceNames`.
    pub RbacWebhookConfigWrite {
        id: "IAM016",
        name: "rbac-webhook-config-write",
        severity: High,
        data: [Kubernetes],
        scope: Objects(&["ClusterRole"]),
        summary: "Role grants writing admission webhook configurations",
        remediation: "Grant write access to admission webhook configurations only to the controllers that own them, limited with `resourceNames`.",
        guide: &["IAM-08"],
    }
}

impl ObjectRule for RbacWebhookConfigWrite {
    fn check_object(&self, _cx: &Ctx<'_>, obj: &Object, out: &mut Sink) {
        report_grants(obj, &[&WEBHOOK_WRITE], false, out);
    }
}
