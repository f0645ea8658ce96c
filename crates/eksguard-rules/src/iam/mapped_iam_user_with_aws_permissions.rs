use eksguard_model::aws_kinds as k;
use eksguard_model::iam_policy::statements;
use eksguard_model::{FieldPath, Node, Object};

use super::mapped_users::{mapped_users, user_key};
use crate::aws_iam::aws_managed_policy_name;
use crate::{declare_rule, Ctx, InventoryRule, Sink};

/// What a person needs from AWS to reach the cluster's API.
const CLUSTER_ACCESS: [&str; 4] = [
    "eks:DescribeCluster",
    "eks:ListClusters",
    "eks:AccessKubernetesApi",
    "sts:GetCallerIdentity",
];

declare_rule! {
    /// ## What it checks
    /// IAM users mapped into the cluster (aws-auth `mapUsers`, access entries) whose own
    /// permissions in `iam get-account-authorization-details` — attached managed policies,
    /// inline policies (`UserPolicyList`) and the policies of the groups they belong to —
    /// allow anything besides `eks:DescribeCluster`, `eks:ListClusters`,
    /// `eks:AccessKubernetesApi` and `sts:GetCallerIdentity`: any managed policy, a
    /// statement with `NotAction`, a wildcard action or another action.
    ///
    /// ## Why it matters
    /// Cluster access comes from the mapping, not from IAM permissions: AWS permissions on
    /// a mapped user only widen what its credentials (often long-lived keys) can do if
    /// they leak.
    ///
    /// ## Example
    /// ```json
    /// {"UserDetailList": [{"UserName": "alice", "Arn": "arn:aws:iam::111122223333:user/alice",
    ///   "AttachedManagedPolicies": [{"PolicyName": "AmazonEKSClusterPolicy", "PolicyArn": "arn:aws:iam::aws:policy/AmazonEKSClusterPolicy"}]}]}
    /// ```
    ///
    /// ## Fix
    /// Leave the user only `eks:DescribeCluster` (for `update-kubeconfig`); grant
    /// Kubernetes permissions through the access entry or RBAC.
    pub MappedIamUserWithAwsPermissions {
        id: "IAM022",
        name: "mapped-iam-user-with-aws-permissions",
        severity: Low,
        data: [Iam, Kubernetes, Eks],
        scope: Inventory,
        reads: &["ConfigMap", k::EKS_ACCESS_ENTRY, "ClusterConfig", k::IAM_USER, k::IAM_GROUP],
        summary: "IAM user with cluster access holds AWS permissions it does not need",
        remediation: "Remove the user's AWS permissions beyond `eks:DescribeCluster`; grant cluster permissions through RBAC or access policies.",
        guide: &["IAM-04"],
    }
}

/// Where an IAM user or group's own policies grant more than cluster access.
fn excess(obj: &Object, list_key: &str) -> Vec<(FieldPath, String)> {
    let mut out = Vec::new();
    for (i, p) in obj
        .root
        .get("AttachedManagedPolicies")
        .map(Node::items)
        .unwrap_or(&[])
        .iter()
        .enumerate()
    {
        let arn = p.get("PolicyArn").and_then(Node::as_str);
        let shown = arn
            .and_then(aws_managed_policy_name)
            .or(arn)
            .or_else(|| p.get("PolicyName").and_then(Node::as_str))
            .unwrap_or("(unnamed)");
        out.push((
            FieldPath::parse("AttachedManagedPolicies").index(i),
            format!("managed policy `{shown}`"),
        ));
    }
    for (i, p) in obj
        .root
        .get(list_key)
        .map(Node::items)
        .unwrap_or(&[])
        .iter()
        .enumerate()
    {
        let Some(doc) = p.get("PolicyDocument").filter(|d| d.is_map()) else {
            continue;
        };
        let base = FieldPath::parse(list_key).index(i).key("PolicyDocument");
        let pname = p
            .get("PolicyName")
            .and_then(Node::as_str)
            .unwrap_or("(unnamed)");
        for st in statements(doc, &base) {
            for b in st.grants_beyond(&CLUSTER_ACCESS) {
                out.push((
                    b.path,
                    format!("inline policy `{pname}` allowing `{}`", b.pattern),
                ));
            }
        }
    }
    out
}

impl InventoryRule for MappedIamUserWithAwsPermissions {
    fn check_inventory(&self, cx: &Ctx<'_>, out: &mut Sink) {
        let users = mapped_users(cx);
        if users.is_empty() {
            return;
        }
        let groups: Vec<&Object> = cx.objects_of(k::IAM_GROUP).collect();
        for u in cx.objects_of(k::IAM_USER) {
            let Some((arn, by)) = user_key(u).and_then(|k| users.get(&k)) else {
                continue;
            };
            for (path, what) in excess(u, "UserPolicyList") {
                out.report(
                    u,
                    path,
                    format!("IAM user `{arn}`, mapped into the cluster by {by}, has {what}"),
                );
            }
            for g in u.root.get("GroupList").map(Node::items).unwrap_or(&[]) {
                let Some(gname) = g.as_str() else { continue };
                let Some(group) = groups.iter().find(|o| {
                    o.root
                        .get("GroupName")
                        .and_then(Node::as_str)
                        .is_some_and(|n| n.eq_ignore_ascii_case(gname))
                }) else {
                    continue;
                };
                for (path, what) in excess(group, "GroupPolicyList") {
                    out.report(
                        group,
                        path,
                        format!("IAM user `{arn}`, mapped into the cluster by {by}, has through group `{gname}` {what}"),
                    );
                }
            }
        }
    }
}
