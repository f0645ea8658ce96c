use eksguard_model::{podsec, Object};

use crate::{declare_rule, Ctx, ObjectRule, Sink, WORKLOAD_KINDS};

declare_rule! {
    /// ## What it checks
    /// `seLinuxOptions` in the pod's or a container's securityContext (init, regular and
    /// ephemeral containers) that set a `type` outside the Pod Security Standards baseline
    /// set (`container_t`, `container_init_t`, `container_kvm_t`, `container_engine_t`),
    /// such as `spc_t`, or that set `user` or `role` at all. `level` is allowed. Each
    /// offending field is reported where it is written.
    ///
    /// ## Why it matters
    /// On SELinux-enforcing nodes (such as Bottlerocket) the label is what keeps a
    /// container from the host's files and from other containers.
    /// `spc_t` ("super privileged container") is effectively unconfined, and a custom user
    /// or role can grant host-level access.
    ///
    /// ## Example
    /// ```yaml
    /// securityContext:
    ///   seLinuxOptions:
    ///     type: spc_t
    /// ```
    ///
    /// ## Fix
    /// Remove `seLinuxOptions` (the runtime assigns `container_t` and a unique level), or
    /// set only `level`.
    pub SelinuxCustomOptions {
        id: "RUN004",
        name: "selinux-custom-options",
        severity: Medium,
        data: [Kubernetes],
        scope: Objects(WORKLOAD_KINDS),
        summary: "SELinux options weaken container confinement",
        remediation: "Remove the custom SELinux type, user and role; keep only `level` if needed.",
        guide: &["HS-09", "RT-05"],
    }
}

/// Reports the offending fields of one `seLinuxOptions`; `who` names its owner.
impl ObjectRule for SelinuxCustomOptions {
    fn check_object(&self, _cx: &Ctx<'_>, obj: &Object, out: &mut Sink) {
        let Some(pod) = obj.pod_spec() else { return };
        for (site, field, value) in podsec::selinux_custom(&pod) {
            let message = if field == "type" {
                format!("{} sets SELinux type `{value}`", site.who())
            } else {
                format!("{} sets SELinux {field} `{value}`", site.who())
            };
            out.report(obj, site.path, message);
        }
    }
}
