use eksguard_model::Object;

use crate::{declare_rule, Ctx, ObjectRule, Sink, WORKLOAD_KINDS};
use eksguard_model::podsec::{self, Confinement};

declare_rule! {
    /// ## What it checks
    /// `appArmorProfile.type: Unconfined` in the pod's or a container's securityContext
    /// (init, regular and ephemeral containers), and the annotation
    /// `container.apparmor.security.beta.kubernetes.io/<name>: unconfined`. As the Pod
    /// Security Standards do, a pod-level setting is reported even when every container
    /// overrides it.
    ///
    /// ## Why it matters
    /// On AppArmor nodes (such as Ubuntu) the runtime's default profile stops a
    /// container from writing to `/proc` and `/sys` interfaces and from mounting
    /// filesystems. Unconfined removes that layer. The Pod Security Standards baseline
    /// profile forbids it.
    ///
    /// ## Example
    /// ```yaml
    /// securityContext:
    ///   appArmorProfile:
    ///     type: Unconfined
    /// ```
    ///
    /// ## Fix
    /// Remove the setting to get `RuntimeDefault`, or use a `Localhost` profile.
    pub ApparmorUnconfined {
        id: "RUN003",
        name: "apparmor-unconfined",
        severity: High,
        data: [Kubernetes],
        scope: Objects(WORKLOAD_KINDS),
        summary: "AppArmor is explicitly disabled",
        remediation: "Use the `RuntimeDefault` or a `Localhost` AppArmor profile instead of `Unconfined`.",
        guide: &["RT-05"],
    }
}

impl ObjectRule for ApparmorUnconfined {
    fn check_object(&self, _cx: &Ctx<'_>, obj: &Object, out: &mut Sink) {
        let Some(pod) = obj.pod_spec() else { return };
        for set in podsec::apparmor_settings(&pod) {
            if set.confinement != Confinement::Unconfined {
                continue;
            }
            let message = match (&set.site.container, set.annotation) {
                (None, false) => "pod sets AppArmor profile Unconfined".to_string(),
                (None, true) => "pod annotation sets AppArmor profile unconfined".to_string(),
                (Some(c), false) => format!("{} sets AppArmor profile Unconfined", c.describe()),
                (Some(c), true) => format!("annotation sets {} AppArmor unconfined", c.describe()),
            };
            out.report(obj, set.site.path, message);
        }
    }
}
