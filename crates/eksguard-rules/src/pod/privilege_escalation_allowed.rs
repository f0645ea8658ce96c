use crate::{declare_rule, Ctx, ObjectRule, Sink, WORKLOAD_KINDS};
use eksguard_model::{podsec, Object};

declare_rule! {
    /// ## What it checks
    /// Containers (init, regular and ephemeral) whose `securityContext.allowPrivilegeEscalation`
    /// is not `false`. The field exists only on containers; when it is unset Kubernetes
    /// allows escalation. Windows pods are skipped, since the field does not apply to them.
    /// A pod is a Windows pod when `spec.os.name` is `windows`, when its `nodeSelector`
    /// sets `kubernetes.io/os` (or the legacy `beta.kubernetes.io/os`) to `windows`, or when
    /// every term of its required node affinity admits only `windows` for that label.
    ///
    /// ## Why it matters
    /// Without `no_new_privs` a process can gain privileges through setuid binaries or file
    /// capabilities in the image, turning a foothold as an unprivileged user into root in
    /// the container. The Pod Security Standards restricted profile requires `false`.
    ///
    /// ## Example
    /// ```yaml
    /// containers:
    /// - name: app
    ///   image: example/app:1.0
    /// ```
    ///
    /// ## Fix
    /// Set `allowPrivilegeEscalation: false` in every container's securityContext.
    pub PrivilegeEscalationAllowed {
        id: "POD003",
        name: "privilege-escalation-allowed",
        severity: Medium,
        data: [Kubernetes],
        scope: Objects(WORKLOAD_KINDS),
        summary: "Container allows privilege escalation",
        remediation: "Set `allowPrivilegeEscalation: false` in each container's securityContext.",
        guide: &["PS-08"],
    }
}

impl ObjectRule for PrivilegeEscalationAllowed {
    fn check_object(&self, _cx: &Ctx<'_>, obj: &Object, out: &mut Sink) {
        let Some(pod) = obj.pod_spec() else { return };
        for (site, value) in podsec::privilege_escalation(&pod, podsec::Reading::Runtime) {
            let why = if value == Some(true) {
                "sets `allowPrivilegeEscalation: true`"
            } else {
                "does not set `allowPrivilegeEscalation: false`"
            };
            let message = format!("{} {why}", site.who());
            out.report(obj, site.path, message);
        }
    }
}
