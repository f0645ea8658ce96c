//! Helpers for the node and EC2 rules: eksctl node groups, security-group permissions, and
//! the joins from an EKS cluster to its node groups, launch templates and security groups.
//!
//! The AWS objects are the CLI's JSON as printed (`aws:eks` / `aws:ec2` api versions), so
//! field names here are the CLI's.

use eksguard_model::aws_kinds as k;
use std::collections::{BTreeMap, BTreeSet};

use eksguard_model::arn::Arn;
use eksguard_model::date::Date;
use eksguard_model::{FieldPath, Node, Object};

use crate::Ctx;

/// CIDRs that mean "anyone on the internet".
pub(crate) const WORLD_CIDRS: &[&str] = &["0.0.0.0/0", "::/0"];

/// One eksctl node group (`nodeGroups[]` or `managedNodeGroups[]`) of a ClusterConfig.
pub(crate) struct EksctlNodeGroup<'a> {
    pub node: &'a Node,
    pub path: FieldPath,
    pub managed: bool,
}

impl EksctlNodeGroup<'_> {
    pub fn name(&self) -> String {
        self.node
            .get("name")
            .and_then(Node::scalar_text)
            .unwrap_or_else(|| self.path.to_string())
    }

    /// The path of a field of this node group.
    pub fn at(&self, rest: &str) -> FieldPath {
        self.path.join(rest)
    }
}

pub(crate) fn is_eksctl(obj: &Object) -> bool {
    &*obj.kind == "ClusterConfig" && obj.api_version.starts_with("eksctl.io/")
}

/// The node groups of an eksctl ClusterConfig, unmanaged first; empty for other objects.
pub(crate) fn eksctl_nodegroups(obj: &Object) -> Vec<EksctlNodeGroup<'_>> {
    if !is_eksctl(obj) {
        return Vec::new();
    }
    let mut out = Vec::new();
    for (key, managed) in [("nodeGroups", false), ("managedNodeGroups", true)] {
        for (i, node) in obj
            .root
            .get(key)
            .map(Node::items)
            .unwrap_or(&[])
            .iter()
            .enumerate()
        {
            if node.is_map() {
                out.push(EksctlNodeGroup {
                    node,
                    path: FieldPath::root().key(key).index(i),
                    managed,
                });
            }
        }
    }
    out
}

/// A non-empty string value.
pub(crate) fn text(node: Option<&Node>) -> Option<String> {
    node.and_then(Node::scalar_text)
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

/// A `Tags: [{Key, Value}]` list (EC2) as a map.
pub(crate) fn ec2_tags(root: &Node) -> BTreeMap<String, String> {
    root.get("Tags")
        .map(Node::items)
        .unwrap_or(&[])
        .iter()
        .filter_map(|t| {
            Some((
                t.get("Key")?.scalar_text()?,
                t.get("Value")
                    .and_then(Node::scalar_text)
                    .unwrap_or_default(),
            ))
        })
        .collect()
}

// ---- security groups ----------------------------------------------------------------------

/// One world-open source range of an ingress permission.
pub(crate) struct OpenRange<'a> {
    pub perm: &'a Node,
    /// Points at the `CidrIp` / `CidrIpv6` key of the range entry.
    pub path: FieldPath,
    pub cidr: String,
}

/// The ingress ranges of a security group that admit 0.0.0.0/0 or ::/0.
pub(crate) fn world_open_ingress(sg: &Object) -> Vec<OpenRange<'_>> {
    let mut out = Vec::new();
    let perms = sg.root.get("IpPermissions").map(Node::items).unwrap_or(&[]);
    for (i, perm) in perms.iter().enumerate() {
        for (list, key) in [("IpRanges", "CidrIp"), ("Ipv6Ranges", "CidrIpv6")] {
            let ranges = perm.get(list).map(Node::items).unwrap_or(&[]);
            for (j, r) in ranges.iter().enumerate() {
                let Some(cidr) = text(r.get(key)) else {
                    continue;
                };
                if WORLD_CIDRS.contains(&cidr.as_str()) {
                    out.push(OpenRange {
                        perm,
                        path: FieldPath::root()
                            .key("IpPermissions")
                            .index(i)
                            .key(list)
                            .index(j)
                            .key(key),
                        cidr,
                    });
                }
            }
        }
    }
    out
}

/// The TCP port range a permission admits: `None` when it admits no TCP at all.
/// IpProtocol `-1` (or `all`) admits every protocol and port.
pub(crate) fn tcp_port_range(perm: &Node) -> Option<(i64, i64)> {
    let proto = text(perm.get("IpProtocol")).unwrap_or_else(|| "-1".into());
    match proto.to_ascii_lowercase().as_str() {
        "-1" | "all" => Some((0, 65535)),
        "tcp" | "6" => {
            let from = perm.get("FromPort").and_then(Node::as_i64);
            let to = perm.get("ToPort").and_then(Node::as_i64);
            match (from, to) {
                // -1 or a missing bound means the whole range.
                (Some(f), Some(t)) if f >= 0 && t >= 0 => Some((f, t)),
                _ => Some((0, 65535)),
            }
        }
        _ => None,
    }
}

