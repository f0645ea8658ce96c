//! IAM — cluster access and RBAC.

mod rbac_wildcard;

pub use rbac_wildcard::RbacWildcard;

use crate::Rule;

pub const RULES: &[&dyn Rule] = &[&RbacWildcard];
