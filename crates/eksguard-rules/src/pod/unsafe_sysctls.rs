use eksguard_model::podsec::{self, Reading};
use eksguard_model::Object;

use crate::{declare_rule, Ctx, ObjectRule, Sink, WORKLOAD_KINDS};

declare_rule! {
    /// ## What it checks
    /// Entries of the pod's `securityContext.sysctls` whose name is outside the set the Pod
    /// Security Standards baseline profile allows (`kernel.shm_rmid_forced`,
    /// `net.ipv4.ip_local_port_range`, `net.ipv4.ip_unprivileged_port_start`,
    /// `net.ipv4.tcp_syncookies`, `net.ipv4.ping_group_range`,
    /// `net.ipv4.ip_local_reserved_ports`, `net.ipv4.tcp_keepalive_time`,
    /// `net.ipv4.tcp_fin_timeout`, `net.ipv4.tcp_keepalive_intvl`,
    /// `net.ipv4.tcp_keepalive_probes`, and since v1.32 `net.ipv4.tcp_rmem` and
    /// `net.ipv4.tcp_wmem`); names written with `/` separators are read as
    /// dots. Also containers whose `securityContext.procMount` is anything but `Default`
    /// (`Unmasked` is the only other value the API knows).
    ///
    /// ## Why it matters
    /// Other sysctls are not namespaced, or affect the whole node: a pod can change kernel
    /// behaviour for every other pod on it. An unmasked `/proc` exposes kernel interfaces
    /// the runtime normally hides, which helps escape the container.
    ///
    /// ## Example
    /// ```yaml
    /// securityContext:
    ///   sysctls:
    ///   - name: kernel.msgmax
    ///     value: "65536"
    /// ```
    ///
    /// ## Fix
    /// Remove the sysctl (tune the node instead, if needed) and the `procMount: Unmasked`
    /// setting.
    pub UnsafeSysctlsOrProcMount {
        id: "POD016",
        name: "unsafe-sysctls-or-proc-mount",
        severity: High,
        data: [Kubernetes],
        scope: Objects(WORKLOAD_KINDS),
        summary: "Pod sets an unsafe sysctl or unmasks /proc",
        remediation: "Remove sysctls outside the safe set and `procMount: Unmasked`.",
        guide: &["PS-12"],
    }
}

impl ObjectRule for UnsafeSysctlsOrProcMount {
    fn check_object(&self, _cx: &Ctx<'_>, obj: &Object, out: &mut Sink) {
        let Some(pod) = obj.pod_spec() else { return };
        for (path, name) in podsec::unsafe_sysctls(&pod, Reading::Runtime) {
            out.report(
                obj,
                path,
                format!("pod sets sysctl `{name}`, which is outside the safe set"),
            );
        }
        for (site, value) in podsec::proc_mount(&pod) {
            let message = if value == "Unmasked" {
                format!("{} mounts /proc unmasked", site.who())
            } else {
                format!("{} sets procMount `{value}`", site.who())
            };
            out.report(obj, site.path, message);
        }
    }
}
