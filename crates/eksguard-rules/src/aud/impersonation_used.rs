use eksguard_model::audit::AuditEvent;
use eksguard_model::FieldPath;

use crate::{declare_rule, EventCtx, EventRule, EventSink};

declare_rule! {
    /// ## What it checks
    /// A finished request that carries `impersonatedUser`: the caller acted as another
    /// user (`kubectl --as`), with that user's rights. The message names both and the
    /// impersonated groups. Falco has no corresponding rule.
    ///
    /// ## Why it matters
    /// Impersonation moves a request's authority from the caller to someone else, and
    /// most logs then show only the impersonated name. Few people should hold the
    /// `impersonate` verb, and its use should be rare and visible.
    ///
    /// ## Example
    /// ```json
    /// {"kind":"Event","verb":"get","user":{"username":"system:admin"},
    ///  "impersonatedUser":{"username":"alice"},"objectRef":{"resource":"pods"}}
    /// ```
    ///
    /// ## Fix
    /// Confirm the impersonation was expected; limit the `impersonate` verb to
    /// administrators and specific users or groups.
    pub ImpersonationUsed {
        id: "AUD021",
        name: "impersonation-used",
        severity: Medium,
        data: [Audit],
        scope: Events,
        summary: "A request was made as another user",
        remediation: "Confirm the impersonation was expected and limit the impersonate verb.",
        guide: &["DC-07"],
    }
}

impl EventRule for ImpersonationUsed {
    fn check_event(&self, _cx: &EventCtx<'_>, ev: &AuditEvent<'_>, out: &mut EventSink) {
        let Some(imp) = ev.impersonated_user.as_ref() else {
            return;
        };
        if !ev.is_complete() {
            return;
        }
        let mut msg = format!("`{}` acted as `{}`", ev.username(), imp.name());
        if !imp.groups.is_empty() {
            let groups: Vec<&str> = imp.groups.iter().map(|g| &**g).collect();
            msg.push_str(&format!(" (groups {})", groups.join(", ")));
        }
        msg.push_str(&format!(": {} {}", ev.verb(), ev.uri()));
        out.report(FieldPath::parse("impersonatedUser.username"), msg);
    }
}

#[cfg(test)]
mod tests {
    use crate::aud::testing::{event, run};

    #[test]
    fn fires_on_impersonation() {
        let lines = [
            event(
                "system:admin",
                "get",
                r#""resource":"pods""#,
                200,
                r#""impersonatedUser":{"username":"alice","groups":["dev"]}"#,
            ),
            event("alice", "get", r#""resource":"pods""#, 200, ""),
        ];
        let got = run("AUD021", Default::default(), &lines);
        assert_eq!(
            got,
            [(
                1,
                "impersonatedUser.username".into(),
                "`system:admin` acted as `alice` (groups dev): get /x".into()
            )]
        );
    }
}
