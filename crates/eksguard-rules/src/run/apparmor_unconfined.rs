use eksguard_model::Object;

use super::{
    annotation_confinement, annotation_path, apparmor_container_annotation, profile_type,
    Confinement,
};
use crate::{declare_rule, Ctx, Rule, Sink, WORKLOAD_KINDS};

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
        sources: "K",
        kinds: WORKLOAD_KINDS,
        summary: "AppArmor is explicitly disabled",
        remediation: "Use the `RuntimeDefault` or a `Localhost` AppArmor profile instead of `Unconfined`.",
    }
}

impl Rule for ApparmorUnconfined {
    fn check_object(&self, _cx: &Ctx<'_>, obj: &Object, out: &mut Sink) {
        let Some(pod) = obj.pod_spec() else { return };
        let pod_profile = pod
            .security_context()
            .and_then(|sc| sc.get("appArmorProfile"));
        if profile_type(pod_profile) == Some("Unconfined") {
            out.report(
                obj,
                pod.field_path("securityContext.appArmorProfile.type"),
                "pod sets AppArmor profile Unconfined",
            );
        }
        for c in pod.containers() {
            if profile_type(c.sc_field("appArmorProfile").0) == Some("Unconfined") {
                out.report(
                    obj,
                    c.path_to("securityContext.appArmorProfile.type"),
                    format!("{} sets AppArmor profile Unconfined", c.describe()),
                );
            }
            let key = apparmor_container_annotation(c.name());
            if let Some(v) = pod.annotation(&key) {
                if annotation_confinement(v) == Confinement::Unconfined {
                    out.report(
                        obj,
                        annotation_path(&pod, &key),
                        format!("annotation sets {} AppArmor unconfined", c.describe()),
                    );
                }
            }
        }
    }
}
