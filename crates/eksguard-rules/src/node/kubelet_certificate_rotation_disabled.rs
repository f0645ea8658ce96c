use eksguard_model::{FieldPath, Object};

use super::{field, is_kubelet_config, is_partial, KUBELET_KINDS};
use crate::{declare_rule, Ctx, ObjectRule, Sink};

declare_rule! {
    /// ## What it checks
    /// A `KubeletConfiguration` whose certificates are not rotated:
    ///
    /// - `rotateCertificates: false` given explicitly (client certificate). Unset also
    ///   means `false` in the file format, but, as CIS 3.2.8 does, only an explicit `false`
    ///   fires: EKS kubelets authenticate to the API server with IAM tokens from their
    ///   kubeconfig, not with a client certificate.
    /// - The serving certificate: the kubelet rotates it only when `serverTLSBootstrap` is
    ///   `true` *and* the `RotateKubeletServerCertificate` feature gate is on (on by default
    ///   since Kubernetes 1.12). So the rule fires at `serverTLSBootstrap` when it is
    ///   `false` or unset (the default is `false`), and at
    ///   `featureGates.RotateKubeletServerCertificate` when bootstrap is on but the gate is
    ///   explicitly `false` (CIS 3.2.9). A `--config-dir` drop-in scanned without its base
    ///   is not judged on an unset `serverTLSBootstrap`.
    ///
    /// The flags `--rotate-certificates`, `--rotate-server-certificates` (which sets
    /// `serverTLSBootstrap`) and `--feature-gates` override the file when `eksguard node`
    /// reads the command line.
    ///
    /// ## Why it matters
    /// A kubelet without serverTLSBootstrap serves a self-signed certificate that nobody can
    /// verify and that never changes; a certificate that is not rotated stays valid for as
    /// long as it was issued for, stolen or not.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: kubelet.config.k8s.io/v1beta1
    /// kind: KubeletConfiguration
    /// rotateCertificates: false
    /// featureGates:
    ///   RotateKubeletServerCertificate: false
    /// ```
    ///
    /// ## Fix
    /// Set `serverTLSBootstrap: true`, leave `RotateKubeletServerCertificate` on and remove
    /// `rotateCertificates: false`; approve the kubelet serving CSRs
    /// (`kubernetes.io/kubelet-serving`) in the cluster.
    pub KubeletCertificateRotationDisabled {
        id: "NODE011",
        name: "kubelet-certificate-rotation-disabled",
        severity: Medium,
        data: [Node],
        scope: Objects(KUBELET_KINDS),
        summary: "Kubelet certificates are not rotated",
        remediation: "Set `serverTLSBootstrap: true`, keep the RotateKubeletServerCertificate feature gate on and do not set `rotateCertificates: false`.",
        guide: &["HS-04"],
    }
}

impl ObjectRule for KubeletCertificateRotationDisabled {
    fn check_object(&self, _cx: &Ctx<'_>, obj: &Object, out: &mut Sink) {
        if !is_kubelet_config(obj) {
            return;
        }
        let (rotate, path) = field(obj, "rotateCertificates");
        if rotate.and_then(|n| n.as_bool_lenient()) == Some(false) {
            out.report(obj, path, "kubelet client certificate rotation is disabled");
        }

        let (bootstrap, bootstrap_path) = field(obj, "serverTLSBootstrap");
        let gate = obj
            .root
            .get("featureGates")
            .and_then(|g| g.get("RotateKubeletServerCertificate"))
            .and_then(|n| n.as_bool_lenient());
        match bootstrap.map(|n| n.as_bool_lenient()) {
            Some(Some(true)) => {
                if gate == Some(false) {
                    out.report(
                        obj,
                        FieldPath::root()
                            .key("featureGates")
                            .key("RotateKubeletServerCertificate"),
                        "feature gate RotateKubeletServerCertificate is off: the kubelet serving certificate is never rotated",
                    );
                }
            }
            None if is_partial(obj) => {}
            b => {
                let state = if b.is_some() { "false" } else { "unset" };
                out.report(
                    obj,
                    bootstrap_path,
                    format!("serverTLSBootstrap is {state}: the kubelet serves a self-signed certificate that is never rotated"),
                );
            }
        }
    }
}
