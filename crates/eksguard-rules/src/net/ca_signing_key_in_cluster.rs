use eksguard_model::{FieldPath, Node, Object};

use crate::{declare_rule, Ctx, ObjectRule, Sink};

declare_rule! {
    /// ## What it checks
    /// Certificate authorities whose signing key is a Kubernetes Secret:
    ///
    /// - cert-manager `Issuer` and `ClusterIssuer` objects (`cert-manager.io`) of the `CA`
    ///   type (`spec.ca.secretName`): the issuer signs with the private key stored in that
    ///   Secret.
    /// - The Istio control plane (`istiod` Deployment, or `istiod-<revision>`) acting as the
    ///   mesh's certificate authority: its `discovery` container does not set
    ///   `ENABLE_CA_SERVER` to `"false"`. istiod then signs every workload certificate
    ///   with the root key it keeps in the `istio-ca-secret` (self-signed) or `cacerts`
    ///   (plugged-in) Secret of its namespace.
    ///
    /// Issuers backed by a service that keeps the key outside the cluster (AWS Private CA
    /// through `AWSPCAClusterIssuer`/`AWSPCAIssuer`, Vault, ACME) are not reported, nor is
    /// istiod with its CA server turned off (certificates then come from an external CA,
    /// such as cert-manager's istio-csr in front of AWS Private CA). An `ENABLE_CA_SERVER`
    /// taken from a ConfigMap or Secret is unknown to the scan and not reported.
    ///
    /// ## Why it matters
    /// Whoever can read the Secret can sign certificates every client of the CA trusts:
    /// impersonate any service of the mesh, pass mutual-TLS checks and identity-based
    /// authorization policies, or intercept TLS inside the cluster. Reading one Secret is a
    /// much smaller step than compromising a CA whose key never leaves an HSM. The guide
    /// recommends AWS Private CA with cert-manager's `aws-privateca-issuer` for TLS and
    /// mTLS certificates, and istio-csr to make it the mesh's CA.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: cert-manager.io/v1
    /// kind: ClusterIssuer
    /// spec:
    ///   ca:
    ///     secretName: root-ca-key-pair
    /// ```
    ///
    /// ## Fix
    /// Sign with AWS Private CA through cert-manager's `aws-privateca-issuer`
    /// (`AWSPCAClusterIssuer`). For Istio, install cert-manager istio-csr against that
    /// issuer, point the mesh at it (`global.caAddress`) and set
    /// `pilot.env.ENABLE_CA_SERVER=false`. Until then, restrict reads of the CA's Secret
    /// to the component that signs.
    pub CaSigningKeyInCluster {
        id: "NET019",
        name: "ca-signing-key-in-cluster",
        severity: Low,
        data: [Kubernetes],
        scope: Objects(&["Issuer", "ClusterIssuer", "Deployment"]),
        summary: "Certificate authority signs with a private key stored in a Kubernetes Secret",
        remediation: "Issue TLS and mTLS certificates from AWS Private CA (aws-privateca-issuer, and istio-csr for Istio) so the CA key stays outside the cluster.",
        guide: &["NS-14", "NS-16"],
    }
}

/// Whether a Deployment is Istio's control plane: `istiod`, or a revision of it.
fn is_istiod(obj: &Object) -> bool {
    let name = &*obj.name;
    name == "istiod" || name.starts_with("istiod-")
}

impl ObjectRule for CaSigningKeyInCluster {
    fn check_object(&self, _cx: &Ctx<'_>, obj: &Object, out: &mut Sink) {
        match &*obj.kind {
            "Issuer" | "ClusterIssuer" => {
                if !obj.api_version.starts_with("cert-manager.io/") {
                    return;
                }
                let Some(secret) = obj
                    .spec()
                    .at("ca.secretName")
                    .and_then(Node::as_str)
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                else {
                    return;
                };
                out.report(
                    obj,
                    FieldPath::parse("spec.ca.secretName"),
                    format!(
                        "{} `{}` signs certificates with the CA private key in Secret `{secret}`: whoever reads that Secret can issue certificates its clients trust",
                        obj.kind, obj.name
                    ),
                );
            }
            "Deployment" if is_istiod(obj) => {
                let Some(pod) = obj.pod_spec() else { return };
                let Some(discovery) = pod.containers().find(|c| c.name() == "discovery") else {
                    return;
                };
                let env = discovery.node.get("env").map(Node::items).unwrap_or(&[]);
                let setting = env.iter().enumerate().find(|(_, e)| {
                    e.get("name").and_then(Node::as_str) == Some("ENABLE_CA_SERVER")
                });
                let path = match setting {
                    None => discovery.path_to("env"),
                    Some((i, e)) => {
                        let Some(value) = e.get("value") else {
                            // From a ConfigMap or Secret: unknown to the scan.
                            if e.get("valueFrom").is_some() {
                                return;
                            }
                            // An empty value: istiod reads it as not false.
                            return report_istiod(obj, discovery.path_to("env").index(i), out);
                        };
                        let text = value.scalar_text().unwrap_or_default();
                        if text.trim().eq_ignore_ascii_case("false") {
                            return;
                        }
                        discovery.path_to("env").index(i).key("value")
                    }
                };
                report_istiod(obj, path, out);
            }
            _ => {}
        }
    }
}

fn report_istiod(obj: &Object, path: FieldPath, out: &mut Sink) {
    out.report(
        obj,
        path,
        format!(
            "`{}` is the mesh's certificate authority (ENABLE_CA_SERVER is not \"false\"): it signs workload certificates with a root key kept in a Secret of its namespace",
            obj.name
        ),
    );
}
