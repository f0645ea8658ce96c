use eksguard_model::audit::AuditEvent;
use eksguard_model::FieldPath;

use crate::{declare_rule, EventCtx, EventRule, EventSink};

declare_rule! {
    /// ## What it checks
    /// A finished request by `system:anonymous` (or in group `system:unauthenticated`)
    /// that the authorizer allowed. The health endpoints `/healthz`, `/livez` and
    /// `/readyz` (and their sub-paths), which load balancers probe anonymously by design,
    /// are excepted. Corresponds to the Falco k8saudit rule `Anonymous Request Allowed`.
    ///
    /// ## Why it matters
    /// Anonymous access should reach nothing but health and discovery endpoints. An
    /// allowed anonymous request to anything else means a binding grants rights to
    /// unauthenticated callers, which anyone who can reach the API endpoint can use.
    ///
    /// ## Example
    /// ```json
    /// {"kind":"Event","verb":"create","user":{"username":"system:anonymous"},
    ///  "objectRef":{"resource":"namespaces","name":"foo"},
    ///  "annotations":{"authorization.k8s.io/decision":"allow"}}
    /// ```
    ///
    /// ## Fix
    /// Find the binding named in the decision reason and remove `system:anonymous` and
    /// `system:unauthenticated` from its subjects.
    pub AnonymousRequestAllowed {
        id: "AUD001",
        name: "anonymous-request-allowed",
        severity: High,
        data: [Audit],
        scope: Events,
        summary: "An anonymous request was allowed",
        remediation: "Remove bindings that grant rights to system:anonymous or system:unauthenticated.",
        guide: &["DC-04", "DC-07", "IAM-22"],
    }
}

const HEALTH: &[&str] = &["/healthz", "/livez", "/readyz"];

fn is_health(uri: &str) -> bool {
    let path = uri.split('?').next().unwrap_or(uri);
    HEALTH
        .iter()
        .any(|h| path == *h || path.strip_prefix(h).is_some_and(|r| r.starts_with('/')))
}

impl EventRule for AnonymousRequestAllowed {
    fn check_event(&self, _cx: &EventCtx<'_>, ev: &AuditEvent<'_>, out: &mut EventSink) {
        let anonymous = || {
            ev.username() == "system:anonymous"
                || ev
                    .user
                    .groups
                    .iter()
                    .any(|g| &**g == "system:unauthenticated")
        };
        let allowed = match ev.decision() {
            Some(d) => d == "allow",
            None => ev.succeeded(),
        };
        let uri = ev.request_uri.as_deref().unwrap_or("");
        if !allowed || !ev.is_complete() || !anonymous() || is_health(uri) {
            return;
        }
        out.report(
            FieldPath::parse("user.username"),
            format!("anonymous request allowed: {} {}", ev.verb(), ev.uri()),
        );
    }
}

#[cfg(test)]
mod tests {
    use crate::aud::testing::{event, run};

    #[test]
    fn fires_on_allowed_anonymous_requests_only() {
        let allow = r#""annotations":{"authorization.k8s.io/decision":"allow"}"#;
        let lines = vec![
            event(
                "system:anonymous",
                "create",
                r#""resource":"namespaces""#,
                201,
                allow,
            ),
            event(
                "system:anonymous",
                "get",
                "",
                200,
                &format!(r#""requestURI":"/readyz/ping",{allow}"#),
            )
            .replace(r#""requestURI":"/x","#, ""),
            event(
                "system:anonymous",
                "get",
                r#""resource":"pods""#,
                403,
                r#""annotations":{"authorization.k8s.io/decision":"forbid"}"#,
            ),
            event("alice", "get", r#""resource":"pods""#, 200, allow),
        ];
        let got = run("AUD001", Default::default(), &lines);
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!((got[0].0, got[0].1.as_str()), (1, "user.username"));
    }
}
