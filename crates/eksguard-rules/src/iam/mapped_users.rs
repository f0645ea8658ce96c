//! IAM users mapped into the cluster: aws-auth `mapUsers`, access entries and eksctl
//! `accessConfig.accessEntries` whose principal is an IAM user.

use eksguard_model::aws_kinds as k;
use std::collections::BTreeMap;

use eksguard_model::{Node, Object};

use super::aws_auth_entries;
use crate::aws_iam::{is_eksctl, is_iam_user_arn};
use crate::Ctx;

/// Mapped user ARNs as the mappings write them, each with what maps it (for messages),
/// keyed by lower-case user name.
pub(crate) fn mapped_users(cx: &Ctx<'_>) -> BTreeMap<String, (String, String)> {
    let mut out = BTreeMap::new();
    let mut add = |arn: &str, by: String| {
        let arn = arn.trim();
        if !is_iam_user_arn(arn) {
            return;
        }
        let name = arn.rsplit('/').next().unwrap_or(arn).to_ascii_lowercase();
        out.entry(name).or_insert_with(|| (arn.to_string(), by));
    };
    for cm in cx.objects_of("ConfigMap") {
        if let Some((users, _)) = aws_auth_entries(cx, cm, "mapUsers") {
            for u in users.items() {
                if let Some(arn) = u.get("userarn").and_then(Node::as_str) {
                    add(arn, "aws-auth `mapUsers`".to_string());
                }
            }
        }
    }
    for e in cx.objects_of(k::EKS_ACCESS_ENTRY) {
        if let Some(arn) = e.root.get("principalArn").and_then(Node::as_str) {
            add(arn, "an access entry".to_string());
        }
    }
    for cfg in cx.objects_of("ClusterConfig").filter(|o| is_eksctl(o)) {
        for e in cfg
            .root
            .at("accessConfig.accessEntries")
            .map(Node::items)
            .unwrap_or(&[])
        {
            if let Some(arn) = e.get("principalARN").and_then(Node::as_str) {
                add(arn, "an eksctl access entry".to_string());
            }
        }
    }
    out
}

/// The user name of an IAM user object or access key, lower-cased.
pub(crate) fn user_key(obj: &Object) -> Option<String> {
    obj.root
        .get("UserName")
        .and_then(Node::as_str)
        .map(str::to_ascii_lowercase)
}
