use eksguard_model::aws_kinds as k;
use eksguard_model::Node;

use crate::aws_ec2::{
    additional_security_groups, cluster_name, eksctl_nodegroups, launch_template_security_groups,
    nodegroup_launch_template, nodegroup_name, nodegroups_of, text,
};
use crate::{declare_rule, Ctx, InventoryRule, Sink};

declare_rule! {
    /// ## What it checks
    /// A security group given to the control plane as an additional group
    /// (`resourcesVpcConfig.securityGroupIds` of `eks describe-cluster`) that is also
    /// attached to a managed node group of the same cluster: through the node group's
    /// launch template (`SecurityGroupIds`, `NetworkInterfaces[].Groups`, resolved from
    /// `ec2 describe-launch-template-versions`) or as its remote-access group
    /// (`resources.remoteAccessSecurityGroup`). In an eksctl ClusterConfig: a managed node
    /// group whose `securityGroups.attachIDs` lists the control-plane group
    /// `vpc.securityGroup`. The cluster security group EKS creates is meant to be shared
    /// and is not reported. The finding points at the shared ID on the cluster side (eksctl:
    /// at the node group's `attachIDs` entry).
    ///
    /// ## Why it matters
    /// The control plane's network interfaces and the nodes then share one set of rules,
    /// so opening a port for one opens it for the other. Deleting the node group or
    /// cluster also stalls on the shared group's dependencies.
    ///
    /// ## Example
    /// `securityGroupIds: ["sg-0abc"]` on the cluster and `SecurityGroupIds: ["sg-0abc"]` in
    /// the node group's launch template.
    ///
    /// ## Fix
    /// Give the control plane and the nodes separate security groups and reference one
    /// from the other in their rules.
    pub SharedSecurityGroup {
        id: "SG004",
        name: "shared-security-group",
        severity: Low,
        data: [Ec2, Eks],
        scope: Inventory,
        reads: &["ClusterConfig", k::EC2_LAUNCH_TEMPLATE_VERSION, k::EKS_CLUSTER, k::EKS_NODEGROUP],
        summary: "One security group attached to both the control plane and a node group",
        remediation: "Use separate security groups for the control plane and the node groups.",
        guide: &["NS-08"],
    }
}

impl InventoryRule for SharedSecurityGroup {
    fn check_inventory(&self, cx: &Ctx<'_>, out: &mut Sink) {
        for cluster in cx.objects_of(k::EKS_CLUSTER) {
            let name = cluster_name(cluster);
            let extra = additional_security_groups(cluster);
            if extra.is_empty() {
                continue;
            }
            for ng in nodegroups_of(cx, cluster) {
                let mut attached = match nodegroup_launch_template(cx, ng) {
                    Some(Some(lt)) => launch_template_security_groups(lt),
                    _ => Vec::new(),
                };
                attached.extend(text(ng.root.at("resources.remoteAccessSecurityGroup")));
                for (path, sg) in &extra {
                    if attached.contains(sg) {
                        out.report(
                            cluster,
                            path.clone(),
                            format!(
                                "{sg} is an additional control-plane security group of `{name}` \
                                 and is also attached to node group `{}`",
                                nodegroup_name(ng)
                            ),
                        );
                    }
                }
            }
        }
        for cc in cx.objects_of("ClusterConfig") {
            let Some(cp) = text(cc.root.at("vpc.securityGroup")) else {
                continue;
            };
            for ng in eksctl_nodegroups(cc).into_iter().filter(|ng| ng.managed) {
                let ids = ng
                    .node
                    .at("securityGroups.attachIDs")
                    .map(Node::items)
                    .unwrap_or(&[]);
                for (i, n) in ids.iter().enumerate() {
                    if text(Some(n)).as_deref() == Some(cp.as_str()) {
                        out.report(
                            cc,
                            ng.at("securityGroups.attachIDs").index(i),
                            format!(
                                "{cp} is the control-plane security group (vpc.securityGroup) \
                                 and is also attached to managed node group `{}`",
                                ng.name()
                            ),
                        );
                    }
                }
            }
        }
    }
}