pub(crate) fn covers_tcp_port(perm: &Node, port: i64) -> bool {
    tcp_port_range(perm).is_some_and(|(f, t)| f <= port && port <= t)
}

/// Human text for a permission's protocol and ports, e.g. `tcp 22`, `tcp 0-65535`, `all traffic`.
pub(crate) fn describe_ports(perm: &Node) -> String {
    let proto = text(perm.get("IpProtocol")).unwrap_or_else(|| "-1".into());
    if proto == "-1" || proto.eq_ignore_ascii_case("all") {
        return "all traffic".into();
    }
    let from = perm.get("FromPort").and_then(Node::as_i64);
    let to = perm.get("ToPort").and_then(Node::as_i64);
    match (from, to) {
        (Some(f), Some(t)) if f == t => format!("{proto} {f}"),
        (Some(f), Some(t)) if f >= 0 && t >= 0 => format!("{proto} {f}-{t}"),
        _ => format!("{proto} all ports"),
    }
}

/// Whether a security group admits TCP `port` from one of `sources` (security group IDs),
/// or from any CIDR or prefix list (the scan cannot tell which addresses the nodes or the
/// control plane use, so an address range gets the benefit of the doubt).
pub(crate) fn admits_tcp_from(sg: &Object, port: i64, sources: &BTreeSet<String>) -> bool {
    let perms = sg.root.get("IpPermissions").map(Node::items).unwrap_or(&[]);
    perms.iter().any(|perm| {
        if !covers_tcp_port(perm, port) {
            return false;
        }
        let from_group = perm
            .get("UserIdGroupPairs")
            .map(Node::items)
            .unwrap_or(&[])
            .iter()
            .any(|p| text(p.get("GroupId")).is_some_and(|g| sources.contains(&g)));
        let from_range = ["IpRanges", "Ipv6Ranges", "PrefixListIds"]
            .iter()
            .any(|k| perm.get(k).is_some_and(|n| !n.items().is_empty()));
        from_group || from_range
    })
}

// ---- clusters, node groups, launch templates ----------------------------------------------

pub(crate) fn cluster_name(cluster: &Object) -> String {
    text(cluster.root.get("name")).unwrap_or_else(|| cluster.name.to_string())
}

/// The `describe-cluster` object of a node group's cluster: the one EKSCluster with the
/// node group's `clusterName` (and, when both carry ARNs, the same region and account).
/// `None` when the scan holds none, or several that could be it: two descriptions of one
/// cluster taken at different times may disagree, and guessing would make findings depend
/// on input order.
pub(crate) fn nodegroup_cluster<'a>(cx: &Ctx<'a>, ng: &Object) -> Option<&'a Object> {
    let name = text(ng.root.get("clusterName"))?;
    let scope = |arn: Option<String>| {
        arn.and_then(|a| {
            Arn::parse(&a).map(|p| format!("{}:{}:{}", p.partition, p.region, p.account))
        })
    };
    let ng_scope = scope(text(ng.root.get("nodegroupArn")));
    let mut found = cx.objects_of(k::EKS_CLUSTER).filter(|c| {
        cluster_name(c) == name
            && match (&ng_scope, scope(text(c.root.get("arn")))) {
                (Some(a), Some(b)) => *a == b,
                _ => true,
            }
    });
    let first = found.next()?;
    found.next().is_none().then_some(first)
}

/// The node groups (`describe-nodegroup`) whose cluster is `cluster`, by [`nodegroup_cluster`].
pub(crate) fn nodegroups_of<'a>(cx: &Ctx<'a>, cluster: &Object) -> Vec<&'a Object> {
    cx.objects_of(k::EKS_NODEGROUP)
        .filter(|ng| nodegroup_cluster(cx, ng).is_some_and(|c| c.id == cluster.id))
        .collect()
}

pub(crate) fn nodegroup_name(ng: &Object) -> String {
    text(ng.root.get("nodegroupName")).unwrap_or_else(|| ng.name.to_string())
}

/// The cluster security group EKS created (`clusterSecurityGroupId`).
pub(crate) fn cluster_security_group(cluster: &Object) -> Option<String> {
    text(cluster.root.at("resourcesVpcConfig.clusterSecurityGroupId"))
}

