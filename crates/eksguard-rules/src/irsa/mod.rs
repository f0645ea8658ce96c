//! IRSA — workload identity (IRSA, Pod Identity, instance metadata).

mod app_role_admin_permissions;
mod app_role_privilege_escalation;
mod app_role_service_wildcard;
mod app_role_without_permissions_boundary;
mod app_roles;
mod aws_node_uses_node_role;
mod chained_role_source_overprivileged;
mod default_service_account_automount;
mod default_service_account_used;
mod imds_reachable_from_pods;
mod irsa_instead_of_pod_identity;
mod irsa_trust_missing_aud;
mod irsa_trust_missing_sub;
mod irsa_trust_other_cluster_issuer;
mod irsa_trust_wildcard_sub;
mod kube2iam_or_kiam;
mod node_role_excess_permissions;
mod pod_identity_abac_incomplete;
mod pod_identity_trust_unscoped;
mod service_account_token_automount;
mod shared_iam_role;
mod shared_service_account;

pub use app_role_admin_permissions::AppRoleAdminPermissions;
pub use app_role_privilege_escalation::AppRolePrivilegeEscalation;
pub use app_role_service_wildcard::AppRoleServiceWildcard;
pub use app_role_without_permissions_boundary::AppRoleWithoutPermissionsBoundary;
pub use aws_node_uses_node_role::AwsNodeUsesNodeRole;
pub use chained_role_source_overprivileged::ChainedRoleSourceOverprivileged;
pub use default_service_account_automount::DefaultServiceAccountAutomount;
pub use default_service_account_used::DefaultServiceAccountUsed;
pub use imds_reachable_from_pods::ImdsReachableFromPods;
pub use irsa_instead_of_pod_identity::IrsaInsteadOfPodIdentity;
pub use irsa_trust_missing_aud::IrsaTrustMissingAud;
pub use irsa_trust_missing_sub::IrsaTrustMissingSub;
pub use irsa_trust_other_cluster_issuer::IrsaTrustOtherClusterIssuer;
pub use irsa_trust_wildcard_sub::IrsaTrustWildcardSub;
pub use kube2iam_or_kiam::Kube2iamOrKiam;
pub use node_role_excess_permissions::NodeRoleExcessPermissions;
pub use pod_identity_abac_incomplete::PodIdentityAbacIncomplete;
pub use pod_identity_trust_unscoped::PodIdentityTrustUnscoped;
pub use service_account_token_automount::ServiceAccountTokenAutomount;
pub use shared_iam_role::SharedIamRole;
pub use shared_service_account::SharedServiceAccount;

use eksguard_model::{FieldPath, Object};

use crate::Rule;

pub const RULES: &[&dyn Rule] = &[
    &DefaultServiceAccountAutomount,
    &DefaultServiceAccountUsed,
    &ServiceAccountTokenAutomount,
    &IrsaTrustMissingSub,
    &IrsaTrustWildcardSub,
    &IrsaTrustMissingAud,
    &PodIdentityTrustUnscoped,
    &SharedIamRole,
    &ImdsReachableFromPods,
    &NodeRoleExcessPermissions,
    &AwsNodeUsesNodeRole,
    &Kube2iamOrKiam,
    &SharedServiceAccount,
    &AppRoleAdminPermissions,
    &AppRoleServiceWildcard,
    &AppRolePrivilegeEscalation,
    &IrsaTrustOtherClusterIssuer,
    &PodIdentityAbacIncomplete,
    &ChainedRoleSourceOverprivileged,
    &IrsaInsteadOfPodIdentity,
    &AppRoleWithoutPermissionsBoundary,
];

/// At most this many other users are named in a shared-identity finding.
const MAX_LISTED: usize = 5;

/// Names the other users of a shared identity, capped so one finding stays one line.
pub(crate) fn list_others(others: &[String]) -> String {
    let mut listed = others
        .iter()
        .take(MAX_LISTED)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if others.len() > MAX_LISTED {
        listed.push_str(&format!(" and {} more", others.len() - MAX_LISTED));
    }
    listed
}

/// The annotation that gives a ServiceAccount an IAM role through IRSA.
pub(crate) const ROLE_ARN: &str = "eks.amazonaws.com/role-arn";

/// The IRSA role ARN a ServiceAccount is annotated with, if any (blank counts as none).
pub(crate) fn irsa_role(sa: &Object) -> Option<&str> {
    sa.annotation(ROLE_ARN)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

pub(crate) fn role_arn_path() -> FieldPath {
    FieldPath::parse("metadata.annotations").key(ROLE_ARN)
}

/// The repository's last path component of an image reference, without registry, tag or
/// digest: `quay.io/uswitch/kiam:v4.2` gives `kiam`.
pub(crate) fn image_repo_name(image: &str) -> &str {
    let no_digest = image.split('@').next().unwrap_or(image);
    let last = no_digest.rsplit('/').next().unwrap_or(no_digest);
    last.split(':').next().unwrap_or(last)
}

#[cfg(test)]
mod tests {
    use super::image_repo_name;

    #[test]
    fn repo_name_strips_registry_tag_and_digest() {
        assert_eq!(image_repo_name("jtblin/kube2iam:0.11.2"), "kube2iam");
        assert_eq!(image_repo_name("quay.io/uswitch/kiam:v4.2"), "kiam");
        assert_eq!(image_repo_name("localhost:5000/kiam@sha256:abc"), "kiam");
        assert_eq!(image_repo_name("kiam"), "kiam");
        assert_eq!(
            image_repo_name("registry:5000/team/kiam-exporter"),
            "kiam-exporter"
        );
    }
}
