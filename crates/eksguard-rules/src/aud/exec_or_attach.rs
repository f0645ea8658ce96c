use eksguard_model::audit::AuditEvent;
use eksguard_model::FieldPath;

use crate::aud::{target_name, who};
use std::collections::{HashSet, VecDeque};

use crate::events::EventWindow;
use crate::{declare_rule, EventCtx, EventSink, WindowRule};

declare_rule! {
    /// ## What it checks
    /// `pods/exec` and `pods/attach` requests, reported once per request (audit ID) at
    /// the first stage the log kept of it: `ResponseStarted` when the stream opened,
    /// else `ResponseComplete` (status 101 for a session, an error for a refused
    /// attempt). The message shows the command, taken from
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
        data: [Audit],
        scope: EventWindow,
        summary: "A command was run in or attached to a container",
        remediation: "Confirm the session was expected and limit pods/exec and pods/attach to a break-glass role.",
        guide: &["DC-07"],
    }
}

/// A long-running pod subresource request (`pods/exec`, `attach`, `portforward`) at a
/// stage that says how it went: the stream started, or the request finished or failed.
/// Audit policies differ in which of these stages they keep, so each counts.
fn stream_request<'e>(ev: &'e AuditEvent<'_>, subresources: &[&str]) -> Option<&'e str> {
    let sub = ev.subresource();
    if ev.resource() != "pods" || !subresources.contains(&sub) {
        return None;
    }
    matches!(
        ev.stage(),
        "ResponseStarted" | "ResponseComplete" | "Panic" | ""
    )
    .then_some(sub)
}

/// Reports each stream request once, at the first of its stages in the log: a policy that
/// keeps both `ResponseStarted` and `ResponseComplete` logs one session twice. Request IDs
/// are remembered for the last [`RECENT`] reports; the stages of one request arrive close
/// together.
pub(crate) struct OncePerRequest {
    subresources: &'static [&'static str],
    report: fn(&AuditEvent<'_>, &str, &mut EventSink),
    seen: HashSet<String>,
    order: VecDeque<String>,
}

const RECENT: usize = 10_000;

impl OncePerRequest {
    pub(crate) fn new(
        subresources: &'static [&'static str],
        report: fn(&AuditEvent<'_>, &str, &mut EventSink),
    ) -> Self {
        OncePerRequest {
            subresources,
            report,
            seen: HashSet::new(),
            order: VecDeque::new(),
        }
    }
}

impl EventWindow for OncePerRequest {
    fn observe(&mut self, _cx: &EventCtx<'_>, ev: &AuditEvent<'_>, out: &mut EventSink) {
        let Some(sub) = stream_request(ev, self.subresources) else {
            return;
        };
        if let Some(id) = ev.audit_id.as_deref().filter(|id| !id.is_empty()) {
            if !self.seen.insert(id.to_string()) {
                return;
            }
            self.order.push_back(id.to_string());
            if self.order.len() > RECENT {
                if let Some(old) = self.order.pop_front() {
                    self.seen.remove(&old);
                }
            }
        }
        (self.report)(ev, sub, out);
    }

    /// The request IDs remembered, oldest first.
    fn save(&self) -> serde_json::Value {
        self.order.iter().map(|id| id.as_str()).collect()
    }

    fn restore(&mut self, state: &serde_json::Value) -> Result<(), String> {
        let ids = state.as_array().ok_or("not a list of request IDs")?;
        self.seen.clear();
        self.order.clear();
        for id in &ids[ids.len().saturating_sub(RECENT)..] {
            let id = id.as_str().ok_or("not a list of request IDs")?;
            if self.seen.insert(id.to_string()) {
                self.order.push_back(id.to_string());
            }
        }
        Ok(())
    }
}

fn report(ev: &AuditEvent<'_>, sub: &str, out: &mut EventSink) {
    let command = ev.command().join(" ");
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

impl WindowRule for ExecOrAttach {
    fn event_window(&self, _cx: &EventCtx<'_>) -> Option<Box<dyn EventWindow>> {
        Some(Box::new(OncePerRequest::new(&["exec", "attach"], report)))
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
        let denied = event("bob", "create", exec, 403, "")
            .replace(r#""auditID":""#, r#""auditID":"denied-"#);
        let logs = event(
            "alice",
            "get",
            r#""resource":"pods","subresource":"log""#,
            200,
            "",
        );
        // A policy that omits ResponseStarted logs the session only when it ends.
        let only_completed = event("carol", "create", exec, 101, "")
            .replace(r#""requestURI":"/x""#, uri)
            .replace(r#""auditID":""#, r#""auditID":"other-"#);
        let got = run(
            "AUD002",
            Default::default(),
            &[started, completed, denied, logs, only_completed],
        );
        assert_eq!(got.len(), 3, "{got:?}");
        assert_eq!(got[0].0, 1);
        assert_eq!(got[0].1, "requestURI");
        assert_eq!(
            got[0].2,
            "`alice` exec `sh -c cat /etc/shadow` in pod prod/web (container app)"
        );
        assert_eq!(got[1].0, 3);
        assert!(got[1].2.ends_with("denied"));
        assert_eq!(got[2].0, 5);
        assert!(got[2].2.starts_with("`carol` exec"), "{got:?}");
    }
}
