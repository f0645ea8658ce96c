use eksguard_model::rbac::powers::{SECRETS_CREATE, SECRETS_READ};
use eksguard_model::{Object, Severity};

use super::{
    describe_grant, grants, grants_any, is_builtin_role, resource_names, role_rules, verb_path,
};
use crate::{declare_rule, Ctx, ObjectRule, Sink};

declare_rule! {
    /// ## What it checks
    /// Role and ClusterRole rules that grant `get`, `list` or `watch` on `secrets` in the
    /// core group, including through `*`. Severity depends on reach: `list` or `watch`
    /// in a ClusterRole without a `resourceNames` limit is **high**, since a
    /// ClusterRoleBinding makes it every Secret of the cluster; anything else (a Role, a
    /// `get` only, a `resourceNames` limit) is **medium**. The built-in roles
    /// (`system:*`, and the ClusterRoles `cluster-admin`, `admin`, `edit` and `view`)
    /// are exempt; one finding per role rule.
    ///
    /// A rule granting `create` on `secrets` is reported too (**medium**), and the message
    /// says so: creating a Secret of type `kubernetes.io/service-account-token` annotated
    /// with a service account's name makes the token controller mint a long-lived token for
    /// that service account, so `create` is as good as reading the token of any service
    /// account of the namespace. `create` limited by `resourceNames` never matches.
    ///
    /// ## Why it matters
    /// Secrets hold credentials, TLS keys and, in older clusters, service account tokens.
    /// `list` and `watch` return the values of every Secret in scope, not just names.
    ///
    /// ## Example
    /// ```yaml
    /// kind: ClusterRole
    /// rules:
    /// - apiGroups: [""]
    ///   resources: [secrets]
    ///   verbs: [get, list, watch]
    /// ```
    ///
    /// ## Fix
    /// Grant `get` on the named Secrets the subject needs (`resourceNames`) in a Role, or
    /// mount the Secrets into the pod instead.
    pub RbacSecretsRead {
        id: "IAM012",
        name: "rbac-secrets-read",
        severity: Medium,
        data: [Kubernetes],
        scope: Objects(&["Role", "ClusterRole"]),
        summary: "Role grants reading or creating Secrets",
        remediation: "Limit Secret access to `get` on named Secrets in a namespaced Role.",
        guide: &["IAM-08"],
    }
}

impl ObjectRule for RbacSecretsRead {
    fn check_object(&self, _cx: &Ctx<'_>, obj: &Object, out: &mut Sink) {
        if is_builtin_role(obj) {
            return;
        }
        for (i, rule) in role_rules(obj) {
            let hits = grants_any(rule, SECRETS_READ.requests);
            let creates = grants(rule, SECRETS_CREATE.requests[0]);
            let Some(first) = hits.first() else {
                // Creating alone: the token-minting path.
                if let Some(c) = creates {
                    out.report(
                        obj,
                        verb_path(i, &c),
                        format!("{}: {}", describe_grant(i, rule, &[c]), SECRETS_CREATE.why),
                    );
                }
                continue;
            };
            let lists = hits.iter().any(|h| h.req.verb != "get");
            let wide = &*obj.kind == "ClusterRole" && lists && resource_names(rule).is_empty();
            // Point at the verb that sets the severity.
            let at = match hits.iter().find(|h| h.req.verb != "get") {
                Some(h) if wide => h,
                _ => first,
            };
            let (sev, note) = if wide {
                (
                    Severity::High,
                    "the holder can read every Secret in the cluster when bound cluster-wide",
                )
            } else {
                (Severity::Medium, SECRETS_READ.why)
            };
            let also = if creates.is_some() {
                "; it also grants `create`, with which a service-account-token Secret gets a long-lived token minted for any service account of the namespace"
            } else {
                ""
            };
            out.report_with(
                obj,
                verb_path(i, at),
                sev,
                format!("{}: {note}{also}", describe_grant(i, rule, &hits)),
            );
        }
    }
}
