//! DET — detective controls: control-plane logging.

mod audit_logging_disabled;
mod control_plane_logging_incomplete;
mod logging;

pub use audit_logging_disabled::AuditLoggingDisabled;
pub use control_plane_logging_incomplete::ControlPlaneLoggingIncomplete;

use crate::Rule;

pub const RULES: &[&dyn Rule] = &[&AuditLoggingDisabled, &ControlPlaneLoggingIncomplete];
