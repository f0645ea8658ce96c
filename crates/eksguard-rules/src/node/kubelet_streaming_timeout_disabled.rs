use eksguard_model::Object;

use super::{duration_is_zero, field, is_kubelet_config, KUBELET_KINDS};
use crate::{declare_rule, Ctx, ObjectRule, Sink};

declare_rule! {
    /// ## What it checks
    /// A `KubeletConfiguration` whose `streamingConnectionIdleTimeout` is zero (`0`, `0s`,
    /// `0h0m0s`). Unset means `4h0m0s` and does not fire; the
    /// `--streaming-connection-idle-timeout` flag overrides the file (`eksguard node` reads
    /// it).
    ///
    /// ## Why it matters
    /// A zero timeout keeps idle `exec`, `attach` and `port-forward` streams open forever,
    /// which leaves forgotten sessions usable and lets idle connections exhaust the node.
    /// CIS Amazon EKS Benchmark 3.2.5.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: kubelet.config.k8s.io/v1beta1
    /// kind: KubeletConfiguration
    /// streamingConnectionIdleTimeout: 0s
    /// ```
    ///
    /// ## Fix
    /// Remove the field or set a bounded timeout such as `5m` or `4h0m0s`.
    pub KubeletStreamingTimeoutDisabled {
        id: "NODE009",
        name: "kubelet-streaming-timeout-disabled",
        severity: Medium,
        data: [Node],
        scope: Objects(KUBELET_KINDS),
        summary: "Kubelet streaming connections never time out",
        remediation: "Set `streamingConnectionIdleTimeout` to a bounded value such as `4h0m0s`, or remove it.",
        guide: &["HS-04"],
    }
}

impl ObjectRule for KubeletStreamingTimeoutDisabled {
    fn check_object(&self, _cx: &Ctx<'_>, obj: &Object, out: &mut Sink) {
        if !is_kubelet_config(obj) {
            return;
        }
        let (node, path) = field(obj, "streamingConnectionIdleTimeout");
        if node.and_then(duration_is_zero) == Some(true) {
            out.report(
                obj,
                path,
                "kubelet streaming connection idle timeout is 0 (never times out)",
            );
        }
    }
}
