use eksguard_model::{FieldPath, Node, Object};

use crate::{declare_rule, Ctx, ObjectRule, Sink};

const SSL_CERT: &str = "service.beta.kubernetes.io/aws-load-balancer-ssl-cert";
const HTTP_PORTS: &[i64] = &[80, 443, 3000, 8000, 8080];
/// `appProtocol` values that say the pod itself terminates TLS.
const TLS_APP_PROTOCOLS: &[&str] = &["https", "tls", "wss", "kubernetes.io/wss"];

declare_rule! {
    /// ## What it checks
    /// Services of type LoadBalancer without the
    /// `service.beta.kubernetes.io/aws-load-balancer-ssl-cert` annotation that expose an
    /// HTTP-like port: 80, 8080, 8000, 3000, port 443 (with no certificate on the load
    /// balancer, TLS is not terminated there), a port named `http`/`web` (or
    /// `http-…`/`web-…`), or `appProtocol: http`. Each such port is reported. A port
    /// whose `appProtocol` is `https`, `tls`, `wss` or `kubernetes.io/wss` is not: TLS
    /// passes through the load balancer to the pod, which terminates it, so no plaintext
    /// HTTP is exposed.
    ///
    /// ## Why it matters
    /// Traffic from clients to the load balancer crosses networks you do not control;
    /// without a certificate on the listener, HTTP flows in clear text.
    ///
    /// ## Example
    /// ```yaml
    /// spec:
    ///   type: LoadBalancer
    ///   ports:
    ///   - port: 80
    /// ```
    ///
    /// ## Fix
    /// Set `service.beta.kubernetes.io/aws-load-balancer-ssl-cert` to an ACM certificate
    /// ARN and `aws-load-balancer-ssl-ports`, or put an Ingress with TLS in front.
    pub LoadBalancerWithoutTls {
        id: "NET007",
        name: "load-balancer-without-tls",
        severity: Low,
        data: [Kubernetes],
        scope: Objects(&["Service"]),
        summary: "LoadBalancer Service exposes HTTP without TLS",
        remediation: "Attach an ACM certificate with the `service.beta.kubernetes.io/aws-load-balancer-ssl-cert` annotation.",
        guide: &["NS-13"],
    }
}

fn http_like(port: &Node) -> bool {
    let number = port.get("port").and_then(Node::as_i64);
    let name = port
        .get("name")
        .and_then(Node::as_str)
        .unwrap_or("")
        .to_ascii_lowercase();
    let app = port
        .get("appProtocol")
        .and_then(Node::as_str)
        .unwrap_or("")
        .to_ascii_lowercase();
    // TLS passes through the load balancer to the pod: no plaintext HTTP is exposed.
    if TLS_APP_PROTOCOLS.contains(&app.as_str()) {
        return false;
    }
    number.is_some_and(|n| HTTP_PORTS.contains(&n))
        || ["http", "web"]
            .iter()
            .any(|p| name == *p || name.starts_with(&format!("{p}-")))
        || app == "http"
}

impl ObjectRule for LoadBalancerWithoutTls {
    fn check_object(&self, _cx: &Ctx<'_>, obj: &Object, out: &mut Sink) {
        if obj.spec().get("type").and_then(Node::as_str) != Some("LoadBalancer") {
            return;
        }
        if obj
            .annotation(SSL_CERT)
            .is_some_and(|s| !s.trim().is_empty())
        {
            return;
        }
        let ports = obj.spec().get("ports").map(Node::items).unwrap_or(&[]);
        for (i, port) in ports.iter().enumerate() {
            if http_like(port) {
                let label = port
                    .get("port")
                    .and_then(Node::scalar_text)
                    .unwrap_or_default();
                out.report(
                    obj,
                    FieldPath::parse("spec.ports").index(i).key("port"),
                    format!("load balancer port {label} carries HTTP-like traffic without a TLS certificate"),
                );
            }
        }
    }
}
