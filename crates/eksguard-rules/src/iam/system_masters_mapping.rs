use eksguard_model::aws_kinds as k;
use eksguard_model::{FieldPath, Node, Object};

use super::{aws_auth_entries, entry_arn, entry_groups};
use crate::aws_iam::is_eksctl;
use crate::{declare_rule, Ctx, ObjectRule, Sink};

declare_rule! {
    /// ## What it checks
    /// Entries of `data.mapRoles` and `data.mapUsers` in the `kube-system/aws-auth`
    /// ConfigMap that put the IAM principal in the `system:masters` group; the finding
    /// points at the group. Mapping text that is not valid YAML is skipped without a
    /// finding.
    ///
    /// The access-entry equivalent is `AmazonEKSClusterAdminPolicy` associated with
    /// cluster scope: `EKSAccessPolicies` objects (`list-associated-access-policies`) and
    /// eksctl `accessConfig.accessEntries[].accessPolicies`; the finding points at the
    /// policy ARN. Namespace-scoped associations are left alone.
    ///
    /// ## Why it matters
    /// `system:masters` bypasses RBAC altogether: no RoleBinding grants it and none can be
    /// removed to take it away. Anyone who can assume the role is cluster root, and audit
    /// logs cannot show which RBAC rule allowed an action.
    ///
    /// ## Example
    /// ```yaml
    /// data:
    ///   mapRoles: |
    ///     - rolearn: arn:aws:iam::111122223333:role/ops
    ///       username: ops:{{SessionName}}
    ///       groups: [system:masters]
    /// ```
    ///
    /// ## Fix
    /// Map the role to a group of your own and bind that group to the ClusterRole it
    /// needs; keep break-glass admin access outside aws-auth.
    pub SystemMastersMapping {
        id: "IAM006",
        name: "system-masters-mapping",
        severity: High,
        data: [Kubernetes, Eks],
        scope: Objects(&["ConfigMap", k::EKS_ACCESS_POLICIES, "ClusterConfig"]),
        summary: "An IAM principal is mapped to system:masters or cluster-wide EKS cluster admin",
        remediation: "Map the principal to a custom group bound to a least-privilege ClusterRole instead of `system:masters` or a cluster-scoped `AmazonEKSClusterAdminPolicy`.",
        guide: &["IAM-05", "IAM-30"],
    }
}

impl ObjectRule for SystemMastersMapping {
    fn check_object(&self, cx: &Ctx<'_>, obj: &Object, out: &mut Sink) {
        if &*obj.kind == k::EKS_ACCESS_POLICIES {
            let who = obj
                .root
                .get("principalArn")
                .and_then(Node::as_str)
                .unwrap_or("(no ARN)");
            report_admin_policies(
                obj,
                obj.root.get("associatedAccessPolicies"),
                FieldPath::parse("associatedAccessPolicies"),
                "policyArn",
                who,
                out,
            );
            return;
        }
        if is_eksctl(obj) {
            let base = FieldPath::parse("accessConfig.accessEntries");
            let entries = obj.root.at("accessConfig.accessEntries");
            for (i, e) in entries.map(Node::items).unwrap_or(&[]).iter().enumerate() {
                let who = e
                    .get("principalARN")
                    .and_then(Node::as_str)
                    .unwrap_or("(no ARN)");
                report_admin_policies(
                    obj,
                    e.get("accessPolicies"),
                    base.index(i).key("accessPolicies"),
                    "policyARN",
                    who,
                    out,
                );
            }
            return;
        }
        for (key, what) in [("mapRoles", "role"), ("mapUsers", "user")] {
            let Some((entries, base)) = aws_auth_entries(cx, obj, key) else {
                continue;
            };
            for (i, entry) in entries.items().iter().enumerate() {
                for (j, g) in entry_groups(entry) {
                    if g == "system:masters" {
                        out.report(
                            obj,
                            base.index(i).key("groups").index(j),
                            format!(
                                "aws-auth maps IAM {what} `{}` to group `system:masters`",
                                entry_arn(entry)
                            ),
                        );
                    }
                }
            }
        }
    }
}

/// Reports each cluster-scoped `AmazonEKSClusterAdminPolicy` of a list of associated
/// access policies (`arn_key` is `policyArn` in the EKS API, `policyARN` in eksctl).
fn report_admin_policies(
    obj: &Object,
    list: Option<&Node>,
    base: FieldPath,
    arn_key: &str,
    who: &str,
    out: &mut Sink,
) {
    for (i, p) in list.map(Node::items).unwrap_or(&[]).iter().enumerate() {
        let Some(arn) = p.get(arn_key).and_then(Node::as_str) else {
            continue;
        };
        let scope = p
            .at("accessScope.type")
            .and_then(Node::as_str)
            .unwrap_or("cluster");
        if arn.rsplit('/').next() == Some("AmazonEKSClusterAdminPolicy")
            && scope.eq_ignore_ascii_case("cluster")
        {
            out.report(
                obj,
                base.index(i).key(arn_key),
                format!("access entry `{who}` has `AmazonEKSClusterAdminPolicy` at cluster scope"),
            );
        }
    }
}
