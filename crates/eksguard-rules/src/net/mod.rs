//! NET — network policies, services and ingresses.

mod namespace_without_network_policy;

pub use namespace_without_network_policy::NamespaceWithoutNetworkPolicy;

use crate::Rule;

pub const RULES: &[&dyn Rule] = &[&NamespaceWithoutNetworkPolicy];
