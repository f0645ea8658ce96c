use eksguard_model::podsec::{self, Reading};
use eksguard_model::Object;

use crate::{declare_rule, Ctx, ObjectRule, Sink, WORKLOAD_KINDS};

declare_rule! {
    /// ## What it checks
    /// Each entry of a container's `securityContext.capabilities.add` that is `ALL`,
    /// `SYS_ADMIN`, `NET_ADMIN`, `SYS_PTRACE`, `SYS_MODULE`, `DAC_READ_SEARCH`, `BPF`,
    /// `PERFMON`, `SYS_RAWIO` or `NET_RAW`, with or without the `CAP_` prefix and in any case.
    /// Init, regular and ephemeral containers are checked.
    ///
    /// ## Why it matters
    /// These capabilities break the container boundary: `SYS_ADMIN` mounts filesystems and
    /// enters namespaces, `SYS_MODULE` loads kernel modules, `SYS_PTRACE` reads other
    /// processes' memory, `BPF`/`PERFMON` observe the whole kernel, `DAC_READ_SEARCH` opens
    /// host files by handle, and `NET_ADMIN`/`NET_RAW` rewrite or spoof pod traffic.
    ///
    /// ## Example
    /// ```yaml
    /// securityContext:
    ///   capabilities:
    ///     add: ["SYS_ADMIN"]
    /// ```
    ///
    /// ## Fix
    /// Remove the capability; if the workload truly needs it, isolate it on dedicated nodes.
    pub DangerousCapabilities {
        id: "POD011",
        name: "dangerous-capabilities",
        severity: High,
        data: [Kubernetes],
        scope: Objects(WORKLOAD_KINDS),
        summary: "Container adds a dangerous capability",
        remediation: "Remove the capability from `capabilities.add`.",
        guide: &["PS-12", "RT-04"],
    }
}

impl ObjectRule for DangerousCapabilities {
    fn check_object(&self, _cx: &Ctx<'_>, obj: &Object, out: &mut Sink) {
        let Some(pod) = obj.pod_spec() else { return };
        for (site, cap) in podsec::added_capabilities(&pod, Reading::Runtime) {
            if podsec::DANGEROUS_CAPABILITIES.contains(&cap.as_str()) {
                let message = format!("{} adds capability {cap}", site.who());
                out.report(obj, site.path, message);
            }
        }
    }
}
