use eksguard_model::Object;

use super::{irsa_role, role_arn_path};
use crate::{declare_rule, Ctx, Rule, Sink};

declare_rule! {
    /// ## What it checks
    /// The `kube-system/aws-node` ServiceAccount (the Amazon VPC CNI), when the scan
    /// contains it, without an `eks.amazonaws.com/role-arn` annotation. Only scanned
    /// Kubernetes objects are considered: an EKS Pod Identity association for `aws-node`
    /// is not visible in manifests, so a cluster that uses one needs the EKS data (or a
    /// suppression) to clear this finding.
    ///
    /// ## Why it matters
    /// Without its own role the CNI uses the node instance role, which then has to carry
    /// `AmazonEKS_CNI_Policy`: every pod that can reach the instance metadata service can
    /// use those network-interface permissions too.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: v1
    /// kind: ServiceAccount
    /// metadata:
    ///   name: aws-node
    ///   namespace: kube-system
    /// ```
    ///
    /// ## Fix
    /// Give `aws-node` an IAM role with `AmazonEKS_CNI_Policy` through IRSA or Pod
    /// Identity, and remove that policy from the node role.
    pub AwsNodeUsesNodeRole {
        id: "IRSA011",
        name: "aws-node-uses-node-role",
        severity: Medium,
        sources: "K,E",
        kinds: &["ServiceAccount"],
        summary: "VPC CNI (aws-node) uses the node IAM role",
        remediation: "Give the `aws-node` service account its own IAM role with `AmazonEKS_CNI_Policy` (IRSA or Pod Identity) and remove the policy from the node role.",
    }
}

impl Rule for AwsNodeUsesNodeRole {
    fn check_object(&self, _cx: &Ctx<'_>, obj: &Object, out: &mut Sink) {
        if &*obj.name != "aws-node" || obj.ns() != Some("kube-system") || irsa_role(obj).is_some() {
            return;
        }
        out.report(
            obj,
            role_arn_path(),
            "service account `kube-system/aws-node` has no IRSA role, so the VPC CNI runs with the node's IAM role",
        );
    }
}
