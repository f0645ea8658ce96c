use eksguard_model::aws_kinds as k;
use std::collections::BTreeSet;

use eksguard_model::{FieldPath, Object};

use crate::aws_ec2::{
    admits_tcp_from, cluster_name, cluster_security_group, control_plane_security_groups,
    nodegroup_name, nodegroup_security_groups, nodegroups_of, text,
};
use crate::{declare_rule, Ctx, InventoryRule, Sink};

declare_rule! {
    /// ## What it checks
    /// For each `eks describe-cluster` in the scan and each of its managed node groups
    /// (`eks describe-nodegroup`, joined by `clusterName`), whether the security groups let
    /// the two sides talk:
    ///
    /// - the control plane's groups (the cluster security group and the additional
    ///   `resourcesVpcConfig.securityGroupIds`) admit TCP 443 from the node group's groups;
    /// - the node group's groups admit TCP 10250 (kubelet) from the control plane's groups.
    ///
    /// The node group's groups are its launch template's (`SecurityGroupIds`,
    /// `NetworkInterfaces[].Groups`), or the cluster security group when it has no launch
    /// template or the template names none. A permission counts when its port range (or
    /// `IpProtocol: "-1"`) covers the port and it names a group of the other side in
    /// `UserIdGroupPairs` (a group referencing itself counts when it sits on both sides,
    /// as the cluster security group does by default), or any CIDR or prefix list, since
    /// the scan cannot tell which addresses the nodes use. Egress is not judged: security
    /// groups allow all egress unless told otherwise.
    ///
    /// A check runs only when the scan holds every security group on its receiving side and
    /// can resolve the node group's launch template; otherwise a group it cannot see might
    /// carry the rule. The finding sits on the receiving group's `IpPermissions`.
    ///
    /// In Terraform and CloudFormation, rules written as resources of their own
    /// (`aws_security_group_rule`, `aws_vpc_security_group_ingress_rule`,
    /// `AWS::EC2::SecurityGroupIngress`) count for the group they add to, and the group EKS
    /// creates for the cluster is taken as EKS makes it (all traffic from itself) plus what
    /// the code adds. A rule whose content is known only at apply time leaves its group's
    /// side unchecked.
    ///
    /// ## Why it matters
    /// Nodes join the cluster and call the API server on 443; the API server reaches the
    /// kubelet on 10250 for `kubectl logs`, `exec`, `port-forward` and metrics. A missing
    /// rule shows up as nodes that never become Ready or as failing exec and logs, and it is
    /// often "fixed" by opening the ports far wider than needed.
    ///
    /// ## Example
    /// A node group whose launch template attaches only `sg-nodes`, where `sg-nodes` has no
    /// ingress on 10250 from the cluster security group.
    ///
    /// ## Fix
    /// Add an ingress rule on the control-plane security group for TCP 443 from the node
    /// security group, and one on the node security group for TCP 10250 from the
    /// control-plane security group (or attach the cluster security group to the nodes).
    pub ControlPlaneNodePortsMissing {
        id: "SG003",
        name: "control-plane-node-ports-missing",
        severity: Medium,
        data: [Ec2, Eks],
        scope: Inventory,
        reads: &[k::EC2_LAUNCH_TEMPLATE_VERSION, k::EC2_SECURITY_GROUP, k::EKS_CLUSTER, k::EKS_NODEGROUP],
        summary: "Security groups do not let nodes reach the API server on 443 or the control plane reach kubelets on 10250",
        remediation: "Allow TCP 443 from the node security group to the control plane and TCP 10250 from the control-plane security group to the nodes.",
        guide: &["NS-08"],
    }
}

impl InventoryRule for ControlPlaneNodePortsMissing {
    fn check_inventory(&self, cx: &Ctx<'_>, out: &mut Sink) {
        // One finding per receiving group, port and set of sources, even when several
        // node groups share them.
        let mut seen: BTreeSet<(String, i64, Vec<String>)> = BTreeSet::new();
        for cluster in cx.objects_of(k::EKS_CLUSTER) {
            let name = cluster_name(cluster);
            let cp = control_plane_security_groups(cluster);
            let Some(cp_objs) = all_in_scan(cx, &cp) else {
                continue;
            };
            let cluster_sg = cluster_security_group(cluster);
            for ng in nodegroups_of(cx, cluster) {
                let Some(nodes) = nodegroup_security_groups(cx, ng, cluster_sg.as_deref()) else {
                    continue;
                };
                if nodes.is_empty() {
                    continue;
                }
                let ng_name = nodegroup_name(ng);
                let node_set: BTreeSet<String> = nodes.iter().cloned().collect();
                if !cp_objs.iter().any(|sg| admits_tcp_from(sg, 443, &node_set))
                    && seen.insert((cp[0].clone(), 443, nodes.clone()))
                {
                    out.report(
                        cp_objs[0],
                        FieldPath::parse("IpPermissions"),
                        format!(
                            "control-plane security groups of `{name}` ({}) admit no TCP 443 \
                             from node group `{ng_name}`'s security groups ({})",
                            cp.join(", "),
                            nodes.join(", ")
                        ),
                    );
                }
                let Some(node_objs) = all_in_scan(cx, &nodes) else {
                    continue;
                };
                let cp_set: BTreeSet<String> = cp.iter().cloned().collect();
                if !node_objs
                    .iter()
                    .any(|sg| admits_tcp_from(sg, 10250, &cp_set))
                    && seen.insert((nodes[0].clone(), 10250, cp.clone()))
                {
                    out.report(
                        node_objs[0],
                        FieldPath::parse("IpPermissions"),
                        format!(
                            "security groups of node group `{ng_name}` ({}) admit no TCP 10250 \
                             (kubelet) from the control-plane security groups of `{name}` ({})",
                            nodes.join(", "),
                            cp.join(", ")
                        ),
                    );
                }
            }
        }
    }
}

/// Every object the scan holds for the groups `ids`: a group and, from code, the
/// standalone rules that add to it (objects of their own with the group's ID). `None`
/// unless each group is in the scan and none leaves its permissions to apply time, since
/// the missing port might then be allowed where the scan cannot see.
fn all_in_scan<'a>(cx: &Ctx<'a>, ids: &[String]) -> Option<Vec<&'a Object>> {
    if ids.is_empty() {
        return None;
    }
    let permissions = FieldPath::parse("IpPermissions");
    let mut out = Vec::new();
    for id in ids {
        let before = out.len();
        out.extend(cx.objects_of(k::EC2_SECURITY_GROUP).filter(|o| {
            text(o.root.get("GroupId")).as_deref() == Some(id.as_str()) || &*o.name == id
        }));
        if out.len() == before {
            return None;
        }
    }
    let undecided = |o: &&Object| {
        o.iac
            .as_ref()
            .is_some_and(|i| i.undecided_by(&permissions).is_some())
    };
    (!out.iter().any(undecided)).then_some(out)
}
