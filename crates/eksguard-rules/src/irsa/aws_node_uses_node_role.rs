use eksguard_model::aws_kinds as k;
use eksguard_model::{FieldPath, Node, Object};

use super::{irsa_role, role_arn_path};
use crate::aws_iam::{eksctl_addon, flag, is_eksctl, text};
use crate::{declare_rule, Ctx, ObjectRule, Sink};

declare_rule! {
    /// ## What it checks
    /// Whether the Amazon VPC CNI (`kube-system/aws-node`) has an IAM role of its own.
    /// It has one when any of these is in the scan:
    ///
    /// - an `eks.amazonaws.com/role-arn` annotation on the `aws-node` ServiceAccount;
    /// - an EKS Pod Identity association (`EKSPodIdentityAssociation`) for
    ///   `kube-system/aws-node`;
    /// - a `vpc-cni` add-on (`EKSAddon`) with `serviceAccountRoleArn` or
    ///   `podIdentityAssociations`;
    /// - an eksctl `ClusterConfig` that gives it one: `iam.withOIDC: true` (eksctl then
    ///   creates an IRSA role for `aws-node`), a `vpc-cni` entry in `addons` with
    ///   `serviceAccountRoleARN`, `attachPolicyARNs`, `attachPolicy`, `wellKnownPolicies`,
    ///   `podIdentityAssociations` or `useDefaultPodIdentityAssociations: true`,
    ///   `addonsConfig.autoApplyPodIdentityAssociations: true`, or an
    ///   `iam.serviceAccounts` / `iam.podIdentityAssociations` entry for
    ///   `kube-system/aws-node`.
    ///
    /// Findings: the `aws-node` ServiceAccount when the scan holds it; otherwise a
    /// `vpc-cni` `EKSAddon` (at `serviceAccountRoleArn`), or an eksctl `ClusterConfig`
    /// (at its `vpc-cni` add-on entry, or at `iam.withOIDC`), that gives no role. Auto
    /// Mode clusters (`autoModeConfig.enabled`) run no `aws-node` and are skipped. A
    /// `describe-cluster` output alone says nothing about the CNI's role and is not
    /// reported.
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
        data: [Kubernetes, Eks],
        scope: Objects(&["ServiceAccount", k::EKS_ADDON, "ClusterConfig"]),
        reads: &[k::EKS_POD_IDENTITY_ASSOCIATION],
        summary: "VPC CNI (aws-node) uses the node IAM role",
        remediation: "Give the `aws-node` service account its own IAM role with `AmazonEKS_CNI_Policy` (IRSA or Pod Identity) and remove the policy from the node role.",
        guide: &["IAM-13"],
    }
}

fn is_aws_node_sa(o: &Object) -> bool {
    &*o.name == "aws-node" && o.ns() == Some("kube-system")
}

fn names_aws_node(entry: &Node, sa_key: &str) -> bool {
    let ns = entry.get("namespace").and_then(Node::as_str);
    let sa = entry.get(sa_key).and_then(Node::as_str);
    ns == Some("kube-system") && sa == Some("aws-node")
}

/// A Pod Identity association for `kube-system/aws-node` (of `cluster`, when known).
fn association_for_aws_node(cx: &Ctx<'_>, cluster: Option<&str>) -> bool {
    cx.objects_of(k::EKS_POD_IDENTITY_ASSOCIATION).any(|a| {
        names_aws_node(&a.root, "serviceAccount")
            && match (cluster, text(&a.root, "clusterName")) {
                (Some(c), Some(ac)) => c == ac,
                _ => true,
            }
    })
}

fn is_vpc_cni_addon(o: &Object) -> bool {
    &*o.kind == k::EKS_ADDON && o.root.get("addonName").and_then(Node::as_str) == Some("vpc-cni")
}

fn addon_has_role(addon: &Object) -> bool {
    text(&addon.root, "serviceAccountRoleArn").is_some()
        || addon
            .root
            .get("podIdentityAssociations")
            .is_some_and(|p| !p.items().is_empty())
}

fn eksctl_gives_role(cfg: &Object) -> bool {
    let root = &cfg.root;
    let listed = |key: &str, sa_key: &str| {
        root.at(key)
            .map(Node::items)
            .unwrap_or(&[])
            .iter()
            .any(|e| {
                let meta = e.get("metadata").unwrap_or(e);
                names_aws_node(meta, sa_key)
            })
    };
    let addon = eksctl_addon(cfg, "vpc-cni").is_some_and(|(_, a)| {
        [
            "serviceAccountRoleARN",
            "attachPolicyARNs",
            "attachPolicy",
            "wellKnownPolicies",
            "podIdentityAssociations",
        ]
        .iter()
        .any(|k| a.get(k).is_some_and(|v| !v.is_empty_value()))
            || flag(a, "useDefaultPodIdentityAssociations", false)
    });
    flag(root, "iam.withOIDC", false)
        || addon
        || flag(root, "addonsConfig.autoApplyPodIdentityAssociations", false)
        || listed("iam.serviceAccounts", "name")
        || listed("iam.podIdentityAssociations", "serviceAccountName")
}

/// Whether anything in the scan gives `aws-node` its own role (the ServiceAccount's own
/// annotation aside).
fn role_elsewhere(cx: &Ctx<'_>) -> bool {
    association_for_aws_node(cx, None)
        || cx
            .objects_of(k::EKS_ADDON)
            .any(|a| is_vpc_cni_addon(a) && addon_has_role(a))
        || cx
            .objects_of("ClusterConfig")
            .any(|c| is_eksctl(c) && eksctl_gives_role(c))
}

impl ObjectRule for AwsNodeUsesNodeRole {
    fn check_object(&self, cx: &Ctx<'_>, obj: &Object, out: &mut Sink) {
        match &*obj.kind {
            "ServiceAccount" => {
                if !is_aws_node_sa(obj) || irsa_role(obj).is_some() || role_elsewhere(cx) {
                    return;
                }
                out.report(
                    obj,
                    role_arn_path(),
                    "service account `kube-system/aws-node` has no IRSA role or Pod Identity association, so the VPC CNI runs with the node's IAM role",
                );
            }
            k::EKS_ADDON => {
                if !is_vpc_cni_addon(obj)
                    || addon_has_role(obj)
                    || cx.objects_of("ServiceAccount").any(is_aws_node_sa)
                    || association_for_aws_node(cx, text(&obj.root, "clusterName").as_deref())
                {
                    return;
                }
                out.report(
                    obj,
                    FieldPath::parse("serviceAccountRoleArn"),
                    "the vpc-cni add-on has no service account role or Pod Identity association, so the VPC CNI runs with the node's IAM role",
                );
            }
            _ => {
                if !is_eksctl(obj)
                    || flag(&obj.root, "autoModeConfig.enabled", false)
                    || eksctl_gives_role(obj)
                    || cx.objects_of("ServiceAccount").any(is_aws_node_sa)
                    || association_for_aws_node(cx, text(&obj.root, "metadata.name").as_deref())
                {
                    return;
                }
                let path = match eksctl_addon(obj, "vpc-cni") {
                    Some((i, _)) => FieldPath::parse("addons").index(i).key("name"),
                    None => FieldPath::parse("iam.withOIDC"),
                };
                out.report(
                    obj,
                    path,
                    "the cluster config gives aws-node no IAM role (no `iam.withOIDC`, vpc-cni add-on role or Pod Identity association), so the VPC CNI runs with the node's IAM role",
                );
            }
        }
    }
}
