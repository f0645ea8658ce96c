use eksguard_model::Object;

use eksguard_model::rbac::powers::POD_EXEC;

use super::report_grants;
use crate::{declare_rule, Ctx, ObjectRule, Sink};

declare_rule! {
    /// ## What it checks
    /// Role and ClusterRole rules that grant `create` or `get` on `pods/exec` or
    /// `pods/attach` in the core API group, including through `*` and `*/exec`.
    /// `get` counts because clients that open the stream over WebSocket send a GET.
    /// The built-in roles (`system:*`, and the ClusterRoles `cluster-admin`, `admin`,
    /// `edit` and `view`) are exempt; one finding per role rule.
    ///
    /// ## Why it matters
    /// A shell in a pod yields its service account token, its IAM role credentials,
    /// mounted Secrets and whatever the pod can reach on the network.
    ///
    /// ## Example
    /// ```yaml
    /// rules:
    /// - apiGroups: [""]
    ///   resources: [pods/exec]
    ///   verbs: [create]
    /// ```
    ///
    /// ## Fix
    /// Remove the rule; debug through logs and metrics, and keep exec for a break-glass
    /// role that is bound only when needed.
    pub RbacPodExec {
        id: "IAM013",
        name: "rbac-pod-exec",
        severity: Medium,
        data: [Kubernetes],
        scope: Objects(&["Role", "ClusterRole"]),
        summary: "Role grants exec or attach into pods",
        remediation: "Remove `create`/`get` on `pods/exec` and `pods/attach`, or grant it only to break-glass roles.",
        guide: &["IAM-08"],
    }
}

impl ObjectRule for RbacPodExec {
    fn check_object(&self, _cx: &Ctx<'_>, obj: &Object, out: &mut Sink) {
        report_grants(obj, &[&POD_EXEC], false, out);
    }
}
