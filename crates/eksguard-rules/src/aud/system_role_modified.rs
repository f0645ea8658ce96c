use eksguard_model::audit::AuditEvent;
use eksguard_model::FieldPath;

use crate::aud::{is_role, succeeded_on, who, IgnoredUsers};
use crate::{declare_rule, EventCtx, EventRule, EventSink};

declare_rule! {
    /// ## What it checks
    /// A Role or ClusterRole named `system:…` updated, patched or deleted successfully.
    /// Exempt, as the Falco rule does: `system:coredns` and
    /// `system:managed-certificate-controller`, which add-on installers manage. Requests
    /// by the control plane itself (the API server reconciling its bootstrap roles at
    /// start-up, the controller manager, the aggregation controller, EKS's `eks:`
    /// identities) are routine and skipped; see the `ignored_users` parameter.
    /// Corresponds to the Falco k8saudit rule `System ClusterRole Modified/Deleted`.
    ///
    /// ## Why it matters
    /// The `system:` roles are what nodes, controllers and the scheduler run with; a
    /// quiet edit to one grants rights to every identity bound to it, and a deletion
    /// breaks components in ways that are hard to trace.
    ///
    /// ## Example
    /// ```json
    /// {"kind":"Event","verb":"patch","user":{"username":"alice"},
    ///  "objectRef":{"resource":"clusterroles","name":"system:node-problem-detector"}}
    /// ```
    ///
    /// ## Fix
    /// Revert the change (the API server restores bootstrap roles on restart only if
    /// `rbac.authorization.kubernetes.io/autoupdate` is still true) and find out who made
    /// it and why.
    pub SystemRoleModified {
        id: "AUD013",
        name: "system-role-modified",
        severity: Medium,
        data: [Audit],
        scope: Events,
        summary: "A system: role was modified or deleted",
        remediation: "Revert the change to the system role and find out who made it.",
        params: IgnoredUsers,
        guide: &["DC-07"],
    }
}

const EXEMPT: &[&str] = &["system:coredns", "system:managed-certificate-controller"];

impl EventRule for SystemRoleModified {
    fn check_event(&self, cx: &EventCtx<'_>, ev: &AuditEvent<'_>, out: &mut EventSink) {
        if !is_role(ev.resource())
            || !succeeded_on(ev, &["update", "patch", "delete"], ev.resource())
        {
            return;
        }
        let Some(name) = ev.name() else {
            return;
        };
        if !name.starts_with("system:") || EXEMPT.contains(&&*name) {
            return;
        }
        if cx
            .params::<IgnoredUsers>(&Self::META)
            .ignores(ev.username())
        {
            return;
        }
        let action = if ev.verb() == "delete" {
            "deleted"
        } else {
            "modified"
        };
        out.report(
            FieldPath::parse("objectRef.name"),
            format!("{} {action} system role `{name}`", who(ev)),
        );
    }
}

#[cfg(test)]
mod tests {
    use crate::aud::testing::{event, params, run};

    #[test]
    fn fires_on_system_roles_not_by_the_control_plane() {
        let r = |user: &str, name: &str| {
            event(
                user,
                "patch",
                &format!(r#""resource":"clusterroles","name":"{name}""#),
                200,
                "",
            )
        };
        let lines = [
            r("alice", "system:node"),
            r("alice", "system:coredns"),
            r("alice", "view"),
            r("system:apiserver", "system:node"),
            r("eks:addon-manager", "system:node"),
        ];
        let got = run("AUD013", Default::default(), &lines);
        assert_eq!(
            got,
            [(
                1,
                "objectRef.name".into(),
                "`alice` modified system role `system:node`".into()
            )]
        );
        let got = run(
            "AUD013",
            params("AUD013", "ignored_users", serde_json::json!([])),
            &lines,
        );
        assert_eq!(got.len(), 3);
    }
}
