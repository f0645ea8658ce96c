use crate::aws_ec2::{describe_ports, linked_security_groups, world_open_ingress};
use crate::{declare_rule, Ctx, InventoryRule, Sink};
use eksguard_model::aws_kinds as k;

declare_rule! {
    /// ## What it checks
    /// Ingress permissions (`IpPermissions[].IpRanges` / `Ipv6Ranges`) from `0.0.0.0/0` or
    /// `::/0` on the security groups of a cluster or its nodes, from
    /// `ec2 describe-security-groups`. The finding points at the open range.
    ///
    /// Only groups the scan shows to be cluster or node groups are judged, since load
    /// balancers and bastions are legitimately open: the cluster security group and the
    /// additional control-plane groups of an `eks describe-cluster`, the groups on a node
    /// group's instances (its launch template's groups, the cluster security group when the
    /// template names none, the remote-access group EKS creates), eksctl's
    /// `vpc.securityGroup`, `vpc.sharedNodeSecurityGroup` and node groups'
    /// `securityGroups.attachIDs`, Karpenter `EC2NodeClass` `securityGroupSelectorTerms` IDs,
    /// and groups tagged `aws:eks:cluster-name`, `alpha.eksctl.io/cluster-name` or
    /// `karpenter.sh/discovery`, or named `eks-cluster-sg-*`.
    ///
    /// `SG002` additionally reports open ranges that reach a management port.
    ///
    /// ## Why it matters
    /// Nodes and the control plane's network interfaces then accept connections from the
    /// whole internet on the opened ports (wherever a public address makes them reachable),
    /// and any service listening there, a NodePort or a debug endpoint, is exposed.
    ///
    /// ## Example
    /// ```json
    /// "IpPermissions": [{ "IpProtocol": "tcp", "FromPort": 30000, "ToPort": 32767,
    ///                     "IpRanges": [{ "CidrIp": "0.0.0.0/0" }] }]
    /// ```
    ///
    /// ## Fix
    /// Replace the open range with the CIDRs or security groups that need access; expose
    /// services through a load balancer with its own security group.
    pub SecurityGroupOpenToWorld {
        id: "SG001",
        name: "security-group-open-to-world",
        severity: High,
        data: [Ec2],
        scope: Inventory,
        reads: &["ClusterConfig", k::EC2_LAUNCH_TEMPLATE_VERSION, "EC2NodeClass", k::EC2_SECURITY_GROUP, k::EKS_CLUSTER, k::EKS_NODEGROUP],
        summary: "Cluster or node security group allows ingress from anywhere",
        remediation: "Limit the security group's ingress to the CIDRs or security groups that need it.",
        guide: &["HS-07", "NS-08"],
    }
}

impl InventoryRule for SecurityGroupOpenToWorld {
    fn check_inventory(&self, cx: &Ctx<'_>, out: &mut Sink) {
        for (sg, id, why) in linked_security_groups(cx) {
            for open in world_open_ingress(sg) {
                out.report(
                    sg,
                    open.path,
                    format!(
                        "{id} ({why}) allows {} from {}",
                        describe_ports(open.perm),
                        open.cidr
                    ),
                );
            }
        }
    }
}
