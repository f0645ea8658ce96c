use eksguard_model::aws_kinds as k;
use eksguard_model::{FieldPath, Object};

use crate::aws_iam::{flag, is_eks_cluster, is_eksctl};
use crate::{declare_rule, Ctx, ObjectRule, Sink};

declare_rule! {
    /// ## What it checks
    /// EKS clusters whose private API endpoint is off.
    ///
    /// - `describe-cluster` output: `resourcesVpcConfig.endpointPrivateAccess` false or
    ///   absent (EKS's default is off).
    /// - eksctl `ClusterConfig`: `vpc.clusterEndpoints.privateAccess` not true (eksctl's
    ///   default is off), unless `privateCluster.enabled` is true.
    ///
    /// ## Why it matters
    /// Without the private endpoint, nodes and everything in the VPC reach the API server
    /// over its public endpoint, which must then stay open to the internet (or to the
    /// NAT addresses), and kubelet traffic leaves the VPC.
    ///
    /// ## Example
    /// ```yaml
    /// vpc:
    ///   clusterEndpoints:
    ///     publicAccess: true
    ///     privateAccess: false
    /// ```
    ///
    /// ## Fix
    /// Enable the private endpoint, then restrict or disable the public one.
    pub PrivateEndpointDisabled {
        id: "IAM002",
        name: "private-endpoint-disabled",
        severity: Medium,
        data: [Eks],
        scope: Objects(&[k::EKS_CLUSTER, "ClusterConfig"]),
        summary: "Cluster private API endpoint is disabled",
        remediation: "Enable private endpoint access so that nodes and in-VPC clients reach the API server inside the VPC.",
        guide: &["IAM-02"],
    }
}

impl ObjectRule for PrivateEndpointDisabled {
    fn check_object(&self, _cx: &Ctx<'_>, obj: &Object, out: &mut Sink) {
        if is_eks_cluster(obj) {
            let Some(vpc) = obj.root.get("resourcesVpcConfig") else {
                return;
            };
            if !flag(vpc, "endpointPrivateAccess", false) {
                out.report(
                    obj,
                    FieldPath::parse("resourcesVpcConfig.endpointPrivateAccess"),
                    "private API endpoint is disabled: nodes and VPC clients use the public endpoint",
                );
            }
        } else if is_eksctl(obj) {
            let root = &obj.root;
            if flag(root, "privateCluster.enabled", false)
                || flag(root, "vpc.clusterEndpoints.privateAccess", false)
            {
                return;
            }
            let note = if root.at("vpc.clusterEndpoints.privateAccess").is_some() {
                ""
            } else {
                " (eksctl's default)"
            };
            out.report(
                obj,
                FieldPath::parse("vpc.clusterEndpoints.privateAccess"),
                format!("private API endpoint is disabled{note}: nodes and VPC clients use the public endpoint"),
            );
        }
    }
}
