use eksguard_model::{Node, Object};

use super::{field, is_kubelet_config, is_partial, KUBELET_KINDS};
use crate::{declare_rule, Ctx, ObjectRule, Sink};

declare_rule! {
    /// ## What it checks
    /// A `KubeletConfiguration` without `authentication.x509.clientCAFile` (unset or
    /// empty; there is no default). The `--client-ca-file` flag counts too when
    /// `eksguard node` reads the command line. A `--config-dir` drop-in scanned without
    /// its base file is not judged on this field, since the base may set it.
    ///
    /// ## Why it matters
    /// Without a client CA the kubelet cannot verify the API server's client certificate,
    /// so the API server's calls to the kubelet (exec, logs, port-forward) are not
    /// authenticated by certificate. CIS Amazon EKS Benchmark 3.2.3.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: kubelet.config.k8s.io/v1beta1
    /// kind: KubeletConfiguration
    /// authentication:
    ///   webhook:
    ///     enabled: true
    /// ```
    ///
    /// ## Fix
    /// Set `authentication.x509.clientCAFile` to the cluster CA (the EKS AMIs use
    /// `/etc/kubernetes/pki/ca.crt`).
    pub KubeletClientCaMissing {
        id: "NODE008",
        name: "kubelet-client-ca-missing",
        severity: High,
        data: [Node],
        scope: Objects(KUBELET_KINDS),
        summary: "Kubelet has no client CA file to authenticate callers",
        remediation: "Set `authentication.x509.clientCAFile` to the cluster CA bundle, for example `/etc/kubernetes/pki/ca.crt`.",
        guide: &["HS-04"],
    }
}

impl ObjectRule for KubeletClientCaMissing {
    fn check_object(&self, _cx: &Ctx<'_>, obj: &Object, out: &mut Sink) {
        if !is_kubelet_config(obj) {
            return;
        }
        let (node, path) = field(obj, "authentication.x509.clientCAFile");
        let set = node
            .and_then(Node::as_str)
            .is_some_and(|s| !s.trim().is_empty());
        if set || (node.is_none() && is_partial(obj)) {
            return;
        }
        out.report(
            obj,
            path,
            "kubelet has no client CA file (authentication.x509.clientCAFile)",
        );
    }
}
