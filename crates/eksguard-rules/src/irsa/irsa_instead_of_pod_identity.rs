use eksguard_model::Object;

use super::{irsa_role, role_arn_path};
use crate::{declare_rule, Ctx, ObjectRule, Sink};

declare_rule! {
    /// ## What it checks
    /// ServiceAccounts annotated `eks.amazonaws.com/role-arn`: they get their AWS
    /// credentials through IRSA. The guide prefers EKS Pod Identity unless IRSA is
    /// required: pods on Fargate or Windows nodes, EKS Anywhere, or a web-identity trust
    /// across accounts. Suppress the finding where one of these applies.
    ///
    /// ## Why it matters
    /// With Pod Identity, trust is granted to the EKS service once instead of per cluster
    /// OIDC provider, so roles need no rewrite when clusters are replaced, trust
    /// policies cannot name a wrong or stale issuer, and session tags name the cluster,
    /// namespace and service account for attribute-based access control.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: v1
    /// kind: ServiceAccount
    /// metadata:
    ///   name: orders
    ///   annotations:
    ///     eks.amazonaws.com/role-arn: arn:aws:iam::111122223333:role/orders
    /// ```
    ///
    /// ## Fix
    /// Create a Pod Identity association for the service account and drop the
    /// annotation; trust `pods.eks.amazonaws.com` in the role.
    pub IrsaInsteadOfPodIdentity {
        id: "IRSA020",
        name: "irsa-instead-of-pod-identity",
        severity: Info,
        data: [Kubernetes],
        scope: Objects(&["ServiceAccount"]),
        summary: "Service account uses IRSA where EKS Pod Identity is preferred",
        remediation: "Associate the service account with its role through EKS Pod Identity and remove the IRSA annotation.",
        guide: &["IAM-26", "AM-01"],
    }
}

impl ObjectRule for IrsaInsteadOfPodIdentity {
    fn check_object(&self, _cx: &Ctx<'_>, obj: &Object, out: &mut Sink) {
        if let Some(arn) = irsa_role(obj) {
            out.report(
                obj,
                role_arn_path(),
                format!(
                    "service account gets role `{arn}` through IRSA rather than EKS Pod Identity"
                ),
            );
        }
    }
}
