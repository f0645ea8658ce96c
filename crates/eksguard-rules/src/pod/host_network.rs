use eksguard_model::{podsec, Object};

use crate::{declare_rule, Ctx, ObjectRule, Sink, WORKLOAD_KINDS};

declare_rule! {
    /// ## What it checks
    /// Pods with `hostNetwork: true`.
    ///
    /// ## Why it matters
    /// The pod shares the node's network stack: it can sniff and bind on the node's
    /// interfaces, reach services listening on localhost (kubelet, node agents), bypass
    /// NetworkPolicies and security groups for pods, and reach the instance metadata
    /// service without the hop limit that protects ordinary pods.
    ///
    /// ## Example
    /// ```yaml
    /// spec:
    ///   hostNetwork: true
    /// ```
    ///
    /// ## Fix
    /// Remove `hostNetwork: true`; expose the pod through a Service instead.
    pub HostNetwork {
        id: "POD007",
        name: "host-network",
        severity: High,
        data: [Kubernetes],
        scope: Objects(WORKLOAD_KINDS),
        summary: "Pod shares the node's network namespace",
        remediation: "Remove `hostNetwork: true` and expose the pod through a Service.",
        guide: &["IAM-14", "PS-12"],
    }
}

impl ObjectRule for HostNetwork {
    fn check_object(&self, _cx: &Ctx<'_>, obj: &Object, out: &mut Sink) {
        let Some(pod) = obj.pod_spec() else { return };
        if let Some(path) = podsec::host_namespace(&pod, "hostNetwork") {
            out.report(
                obj,
                path,
                "pod uses the node's network namespace (`hostNetwork: true`)",
            );
        }
    }
}
