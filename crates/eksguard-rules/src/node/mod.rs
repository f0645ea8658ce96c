//! NODE — worker-node infrastructure: node groups, AMIs and kubelet configuration.

mod cluster_version_unsupported;

pub use cluster_version_unsupported::ClusterVersionUnsupported;

use crate::Rule;

pub const RULES: &[&dyn Rule] = &[&ClusterVersionUnsupported];
