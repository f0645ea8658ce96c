//! RUN — runtime security: seccomp, AppArmor and SELinux confinement.

mod apparmor_unconfined;
mod seccomp_profile_missing;
mod seccomp_unconfined;
mod selinux_custom_options;

pub use apparmor_unconfined::ApparmorUnconfined;
pub use seccomp_profile_missing::SeccompProfileMissing;
pub use seccomp_unconfined::SeccompUnconfined;
pub use selinux_custom_options::SelinuxCustomOptions;

use crate::Rule;

pub const RULES: &[&dyn Rule] = &[
    &SeccompProfileMissing,
    &SeccompUnconfined,
    &ApparmorUnconfined,
    &SelinuxCustomOptions,
];
