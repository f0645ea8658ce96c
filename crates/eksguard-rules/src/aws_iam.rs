//! Helpers for the cluster and IAM rules: IAM policy documents (statements, principals,
//! actions, conditions) as IAM evaluates them, ARNs, and eksctl `ClusterConfig` access.

use eksguard_model::arn::Arn;
use eksguard_model::aws_kinds as k;
use eksguard_model::{Node, Object};

// ---------------------------------------------------------------------------------------
// Objects

/// An eksctl `ClusterConfig` (other tools also use the kind name).
pub(crate) fn is_eksctl(obj: &Object) -> bool {
    &*obj.kind == "ClusterConfig" && obj.api_version.starts_with("eksctl.io/")
}

/// An `EKSCluster` that is a real EKS cluster: registered (EKS Connector) clusters carry
/// `connectorConfig` and none of the settings these rules read apply to them.
pub(crate) fn is_eks_cluster(obj: &Object) -> bool {
    &*obj.kind == k::EKS_CLUSTER && obj.root.get("connectorConfig").is_none()
}

/// The item of eksctl `addons` named `name`, with its index.
pub(crate) fn eksctl_addon<'a>(obj: &'a Object, name: &str) -> Option<(usize, &'a Node)> {
    obj.root
        .get("addons")
        .map(Node::items)
        .unwrap_or(&[])
        .iter()
        .enumerate()
        .find(|(_, a)| a.get("name").and_then(Node::as_str) == Some(name))
}

/// A boolean field, with `default` when absent or not a boolean.
pub(crate) fn flag(node: &Node, dotted: &str, default: bool) -> bool {
    node.at(dotted)
        .and_then(Node::as_bool_lenient)
        .unwrap_or(default)
}

/// The text of a scalar field, trimmed; `None` when absent or blank.
pub(crate) fn text(node: &Node, dotted: &str) -> Option<String> {
    node.at(dotted)
        .and_then(Node::scalar_text)
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

// ---------------------------------------------------------------------------------------
// ARNs

/// An ARN as policies write it (surrounding spaces tolerated).
pub(crate) fn parse_arn(arn: &str) -> Option<Arn<'_>> {
    Arn::parse(arn.trim())
}

/// Whether an ARN names an IAM user (`arn:aws:iam::111122223333:user/path/name`).
pub(crate) fn is_iam_user_arn(arn: &str) -> bool {
    parse_arn(arn).is_some_and(|a| a.service == "iam" && a.resource.starts_with("user/"))
}

/// The role name of an IAM role ARN (the last path component), or `None`.
pub(crate) fn role_name(arn: &str) -> Option<&str> {
    let a = parse_arn(arn)?;
    if a.service != "iam" {
        return None;
    }
    let rest = a.resource.strip_prefix("role/")?;
    rest.rsplit('/').next().filter(|s| !s.is_empty())
}

/// The name of an AWS-managed policy (`arn:aws:iam::aws:policy/NAME`), or `None` for
/// customer-managed policies.
pub(crate) fn aws_managed_policy_name(arn: &str) -> Option<&str> {
    let a = parse_arn(arn)?;
    if a.service != "iam" || a.account != "aws" {
        return None;
    }
    let rest = a.resource.strip_prefix("policy/")?;
    rest.rsplit('/').next()
}

// ---------------------------------------------------------------------------------------
// Policy documents: the one evaluator lives in the model.

pub(crate) use eksguard_model::iam_policy::{
    claim_issuer, document_allows, statements, trust_policy, unpinned_issuers,
    web_identity_statements, wildcard_match, Cond, Statement,
};

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn arns() {
        assert!(is_iam_user_arn("arn:aws:iam::1:user/a/b"));
        assert!(!is_iam_user_arn("arn:aws:iam::1:role/user/b"));
        assert_eq!(
            role_name("arn:aws:iam::1:role/path/x/NodeRole"),
            Some("NodeRole")
        );
        assert_eq!(
            aws_managed_policy_name("arn:aws-cn:iam::aws:policy/AmazonEKS_CNI_Policy"),
            Some("AmazonEKS_CNI_Policy")
        );
        assert_eq!(
            aws_managed_policy_name("arn:aws:iam::1:policy/AmazonEKS_CNI_Policy"),
            None
        );
    }
}
