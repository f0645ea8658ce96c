use eksguard_model::Object;

use super::{
    annotation_confinement, annotation_path, profile_type, seccomp_container_annotation,
    Confinement, SECCOMP_POD_ANNOTATION,
};
use crate::{declare_rule, Ctx, Rule, Sink, WORKLOAD_KINDS};

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
        sources: "K",
        kinds: WORKLOAD_KINDS,
        summary: "Seccomp is explicitly disabled",
        remediation: "Replace `Unconfined` with `RuntimeDefault` or a `Localhost` profile.",
    }
}

impl Rule for SeccompUnconfined {
    fn check_object(&self, _cx: &Ctx<'_>, obj: &Object, out: &mut Sink) {
        let Some(pod) = obj.pod_spec() else { return };
        let pod_profile = pod
            .security_context()
            .and_then(|sc| sc.get("seccompProfile"));
        if profile_type(pod_profile) == Some("Unconfined") {
            out.report(
                obj,
                pod.field_path("securityContext.seccompProfile.type"),
                "pod sets seccomp profile Unconfined",
            );
        }
        if let Some(v) = pod.annotation(SECCOMP_POD_ANNOTATION) {
            if annotation_confinement(v) == Confinement::Unconfined {
                out.report(
                    obj,
                    annotation_path(&pod, SECCOMP_POD_ANNOTATION),
                    "pod annotation sets seccomp profile unconfined",
                );
            }
        }
        for c in pod.containers() {
            if profile_type(c.sc_field("seccompProfile").0) == Some("Unconfined") {
                out.report(
                    obj,
                    c.path_to("securityContext.seccompProfile.type"),
                    format!("{} sets seccomp profile Unconfined", c.describe()),
                );
            }
            let key = seccomp_container_annotation(c.name());
            if let Some(v) = pod.annotation(&key) {
                if annotation_confinement(v) == Confinement::Unconfined {
                    out.report(
                        obj,
                        annotation_path(&pod, &key),
                        format!("annotation sets {} seccomp unconfined", c.describe()),
                    );
                }
            }
        }
    }
}