/// The additional control-plane security groups (`resourcesVpcConfig.securityGroupIds`),
/// with their paths.
pub(crate) fn additional_security_groups(cluster: &Object) -> Vec<(FieldPath, String)> {
    cluster
        .root
        .at("resourcesVpcConfig.securityGroupIds")
        .map(Node::items)
        .unwrap_or(&[])
        .iter()
        .enumerate()
        .filter_map(|(i, n)| {
            Some((
                FieldPath::parse("resourcesVpcConfig.securityGroupIds").index(i),
                text(Some(n))?,
            ))
        })
        .collect()
}

/// Every security group of the control plane: the cluster security group first.
pub(crate) fn control_plane_security_groups(cluster: &Object) -> Vec<String> {
    let mut out: Vec<String> = cluster_security_group(cluster).into_iter().collect();
    for (_, id) in additional_security_groups(cluster) {
        if !out.contains(&id) {
            out.push(id);
        }
    }
    out
}

/// What a node group says about its launch template: `Some(None)` when it names one the
/// scan does not hold, `None` when it uses none.
pub(crate) fn nodegroup_launch_template<'a>(
    cx: &Ctx<'a>,
    ng: &Object,
) -> Option<Option<&'a Object>> {
    let lt = ng.root.get("launchTemplate")?;
    let id = text(lt.get("id"));
    let name = text(lt.get("name"));
    if id.is_none() && name.is_none() {
        return None;
    }
    let version = text(lt.get("version"));
    let candidates: Vec<&'a Object> = cx
        .objects_of(k::EC2_LAUNCH_TEMPLATE_VERSION)
        .filter(|v| {
            (id.is_some() && text(v.root.get("LaunchTemplateId")) == id)
                || (name.is_some() && text(v.root.get("LaunchTemplateName")) == name)
        })
        .collect();
    let number = |v: &Object| v.root.get("VersionNumber").and_then(Node::as_i64);
    let found = match version.as_deref() {
        None | Some("$Default") => candidates
            .iter()
            .copied()
            .find(|v| v.root.get("DefaultVersion").and_then(Node::as_bool) == Some(true)),
        Some("$Latest") => candidates.iter().copied().max_by_key(|v| number(v)),
        Some(n) => candidates
            .iter()
            .copied()
            .find(|v| number(v).map(|x| x.to_string()).as_deref() == Some(n)),
    };
    Some(found)
}

/// The security groups a launch template version attaches: `SecurityGroupIds` and
/// `NetworkInterfaces[].Groups`.
pub(crate) fn launch_template_security_groups(lt: &Object) -> Vec<String> {
    let data = lt.root.get("LaunchTemplateData").unwrap_or(Node::null());
    let mut out = Vec::new();
    let direct = data.get("SecurityGroupIds").map(Node::items).unwrap_or(&[]);
    let via_eni = data
        .get("NetworkInterfaces")
        .map(Node::items)
        .unwrap_or(&[])
        .iter()
        .flat_map(|ni| ni.get("Groups").map(Node::items).unwrap_or(&[]));
    for n in direct.iter().chain(via_eni) {
        if let Some(id) = text(Some(n)) {
            if !out.contains(&id) {
                out.push(id);
            }
        }
    }
    out
}

/// The security groups on a managed node group's instances, or `None` when the scan cannot
/// tell (its launch template is not in the scan). Without a launch template, or with one that
/// names no security group, EKS attaches the cluster security group; with remote access it
/// adds the security group it created for SSH (`resources.remoteAccessSecurityGroup`).
pub(crate) fn nodegroup_security_groups(
    cx: &Ctx<'_>,
    ng: &Object,
    cluster_sg: Option<&str>,
) -> Option<Vec<String>> {
    let mut out = match nodegroup_launch_template(cx, ng) {
        Some(None) => return None,
        Some(Some(lt)) => launch_template_security_groups(lt),
        None => Vec::new(),
    };
    if out.is_empty() {
        out.extend(cluster_sg.map(str::to_string));
    }
    if let Some(ra) = text(ng.root.at("resources.remoteAccessSecurityGroup")) {
        if !out.contains(&ra) {
            out.push(ra);
        }
    }
    Some(out)
}

/// Security groups the scan shows belonging to an EKS cluster or its nodes, each with a
/// short description of why: linked through a cluster, node group, launch template, eksctl
/// ClusterConfig or Karpenter EC2NodeClass, or marked by the tags and names EKS, eksctl and
/// Karpenter give their groups.
/// The security groups in the scan that belong to a cluster or its nodes, each with its ID
/// and why it counts as such.
pub(crate) fn linked_security_groups<'a>(cx: &Ctx<'a>) -> Vec<(&'a Object, String, String)> {
    let linked = cluster_and_node_security_groups(cx);
    cx.objects_of(k::EC2_SECURITY_GROUP)
        .filter_map(|sg| {
            let id = text(sg.root.get("GroupId"))?;
            let why = linked.get(&id)?.clone();
            Some((sg, id, why))
        })
        .collect()
}

