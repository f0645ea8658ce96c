use eksguard_model::Object;

use super::{field, is_kubelet_config, KUBELET_KINDS};
use crate::{declare_rule, Ctx, ObjectRule, Sink};

declare_rule! {
    /// ## What it checks
    /// A `KubeletConfiguration` with `makeIPTablesUtilChains: false`. Unset means `true`
    /// and does not fire; the `--make-iptables-util-chains` flag overrides the file
    /// (`eksguard node` reads it).
    ///
    /// ## Why it matters
    /// The kubelet's utility chains drop martian and marked packets; without them the
    /// node's iptables rules drift from what networking components expect.
    /// CIS Amazon EKS Benchmark 3.2.6.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: kubelet.config.k8s.io/v1beta1
    /// kind: KubeletConfiguration
    /// makeIPTablesUtilChains: false
    /// ```
    ///
    /// ## Fix
    /// Remove the field or set `makeIPTablesUtilChains: true`.
    pub KubeletIptablesChainsDisabled {
        id: "NODE010",
        name: "kubelet-iptables-chains-disabled",
        severity: Low,
        data: [Node],
        scope: Objects(KUBELET_KINDS),
        summary: "Kubelet does not manage its iptables utility chains",
        remediation: "Set `makeIPTablesUtilChains: true` in the kubelet configuration, or remove the field.",
        guide: &["HS-04"],
    }
}

impl ObjectRule for KubeletIptablesChainsDisabled {
    fn check_object(&self, _cx: &Ctx<'_>, obj: &Object, out: &mut Sink) {
        if !is_kubelet_config(obj) {
            return;
        }
        let (node, path) = field(obj, "makeIPTablesUtilChains");
        if node.and_then(|n| n.as_bool_lenient()) == Some(false) {
            out.report(
                obj,
                path,
                "kubelet does not create its iptables utility chains",
            );
        }
    }
}
