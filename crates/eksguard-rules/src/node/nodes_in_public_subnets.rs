use eksguard_model::aws_kinds as k;
use eksguard_model::{FieldPath, Node, Object};

use crate::aws_ec2::{cluster_name, ec2_tags, eksctl_nodegroups, nodegroup_name, text};
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
    /// - launch template versions with a network interface whose
    ///   `AssociatePublicIpAddress` is true (Terraform
    ///   `network_interfaces.associate_public_ip_address`, CloudFormation
    ///   `LaunchTemplateData.NetworkInterfaces[].AssociatePublicIpAddress`);
    /// - running nodes of the cluster (`ec2 describe-instances` instances tagged
    ///   `eks:cluster-name`, `aws:eks:cluster-name` or `kubernetes.io/cluster/<name>` with the
    ///   name of a cluster of the scan, or any such instance when the scan holds no cluster)
    ///   that have a `PublicIpAddress`;
    /// - Karpenter `EC2NodeClass` with `spec.associatePublicIPAddress: true`, and EKS Auto
    ///   Mode `NodeClass` with `spec.advancedNetworking.associatePublicIPAddress: true`.
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
        scope: Objects(&[k::EKS_NODEGROUP, "EC2NodeClass", "ClusterConfig", k::EC2_LAUNCH_TEMPLATE_VERSION, k::EC2_INSTANCE, "NodeClass"]),
        reads: &[k::EC2_SUBNET, k::EKS_CLUSTER],
        summary: "Nodes launched in subnets that give them public IP addresses",
        remediation: "Run nodes in private subnets (eksctl `privateNetworking: true`) and expose workloads through load balancers.",
        guide: &["HS-06"],
    }
}

impl ObjectRule for NodesInPublicSubnets {
    fn check_object(&self, cx: &Ctx<'_>, obj: &Object, out: &mut Sink) {
        match &*obj.kind {
            k::EKS_NODEGROUP => {
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
            k::EC2_LAUNCH_TEMPLATE_VERSION => {
                let nis = obj
                    .root
                    .at("LaunchTemplateData.NetworkInterfaces")
                    .map(Node::items)
                    .unwrap_or(&[]);
                for (i, ni) in nis.iter().enumerate() {
                    if ni
                        .get("AssociatePublicIpAddress")
                        .and_then(Node::as_bool_lenient)
                        == Some(true)
                    {
                        out.report(
                            obj,
                            FieldPath::parse("LaunchTemplateData.NetworkInterfaces")
                                .index(i)
                                .key("AssociatePublicIpAddress"),
                            format!(
                                "launch template version `{}` gives network interface {i} a public IP address",
                                obj.name
                            ),
                        );
                    }
                }
            }
            k::EC2_INSTANCE => {
                let running = text(obj.root.at("State.Name")).is_none_or(|s| s == "running");
                if let (true, Some(ip), Some(cluster)) = (
                    running,
                    text(obj.root.get("PublicIpAddress")),
                    node_cluster(cx, obj),
                ) {
                    out.report(
                        obj,
                        FieldPath::parse("PublicIpAddress"),
                        format!("node of cluster `{cluster}` has the public IP address {ip}"),
                    );
                }
            }
            "NodeClass" => {
                if !obj.api_version.starts_with("eks.amazonaws.com/") {
                    return;
                }
                let at = "spec.advancedNetworking.associatePublicIPAddress";
                if obj.root.at(at).and_then(Node::as_bool_lenient) == Some(true) {
                    out.report(
                        obj,
                        FieldPath::parse(at),
                        format!(
                            "Auto Mode NodeClass `{}` gives its nodes public IP addresses",
                            obj.name
                        ),
                    );
                }
            }
            "EC2NodeClass" => {
                if obj
                    .root
                    .at("spec.associatePublicIPAddress")
                    .and_then(Node::as_bool_lenient)
                    == Some(true)
                {
                    out.report(
                        obj,
                        FieldPath::parse("spec.associatePublicIPAddress"),
                        format!(
                            "EC2NodeClass `{}` gives its nodes public IP addresses",
                            obj.name
                        ),
                    );
                }
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

/// The cluster an instance is a node of, by the tags EKS, eksctl and Karpenter set: the
/// name of a cluster of the scan, or any cluster's when the scan holds none.
fn node_cluster(cx: &Ctx<'_>, instance: &Object) -> Option<String> {
    let tags = ec2_tags(&instance.root);
    let mut named = tags
        .iter()
        .filter_map(|(k, v)| match k.as_str() {
            "eks:cluster-name" | "aws:eks:cluster-name" => Some(v.clone()),
            _ => k.strip_prefix("kubernetes.io/cluster/").map(str::to_string),
        })
        .filter(|n| !n.is_empty());
    let clusters: Vec<String> = cx.objects_of(k::EKS_CLUSTER).map(cluster_name).collect();
    if clusters.is_empty() {
        return named.next();
    }
    named.find(|n| clusters.contains(n))
}

fn is_public(cx: &Ctx<'_>, id: &str) -> bool {
    cx.objects_of(k::EC2_SUBNET).any(|s| {
        text(s.root.get("SubnetId")).as_deref() == Some(id)
            && s.root
                .get("MapPublicIpOnLaunch")
                .and_then(Node::as_bool_lenient)
                == Some(true)
    })
}
