use eksguard_model::audit::AuditEvent;
use eksguard_model::FieldPath;

use crate::aud::exec_or_attach::OncePerRequest;
use crate::aud::{target_name, who};
use crate::events::EventWindow;
use crate::{declare_rule, EventCtx, EventSink, WindowRule};

declare_rule! {
    /// ## What it checks
    /// `pods/portforward` requests, reported once per request like exec: at the first
    /// stage the log kept of it (the stream opening, else the request ending). The message names the ports from the
    /// request URI when present. Corresponds to the Falco k8saudit rule `port-forward`
    /// (which fires on every stage).
    ///
    /// ## Why it matters
    /// Port-forwarding tunnels a laptop into a pod past every network policy, load
    /// balancer and authentication layer in front of it.
    ///
    /// ## Example
    /// ```json
    /// {"kind":"Event","stage":"ResponseStarted","verb":"create",
    ///  "objectRef":{"resource":"pods","subresource":"portforward","namespace":"prod","name":"db-0"}}
    /// ```
    ///
    /// ## Fix
    /// Confirm the tunnel was expected; grant `pods/portforward` only to a break-glass
    /// role.
    pub PortForward {
        id: "AUD003",
        name: "port-forward",
        severity: Medium,
        data: [Audit],
        scope: EventWindow,
        summary: "A port of a pod was forwarded",
        remediation: "Confirm the tunnel was expected and limit pods/portforward to a break-glass role.",
        guide: &["DC-07"],
    }
}

fn report(ev: &AuditEvent<'_>, _sub: &str, out: &mut EventSink) {
    let ports = ev.query_values("ports");
    let mut msg = format!("{} port-forward to pod {}", who(ev), target_name(ev));
    if !ports.is_empty() {
        msg.push_str(&format!(" (ports {})", ports.join(",")));
    }
    if ev.denied() {
        msg.push_str(": denied");
    }
    out.report(FieldPath::parse("objectRef.subresource"), msg);
}

impl WindowRule for PortForward {
    fn event_window(&self, _cx: &EventCtx<'_>) -> Option<Box<dyn EventWindow>> {
        Some(Box::new(OncePerRequest::new(&["portforward"], report)))
    }
}

#[cfg(test)]
mod tests {
    use crate::aud::testing::{event, run};

    #[test]
    fn fires_on_port_forward() {
        let pf = r#""resource":"pods","subresource":"portforward","namespace":"db","name":"pg-0""#;
        let started = event("alice", "create", pf, 101, "")
            .replace("ResponseComplete", "ResponseStarted")
            .replace(
                "/x",
                "/api/v1/namespaces/db/pods/pg-0/portforward?ports=5432",
            );
        let exec = event(
            "alice",
            "create",
            r#""resource":"pods","subresource":"exec""#,
            101,
            "",
        )
        .replace("ResponseComplete", "ResponseStarted");
        let got = run("AUD003", Default::default(), &[started, exec]);
        assert_eq!(
            got,
            [(
                1,
                "objectRef.subresource".into(),
                "`alice` port-forward to pod db/pg-0 (ports 5432)".into()
            )]
        );
    }
}
