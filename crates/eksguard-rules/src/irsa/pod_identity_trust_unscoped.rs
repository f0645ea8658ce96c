use eksguard_model::aws_kinds as k;
use eksguard_model::Object;

use crate::aws_iam::{document_allows, statements, trust_policy};
use crate::{declare_rule, Ctx, ObjectRule, Sink};

const SERVICE: &str = "pods.eks.amazonaws.com";
const SOURCE_KEYS: &[&str] = &["aws:SourceAccount", "aws:SourceArn", "aws:SourceOrgId"];

declare_rule! {
    /// ## What it checks
    /// Trust policies with an `Allow` statement for the service principal
    /// `pods.eks.amazonaws.com` (EKS Pod Identity) and `sts:AssumeRole`:
    ///
    /// - the document does not also allow `sts:TagSession` to that principal (reported
    ///   at the statement's `Action`); Pod Identity tags sessions with the cluster,
    ///   namespace and service account, and ABAC policies rely on those tags;
    /// - the statement has no condition on `aws:SourceAccount`, `aws:SourceArn` or
    ///   `aws:SourceOrgId` with a positive operator and an exact value (reported at its
    ///   `Condition`, or the statement).
    ///
    /// ## Why it matters
    /// The service principal is shared by every AWS account: without a source condition,
    /// any account's EKS cluster could be configured to hand out the role (a confused
    /// deputy), limited only by knowing its ARN.
    ///
    /// ## Example
    /// ```json
    /// {"Effect": "Allow", "Principal": {"Service": "pods.eks.amazonaws.com"},
    ///  "Action": "sts:AssumeRole"}
    /// ```
    ///
    /// ## Fix
    /// Allow `["sts:AssumeRole", "sts:TagSession"]` and add `StringEquals` on
    /// `aws:SourceAccount` (and `ArnEquals` on `aws:SourceArn` with the cluster ARN).
    pub PodIdentityTrustUnscoped {
        id: "IRSA007",
        name: "pod-identity-trust-unscoped",
        severity: Medium,
        data: [Iam],
        scope: Objects(&[k::IAM_ROLE, k::IAM_POLICY_DOCUMENT]),
        summary: "Pod Identity trust policy lacks sts:TagSession or a source account/ARN condition",
        remediation: "Allow `sts:TagSession` alongside `sts:AssumeRole` and add an `aws:SourceAccount` or `aws:SourceArn` condition.",
        guide: &["IAM-25"],
    }
}

impl ObjectRule for PodIdentityTrustUnscoped {
    fn check_object(&self, _cx: &Ctx<'_>, obj: &Object, out: &mut Sink) {
        let Some((doc, base)) = trust_policy(obj) else {
            return;
        };
        let sts = statements(doc, &base);
        let tags = document_allows(&sts, "Service", SERVICE, "sts:TagSession");
        for st in &sts {
            let for_pods = st
                .principals("Service")
                .iter()
                .any(|p| p.eq_ignore_ascii_case(SERVICE));
            if !st.is_allow() || !for_pods || !st.covers_action("sts:AssumeRole") {
                continue;
            }
            if !tags {
                out.report(
                    obj,
                    st.action_path(),
                    format!("trust for `{SERVICE}` does not allow `sts:TagSession`"),
                );
            }
            let scoped = st.conditions().iter().any(|c| {
                SOURCE_KEYS.iter().any(|k| c.key.eq_ignore_ascii_case(k)) && c.pins_values()
            });
            if !scoped {
                out.report(
                    obj,
                    st.condition_path(),
                    format!("trust for `{SERVICE}` has no `aws:SourceAccount`, `aws:SourceArn` or `aws:SourceOrgId` condition: clusters of any account could assume the role"),
                );
            }
        }
    }
}
