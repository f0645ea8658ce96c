use eksguard_model::audit::AuditEvent;
use eksguard_model::FieldPath;

use crate::aud::{target_name, who};
use crate::{declare_rule, EventCtx, EventRule, EventSink};

declare_rule! {
    /// ## What it checks
    /// A successful create, update or patch of the `pods/ephemeralcontainers`
    /// subresource (`kubectl debug`). Corresponds to the Falco k8saudit rule
    /// `EphemeralContainers Created`.
    ///
    /// ## Why it matters
    /// An ephemeral container joins a running pod with an image of the caller's choice,
    /// sharing its network and, with a target, its process namespace: a way to get tools
    /// and a shell into a hardened workload.
    ///
    /// ## Example
    /// ```json
    /// {"kind":"Event","verb":"patch",
    ///  "objectRef":{"resource":"pods","subresource":"ephemeralcontainers","namespace":"prod","name":"web"}}
    /// ```
    ///
    /// ## Fix
    /// Confirm the debugging session was expected; grant `pods/ephemeralcontainers` only
    /// to a break-glass role.
    pub EphemeralContainer {
        id: "AUD004",
        name: "ephemeral-container",
        severity: Medium,
        data: [Audit],
        scope: Events,
        summary: "An ephemeral container was added to a pod",
        remediation: "Confirm the debugging session was expected and limit pods/ephemeralcontainers to a break-glass role.",
        guide: &["DC-07"],
    }
}

impl EventRule for EphemeralContainer {
    fn check_event(&self, _cx: &EventCtx<'_>, ev: &AuditEvent<'_>, out: &mut EventSink) {
        if ev.is_complete()
            && ev.resource() == "pods"
            && ev.subresource() == "ephemeralcontainers"
            && matches!(ev.verb(), "create" | "update" | "patch")
            && ev.succeeded()
        {
            out.report(
                FieldPath::parse("objectRef.subresource"),
                format!(
                    "{} added an ephemeral container to pod {}",
                    who(ev),
                    target_name(ev)
                ),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::aud::testing::{event, run};

    #[test]
    fn fires_on_successful_changes() {
        let r = r#""resource":"pods","subresource":"ephemeralcontainers","namespace":"prod","name":"web""#;
        let lines = [
            event("alice", "patch", r, 200, ""),
            event("alice", "patch", r, 403, ""),
            event("alice", "get", r, 200, ""),
        ];
        let got = run("AUD004", Default::default(), &lines);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].0, 1);
        assert_eq!(
            got[0].2,
            "`alice` added an ephemeral container to pod prod/web"
        );
    }
}
