//! RUN — runtime security: seccomp, AppArmor and SELinux confinement.

mod apparmor_unconfined;
mod seccomp_profile_missing;
mod seccomp_unconfined;
mod selinux_custom_options;

pub use apparmor_unconfined::ApparmorUnconfined;
pub use seccomp_profile_missing::SeccompProfileMissing;
pub use seccomp_unconfined::SeccompUnconfined;
pub use selinux_custom_options::SelinuxCustomOptions;

use eksguard_model::workload::{ContainerView, PodSpecView};
use eksguard_model::{FieldPath, Node};

use crate::Rule;

pub const RULES: &[&dyn Rule] = &[
    &SeccompProfileMissing,
    &SeccompUnconfined,
    &ApparmorUnconfined,
    &SelinuxCustomOptions,
];

/// The legacy pod-wide seccomp annotation.
pub(crate) const SECCOMP_POD_ANNOTATION: &str = "seccomp.security.alpha.kubernetes.io/pod";

pub(crate) fn seccomp_container_annotation(name: &str) -> String {
    format!("container.seccomp.security.alpha.kubernetes.io/{name}")
}

pub(crate) fn apparmor_container_annotation(name: &str) -> String {
    format!("container.apparmor.security.beta.kubernetes.io/{name}")
}

/// The path of an annotation on the pod (template) metadata.
pub(crate) fn annotation_path(pod: &PodSpecView<'_>, key: &str) -> FieldPath {
    pod.meta_path.key("annotations").key(key)
}

/// How a seccomp setting confines the container.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Confinement {
    Confined,
    Unconfined,
    /// Set to something else (an unknown type or value): neither.
    Other,
}

/// `seccompProfile.type` or `appArmorProfile.type` of a securityContext field.
pub(crate) fn profile_type(profile: Option<&Node>) -> Option<&str> {
    profile?.get("type").and_then(Node::as_str)
}

pub(crate) fn field_confinement(ty: &str) -> Confinement {
    match ty {
        "RuntimeDefault" | "Localhost" => Confinement::Confined,
        "Unconfined" => Confinement::Unconfined,
        _ => Confinement::Other,
    }
}

/// The value of a legacy seccomp or AppArmor annotation.
pub(crate) fn annotation_confinement(value: &str) -> Confinement {
    let v = value.trim();
    if v == "runtime/default" || v == "docker/default" || v.starts_with("localhost/") {
        Confinement::Confined
    } else if v == "unconfined" {
        Confinement::Unconfined
    } else {
        Confinement::Other
    }
}

/// The seccomp profile a container ends up with, and whether the container chose it
/// itself (its own field or annotation) rather than inheriting the pod's.
pub(crate) fn container_seccomp(
    pod: &PodSpecView<'_>,
    c: &ContainerView<'_>,
) -> (Option<Confinement>, bool) {
    if let Some(ty) = profile_type(c.sc_field("seccompProfile").0) {
        return (Some(field_confinement(ty)), true);
    }
    if let Some(v) = pod.annotation(&seccomp_container_annotation(c.name())) {
        return (Some(annotation_confinement(v)), true);
    }
    let pod_sc = pod
        .security_context()
        .and_then(|sc| sc.get("seccompProfile"));
    if let Some(ty) = profile_type(pod_sc) {
        return (Some(field_confinement(ty)), false);
    }
    let pod_ann = pod.annotation(SECCOMP_POD_ANNOTATION);
    (pod_ann.map(annotation_confinement), false)
}
