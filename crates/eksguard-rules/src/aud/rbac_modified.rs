use eksguard_model::audit::AuditEvent;

use crate::aud::{report_change, IgnoredUsers};
use crate::{declare_rule, EventCtx, EventRule, EventSink};

declare_rule! {
    /// ## What it checks
    /// A Role, ClusterRole, RoleBinding or ClusterRoleBinding created, updated, patched
    /// or deleted successfully, except by the control plane's own identities (parameter
    /// `ignored_users`: the API server reconciling bootstrap roles, the aggregation
    /// controller, EKS). An activity record at `info` severity: the riskier changes have
    /// their own rules (`AUD010` to `AUD013`). Corresponds to the Falco k8saudit activity
    /// rules `K8s Role/ClusterRole/RoleBinding/ClusterRoleBinding Created/Deleted`.
    ///
    /// ## Why it matters
    /// RBAC changes are who-can-do-what changes; an audit trail of them answers "when
    /// did this user get that right" during an investigation.
    ///
    /// ## Example
    /// ```json
    /// {"kind":"Event","verb":"create","objectRef":{"resource":"rolebindings","namespace":"prod","name":"dev-edit"}}
    /// ```
    ///
    /// ## Fix
    /// Nothing to fix by itself; manage RBAC through a reviewed pipeline so each change
    /// has an author and a reason.
    pub RbacModified {
        id: "AUD023",
        name: "rbac-modified",
        severity: Info,
        data: [Audit],
        scope: Events,
        summary: "RBAC roles or bindings were changed",
        remediation: "Manage RBAC through a reviewed pipeline so each change has an author and a reason.",
        params: IgnoredUsers,
        guide: &["DC-04", "DC-07"],
    }
}

const RBAC: &[(&str, &str)] = &[
    ("roles", "Role"),
    ("clusterroles", "ClusterRole"),
    ("rolebindings", "RoleBinding"),
    ("clusterrolebindings", "ClusterRoleBinding"),
];

impl EventRule for RbacModified {
    fn check_event(&self, cx: &EventCtx<'_>, ev: &AuditEvent<'_>, out: &mut EventSink) {
        let Some((resource, kind)) = RBAC.iter().find(|(r, _)| *r == ev.resource()) else {
            return;
        };
        if ev.api_group() != "rbac.authorization.k8s.io" && !ev.api_group().is_empty() {
            return;
        }
        if cx
            .params::<IgnoredUsers>(&Self::META)
            .counts_change(ev, resource)
        {
            report_change(ev, kind, out);
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::aud::testing::{event, run};

    #[test]
    fn fires_on_rbac_changes() {
        let r = |user: &str, verb: &str, res: &str| {
            event(
                user,
                verb,
                &format!(
                    r#""resource":"{res}","apiGroup":"rbac.authorization.k8s.io","namespace":"p","name":"n""#
                ),
                201,
                "",
            )
        };
        let lines = [
            r("alice", "create", "rolebindings"),
            r("alice", "list", "rolebindings"),
            r("system:apiserver", "update", "roles"),
            r("alice", "delete", "pods"),
        ];
        let got = run("AUD023", Default::default(), &lines);
        assert_eq!(
            got,
            [(1, "verb".into(), "`alice` create RoleBinding p/n".into())]
        );
    }
}
