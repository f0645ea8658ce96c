use crate::{declare_rule, Ctx, ObjectRule, Sink, WORKLOAD_KINDS};
use eksguard_model::podsec::{self, Reading};
use eksguard_model::Object;

declare_rule! {
    /// ## What it checks
    /// Containers (init, regular and ephemeral) whose `securityContext.capabilities.drop`
    /// does not contain `ALL` (any case, `CAP_ALL` accepted). The finding points at the
    /// `drop` list, or at where it is missing. Windows pods are skipped: Linux capabilities
    /// do not apply to them.
    /// A pod is a Windows pod when `spec.os.name` is `windows`, when its `nodeSelector`
    /// sets `kubernetes.io/os` (or the legacy `beta.kubernetes.io/os`) to `windows`, or when
    /// every term of its required node affinity admits only `windows` for that label.
    ///
    /// ## Why it matters
    /// Container runtimes grant a default set of capabilities (such as `NET_RAW`, `CHOWN`,
    /// `SETUID`, `DAC_OVERRIDE`) that few applications need and that widen what an attacker
    /// can do after a compromise. The Pod Security Standards restricted profile requires
    /// dropping `ALL`.
    ///
    /// ## Example
    /// ```yaml
    /// securityContext:
    ///   capabilities:
    ///     drop: ["NET_RAW"]
    /// ```
    ///
    /// ## Fix
    /// Set `capabilities.drop: ["ALL"]` and add back only what the process needs.
    pub CapabilitiesNotDropped {
        id: "POD012",
        name: "capabilities-not-dropped",
        severity: Low,
        data: [Kubernetes],
        scope: Objects(WORKLOAD_KINDS),
        summary: "Container does not drop all capabilities",
        remediation: "Set `capabilities.drop: [\"ALL\"]` and add back only the capabilities needed.",
        guide: &["RT-04"],
    }
}

impl ObjectRule for CapabilitiesNotDropped {
    fn check_object(&self, _cx: &Ctx<'_>, obj: &Object, out: &mut Sink) {
        let Some(pod) = obj.pod_spec() else { return };
        for site in podsec::not_dropping_all(&pod, Reading::Runtime) {
            let message = format!("{} does not drop ALL capabilities", site.who());
            out.report(obj, site.path, message);
        }
    }
}
