//! DET — detective controls: control-plane logging.

mod audit_logging_disabled;
mod cloudtrail;
mod cloudtrail_insights_disabled;
mod cloudtrail_not_logging;
mod control_plane_logging_incomplete;
mod logging;

pub use audit_logging_disabled::AuditLoggingDisabled;
pub use cloudtrail_insights_disabled::CloudtrailInsightsDisabled;
pub use cloudtrail_not_logging::CloudtrailNotLogging;
pub use control_plane_logging_incomplete::ControlPlaneLoggingIncomplete;

use crate::Rule;

pub const RULES: &[&dyn Rule] = &[
    &AuditLoggingDisabled,
    &ControlPlaneLoggingIncomplete,
    &CloudtrailNotLogging,
    &CloudtrailInsightsDisabled,
];
