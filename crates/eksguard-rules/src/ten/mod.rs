//! TEN — multi-tenancy: namespace use and cross-namespace grants.

mod cross_namespace_binding;
mod default_namespace_used;

pub use cross_namespace_binding::CrossNamespaceBinding;
pub use default_namespace_used::DefaultNamespaceUsed;

use crate::Rule;

pub const RULES: &[&dyn Rule] = &[&DefaultNamespaceUsed, &CrossNamespaceBinding];
