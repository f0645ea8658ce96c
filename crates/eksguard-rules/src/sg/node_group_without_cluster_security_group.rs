use eksguard_model::aws_kinds as k;
use eksguard_model::{FieldPath, Node, Object};

use crate::aws_ec2::{
    cluster_name, cluster_security_group, nodegroup_launch_template, nodegroup_name, nodegroups_of,
    text,
};
use crate::{declare_rule, Ctx, InventoryRule, Sink};

declare_rule! {
    /// ## What it checks
    /// Managed node groups whose launch template version (the node group's `launchTemplate`
    /// id or name and version, joined to `describe-launch-template-versions`) sets security
    /// groups — `LaunchTemplateData.SecurityGroupIds`, or `Groups` of the network interface
    /// with device index 0 — that do not include the cluster security group
    /// (`resourcesVpcConfig.clusterSecurityGroupId` of the node group's cluster). Node
    /// groups whose template sets no security group get the cluster security group from
    /// EKS and pass; a template the scan does not hold is not judged. In Terraform,
    /// `aws_launch_template.vpc_security_group_ids` and `network_interfaces.security_groups`
    /// reached through `aws_eks_node_group.launch_template` are read the same way.
    ///
    /// ## Why it matters
    /// When a launch template names security groups, EKS attaches only those. Without the
    /// cluster security group the nodes lose the rules that let the control plane, the
    /// other node groups and their pods reach them (kubelet, DNS, webhooks), and each
    /// team re-creates those rules by hand, usually wider than needed. The guide asks for
    /// the cluster security group on every node group.
    ///
    /// ## Example
    /// ```json
    /// {"LaunchTemplateData": {"SecurityGroupIds": ["sg-0custom"]}}
    /// ```
    ///
    /// ## Fix
    /// Add the cluster security group to the launch template's security groups, or leave
    /// them out of the template and let EKS attach it.
    pub NodeGroupWithoutClusterSecurityGroup {
        id: "SG005",
        name: "node-group-without-cluster-security-group",
        severity: Low,
        data: [Ec2, Eks],
        scope: Inventory,
        reads: &[k::EC2_LAUNCH_TEMPLATE_VERSION, k::EKS_CLUSTER, k::EKS_NODEGROUP],
        summary: "Node group's launch template leaves out the cluster security group",
        remediation: "Include the cluster security group in the launch template's security groups.",
        guide: &["NS-08"],
    }
}

/// The security groups a launch template version gives the primary network interface.
fn primary_groups(lt: &Object) -> Vec<String> {
    let data = lt.root.get("LaunchTemplateData").unwrap_or(Node::null());
    let mut out: Vec<String> = data
        .get("SecurityGroupIds")
        .map(Node::items)
        .unwrap_or(&[])
        .iter()
        .filter_map(|n| text(Some(n)))
        .collect();
    for ni in data
        .get("NetworkInterfaces")
        .map(Node::items)
        .unwrap_or(&[])
    {
        if ni.get("DeviceIndex").and_then(Node::as_i64).unwrap_or(0) != 0 {
            continue;
        }
        for g in ni.get("Groups").map(Node::items).unwrap_or(&[]) {
            if let Some(id) = text(Some(g)) {
                if !out.contains(&id) {
                    out.push(id);
                }
            }
        }
    }
    out
}

impl InventoryRule for NodeGroupWithoutClusterSecurityGroup {
    fn check_inventory(&self, cx: &Ctx<'_>, out: &mut Sink) {
        for cluster in cx.objects_of(k::EKS_CLUSTER) {
            let Some(cluster_sg) = cluster_security_group(cluster) else {
                continue;
            };
            for ng in nodegroups_of(cx, cluster) {
                let Some(Some(lt)) = nodegroup_launch_template(cx, ng) else {
                    continue;
                };
                let groups = primary_groups(lt);
                if groups.is_empty() || groups.contains(&cluster_sg) {
                    continue;
                }
                out.report(
                    ng,
                    FieldPath::parse("launchTemplate"),
                    format!(
                        "node group `{}` uses launch template security groups {} without the cluster security group {cluster_sg} of `{}`",
                        nodegroup_name(ng),
                        groups.join(", "),
                        cluster_name(cluster)
                    ),
                );
            }
        }
    }
}
