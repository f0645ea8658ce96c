use eksguard_model::aws_kinds as k;
use eksguard_model::Object;

use crate::aws_iam::{claim_issuer, statements, trust_policy, web_identity_statements};
use crate::{declare_rule, Ctx, ObjectRule, Sink};

declare_rule! {
    /// ## What it checks
    /// In the web-identity statements of trust policies (see IRSA004), `<issuer>:sub`
    /// conditions whose values are patterns: a value with `*` or `?` under `StringLike`
    /// (or `ArnLike`, any qualifier or `IfExists` form). Each such value is a finding,
    /// saying whether it admits every service account of one namespace
    /// (`system:serviceaccount:ns:*`) or more. `StringLike` with a plain value matches
    /// exactly and is left alone, and so is a `*` under `StringEquals`, which IAM reads
    /// literally.
    ///
    /// ## Why it matters
    /// A wildcard subject lets every matching service account assume the role: anyone
    /// who can create a service account or a pod in the namespace gets its AWS
    /// permissions.
    ///
    /// ## Example
    /// ```json
    /// "Condition": {"StringLike": {
    ///   "oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLE:sub": "system:serviceaccount:apps:*"}}
    /// ```
    ///
    /// ## Fix
    /// Use `StringEquals` with the exact service account names.
    pub IrsaTrustWildcardSub {
        id: "IRSA005",
        name: "irsa-trust-wildcard-sub",
        severity: High,
        data: [Iam],
        scope: Objects(&[k::IAM_ROLE, k::IAM_POLICY_DOCUMENT]),
        summary: "IRSA trust policy matches service accounts by wildcard",
        remediation: "Replace the `StringLike` pattern on `<issuer>:sub` with `StringEquals` and the exact service account names.",
        guide: &["IAM-15"],
    }
}

/// What a `:sub` pattern admits.
fn scope(pattern: &str) -> String {
    let parts: Vec<&str> = pattern.split(':').collect();
    if let ["system", "serviceaccount", ns, name] = parts.as_slice() {
        if !ns.contains(['*', '?']) {
            return if *name == "*" {
                format!("every service account of namespace `{ns}`")
            } else {
                format!("several service accounts of namespace `{ns}`")
            };
        }
    }
    "service accounts of any namespace".to_string()
}

impl ObjectRule for IrsaTrustWildcardSub {
    fn check_object(&self, _cx: &Ctx<'_>, obj: &Object, out: &mut Sink) {
        let Some((doc, base)) = trust_policy(obj) else {
            return;
        };
        let sts = statements(doc, &base);
        for (st, issuers) in web_identity_statements(&sts) {
            for c in st.conditions() {
                let Some(ki) = claim_issuer(&c.key, "sub") else {
                    continue;
                };
                if !c.is_positive_match() || !issuers.iter().any(|i| i.eq_ignore_ascii_case(ki)) {
                    continue;
                }
                for (idx, v) in c.wildcard_values() {
                    out.report(
                        obj,
                        c.value_path(*idx),
                        format!(
                            "`{}` on `:sub` matches `{v}`: {} can assume the role",
                            c.operator,
                            scope(v)
                        ),
                    );
                }
            }
        }
    }
}
