use eksguard_model::Object;

use super::{field, is_kubelet_config, KUBELET_KINDS};
use crate::{declare_rule, Ctx, ObjectRule, Sink};

declare_rule! {
    /// ## What it checks
    /// A `KubeletConfiguration` whose `authentication.anonymous.enabled` is not `false`.
    /// Unset means `false` in the `kubelet.config.k8s.io/v1beta1` file format, so only an
    /// explicit `true` fires; the `--anonymous-auth` flag, which defaults to `true` when the
    /// kubelet runs without a config file, overrides the file (`eksguard node` reads it).
    ///
    /// ## Why it matters
    /// With anonymous requests allowed, anyone who reaches port 10250 is `system:anonymous`;
    /// together with a permissive authorizer that means exec into every pod on the node.
    /// CIS Amazon EKS Benchmark 3.2.1.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: kubelet.config.k8s.io/v1beta1
    /// kind: KubeletConfiguration
    /// authentication:
    ///   anonymous:
    ///     enabled: true
    /// ```
    ///
    /// ## Fix
    /// Set `authentication.anonymous.enabled: false` (and drop `--anonymous-auth=true`).
    pub KubeletAnonymousAuth {
        id: "NODE005",
        name: "kubelet-anonymous-auth",
        severity: Critical,
        data: [Node],
        scope: Objects(KUBELET_KINDS),
        summary: "Kubelet accepts anonymous requests",
        remediation: "Set `authentication.anonymous.enabled: false` in the kubelet configuration and remove `--anonymous-auth=true`.",
        guide: &["HS-04"],
    }
}

impl ObjectRule for KubeletAnonymousAuth {
    fn check_object(&self, _cx: &Ctx<'_>, obj: &Object, out: &mut Sink) {
        if !is_kubelet_config(obj) {
            return;
        }
        let (node, path) = field(obj, "authentication.anonymous.enabled");
        if let Some(v) = node {
            if v.as_bool_lenient() != Some(false) {
                let shown = v.scalar_text().unwrap_or_else(|| "a non-boolean".into());
                out.report(
                    obj,
                    path,
                    format!("kubelet anonymous authentication is enabled ({shown})"),
                );
            }
        }
    }
}
