use eksguard_model::Object;

use eksguard_model::rbac::powers::TOKEN_CREATE;

use super::report_grants;
use crate::{declare_rule, Ctx, ObjectRule, Sink};

declare_rule! {
    /// ## What it checks
    /// Role and ClusterRole rules that grant `create` on `serviceaccounts/token` in the
    /// core group, including through `*` and `*/token`. A `resourceNames` limit is shown
    /// in the message but still fires, as each named account can be impersonated.
    /// The built-in roles (`system:*`, and the ClusterRoles `cluster-admin`, `admin`,
    /// `edit` and `view`) are exempt; one finding per role rule.
    ///
    /// ## Why it matters
    /// The TokenRequest API issues a token for any service account the rule covers, so
    /// the holder gains those accounts' RBAC rights and, with IRSA, their IAM roles.
    ///
    /// ## Example
    /// ```yaml
    /// rules:
    /// - apiGroups: [""]
    ///   resources: [serviceaccounts/token]
    ///   verbs: [create]
    /// ```
    ///
    /// ## Fix
    /// Remove the rule, or list the service accounts in `resourceNames`.
    pub RbacTokenCreate {
        id: "IAM017",
        name: "rbac-token-create",
        severity: High,
        data: [Kubernetes],
        scope: Objects(&["Role", "ClusterRole"]),
        summary: "Role grants creating service account tokens",
        remediation: "Remove `create` on `serviceaccounts/token`, or limit it with `resourceNames` to the service accounts the subject must mint tokens for.",
        guide: &["IAM-03", "IAM-08"],
    }
}

impl ObjectRule for RbacTokenCreate {
    fn check_object(&self, _cx: &Ctx<'_>, obj: &Object, out: &mut Sink) {
        report_grants(obj, &[&TOKEN_CREATE], false, out);
    }
}
