use eksguard_model::{FieldPath, Node, Object};

use crate::aws_ec2::{eksctl_nodegroups, nodegroup_name, text};
use crate::{declare_rule, Ctx, ObjectRule, Sink};

declare_rule! {
    /// ## What it checks
    /// Nodes launched where they get public IP addresses:
    ///
    /// - `eks describe-nodegroup` `subnets` entries whose `ec2 describe-subnets` record has
    ///   `MapPublicIpOnLaunch: true` (managed node groups follow the subnet's setting);
    /// - Karpenter `EC2NodeClass` `spec.subnetSelectorTerms[].id` naming such a subnet;
    /// - eksctl `nodeGroups` / `managedNodeGroups` without `privateNetworking: true`:
    ///   eksctl's default is false, which puts the nodes in the public subnets with public
    ///   addresses. Fully private clusters (`privateCluster.enabled: true`) are skipped,
    ///   since eksctl makes their node groups private.
    ///
    /// Subnets the scan does not hold are not judged.
    ///
    /// ## Why it matters
    /// A node with a public address is reachable from the internet wherever its security
    /// groups allow, and services bound to the host network or NodePorts become exposed by
    /// one loose rule. Nodes in private subnets reach out through NAT and are reached
    /// through load balancers only.
    ///
    /// ## Example
    /// ```yaml
    /// nodeGroups:
    ///   - name: ng-1
    ///     instanceType: m5.large
    /// ```
    ///
    /// ## Fix
    /// Launch nodes in private subnets (eksctl: `privateNetworking: true`; EKS: node group
    /// subnets with `MapPublicIpOnLaunch` false) and expose workloads through load
    /// balancers in the public subnets.
    pub NodesInPublicSubnets {
        id: "NODE002",
        name: "nodes-in-public-subnets",
        severity: Medium,
        data: [Eks, Ec2],
        scope: Objects(&["EKSNodegroup", "EC2NodeClass", "ClusterConfig"]),
        reads: &["EC2Subnet"],
        summary: "Nodes launched in subnets that give them public IP addresses",
        remediation: "Run nodes in private subnets (eksctl `privateNetworking: true`) and expose workloads through load balancers.",
        guide: &["HS-06"],
    }
}

impl ObjectRule for NodesInPublicSubnets {
    fn check_object(&self, cx: &Ctx<'_>, obj: &Object, out: &mut Sink) {
        match &*obj.kind {
            "EKSNodegroup" => {
                let subnets = obj.root.get("subnets").map(Node::items).unwrap_or(&[]);
                for (i, s) in subnets.iter().enumerate() {
                    if let Some(id) = text(Some(s)).filter(|id| is_public(cx, id)) {
                        out.report(
                            obj,
                            FieldPath::parse("subnets").index(i),
                            format!(
                                "node group `{}` launches nodes in {id}, which maps public IP \
                                 addresses on launch",
                                nodegroup_name(obj)
                            ),
                        );
                    }
                }
            }
            "EC2NodeClass" => {
                let terms = obj
                    .root
                    .at("spec.subnetSelectorTerms")
                    .map(Node::items)
                    .unwrap_or(&[]);
                for (i, t) in terms.iter().enumerate() {
                    if let Some(id) = text(t.get("id")).filter(|id| is_public(cx, id)) {
                        out.report(
                            obj,
                            FieldPath::parse("spec.subnetSelectorTerms")
                                .index(i)
                                .key("id"),
                            format!(
                                "EC2NodeClass `{}` selects {id}, which maps public IP addresses \
                                 on launch",
                                obj.name
                            ),
                        );
                    }
                }
            }
            _ => {
                if obj
                    .root
                    .at("privateCluster.enabled")
                    .and_then(Node::as_bool_lenient)
                    == Some(true)
                {
                    return;
                }
                for ng in eksctl_nodegroups(obj) {
                    let private = ng
                        .node
                        .get("privateNetworking")
                        .and_then(Node::as_bool_lenient);
                    if private != Some(true) {
                        out.report(
                            obj,
                            ng.at("privateNetworking"),
                            format!(
                                "eksctl node group `{}` does not set privateNetworking: true, so \
                                 its nodes get public IP addresses in public subnets",
                                ng.name()
                            ),
                        );
                    }
                }
            }
        }
    }
}

fn is_public(cx: &Ctx<'_>, id: &str) -> bool {
    cx.objects_of("EC2Subnet").any(|s| {
        text(s.root.get("SubnetId")).as_deref() == Some(id)
            && s.root
                .get("MapPublicIpOnLaunch")
                .and_then(Node::as_bool_lenient)
                == Some(true)
    })
}
