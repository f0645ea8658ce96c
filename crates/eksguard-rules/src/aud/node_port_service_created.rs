use eksguard_model::audit::AuditEvent;
use eksguard_model::FieldPath;

use crate::aud::{str_at, succeeded_on, target_name, who};
use crate::{declare_rule, EventCtx, EventRule, EventSink};

declare_rule! {
    /// ## What it checks
    /// A Service of type `NodePort` created successfully. Corresponds to the Falco
    /// k8saudit rule `Create NodePort Service`.
    ///
    /// ## Why it matters
    /// A NodePort opens the same port on every node, reachable by whatever can reach the
    /// nodes, bypassing the load balancer and its TLS and source ranges.
    ///
    /// ## Example
    /// ```json
    /// {"kind":"Event","verb":"create","objectRef":{"resource":"services","name":"nginx"},
    ///  "requestObject":{"spec":{"type":"NodePort","ports":[{"port":80}]}}}
    /// ```
    ///
    /// ## Fix
    /// Use a ClusterIP Service behind an Ingress or a LoadBalancer Service instead.
    pub NodePortServiceCreated {
        id: "AUD008",
        name: "node-port-service-created",
        severity: Medium,
        data: [Audit],
        scope: Events,
        summary: "A NodePort Service was created",
        remediation: "Expose the workload through an Ingress or a LoadBalancer Service instead of a NodePort.",
        guide: &["DC-07"],
    }
}

impl EventRule for NodePortServiceCreated {
    fn check_event(&self, _cx: &EventCtx<'_>, ev: &AuditEvent<'_>, out: &mut EventSink) {
        if !succeeded_on(ev, &["create"], "services") {
            return;
        }
        let Some(body) = ev.request_json() else {
            return;
        };
        if str_at(&body, &["spec", "type"]) == Some("NodePort") {
            out.report(
                FieldPath::parse("requestObject.spec.type"),
                format!("{} created NodePort Service {}", who(ev), target_name(ev)),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::aud::testing::{event, run};

    #[test]
    fn fires_on_node_port() {
        let svc = |t: &str| {
            event(
                "alice",
                "create",
                r#""resource":"services","namespace":"a","name":"s""#,
                201,
                &format!(r#""requestObject":{{"spec":{{"type":"{t}"}}}}"#),
            )
        };
        let got = run(
            "AUD008",
            Default::default(),
            &[svc("ClusterIP"), svc("NodePort")],
        );
        assert_eq!(
            got,
            [(
                2,
                "requestObject.spec.type".into(),
                "`alice` created NodePort Service a/s".into()
            )]
        );
    }
}
