use eksguard_model::audit::AuditEvent;

use crate::aud::{report_change, IgnoredUsers};
use crate::{declare_rule, EventCtx, EventRule, EventSink};

declare_rule! {
    /// ## What it checks
    /// A ValidatingWebhookConfiguration or MutatingWebhookConfiguration created, updated,
    /// patched or deleted successfully, except by the control plane's own identities
    /// (parameter `ignored_users`). Controllers that rotate a webhook's `caBundle`
    /// (cert-manager's CA injector and the like) patch their own configurations often:
    /// suppress those by name in the configuration. Falco has no corresponding rule.
    ///
    /// ## Why it matters
    /// Admission webhooks see, and mutating ones rewrite, every object they match: a new
    /// mutating webhook can inject containers into every pod, and deleting a validating
    /// one switches off a policy engine.
    ///
    /// ## Example
    /// ```json
    /// {"kind":"Event","verb":"delete",
    ///  "objectRef":{"resource":"validatingwebhookconfigurations","name":"gatekeeper"}}
    /// ```
    ///
    /// ## Fix
    /// Confirm the change came from the expected deployment pipeline; restrict write
    /// access to webhook configurations.
    pub AdmissionWebhookModified {
        id: "AUD022",
        name: "admission-webhook-modified",
        severity: High,
        data: [Audit],
        scope: Events,
        summary: "An admission webhook configuration was changed",
        remediation: "Confirm the change was expected and restrict write access to webhook configurations.",
        params: IgnoredUsers,
        guide: &["DC-04", "DC-07"],
    }
}

impl EventRule for AdmissionWebhookModified {
    fn check_event(&self, cx: &EventCtx<'_>, ev: &AuditEvent<'_>, out: &mut EventSink) {
        let resource = ev.resource();
        let kind = match resource {
            "validatingwebhookconfigurations" => "validating",
            "mutatingwebhookconfigurations" => "mutating",
            _ => return,
        };
        if cx
            .params::<IgnoredUsers>(&Self::META)
            .counts_change(ev, resource)
        {
            report_change(ev, &format!("{kind} webhook configuration"), out);
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::aud::testing::{event, run};

    #[test]
    fn fires_on_webhook_changes() {
        let w = |user: &str, verb: &str| {
            event(
                user,
                verb,
                r#""resource":"mutatingwebhookconfigurations","name":"inject""#,
                200,
                "",
            )
        };
        let lines = [
            w("alice", "create"),
            w("alice", "get"),
            w("eks:addon-manager", "patch"),
        ];
        let got = run("AUD022", Default::default(), &lines);
        assert_eq!(
            got,
            [(
                1,
                "verb".into(),
                "`alice` create mutating webhook configuration inject".into()
            )]
        );
    }
}
