//! NODE — worker-node infrastructure: node groups, AMIs and kubelet configuration.
//!
//! The kubelet rules judge a `KubeletConfiguration` on its effective value: a field left
//! unset takes the default of the `kubelet.config.k8s.io/v1beta1` file format, which is
//! not always the default of the matching command-line flag (anonymous auth and the
//! read-only port are off in the file format but on as flags).

mod kubelet_anonymous_auth;
mod kubelet_authorization_always_allow;
mod kubelet_certificate_rotation_disabled;
mod kubelet_client_ca_missing;
mod kubelet_config_file_permissions;
mod kubelet_iptables_chains_disabled;
mod kubelet_read_only_port;
mod kubelet_streaming_timeout_disabled;

pub use kubelet_anonymous_auth::KubeletAnonymousAuth;
pub use kubelet_authorization_always_allow::KubeletAuthorizationAlwaysAllow;
pub use kubelet_certificate_rotation_disabled::KubeletCertificateRotationDisabled;
pub use kubelet_client_ca_missing::KubeletClientCaMissing;
pub use kubelet_config_file_permissions::KubeletConfigFilePermissions;
pub use kubelet_iptables_chains_disabled::KubeletIptablesChainsDisabled;
pub use kubelet_read_only_port::KubeletReadOnlyPort;
pub use kubelet_streaming_timeout_disabled::KubeletStreamingTimeoutDisabled;

use eksguard_model::{FieldPath, Node, Object};

mod node_version_skew;
mod nodegroup_ssh_access;
mod nodes_in_public_subnets;
mod non_hardened_node_os;

pub use node_version_skew::NodeVersionSkew;
pub use nodegroup_ssh_access::NodegroupSshAccess;
pub use nodes_in_public_subnets::NodesInPublicSubnets;
pub use non_hardened_node_os::NonHardenedNodeOs;

mod cluster_version_unsupported;
mod karpenter_nodes_never_expire;
mod node_selinux_not_enforcing;

pub use cluster_version_unsupported::ClusterVersionUnsupported;
pub use karpenter_nodes_never_expire::KarpenterNodesNeverExpire;
pub use node_selinux_not_enforcing::NodeSelinuxNotEnforcing;

mod inspector_ec2_scanning_disabled;
mod node_not_scanned_by_inspector;
mod node_with_known_vulnerabilities;

pub use inspector_ec2_scanning_disabled::InspectorEc2ScanningDisabled;
pub use node_not_scanned_by_inspector::NodeNotScannedByInspector;
pub use node_with_known_vulnerabilities::NodeWithKnownVulnerabilities;

use crate::Rule;

pub const RULES: &[&dyn Rule] = &[
    &NodegroupSshAccess,
    &NodesInPublicSubnets,
    &NonHardenedNodeOs,
    &NodeVersionSkew,
    &KubeletAnonymousAuth,
    &KubeletAuthorizationAlwaysAllow,
    &KubeletReadOnlyPort,
    &KubeletClientCaMissing,
    &KubeletStreamingTimeoutDisabled,
    &KubeletIptablesChainsDisabled,
    &KubeletCertificateRotationDisabled,
    &KubeletConfigFilePermissions,
    &ClusterVersionUnsupported,
    &InspectorEc2ScanningDisabled,
    &NodeNotScannedByInspector,
    &NodeWithKnownVulnerabilities,
    &KarpenterNodesNeverExpire,
    &NodeSelinuxNotEnforcing,
];

pub(crate) const KUBELET_KINDS: &[&str] = &["KubeletConfiguration"];

/// The kubelet's own file format; other tools reuse the kind name for other shapes.
pub(crate) fn is_kubelet_config(obj: &Object) -> bool {
    obj.api_version.starts_with("kubelet.config.k8s.io/")
}

/// A drop-in judged without its base: a file in a `<name>.d/` directory (the kubelet's
/// `--config-dir` layout). The loader merges drop-ins into a base scanned with them, so
/// one seen here stands alone and says nothing about the fields it leaves unset.
pub(crate) fn is_partial(obj: &Object) -> bool {
    obj.file()
        .and_then(|f| std::path::Path::new(f).parent())
        .and_then(|d| d.file_name())
        .and_then(|d| d.to_str())
        .is_some_and(|d| d.len() > 2 && d.ends_with(".d"))
}

/// A field of a kubelet configuration with its path, present or not.
pub(crate) fn field<'a>(obj: &'a Object, dotted: &str) -> (Option<&'a Node>, FieldPath) {
    let node = obj.root.at(dotted).filter(|n| !n.is_null());
    (node, FieldPath::parse(dotted))
}

/// Whether a Go duration (`"0s"`, `"4h0m0s"`, `"1.5h"`) is zero; `None` when it does not
/// parse. A bare number counts as nanoseconds, as `metav1.Duration` reads it.
pub(crate) fn duration_is_zero(n: &Node) -> Option<bool> {
    if let Some(i) = n.as_i64() {
        return Some(i == 0);
    }
    let s = n.as_str()?.trim();
    let s = s.strip_prefix(['+', '-']).unwrap_or(s);
    if s.is_empty() {
        return None;
    }
    if s == "0" {
        return Some(true);
    }
    let mut zero = true;
    let mut rest = s;
    while !rest.is_empty() {
        let num_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let num: f64 = rest[..num_end].parse().ok()?;
        rest = &rest[num_end..];
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        if !matches!(
            &rest[..unit_end],
            "ns" | "us" | "µs" | "μs" | "ms" | "s" | "m" | "h"
        ) {
            return None;
        }
        rest = &rest[unit_end..];
        zero &= num == 0.0;
    }
    Some(zero)
}

#[cfg(test)]
mod tests {
    use super::*;
    use eksguard_model::{Pos, Value};

    fn s(text: &str) -> Node {
        Node::new(Value::Str(text.into()), Pos::NONE)
    }

    #[test]
    fn go_durations() {
        for z in ["0", "0s", "0h0m0s", "0.0s", "0ms"] {
            assert_eq!(duration_is_zero(&s(z)), Some(true), "{z}");
        }
        for nz in ["4h0m0s", "5m", "1ns", "0h1m"] {
            assert_eq!(duration_is_zero(&s(nz)), Some(false), "{nz}");
        }
        for bad in ["", "abc", "5x", "m"] {
            assert_eq!(duration_is_zero(&s(bad)), None, "{bad}");
        }
    }
}
