use eksguard_model::audit::AuditEvent;
use eksguard_model::FieldPath;

use crate::aud::{target_name, who};
use crate::{declare_rule, EventCtx, EventSink, Rule};

declare_rule! {
    /// ## What it checks
    /// `pods/exec` and `pods/attach` requests. A session is reported when its stream
    /// starts (stage `ResponseStarted`), and a refused attempt when it finishes with an
    /// error, so each request reports once. The message shows the command, taken from
    /// the `command` parameters of the request URI, and the container. Corresponds to
    /// the Falco k8saudit rule `Attach/Exec Pod`.
    ///
    /// ## Why it matters
    /// Exec gives a shell inside a running container with its service account token,
    /// mounted secrets and network position; in production it is either an incident
    /// response or the start of one.
    ///
    /// ## Example
    /// ```json
    /// {"kind":"Event","stage":"ResponseStarted","verb":"create",
    ///  "requestURI":"/api/v1/namespaces/prod/pods/web/exec?command=sh&container=app",
    ///  "objectRef":{"resource":"pods","subresource":"exec","namespace":"prod","name":"web"}}
    /// ```
    ///
    /// ## Fix
    /// Confirm the session was expected; restrict `pods/exec` and `pods/attach` to a
    /// break-glass role.
    pub ExecOrAttach {
        id: "AUD002",
        name: "exec-or-attach",
        severity: Medium,
        sources: "A",
        kinds: &[],
        summary: "A command was run in or attached to a container",
        remediation: "Confirm the session was expected and limit pods/exec and pods/attach to a break-glass role.",
    }
}

/// A long-running pod subresource request, once: when its stream started, or when it
/// finished without one.
pub(crate) fn stream_request<'e>(ev: &'e AuditEvent<'_>, subresources: &[&str]) -> Option<&'e str> {
    let sub = ev.subresource();
    if ev.resource() != "pods" || !subresources.contains(&sub) {
        return None;
    }
    let started = ev.stage() == "ResponseStarted";
    let refused = ev.is_complete() && !matches!(ev.code(), Some(101) | None) && !ev.succeeded();
    (started || refused).then_some(sub)
}

impl Rule for ExecOrAttach {
    fn check_event(&self, _cx: &EventCtx<'_>, ev: &AuditEvent<'_>, out: &mut EventSink) {
        let Some(sub) = stream_request(ev, &["exec", "attach"]) else {
            return;
        };
        let command = ev.query_values("command").join(" ");
        let container = ev.query_values("container").into_iter().next();
        let mut msg = format!("{} {sub}", who(ev));
        if !command.is_empty() {
            msg.push_str(&format!(" `{command}`"));
        }
        msg.push_str(&format!(" in pod {}", target_name(ev)));
        if let Some(c) = container {
            msg.push_str(&format!(" (container {c})"));
        }
        if ev.denied() {
            msg.push_str(": denied");
        }
        out.report(FieldPath::parse("requestURI"), msg);
    }
}

#[cfg(test)]
mod tests {
    use crate::aud::testing::{event, run};

    #[test]
    fn reports_sessions_once_with_the_command() {
        let exec = r#""resource":"pods","subresource":"exec","namespace":"prod","name":"web""#;
        let uri = r#""requestURI":"/api/v1/namespaces/prod/pods/web/exec?command=sh&command=-c&command=cat%20%2Fetc%2Fshadow&container=app""#;
        let started = event("alice", "create", exec, 101, "")
            .replace("ResponseComplete", "ResponseStarted")
            .replace(r#""requestURI":"/x""#, uri);
        let completed =
            event("alice", "create", exec, 101, "").replace(r#""requestURI":"/x""#, uri);
        let denied = event("bob", "create", exec, 403, "");
        let logs = event(
            "alice",
            "get",
            r#""resource":"pods","subresource":"log""#,
            200,
            "",
        );
        let got = run(
            "AUD002",
            Default::default(),
            &[started, completed, denied, logs],
        );
        assert_eq!(got.len(), 2, "{got:?}");
        assert_eq!(got[0].0, 1);
        assert_eq!(got[0].1, "requestURI");
        assert_eq!(
            got[0].2,
            "`alice` exec `sh -c cat /etc/shadow` in pod prod/web (container app)"
        );
        assert_eq!(got[1].0, 3);
        assert!(got[1].2.ends_with("denied"));
    }
}
