use eksguard_model::{podsec, Object};

use crate::{declare_rule, Ctx, ObjectRule, Sink, WORKLOAD_KINDS};

declare_rule! {
    /// ## What it checks
    /// Pods with `hostPID: true`.
    ///
    /// ## Why it matters
    /// The pod sees every process on the node: it can read their environment and command
    /// lines (often holding credentials), signal them, and with enough privilege enter
    /// their namespaces through `/proc/<pid>`, which is a full node escape.
    ///
    /// ## Example
    /// ```yaml
    /// spec:
    ///   hostPID: true
    /// ```
    ///
    /// ## Fix
    /// Remove `hostPID: true`; use `shareProcessNamespace` to share processes between the
    /// pod's own containers.
    pub HostPid {
        id: "POD008",
        name: "host-pid",
        severity: High,
        data: [Kubernetes],
        scope: Objects(WORKLOAD_KINDS),
        summary: "Pod shares the node's PID namespace",
        remediation: "Remove `hostPID: true`.",
        guide: &["PS-12"],
    }
}

impl ObjectRule for HostPid {
    fn check_object(&self, _cx: &Ctx<'_>, obj: &Object, out: &mut Sink) {
        let Some(pod) = obj.pod_spec() else { return };
        if let Some(path) = podsec::host_namespace(&pod, "hostPID") {
            out.report(
                obj,
                path,
                "pod uses the node's PID namespace (`hostPID: true`)",
            );
        }
    }
}
