use eksguard_model::Object;

use crate::{declare_rule, Ctx, ObjectRule, Sink, WORKLOAD_KINDS};
use eksguard_model::podsec::{self, Confinement};

declare_rule! {
    /// ## What it checks
    /// `seccompProfile.type: Unconfined` in the pod's or a container's securityContext
    /// (init, regular and ephemeral containers), and the legacy annotations
    /// `seccomp.security.alpha.kubernetes.io/pod` or
    /// `container.seccomp.security.alpha.kubernetes.io/<name>` set to `unconfined`. Like
    /// the Pod Security Standards, a pod-level setting is reported even when every
    /// container overrides it.
    ///
    /// ## Why it matters
    /// Unconfined turns off system call filtering on purpose: the whole kernel surface,
    /// including calls used by known container escapes (`unshare`, `keyctl`, `bpf`,
    /// `mount`), is reachable. The Pod Security Standards baseline profile forbids it.
    ///
    /// ## Example
    /// ```yaml
    /// securityContext:
    ///   seccompProfile:
    ///     type: Unconfined
    /// ```
    ///
    /// ## Fix
    /// Use `RuntimeDefault`, or a `Localhost` profile that allows the extra calls the
    /// workload needs.
    pub SeccompUnconfined {
        id: "RUN002",
        name: "seccomp-unconfined",
        severity: High,
        data: [Kubernetes],
        scope: Objects(WORKLOAD_KINDS),
        summary: "Seccomp is explicitly disabled",
        remediation: "Replace `Unconfined` with `RuntimeDefault` or a `Localhost` profile.",
        guide: &["RT-03"],
    }
}

impl ObjectRule for SeccompUnconfined {
    fn check_object(&self, _cx: &Ctx<'_>, obj: &Object, out: &mut Sink) {
        let Some(pod) = obj.pod_spec() else { return };
        for set in podsec::seccomp_settings(&pod) {
            if set.confinement != Confinement::Unconfined {
                continue;
            }
            let message = match (&set.site.container, set.annotation) {
                (None, false) => "pod sets seccomp profile Unconfined".to_string(),
                (None, true) => "pod annotation sets seccomp profile unconfined".to_string(),
                (Some(c), false) => format!("{} sets seccomp profile Unconfined", c.describe()),
                (Some(c), true) => format!("annotation sets {} seccomp unconfined", c.describe()),
            };
            out.report(obj, set.site.path, message);
        }
    }
}
