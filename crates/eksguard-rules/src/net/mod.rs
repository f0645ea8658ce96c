//! NET — network policies, services and ingresses.

mod default_deny_blocks_dns;
mod ingress_without_tls;
mod load_balancer_open_to_world;
mod load_balancer_without_tls;
mod mesh_mtls_not_strict;
mod namespace_without_default_deny;
mod namespace_without_network_policy;
mod network_policy_allow_all;
mod network_policy_event_logs_disabled;
mod network_policy_not_enforced;
mod network_policy_world_cidr;
mod node_port_service;
mod pod_not_covered_by_network_policy;
mod pod_security_group_blocks_dns;
mod sgp_enforcing_mode_strict;
mod vpc_cni;

mod ca_signing_key_in_cluster;
mod node_instance_type_without_transit_encryption;
mod private_ca_general_purpose;
mod vpc_flow_logs_disabled;

pub use default_deny_blocks_dns::DefaultDenyBlocksDns;
pub use ingress_without_tls::IngressWithoutTls;
pub use load_balancer_open_to_world::LoadBalancerOpenToWorld;
pub use load_balancer_without_tls::LoadBalancerWithoutTls;
pub use mesh_mtls_not_strict::MeshMtlsNotStrict;
pub use namespace_without_default_deny::NamespaceWithoutDefaultDeny;
pub use namespace_without_network_policy::NamespaceWithoutNetworkPolicy;
pub use network_policy_allow_all::NetworkPolicyAllowAll;
pub use network_policy_event_logs_disabled::NetworkPolicyEventLogsDisabled;
pub use network_policy_not_enforced::NetworkPolicyNotEnforced;
pub use network_policy_world_cidr::NetworkPolicyWorldCidr;
pub use node_port_service::NodePortService;
pub use pod_not_covered_by_network_policy::PodNotCoveredByNetworkPolicy;
pub use pod_security_group_blocks_dns::PodSecurityGroupBlocksDns;
pub use sgp_enforcing_mode_strict::SgpEnforcingModeStrict;

pub use ca_signing_key_in_cluster::CaSigningKeyInCluster;
pub use node_instance_type_without_transit_encryption::NodeInstanceTypeWithoutTransitEncryption;
pub use private_ca_general_purpose::PrivateCaGeneralPurpose;
pub use vpc_flow_logs_disabled::VpcFlowLogsDisabled;

use eksguard_model::{FieldPath, Node, Object};

use crate::Rule;

pub const RULES: &[&dyn Rule] = &[
    &NamespaceWithoutNetworkPolicy,
    &NamespaceWithoutDefaultDeny,
    &DefaultDenyBlocksDns,
    &NetworkPolicyAllowAll,
    &PodNotCoveredByNetworkPolicy,
    &IngressWithoutTls,
    &LoadBalancerWithoutTls,
    &LoadBalancerOpenToWorld,
    &NetworkPolicyWorldCidr,
    &NetworkPolicyNotEnforced,
    &NodePortService,
    &VpcFlowLogsDisabled,
    &PodSecurityGroupBlocksDns,
    &SgpEnforcingModeStrict,
    &MeshMtlsNotStrict,
    &NetworkPolicyEventLogsDisabled,
    &NodeInstanceTypeWithoutTransitEncryption,
    &PrivateCaGeneralPurpose,
    &CaSigningKeyInCluster,
];

/// A direction of traffic a NetworkPolicy governs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Direction {
    Ingress,
    Egress,
}

impl Direction {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Direction::Ingress => "Ingress",
            Direction::Egress => "Egress",
        }
    }

    /// The spec field holding the rules for this direction.
    pub(crate) fn field(self) -> &'static str {
        match self {
            Direction::Ingress => "ingress",
            Direction::Egress => "egress",
        }
    }
}

/// Whether a policy governs `dir`, with the API server's defaulting: without
/// `policyTypes`, Ingress always applies and Egress only when egress rules are given.
pub(crate) fn governs(policy: &Object, dir: Direction) -> bool {
    let spec = policy.spec();
    match spec.get("policyTypes").map(Node::items) {
        Some(types) if !types.is_empty() => types.iter().any(|t| t.as_str() == Some(dir.name())),
        _ => match dir {
            Direction::Ingress => true,
            Direction::Egress => !spec.get("egress").map(Node::is_empty_value).unwrap_or(true),
        },
    }
}

/// An empty (or absent) podSelector, which selects every pod of the namespace.
pub(crate) fn selects_all_pods(policy: &Object) -> bool {
    policy
        .spec()
        .get("podSelector")
        .is_none_or(|s| s.is_empty_value() || s.entries().iter().all(|e| e.value.is_empty_value()))
}

/// A policy that denies `dir` for every pod of its namespace: it selects all pods,
/// governs that direction and allows nothing in it.
pub(crate) fn is_default_deny(policy: &Object, dir: Direction) -> bool {
    selects_all_pods(policy)
        && governs(policy, dir)
        && policy
            .spec()
            .get(dir.field())
            .is_none_or(Node::is_empty_value)
}

/// Where namespace-level findings go: the Namespace's name, or the workload's namespace.
pub(crate) fn namespace_path(obj: &Object) -> FieldPath {
    if &*obj.kind == "Namespace" {
        FieldPath::parse("metadata.name")
    } else {
        FieldPath::parse("metadata.namespace")
    }
}

/// Reports each namespace with workloads (minus those the rule skips) that holds no
/// object of `kind`.
pub(crate) fn report_namespaces_without(
    cx: &crate::Ctx<'_>,
    skip: &crate::context::SkipNamespaces,
    kind: &str,
    out: &mut crate::Sink,
) {
    for (ns, obj) in cx.workload_namespaces(skip) {
        if cx.objects_in(kind, &ns).next().is_none() {
            out.report(
                obj,
                namespace_path(obj),
                format!("namespace `{ns}` has workloads but no {kind}"),
            );
        }
    }
}
