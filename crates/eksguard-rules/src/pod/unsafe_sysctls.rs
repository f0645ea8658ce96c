use eksguard_model::selector::PSS_SAFE_SYSCTLS;
use eksguard_model::{Node, Object};

use crate::{declare_rule, Ctx, Rule, Sink, WORKLOAD_KINDS};

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
    /// dots. Also containers with `securityContext.procMount: Unmasked`.
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
        sources: "K",
        kinds: WORKLOAD_KINDS,
        summary: "Pod sets an unsafe sysctl or unmasks /proc",
        remediation: "Remove sysctls outside the safe set and `procMount: Unmasked`.",
    }
}

impl Rule for UnsafeSysctlsOrProcMount {
    fn check_object(&self, _cx: &Ctx<'_>, obj: &Object, out: &mut Sink) {
        let Some(pod) = obj.pod_spec() else { return };
        let sysctls = pod
            .security_context()
            .and_then(|sc| sc.get("sysctls"))
            .map(Node::items)
            .unwrap_or(&[]);
        for (i, s) in sysctls.iter().enumerate() {
            let name = s.get("name").and_then(Node::as_str).unwrap_or("").trim();
            if !PSS_SAFE_SYSCTLS.contains(&name.replace('/', ".").as_str()) {
                out.report(
                    obj,
                    pod.field_path("securityContext.sysctls")
                        .index(i)
                        .key("name"),
                    format!("pod sets sysctl `{name}`, which is outside the safe set"),
                );
            }
        }
        for c in pod.containers() {
            let (v, path) = c.sc_field("procMount");
            if v.and_then(Node::as_str) == Some("Unmasked") {
                out.report(obj, path, format!("{} mounts /proc unmasked", c.describe()));
            }
        }
    }
}
