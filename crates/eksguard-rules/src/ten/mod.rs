//! TEN — multi-tenancy: namespace use, cross-namespace grants, node pinning and sandboxes.

mod cross_namespace_binding;
mod default_namespace_used;
mod system_priority_class_in_tenant_namespace;
mod tenant_node_pinning_not_enforced;
mod untrusted_workload_not_sandboxed;

pub use cross_namespace_binding::CrossNamespaceBinding;
pub use default_namespace_used::DefaultNamespaceUsed;
pub use system_priority_class_in_tenant_namespace::SystemPriorityClassInTenantNamespace;
pub use tenant_node_pinning_not_enforced::TenantNodePinningNotEnforced;
pub use untrusted_workload_not_sandboxed::UntrustedWorkloadNotSandboxed;

use crate::Rule;

pub const RULES: &[&dyn Rule] = &[
    &DefaultNamespaceUsed,
    &CrossNamespaceBinding,
    &SystemPriorityClassInTenantNamespace,
    &TenantNodePinningNotEnforced,
    &UntrustedWorkloadNotSandboxed,
];
