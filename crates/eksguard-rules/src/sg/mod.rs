//! SG — security groups of the cluster and its nodes.

mod control_plane_node_ports_missing;
mod management_port_open_to_world;
mod node_group_without_cluster_security_group;
mod security_group_open_to_world;
mod shared_security_group;

pub use control_plane_node_ports_missing::ControlPlaneNodePortsMissing;
pub use management_port_open_to_world::ManagementPortOpenToWorld;
pub use node_group_without_cluster_security_group::NodeGroupWithoutClusterSecurityGroup;
pub use security_group_open_to_world::SecurityGroupOpenToWorld;
pub use shared_security_group::SharedSecurityGroup;

use crate::Rule;

pub const RULES: &[&dyn Rule] = &[
    &SecurityGroupOpenToWorld,
    &ManagementPortOpenToWorld,
    &ControlPlaneNodePortsMissing,
    &SharedSecurityGroup,
    &NodeGroupWithoutClusterSecurityGroup,
];
