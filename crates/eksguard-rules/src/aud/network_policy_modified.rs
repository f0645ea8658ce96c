use eksguard_model::audit::AuditEvent;

use crate::aud::{report_change, IgnoredUsers};
use crate::{declare_rule, EventCtx, EventRule, EventSink};

declare_rule! {
    /// ## What it checks
    /// A NetworkPolicy (`networking.k8s.io`) created, updated, patched or deleted
    /// successfully, except by the control plane's own identities (parameter
    /// `ignored_users`). An activity record at `info` severity, as the guide asks to
    /// monitor NetworkPolicy changes. Corresponds to no Falco k8saudit rule.
    ///
    /// ## Why it matters
    /// A NetworkPolicy deleted or widened opens paths between workloads without any pod
    /// changing: an attacker who gained RBAC rights can undo segmentation quietly, and an
    /// honest mistake breaks isolation the same way. A record of each change names who
    /// made it and when.
    ///
    /// ## Example
    /// ```json
    /// {"kind":"Event","verb":"delete","objectRef":{"resource":"networkpolicies","apiGroup":"networking.k8s.io","namespace":"prod","name":"default-deny"}}
    /// ```
    ///
    /// ## Fix
    /// Nothing to fix by itself; manage NetworkPolicies through a reviewed pipeline and
    /// look into changes made outside it.
    pub NetworkPolicyModified {
        id: "AUD026",
        name: "network-policy-modified",
        severity: Info,
        data: [Audit],
        scope: Events,
        summary: "A NetworkPolicy was changed",
        remediation: "Manage NetworkPolicies through a reviewed pipeline so each change has an author and a reason.",
        params: IgnoredUsers,
        guide: &["NS-05"],
    }
}

impl EventRule for NetworkPolicyModified {
    fn check_event(&self, cx: &EventCtx<'_>, ev: &AuditEvent<'_>, out: &mut EventSink) {
        if ev.resource() != "networkpolicies" || ev.api_group() != "networking.k8s.io" {
            return;
        }
        if cx
            .params::<IgnoredUsers>(&Self::META)
            .counts_change(ev, "networkpolicies")
        {
            report_change(ev, "NetworkPolicy", out);
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::aud::testing::{event, run};

    #[test]
    fn fires_on_network_policy_changes_only() {
        let r = |user: &str, verb: &str, group: &str, res: &str| {
            event(
                user,
                verb,
                &format!(r#""resource":"{res}","apiGroup":"{group}","namespace":"p","name":"n""#),
                200,
                "",
            )
        };
        let lines = [
            r("alice", "delete", "networking.k8s.io", "networkpolicies"),
            r("alice", "get", "networking.k8s.io", "networkpolicies"),
            r(
                "system:apiserver",
                "update",
                "networking.k8s.io",
                "networkpolicies",
            ),
            r("alice", "patch", "crd.projectcalico.org", "networkpolicies"),
            r("alice", "patch", "networking.k8s.io", "ingresses"),
        ];
        let got = run("AUD026", Default::default(), &lines);
        assert_eq!(
            got,
            [(1, "verb".into(), "`alice` delete NetworkPolicy p/n".into())]
        );
    }
}
