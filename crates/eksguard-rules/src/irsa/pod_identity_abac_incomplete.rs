use eksguard_model::aws_kinds as k;
use eksguard_model::iam_policy::statements;
use eksguard_model::{FieldPath, Node, Object};

use crate::{declare_rule, Ctx, InventoryRule, Sink};

const NAMESPACE: &str = "aws:principaltag/kubernetes-namespace";
const SERVICE_ACCOUNT: &str = "aws:principaltag/kubernetes-service-account";
const CLUSTER: [&str; 2] = [
    "aws:principaltag/eks-cluster-arn",
    "aws:principaltag/eks-cluster-name",
];

declare_rule! {
    /// ## What it checks
    /// Policy statements (inline role policies, customer-managed policy documents, the
    /// policies of `get-account-authorization-details`) whose conditions use the session
    /// tags EKS Pod Identity sets — `aws:PrincipalTag/kubernetes-namespace` or
    /// `aws:PrincipalTag/kubernetes-service-account`, as a condition key or in a
    /// `${aws:PrincipalTag/…}` policy variable — without also testing the cluster
    /// (`aws:PrincipalTag/eks-cluster-arn` or `eks-cluster-name`), or that test the
    /// service account without its namespace.
    ///
    /// ## Why it matters
    /// Namespaces and service-account names repeat across clusters: a condition on the
    /// namespace alone lets the same namespace of any other cluster of the account in,
    /// and a service-account name alone matches that name in every namespace.
    ///
    /// ## Example
    /// ```json
    /// {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::data/*",
    ///  "Condition": {"StringEquals": {"aws:PrincipalTag/kubernetes-namespace": "orders"}}}
    /// ```
    ///
    /// ## Fix
    /// Test the cluster ARN, the namespace and the service account together.
    pub PodIdentityAbacIncomplete {
        id: "IRSA018",
        name: "pod-identity-abac-incomplete",
        severity: Medium,
        data: [Iam],
        scope: Inventory,
        reads: &[k::IAM_ROLE_POLICY, k::IAM_POLICY_DOCUMENT, k::IAM_MANAGED_POLICY, k::IAM_USER, k::IAM_GROUP],
        summary: "Pod Identity session-tag condition does not pin the cluster",
        remediation: "Add a condition on `aws:PrincipalTag/eks-cluster-arn` (and the namespace) beside the service-account or namespace test.",
        guide: &["IAM-27"],
    }
}

fn check_doc(obj: &Object, doc: &Node, base: &FieldPath, out: &mut Sink) {
    for st in statements(doc, base) {
        let keys = st.condition_keys();
        let has = |k: &str| keys.iter().any(|x| x == k);
        let ns = has(NAMESPACE);
        let sa = has(SERVICE_ACCOUNT);
        if !ns && !sa {
            continue;
        }
        let cluster = CLUSTER.iter().any(|k| has(k));
        let mut missing = Vec::new();
        if !cluster {
            missing.push("the cluster (`eks-cluster-arn`)");
        }
        if sa && !ns {
            missing.push("the namespace (`kubernetes-namespace`)");
        }
        if missing.is_empty() {
            continue;
        }
        out.report(
            obj,
            st.condition_path(),
            format!(
                "a statement's Pod Identity session-tag conditions do not test {}",
                missing.join(" or ")
            ),
        );
    }
}

/// Each document of a list of `{PolicyName, PolicyDocument}` entries.
fn each_listed(obj: &Object, key: &str, out: &mut Sink) {
    for (i, p) in obj
        .root
        .get(key)
        .map(Node::items)
        .unwrap_or(&[])
        .iter()
        .enumerate()
    {
        if let Some(d) = p.get("PolicyDocument").filter(|d| d.is_map()) {
            check_doc(
                obj,
                d,
                &FieldPath::parse(key).index(i).key("PolicyDocument"),
                out,
            );
        }
    }
}

impl InventoryRule for PodIdentityAbacIncomplete {
    fn check_inventory(&self, cx: &Ctx<'_>, out: &mut Sink) {
        for p in cx.objects_of(k::IAM_ROLE_POLICY) {
            if let Some(d) = p.root.get("PolicyDocument").filter(|d| d.is_map()) {
                check_doc(p, d, &FieldPath::parse("PolicyDocument"), out);
            }
        }
        for p in cx.objects_of(k::IAM_POLICY_DOCUMENT) {
            check_doc(p, &p.root, &FieldPath::root(), out);
        }
        for p in cx.objects_of(k::IAM_MANAGED_POLICY) {
            for (i, v) in p
                .root
                .get("PolicyVersionList")
                .map(Node::items)
                .unwrap_or(&[])
                .iter()
                .enumerate()
            {
                if let Some(d) = v.get("Document").filter(|d| d.is_map()) {
                    check_doc(
                        p,
                        d,
                        &FieldPath::parse("PolicyVersionList")
                            .index(i)
                            .key("Document"),
                        out,
                    );
                }
            }
        }
        for u in cx.objects_of(k::IAM_USER) {
            each_listed(u, "UserPolicyList", out);
        }
        for g in cx.objects_of(k::IAM_GROUP) {
            each_listed(g, "GroupPolicyList", out);
        }
    }
}
