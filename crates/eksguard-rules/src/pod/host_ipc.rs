use eksguard_model::{podsec, Object};

use crate::{declare_rule, Ctx, ObjectRule, Sink, WORKLOAD_KINDS};

declare_rule! {
    /// ## What it checks
    /// Pods with `hostIPC: true`.
    ///
    /// ## Why it matters
    /// The pod shares the node's System V IPC and POSIX shared memory: it can read and
    /// tamper with shared memory segments and message queues of every process on the node.
    ///
    /// ## Example
    /// ```yaml
    /// spec:
    ///   hostIPC: true
    /// ```
    ///
    /// ## Fix
    /// Remove `hostIPC: true`; share memory between the pod's containers through an
    /// `emptyDir` with `medium: Memory`.
    pub HostIpc {
        id: "POD009",
        name: "host-ipc",
        severity: High,
        data: [Kubernetes],
        scope: Objects(WORKLOAD_KINDS),
        summary: "Pod shares the node's IPC namespace",
        remediation: "Remove `hostIPC: true`.",
        guide: &["PS-12"],
    }
}

impl ObjectRule for HostIpc {
    fn check_object(&self, _cx: &Ctx<'_>, obj: &Object, out: &mut Sink) {
        let Some(pod) = obj.pod_spec() else { return };
        if let Some(path) = podsec::host_namespace(&pod, "hostIPC") {
            out.report(
                obj,
                path,
                "pod uses the node's IPC namespace (`hostIPC: true`)",
            );
        }
    }
}
