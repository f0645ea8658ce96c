//! TEN — multi-tenancy: namespace use and cross-namespace grants.

mod cross_namespace_binding;
mod default_namespace_used;
mod system_priority_class_in_tenant_namespace;

pub use cross_namespace_binding::CrossNamespaceBinding;
pub use default_namespace_used::DefaultNamespaceUsed;
pub use system_priority_class_in_tenant_namespace::SystemPriorityClassInTenantNamespace;

use crate::Rule;

pub const RULES: &[&dyn Rule] = &[
    &DefaultNamespaceUsed,
    &CrossNamespaceBinding,
    &SystemPriorityClassInTenantNamespace,
];
