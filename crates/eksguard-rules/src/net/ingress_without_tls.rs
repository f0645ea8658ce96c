use eksguard_model::{FieldPath, Node, Object};

use crate::{declare_rule, Ctx, ObjectRule, Sink};

const ALB_CERT: &str = "alb.ingress.kubernetes.io/certificate-arn";

declare_rule! {
    /// ## What it checks
    /// Ingresses with no `spec.tls` entries and no `alb.ingress.kubernetes.io/certificate-arn`
    /// annotation (the AWS Load Balancer Controller's way to attach ACM certificates).
    ///
    /// ## Why it matters
    /// Without TLS the load balancer serves plain HTTP: credentials, session cookies and
    /// data cross the network readable and modifiable by anyone on the path.
    ///
    /// ## Example
    /// ```yaml
    /// kind: Ingress
    /// spec:
    ///   rules:
    ///   - host: shop.example.com
    /// ```
    ///
    /// ## Fix
    /// Add `spec.tls` with a certificate Secret, or an ACM certificate through the
    /// `alb.ingress.kubernetes.io/certificate-arn` annotation, and redirect HTTP to HTTPS.
    pub IngressWithoutTls {
        id: "NET006",
        name: "ingress-without-tls",
        severity: Medium,
        data: [Kubernetes],
        scope: Objects(&["Ingress"]),
        summary: "Ingress serves traffic without TLS",
        remediation: "Configure `spec.tls` or the `alb.ingress.kubernetes.io/certificate-arn` annotation.",
        guide: &["NS-13"],
    }
}

impl ObjectRule for IngressWithoutTls {
    fn check_object(&self, _cx: &Ctx<'_>, obj: &Object, out: &mut Sink) {
        let has_tls = obj.spec().get("tls").is_some_and(|t| !t.is_empty_value());
        let has_cert = obj
            .annotations()
            .get(ALB_CERT)
            .and_then(Node::as_str)
            .is_some_and(|s| !s.trim().is_empty());
        if !has_tls && !has_cert {
            out.report(
                obj,
                FieldPath::parse("spec.tls"),
                "Ingress has no TLS configuration and no ALB certificate annotation",
            );
        }
    }
}
