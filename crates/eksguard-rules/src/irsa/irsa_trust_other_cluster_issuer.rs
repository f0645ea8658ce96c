use eksguard_model::aws_kinds as k;
use std::collections::BTreeSet;

use eksguard_model::Node;

use super::irsa_role;
use crate::aws_iam::{
    claim_issuer, is_eks_cluster, role_name, statements, trust_policy, web_identity_statements,
};
use crate::{declare_rule, Ctx, InventoryRule, Sink};

declare_rule! {
    /// ## What it checks
    /// When the scan holds one EKS cluster with an OIDC issuer (`identity.oidc.issuer`),
    /// the IAM roles its ServiceAccounts name in `eks.amazonaws.com/role-arn`: a role whose
    /// web-identity trust statements all name other issuers as `Federated` principal, or
    /// whose statement for this cluster's provider tests the `:sub` or `:aud` claims of
    /// another issuer. The message names the issuers the role trusts. Roles no
    /// ServiceAccount of the scan names, and roles without web-identity trust (Pod
    /// Identity), are not judged. In Terraform, an issuer known only after apply leaves
    /// the cluster's issuer unknown and the rule silent.
    ///
    /// ## Why it matters
    /// After a blue/green cluster replacement the roles still trust the old cluster's
    /// provider: the new cluster's pods cannot assume them, and tokens of the old
    /// cluster (or of another cluster sharing the role) still can.
    ///
    /// ## Example
    /// ```json
    /// {"Effect": "Allow", "Action": "sts:AssumeRoleWithWebIdentity",
    ///  "Principal": {"Federated": "arn:aws:iam::111122223333:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/OLDCLUSTER"}}
    /// ```
    ///
    /// ## Fix
    /// Point the trust policy at this cluster's OIDC provider and its `:sub` and `:aud`
    /// keys, and remove the old provider once nothing uses it.
    pub IrsaTrustOtherClusterIssuer {
        id: "IRSA017",
        name: "irsa-trust-other-cluster-issuer",
        severity: Medium,
        data: [Iam, Eks, Kubernetes],
        scope: Inventory,
        reads: &[k::EKS_CLUSTER, "ServiceAccount", k::IAM_ROLE],
        summary: "IRSA role trusts another cluster's OIDC issuer",
        remediation: "Trust the OIDC provider of the cluster whose service accounts use the role, with conditions on its own `:sub` and `:aud` keys.",
        guide: &["IAM-28"],
    }
}

/// An issuer without scheme or trailing slash, as provider ARNs and condition keys write it.
fn bare(issuer: &str) -> String {
    issuer
        .trim()
        .trim_start_matches("https://")
        .trim_end_matches('/')
        .to_string()
}

fn same(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

impl InventoryRule for IrsaTrustOtherClusterIssuer {
    fn check_inventory(&self, cx: &Ctx<'_>, out: &mut Sink) {
        let clusters: Vec<_> = cx
            .objects_of(k::EKS_CLUSTER)
            .filter(|c| is_eks_cluster(c))
            .collect();
        let [cluster] = clusters.as_slice() else {
            return;
        };
        let Some(issuer) = cluster
            .root
            .at("identity.oidc.issuer")
            .and_then(Node::as_str)
            .map(bare)
            .filter(|s| !s.is_empty())
        else {
            return;
        };
        let named: BTreeSet<String> = cx
            .objects_of("ServiceAccount")
            .filter_map(irsa_role)
            .filter_map(role_name)
            .map(str::to_ascii_lowercase)
            .collect();
        for role in cx.objects_of(k::IAM_ROLE) {
            let rname = role
                .root
                .get("RoleName")
                .and_then(Node::as_str)
                .unwrap_or(&role.name);
            if !named.contains(&rname.to_ascii_lowercase()) {
                continue;
            }
            let Some((doc, base)) = trust_policy(role) else {
                continue;
            };
            let sts = statements(doc, &base);
            let web: Vec<_> = web_identity_statements(&sts).collect();
            if web.is_empty() {
                continue;
            }
            let trusted: BTreeSet<String> = web
                .iter()
                .flat_map(|(_, i)| i.iter().map(|s| bare(s)))
                .collect();
            let ours = web
                .iter()
                .find(|(_, issuers)| issuers.iter().any(|i| same(&bare(i), &issuer)));
            match ours {
                None => {
                    let listed: Vec<String> = trusted.iter().map(|i| format!("`{i}`")).collect();
                    out.report(
                        role,
                        web[0].0.path.key("Principal"),
                        format!(
                            "role `{rname}` trusts {} but not this cluster's issuer `{issuer}`",
                            listed.join(", ")
                        ),
                    );
                }
                Some((st, _)) => {
                    for c in st.conditions() {
                        let other = ["sub", "aud"].iter().find_map(|claim| {
                            claim_issuer(&c.key, claim)
                                .map(bare)
                                .filter(|i| !same(i, &issuer))
                        });
                        if let Some(other) = other {
                            out.report(
                                role,
                                c.path.clone(),
                                format!(
                                    "role `{rname}` trusts this cluster's issuer but tests claim `{}` of issuer `{other}`",
                                    c.key
                                ),
                            );
                        }
                    }
                }
            }
        }
    }
}
