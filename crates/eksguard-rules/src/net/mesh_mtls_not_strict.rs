use eksguard_model::{FieldPath, Node, Object};

use crate::{declare_rule, Ctx, InventoryRule, Sink};

crate::rule_params! {
    pub struct MeshRoot {
        /// Istio's root namespace: a PeerAuthentication without selector there applies
        /// to the whole mesh.
        root_namespace: String = "istio-system".to_string(),
    }
}

declare_rule! {
    /// ## What it checks
    /// Istio `PeerAuthentication`s (`security.istio.io`) that let plaintext in: a
    /// `spec.mtls.mode` or a `spec.portLevelMtls` entry of `PERMISSIVE` or `DISABLE`, each
    /// reported where it is set. And, when the scan holds the `istiod` Deployment, a mesh
    /// without a mesh-wide `STRICT` policy (a PeerAuthentication without `selector` in
    /// the root namespace, parameter `root_namespace`, default `istio-system`): Istio's
    /// default is permissive, so the finding is on `istiod`.
    ///
    /// ## Why it matters
    /// In permissive mode sidecars accept plaintext as well as mutual TLS, so any pod,
    /// inside the mesh or not, can talk to the workload without a certificate, and the
    /// identity-based authorization policies of the mesh can be sidestepped. The guide
    /// recommends strict mutual TLS between services.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: security.istio.io/v1
    /// kind: PeerAuthentication
    /// spec:
    ///   mtls:
    ///     mode: PERMISSIVE
    /// ```
    ///
    /// ## Fix
    /// Apply a `PeerAuthentication` named `default` in `istio-system` with
    /// `mtls.mode: STRICT`, and narrow exceptions to the ports that need them.
    pub MeshMtlsNotStrict {
        id: "NET015",
        name: "mesh-mtls-not-strict",
        severity: Medium,
        data: [Kubernetes],
        scope: Inventory,
        reads: &["PeerAuthentication", "Deployment"],
        summary: "Service mesh accepts plaintext traffic",
        remediation: "Enforce `mtls.mode: STRICT` with a mesh-wide PeerAuthentication in the Istio root namespace.",
        params: MeshRoot,
        guide: &["NS-11"],
    }
}

const WEAK: &[&str] = &["PERMISSIVE", "DISABLE"];

fn is_istio(obj: &Object) -> bool {
    obj.api_version.starts_with("security.istio.io/")
}

fn mode(node: Option<&Node>) -> Option<String> {
    Some(node?.get("mode")?.as_str()?.trim().to_ascii_uppercase())
}

impl InventoryRule for MeshMtlsNotStrict {
    fn check_inventory(&self, cx: &Ctx<'_>, out: &mut Sink) {
        let params = cx.params::<MeshRoot>(&Self::META);
        let mut mesh_strict = false;
        for pa in cx.objects_of("PeerAuthentication").filter(|o| is_istio(o)) {
            let spec = pa.spec();
            let top = mode(spec.get("mtls"));
            if let Some(m) = top.as_deref().filter(|m| WEAK.contains(m)) {
                out.report(
                    pa,
                    FieldPath::parse("spec.mtls.mode"),
                    format!("mutual TLS mode is {m}: workloads it covers accept plaintext"),
                );
            }
            if let Some(ports) = spec.get("portLevelMtls") {
                for e in ports.entries() {
                    let port = &*e.key;
                    if let Some(m) = mode(Some(&e.value)).filter(|m| WEAK.contains(&m.as_str())) {
                        out.report(
                            pa,
                            FieldPath::parse("spec.portLevelMtls").key(port).key("mode"),
                            format!("port {port} has mutual TLS mode {m}: it accepts plaintext"),
                        );
                    }
                }
            }
            let mesh_wide = pa.ns() == Some(params.root_namespace.as_str())
                && spec.get("selector").is_none_or(Node::is_empty_value);
            mesh_strict |= mesh_wide && top.as_deref() == Some("STRICT");
        }
        if mesh_strict {
            return;
        }
        for istiod in cx.objects_of("Deployment").filter(|d| &*d.name == "istiod") {
            out.report(
                istiod,
                FieldPath::parse("metadata.name"),
                format!(
                    "no PeerAuthentication without selector in `{}` sets mutual TLS to STRICT: Istio's default is permissive",
                    params.root_namespace
                ),
            );
        }
    }
}
