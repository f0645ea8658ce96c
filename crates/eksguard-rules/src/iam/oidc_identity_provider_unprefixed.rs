use eksguard_model::aws_kinds as k;
use eksguard_model::{FieldPath, Node, Object, Severity};

use crate::{declare_rule, Ctx, ObjectRule, Sink};

declare_rule! {
    /// ## What it checks
    /// OIDC identity providers associated with the cluster (`eks
    /// describe-identity-provider-config`, Terraform `aws_eks_identity_provider_config`,
    /// CloudFormation `AWS::EKS::IdentityProviderConfig`) that take groups from a claim
    /// (`groupsClaim`) without a `groupsPrefix` (medium), or that take usernames unprefixed
    /// (`usernamePrefix: "-"`) from a claim other than `email` (low).
    ///
    /// ## Why it matters
    /// Without a prefix, a group the identity provider lets anyone create or rename —
    /// `system:masters`, or a group an RBAC binding names — is taken by Kubernetes as that
    /// group. Unprefixed usernames can likewise collide with cluster identities such as
    /// `system:node:…`.
    ///
    /// ## Example
    /// ```json
    /// {"identityProviderConfig": {"oidc": {"identityProviderConfigName": "corp", "groupsClaim": "groups"}}}
    /// ```
    ///
    /// ## Fix
    /// Set `groupsPrefix` (and a `usernamePrefix`) such as `oidc:` so that identity
    /// provider names cannot collide with cluster names, and bind RBAC to the prefixed
    /// names.
    pub OidcIdentityProviderUnprefixed {
        id: "IAM024",
        name: "oidc-identity-provider-unprefixed",
        severity: Medium,
        data: [Eks],
        scope: Objects(&[k::EKS_IDENTITY_PROVIDER_CONFIG]),
        summary: "OIDC identity provider maps groups or usernames without a prefix",
        remediation: "Set `groupsPrefix` and `usernamePrefix` on the identity provider configuration.",
        guide: &["IAM-12", "IAM-30"],
    }
}

impl ObjectRule for OidcIdentityProviderUnprefixed {
    fn check_object(&self, _cx: &Ctx<'_>, obj: &Object, out: &mut Sink) {
        let text = |k: &str| obj.root.get(k).and_then(Node::as_str).map(str::trim);
        let name = text("identityProviderConfigName").unwrap_or(&obj.name);
        if let Some(claim) = text("groupsClaim").filter(|c| !c.is_empty()) {
            if text("groupsPrefix").is_none_or(str::is_empty) {
                out.report(
                    obj,
                    FieldPath::parse("groupsClaim"),
                    format!("identity provider `{name}` maps groups from claim `{claim}` without a `groupsPrefix`: a group named like a cluster group is taken as it"),
                );
            }
        }
        if text("usernamePrefix") == Some("-") {
            let claim = text("usernameClaim").unwrap_or("sub");
            if claim != "email" {
                out.report_with(
                    obj,
                    FieldPath::parse("usernamePrefix"),
                    Severity::Low,
                    format!("identity provider `{name}` maps usernames from claim `{claim}` without a prefix"),
                );
            }
        }
    }
}