pub(crate) fn cluster_and_node_security_groups(cx: &Ctx<'_>) -> BTreeMap<String, String> {
    let mut out: BTreeMap<String, String> = BTreeMap::new();
    let mut add = |id: String, why: String| {
        out.entry(id).or_insert(why);
    };
    for cluster in cx.objects_of(k::EKS_CLUSTER) {
        let name = cluster_name(cluster);
        if let Some(sg) = cluster_security_group(cluster) {
            add(sg, format!("cluster security group of `{name}`"));
        }
        for (_, sg) in additional_security_groups(cluster) {
            add(sg, format!("control-plane security group of `{name}`"));
        }
    }
    for ng in cx.objects_of(k::EKS_NODEGROUP) {
        let name = nodegroup_name(ng);
        let cluster_sg = nodegroup_cluster(cx, ng).and_then(cluster_security_group);
        for sg in nodegroup_security_groups(cx, ng, cluster_sg.as_deref()).unwrap_or_default() {
            add(sg, format!("node security group of node group `{name}`"));
        }
    }
    for cc in cx.objects_of("ClusterConfig").filter(|o| is_eksctl(o)) {
        for key in ["vpc.securityGroup", "vpc.sharedNodeSecurityGroup"] {
            if let Some(sg) = text(cc.root.at(key)) {
                add(sg, format!("eksctl `{key}`"));
            }
        }
        for ng in eksctl_nodegroups(cc) {
            for n in ng
                .node
                .at("securityGroups.attachIDs")
                .map(Node::items)
                .unwrap_or(&[])
            {
                if let Some(sg) = text(Some(n)) {
                    add(
                        sg,
                        format!("node security group of eksctl node group `{}`", ng.name()),
                    );
                }
            }
        }
    }
    for nc in cx.objects_of("EC2NodeClass") {
        let terms = nc
            .root
            .at("spec.securityGroupSelectorTerms")
            .map(Node::items)
            .unwrap_or(&[]);
        for t in terms {
            if let Some(sg) = text(t.get("id")) {
                add(
                    sg,
                    format!("node security group of EC2NodeClass `{}`", nc.name),
                );
            }
        }
    }
    for sg in cx.objects_of(k::EC2_SECURITY_GROUP) {
        let Some(id) = text(sg.root.get("GroupId")) else {
            continue;
        };
        let tags = ec2_tags(&sg.root);
        let group_name = text(sg.root.get("GroupName")).unwrap_or_default();
        let why = if let Some(c) = tags.get("aws:eks:cluster-name") {
            Some(format!("EKS security group of `{c}`"))
        } else if group_name.starts_with("eks-cluster-sg-") {
            Some("EKS cluster security group".to_string())
        } else if let Some(c) = tags
            .get("alpha.eksctl.io/cluster-name")
            .or_else(|| tags.get("eksctl.cluster.k8s.io/v1alpha1/cluster-name"))
        {
            Some(format!("eksctl security group of `{c}`"))
        } else {
            tags.get("karpenter.sh/discovery")
                .map(|c| format!("Karpenter node security group of `{c}`"))
        };
        if let Some(why) = why {
            add(id, why);
        }
    }
    out
}

// ---- versions and dates -------------------------------------------------------------------

/// `major.minor` of a Kubernetes version such as `1.29`, `1.29.0` or `1.29.0-20240129`.
pub(crate) fn minor_version(v: &str) -> Option<(u32, u32)> {
    let v = v.trim().trim_start_matches('v');
    let mut parts = v.split(['.', '-']);
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    Some((major, minor))
}

/// The build date of an EKS-optimized AMI release such as `1.31.3-20250103`. Releases
/// without a date suffix (Bottlerocket's `1.19.2-29cc92cc`) give `None`.
pub(crate) fn release_date(release: &str) -> Option<Date> {
    let suffix = release.trim().rsplit('-').next()?;
    if suffix.len() != 8 || !suffix.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let y = suffix[..4].parse().ok()?;
    let m = suffix[4..6].parse().ok()?;
    let d = suffix[6..].parse().ok()?;
    ((1970..=9999).contains(&y) && (1..=12).contains(&m) && (1..=31).contains(&d))
        .then_some(Date(y, m, d))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn release_dates() {
        assert_eq!(release_date("1.29.0-20240129"), Some(Date(2024, 1, 29)));
        assert_eq!(release_date("1.31.3-20250103"), Some(Date(2025, 1, 3)));
        assert_eq!(release_date("1.19.2-29cc92cc"), None);
        assert_eq!(release_date("1.29.0-20241399"), None);
        assert_eq!(minor_version("1.29.0-20240129"), Some((1, 29)));
        assert_eq!(minor_version("1.30"), Some((1, 30)));
    }
}
