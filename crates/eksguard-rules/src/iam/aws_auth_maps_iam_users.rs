use eksguard_model::aws_kinds as k;
use eksguard_model::{FieldPath, Node, Object};

use super::{aws_auth_entries, entry_arn};
use crate::aws_iam::{is_eksctl, is_iam_user_arn};
use crate::{declare_rule, Ctx, ObjectRule, Sink};

declare_rule! {
    /// ## What it checks
    /// Entries of `data.mapUsers` in the `kube-system/aws-auth` ConfigMap: each mapped IAM
    /// user is a finding, at its `userarn`. A `mapUsers` value that is not valid YAML is
    /// skipped without a finding.
    ///
    /// EKS access entries whose principal is an IAM user are findings too, at the
    /// principal ARN: `EKSAccessEntry` objects (`describe-access-entry`,
    /// `list-access-entries`) and eksctl `accessConfig.accessEntries[].principalARN`.
    ///
    /// ## Why it matters
    /// IAM users carry long-lived access keys that leak and are rarely rotated. Mapping
    /// roles instead gives short-lived credentials, and access can be granted or removed
    /// by changing who may assume the role rather than editing the cluster.
    ///
    /// ## Example
    /// ```yaml
    /// data:
    ///   mapUsers: |
    ///     - userarn: arn:aws:iam::111122223333:user/alice
    ///       username: alice
    ///       groups: [developers]
    /// ```
    ///
    /// ## Fix
    /// Map an IAM role the users assume (or use EKS access entries for roles) and remove
    /// the `mapUsers` entries.
    pub AwsAuthMapsIamUsers {
        id: "IAM005",
        name: "aws-auth-maps-iam-users",
        severity: Medium,
        data: [Kubernetes, Eks],
        scope: Objects(&["ConfigMap", k::EKS_ACCESS_ENTRY, "ClusterConfig"]),
        summary: "aws-auth or an access entry maps IAM users instead of roles",
        remediation: "Map IAM roles that people assume instead of IAM users, and remove the `mapUsers` entries and user access entries.",
        guide: &["IAM-04", "IAM-06", "IAM-30"],
    }
}

impl ObjectRule for AwsAuthMapsIamUsers {
    fn check_object(&self, cx: &Ctx<'_>, obj: &Object, out: &mut Sink) {
        if &*obj.kind == k::EKS_ACCESS_ENTRY {
            if let Some(arn) = obj.root.get("principalArn").and_then(Node::as_str) {
                if is_iam_user_arn(arn) {
                    out.report(
                        obj,
                        FieldPath::parse("principalArn"),
                        format!("access entry for IAM user `{arn}`"),
                    );
                }
            }
            return;
        }
        if is_eksctl(obj) {
            let entries = obj.root.at("accessConfig.accessEntries");
            for (i, e) in entries.map(Node::items).unwrap_or(&[]).iter().enumerate() {
                if let Some(arn) = e.get("principalARN").and_then(Node::as_str) {
                    if is_iam_user_arn(arn) {
                        out.report(
                            obj,
                            FieldPath::parse("accessConfig.accessEntries")
                                .index(i)
                                .key("principalARN"),
                            format!("access entry for IAM user `{arn}`"),
                        );
                    }
                }
            }
            return;
        }
        let Some((users, base)) = aws_auth_entries(cx, obj, "mapUsers") else {
            return;
        };
        for (i, entry) in users.items().iter().enumerate() {
            let path = if entry.get("userarn").is_some() {
                base.index(i).key("userarn")
            } else {
                base.index(i)
            };
            let who = entry.get("username").and_then(Node::scalar_text);
            let msg = match who {
                Some(u) => format!(
                    "aws-auth maps IAM user `{}` (username `{u}`)",
                    entry_arn(entry)
                ),
                None => format!("aws-auth maps IAM user `{}`", entry_arn(entry)),
            };
            out.report(obj, path, msg);
        }
    }
}
