use eksguard_model::aws_kinds as k;
use eksguard_model::Object;

use crate::aws_iam::{claim_issuer, unpinned_issuers, Cond};
use crate::{declare_rule, Ctx, ObjectRule, Sink};

declare_rule! {
    /// ## What it checks
    /// Trust policies (an `IAMRole`'s `AssumeRolePolicyDocument`, or a bare policy
    /// document with principals) with an `Allow` statement for an OIDC provider
    /// (`Federated: arn:...:oidc-provider/<issuer>`) and `sts:AssumeRoleWithWebIdentity`
    /// (directly or through wildcards or `NotAction`) whose conditions do not pin the
    /// token's subject. The subject is pinned for a provider when a condition tests
    /// `<issuer>:sub` with a positive operator (`StringEquals`, `StringLike`, their
    /// `IgnoreCase`/`IfExists`/`ForAnyValue:` forms; keys compared without case). A `:sub`
    /// test for another issuer also blocks this provider's tokens, unless it passes on a
    /// missing key (`...IfExists`, `ForAllValues:`). Negated operators (`StringNotEquals`)
    /// and `Null` pin nothing. The finding points at the statement's `Condition` (or the
    /// statement when it has none).
    ///
    /// ## Why it matters
    /// Without a subject condition any service account of any namespace in the cluster
    /// (and, for a shared issuer, anything the provider issues tokens for) can assume the
    /// role.
    ///
    /// ## Example
    /// ```json
    /// {"Effect": "Allow",
    ///  "Principal": {"Federated": "arn:aws:iam::111122223333:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLE"},
    ///  "Action": "sts:AssumeRoleWithWebIdentity",
    ///  "Condition": {"StringEquals": {"oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLE:aud": "sts.amazonaws.com"}}}
    /// ```
    ///
    /// ## Fix
    /// Add `StringEquals` on `<issuer>:sub` with the one service account
    /// (`system:serviceaccount:<namespace>:<name>`) that needs the role.
    pub IrsaTrustMissingSub {
        id: "IRSA004",
        name: "irsa-trust-missing-sub",
        severity: Critical,
        data: [Iam],
        scope: Objects(&[k::IAM_ROLE, k::IAM_POLICY_DOCUMENT]),
        summary: "IRSA trust policy does not restrict the service account (no :sub condition)",
        remediation: "Add a `StringEquals` condition on `<issuer>:sub` naming the one service account allowed to assume the role.",
        guide: &["IAM-15"],
    }
}

impl ObjectRule for IrsaTrustMissingSub {
    fn check_object(&self, _cx: &Ctx<'_>, obj: &Object, out: &mut Sink) {
        // A condition on another issuer's `:sub` that the request must carry fails for
        // tokens of this issuer, so it pins this one too.
        let pinned = |c: &Cond, issuer: &str| {
            claim_issuer(&c.key, "sub").is_some_and(|ki| {
                c.is_positive_match()
                    && (ki.eq_ignore_ascii_case(issuer) || !c.passes_when_absent())
            })
        };
        for (path, issuer) in unpinned_issuers(obj, pinned) {
            out.report(
                obj,
                path,
                format!("web identity trust for `{issuer}` has no `{issuer}:sub` condition: any service account it issues tokens for can assume the role"),
            );
        }
    }
}
