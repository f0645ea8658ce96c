use eksguard_model::aws_kinds as k;
use eksguard_model::Object;

use crate::aws_iam::{claim_issuer, unpinned_issuers, Cond};
use crate::{declare_rule, Ctx, ObjectRule, Sink};

declare_rule! {
    /// ## What it checks
    /// In the web-identity statements of trust policies (see IRSA004), an issuer with no
    /// `<issuer>:aud` condition that pins the audience: a positive operator whose values
    /// are exact (no pattern under `StringLike`). `sts.amazonaws.com` is the audience EKS
    /// projects for IRSA; a condition naming another exact audience also pins it and is
    /// left alone. The finding points at the statement's `Condition` (or the statement).
    ///
    /// ## Why it matters
    /// Without an audience check, a token issued for a different audience (another
    /// service or tool that trusts the same cluster issuer) can be replayed to STS to
    /// assume the role.
    ///
    /// ## Example
    /// ```json
    /// "Condition": {"StringEquals": {
    ///   "oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLE:sub": "system:serviceaccount:apps:api"}}
    /// ```
    ///
    /// ## Fix
    /// Add `"<issuer>:aud": "sts.amazonaws.com"` to the `StringEquals` block.
    pub IrsaTrustMissingAud {
        id: "IRSA006",
        name: "irsa-trust-missing-aud",
        severity: Low,
        data: [Iam],
        scope: Objects(&[k::IAM_ROLE, k::IAM_POLICY_DOCUMENT]),
        summary: "IRSA trust policy does not check the token audience (no :aud condition)",
        remediation: "Add a `StringEquals` condition `<issuer>:aud` = `sts.amazonaws.com`.",
        guide: &["IAM-15"],
    }
}

impl ObjectRule for IrsaTrustMissingAud {
    fn check_object(&self, _cx: &Ctx<'_>, obj: &Object, out: &mut Sink) {
        let pinned = |c: &Cond, issuer: &str| {
            claim_issuer(&c.key, "aud").is_some_and(|ki| ki.eq_ignore_ascii_case(issuer))
                && c.pins_values()
        };
        for (path, issuer) in unpinned_issuers(obj, pinned) {
            out.report(
                obj,
                path,
                format!("web identity trust for `{issuer}` has no `{issuer}:aud` condition for `sts.amazonaws.com`"),
            );
        }
    }
}
