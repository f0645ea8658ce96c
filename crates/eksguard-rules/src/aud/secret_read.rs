use eksguard_model::audit::AuditEvent;
use eksguard_model::FieldPath;

use crate::aud::{is_system_user, target_name, who};
use crate::{declare_rule, EventCtx, EventRule, EventSink};

declare_rule! {
    /// ## What it checks
    /// A successful `get`, `list` or `watch` on secrets by a non-system identity: a user
    /// whose name starts neither with `system:` (nodes, service accounts, control-plane
    /// components) nor with `eks:` (EKS's own control plane). Workloads reading their
    /// secrets through service accounts, and the kubelet, are therefore not reported; a
    /// person or an IAM role reading secrets is. Corresponds to the Falco k8saudit rule
    /// `K8s Secret Get Successfully`, limited to people to keep it quiet.
    ///
    /// ## Why it matters
    /// People rarely need to read secrets directly; when they do, it should be visible.
    /// A stolen IAM session listing secrets is a classic first move.
    ///
    /// ## Example
    /// ```json
    /// {"kind":"Event","verb":"list","user":{"username":"arn:aws:sts::111122223333:assumed-role/dev/alice"},
    ///  "objectRef":{"resource":"secrets","namespace":"prod"},"responseStatus":{"code":200}}
    /// ```
    ///
    /// ## Fix
    /// Confirm the read was expected; remove secret read rights from human roles and
    /// keep them for break-glass access.
    pub SecretRead {
        id: "AUD016",
        name: "secret-read",
        severity: Medium,
        data: [Audit],
        scope: Events,
        summary: "A person read secrets",
        remediation: "Confirm the read was expected and remove secret read rights from human roles.",
        guide: &["DC-07", "DE-06"],
    }
}

pub(crate) fn secret_read(ev: &AuditEvent<'_>) -> bool {
    ev.is_complete()
        && ev.resource() == "secrets"
        && ev.subresource().is_empty()
        && matches!(ev.verb(), "get" | "list" | "watch")
}

impl EventRule for SecretRead {
    fn check_event(&self, _cx: &EventCtx<'_>, ev: &AuditEvent<'_>, out: &mut EventSink) {
        // An impersonated request is authorized, and acts, as the impersonated user.
        let acting = ev
            .impersonated_user
            .as_ref()
            .map(|u| u.name())
            .filter(|u| !u.is_empty())
            .unwrap_or(ev.username());
        if !secret_read(ev) || !ev.succeeded() || acting.is_empty() || is_system_user(acting) {
            return;
        }
        out.report(
            FieldPath::parse("verb"),
            format!("{} {} secret {}", who(ev), ev.verb(), target_name(ev)),
        );
    }
}

#[cfg(test)]
mod tests {
    use crate::aud::testing::{event, run};

    #[test]
    fn fires_on_people_only() {
        let s = r#""resource":"secrets","namespace":"prod","name":"db""#;
        let lines = [
            event("alice", "get", s, 200, ""),
            event("system:serviceaccount:prod:app", "get", s, 200, ""),
            event("eks:node-manager", "list", s, 200, ""),
            event("alice", "get", s, 403, ""),
            event("alice", "delete", s, 200, ""),
        ];
        let got = run("AUD016", Default::default(), &lines);
        assert_eq!(
            got,
            [(1, "verb".into(), "`alice` get secret prod/db".into())]
        );
    }
}
