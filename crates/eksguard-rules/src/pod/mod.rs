//! POD — pod security: privileges, host namespaces and paths, capabilities.

mod privileged_container;

pub use privileged_container::PrivilegedContainer;

use crate::Rule;

pub const RULES: &[&dyn Rule] = &[&PrivilegedContainer];
