use eksguard_model::{podsec, Object};

use crate::{declare_rule, Ctx, ObjectRule, Sink, WORKLOAD_KINDS};

declare_rule! {
    /// ## What it checks
    /// Container ports with a non-zero `hostPort` (0 means unset).
    ///
    /// ## Why it matters
    /// A host port publishes the container on the node's address, outside Services and
    /// often outside NetworkPolicies, and pins the pod to nodes where the port is free.
    /// The Pod Security Standards baseline profile forbids host ports.
    ///
    /// ## Example
    /// ```yaml
    /// ports:
    /// - containerPort: 8080
    ///   hostPort: 8080
    /// ```
    ///
    /// ## Fix
    /// Remove `hostPort` and expose the port through a Service.
    pub HostPort {
        id: "POD010",
        name: "host-port",
        severity: Medium,
        data: [Kubernetes],
        scope: Objects(WORKLOAD_KINDS),
        summary: "Container binds a host port",
        remediation: "Remove `hostPort` and expose the container through a Service.",
        guide: &["PS-12"],
    }
}

impl ObjectRule for HostPort {
    fn check_object(&self, _cx: &Ctx<'_>, obj: &Object, out: &mut Sink) {
        let Some(pod) = obj.pod_spec() else { return };
        for (site, port) in podsec::host_ports(&pod) {
            let message = format!("{} binds host port {port}", site.who());
            out.report(obj, site.path, message);
        }
    }
}
