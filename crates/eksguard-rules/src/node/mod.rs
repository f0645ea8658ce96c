//! NODE — worker-node infrastructure: node groups, AMIs and kubelet configuration.

mod node_version_skew;
mod nodegroup_ssh_access;
mod nodes_in_public_subnets;
mod non_hardened_node_os;

pub use node_version_skew::NodeVersionSkew;
pub use nodegroup_ssh_access::NodegroupSshAccess;
pub use nodes_in_public_subnets::NodesInPublicSubnets;
pub use non_hardened_node_os::NonHardenedNodeOs;

use crate::Rule;

pub const RULES: &[&dyn Rule] = &[
    &NodegroupSshAccess,
    &NodesInPublicSubnets,
    &NonHardenedNodeOs,
    &NodeVersionSkew,
];
