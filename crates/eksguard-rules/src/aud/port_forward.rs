use eksguard_model::audit::AuditEvent;
use eksguard_model::FieldPath;

use crate::aud::exec_or_attach::stream_request;
use crate::aud::{target_name, who};
use crate::{declare_rule, EventCtx, EventSink, Rule};

declare_rule! {
    /// ## What it checks
    /// `pods/portforward` requests, reported once per request like exec: when the stream
    /// starts, or when a refused attempt finishes. The message names the ports from the
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
        sources: "A",
        kinds: &[],
        summary: "A port of a pod was forwarded",
        remediation: "Confirm the tunnel was expected and limit pods/portforward to a break-glass role.",
    }
}

impl Rule for PortForward {
    fn check_event(&self, _cx: &EventCtx<'_>, ev: &AuditEvent<'_>, out: &mut EventSink) {
        if stream_request(ev, &["portforward"]).is_none() {
            return;
        }
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
