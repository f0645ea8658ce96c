use eksguard_model::Object;

use super::{report_grants, req, Req};
use crate::{declare_rule, Ctx, Rule, Sink};

const REQS: &[Req] = &[
    req(
        "create",
        "admissionregistration.k8s.io",
        "validatingwebhookconfigurations",
    ),
    req(
        "update",
        "admissionregistration.k8s.io",
        "validatingwebhookconfigurations",
    ),
    req(
        "patch",
        "admissionregistration.k8s.io",
        "validatingwebhookconfigurations",
    ),
    req(
        "delete",
        "admissionregistration.k8s.io",
        "validatingwebhookconfigurations",
    ),
    req(
        "create",
        "admissionregistration.k8s.io",
        "mutatingwebhookconfigurations",
    ),
    req(
        "update",
        "admissionregistration.k8s.io",
        "mutatingwebhookconfigurations",
    ),
    req(
        "patch",
        "admissionregistration.k8s.io",
        "mutatingwebhookconfigurations",
    ),
    req(
        "delete",
        "admissionregistration.k8s.io",
        "mutatingwebhookconfigurations",
    ),
];

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
        sources: "K",
        kinds: &["ClusterRole"],
        summary: "Role grants writing admission webhook configurations",
        remediation: "Grant write access to admission webhook configurations only to the controllers that own them, limited with `resourceNames`.",
    }
}

impl Rule for RbacWebhookConfigWrite {
    fn check_object(&self, _cx: &Ctx<'_>, obj: &Object, out: &mut Sink) {
        report_grants(
            obj,
            REQS,
            false,
            out,
            "the holder can disable or subvert admission control",
        );
    }
}
