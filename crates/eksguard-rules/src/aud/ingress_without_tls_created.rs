use eksguard_model::audit::AuditEvent;
use eksguard_model::FieldPath;
use serde_json::Value as Json;

use crate::aud::{succeeded_on, target_name, who};
use crate::{declare_rule, EventCtx, EventRule, EventSink};

declare_rule! {
    /// ## What it checks
    /// An Ingress created successfully with no `spec.tls` entries and no AWS Load
    /// Balancer Controller certificate annotation
    /// (`alb.ingress.kubernetes.io/certificate-arn`), which terminates TLS at the ALB
    /// without `spec.tls`; the same judgement as `NET006` on manifests. Corresponds to
    /// the Falco k8saudit rule `Ingress Object without TLS Certificate Created`.
    ///
    /// ## Why it matters
    /// Traffic to the Ingress travels in clear text, credentials and session cookies
    /// included.
    ///
    /// ## Example
    /// ```json
    /// {"kind":"Event","verb":"create","objectRef":{"resource":"ingresses","name":"web"},
    ///  "requestObject":{"spec":{"rules":[{"host":"example.com"}]}}}
    /// ```
    ///
    /// ## Fix
    /// Add `spec.tls` with a certificate Secret, or the ALB certificate annotation.
    pub IngressWithoutTlsCreated {
        id: "AUD018",
        name: "ingress-without-tls-created",
        severity: Medium,
        data: [Audit],
        scope: Events,
        summary: "An Ingress without TLS was created",
        remediation: "Add `spec.tls` or an ALB certificate annotation to the Ingress.",
        guide: &["DC-07"],
    }
}

impl EventRule for IngressWithoutTlsCreated {
    fn check_event(&self, _cx: &EventCtx<'_>, ev: &AuditEvent<'_>, out: &mut EventSink) {
        if !succeeded_on(ev, &["create"], "ingresses") {
            return;
        }
        let Some(body) = ev.request_json() else {
            return;
        };
        let tls = body
            .get("spec")
            .and_then(|s| s.get("tls"))
            .and_then(Json::as_array)
            .is_some_and(|a| !a.is_empty());
        let alb_cert = body
            .get("metadata")
            .and_then(|m| m.get("annotations"))
            .and_then(|a| a.get("alb.ingress.kubernetes.io/certificate-arn"))
            .and_then(Json::as_str)
            .is_some_and(|v| !v.trim().is_empty());
        if !tls && !alb_cert {
            out.report(
                FieldPath::parse("requestObject.spec"),
                format!(
                    "{} created Ingress {} without TLS",
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
    fn fires_without_tls() {
        let ing = |body: &str| {
            event(
                "alice",
                "create",
                r#""resource":"ingresses","namespace":"a","name":"i""#,
                201,
                &format!(r#""requestObject":{body}"#),
            )
        };
        let lines = [
            ing(r#"{"spec":{"rules":[]}}"#),
            ing(r#"{"spec":{"tls":[{"secretName":"t"}]}}"#),
            ing(
                r#"{"metadata":{"annotations":{"alb.ingress.kubernetes.io/certificate-arn":"arn:aws:acm:x"}},"spec":{}}"#,
            ),
        ];
        let got = run("AUD018", Default::default(), &lines);
        assert_eq!(
            got,
            [(
                1,
                "requestObject.spec".into(),
                "`alice` created Ingress a/i without TLS".into()
            )]
        );
    }
}
