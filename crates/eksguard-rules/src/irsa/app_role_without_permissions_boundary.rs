use eksguard_model::{FieldPath, Object, Source};

use super::app_roles::{app_roles, KINDS};
use crate::{declare_rule, Ctx, InventoryRule, Sink};

declare_rule! {
    /// ## What it checks
    /// Application roles (as IRSA014 finds them) whose full description is in the scan and
    /// that have no permissions boundary (`PermissionsBoundary`; Terraform
    /// `permissions_boundary`, CloudFormation `PermissionsBoundary`). A full description is
    /// `iam get-role`, a `RoleDetailList` entry of `get-account-authorization-details`, a
    /// live read, or the role in code; `iam list-roles` never returns the boundary, so a
    /// role known only from it is not judged.
    ///
    /// ## Why it matters
    /// A boundary caps what any policy attached to the role later can grant: when teams
    /// write their own application policies, it keeps a mistaken `*` from reaching
    /// beyond what the platform allows.
    ///
    /// ## Example
    /// ```json
    /// {"Role": {"RoleName": "orders-api", "Arn": "arn:aws:iam::111122223333:role/orders-api", "RoleLastUsed": {}}}
    /// ```
    ///
    /// ## Fix
    /// Set a permissions boundary on roles that applications assume.
    pub AppRoleWithoutPermissionsBoundary {
        id: "IRSA021",
        name: "app-role-without-permissions-boundary",
        severity: Info,
        data: [Iam],
        scope: Inventory,
        reads: KINDS,
        summary: "Application IAM role has no permissions boundary",
        remediation: "Attach a permissions boundary that caps what the application's role may ever be granted.",
        guide: &["IAM-21"],
    }
}

/// Whether the object describes the role whole: not a `list-roles` item.
fn fully_described(role: &Object) -> bool {
    if role.iac.is_some() {
        return true;
    }
    match &role.source {
        Source::Live => true,
        Source::File { item: None, .. } => true,
        Source::File { .. } => [
            "RoleLastUsed",
            "InstanceProfileList",
            "RolePolicyList",
            "PermissionsBoundary",
        ]
        .iter()
        .any(|k| role.root.get(k).is_some()),
    }
}

impl InventoryRule for AppRoleWithoutPermissionsBoundary {
    fn check_inventory(&self, cx: &Ctx<'_>, out: &mut Sink) {
        for role in app_roles(cx).values() {
            let Some(obj) = role.role else { continue };
            if !fully_described(obj) {
                continue;
            }
            let bounded = obj
                .root
                .get("PermissionsBoundary")
                .is_some_and(|b| b.is_map() || b.as_str().is_some_and(|s| !s.trim().is_empty()));
            if !bounded {
                out.report(
                    obj,
                    FieldPath::parse("PermissionsBoundary"),
                    format!(
                        "application role `{}` has no permissions boundary ({})",
                        role.name, role.why
                    ),
                );
            }
        }
    }
}
