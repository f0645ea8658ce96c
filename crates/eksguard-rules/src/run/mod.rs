//! RUN — runtime security: seccomp, AppArmor and SELinux confinement, runtime monitoring.

mod apparmor_unconfined;
mod guardduty;
mod guardduty_eks_audit_logs_disabled;
mod guardduty_runtime_coverage_incomplete;
mod guardduty_runtime_monitoring_disabled;
mod runtime_agent_misses_tainted_nodes;
mod seccomp_profile_missing;
mod seccomp_unconfined;
mod selinux_custom_options;

pub use apparmor_unconfined::ApparmorUnconfined;
pub use guardduty_eks_audit_logs_disabled::GuarddutyEksAuditLogsDisabled;
pub use guardduty_runtime_coverage_incomplete::GuarddutyRuntimeCoverageIncomplete;
pub use guardduty_runtime_monitoring_disabled::GuarddutyRuntimeMonitoringDisabled;
pub use runtime_agent_misses_tainted_nodes::RuntimeAgentMissesTaintedNodes;
pub use seccomp_profile_missing::SeccompProfileMissing;
pub use seccomp_unconfined::SeccompUnconfined;
pub use selinux_custom_options::SelinuxCustomOptions;

use crate::Rule;

pub const RULES: &[&dyn Rule] = &[
    &SeccompProfileMissing,
    &SeccompUnconfined,
    &ApparmorUnconfined,
    &SelinuxCustomOptions,
    &GuarddutyEksAuditLogsDisabled,
    &GuarddutyRuntimeMonitoringDisabled,
    &GuarddutyRuntimeCoverageIncomplete,
    &RuntimeAgentMissesTaintedNodes,
];
