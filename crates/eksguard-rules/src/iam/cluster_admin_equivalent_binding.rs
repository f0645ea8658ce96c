use eksguard_model::rbac::query::{admin_verbs, ANY_GROUP, ANY_RESOURCE};
use eksguard_model::rbac::{BindingKind, Origin, RbacModel, RequestAttributes, Role, RoleKind};

use super::{binding_scope, bound_subjects};
use crate::{declare_rule, Ctx, InventoryRule, Sink};

/// Whether the role's rules, taken together (an aggregated ClusterRole's included), grant
/// every admin verb on every resource of every API group.
fn grants_everything(role: &Role) -> bool {
    admin_verbs().all(|verb| {
        let req = RequestAttributes::resource(verb, ANY_GROUP, ANY_RESOURCE);
        role.rules.iter().any(|r| r.rule.allows(&req))
    })
}

declare_rule! {
    /// ## What it checks
    /// ClusterRoleBindings and RoleBindings whose `roleRef` is a Role or ClusterRole of the
    /// scan, other than `cluster-admin` itself (IAM009's), that is as powerful as
    /// `cluster-admin`: its rules grant every verb (`*`, or all of `get`, `list`, `watch`,
    /// `create`, `update`, `patch`, `delete`, `deletecollection`, `escalate`, `bind` and
    /// `impersonate`) on `*` resources in `*` API groups, with no `resourceNames`. The
    /// verbs may be spread over several rules, and an aggregated ClusterRole counts with
    /// the rules it takes from the ClusterRoles its selectors match. Every subject other
    /// than the group `system:masters` is a finding, at the subject. Roles that are not in
    /// the scan are not judged.
    ///
    /// ## Why it matters
    /// A copy of `cluster-admin` under another name gives the same total control while
    /// escaping reviews and policies that look for `cluster-admin` by name. IAM008 flags
    /// the wildcard in the role; this rule names who actually holds it.
    ///
    /// ## Example
    /// ```yaml
    /// kind: ClusterRole
    /// metadata: {name: platform-superuser}
    /// rules:
    /// - apiGroups: ["*"]
    ///   resources: ["*"]
    ///   verbs: ["*"]
    /// ---
    /// kind: ClusterRoleBinding
    /// roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: platform-superuser}
    /// subjects:
    /// - kind: ServiceAccount
    ///   name: deployer
    ///   namespace: ci
    /// ```
    ///
    /// ## Fix
    /// Bind a role that lists only the API groups, resources and verbs the subject needs,
    /// in the namespaces it needs; keep cluster administration to a few named people.
    pub ClusterAdminEquivalentBinding {
        id: "IAM020",
        name: "cluster-admin-equivalent-binding",
        severity: High,
        data: [Kubernetes],
        scope: Inventory,
        reads: &["ClusterRoleBinding", "RoleBinding", "ClusterRole", "Role"],
        summary: "Subject bound to a role as powerful as cluster-admin",
        remediation: "Bind a least-privilege role instead of one granting every verb on every resource.",
        guide: &["IAM-08"],
    }
}

impl InventoryRule for ClusterAdminEquivalentBinding {
    // Looking the role up, aggregation included, needs the whole inventory.
    fn check_inventory(&self, cx: &Ctx<'_>, out: &mut Sink) {
        if cx.objects_of("RoleBinding").next().is_none()
            && cx.objects_of("ClusterRoleBinding").next().is_none()
        {
            return;
        }
        let model = RbacModel::from_inventory(cx.inv);
        for b in &model.bindings {
            let Origin::Object(id) = b.origin else {
                continue;
            };
            if b.kind == BindingKind::AccessPolicyAssociation {
                continue;
            }
            let Some(role) = model.role_of(b).map(|i| &model.roles[i]) else {
                continue;
            };
            if !matches!(role.origin, Origin::Object(_))
                || (role.kind == RoleKind::ClusterRole && role.name == "cluster-admin")
                || !grants_everything(role)
            {
                continue;
            }
            let obj = cx.inv.get(id);
            let scope = binding_scope(obj);
            let via = if role.aggregated_from.is_empty() {
                String::new()
            } else {
                let from: Vec<String> = role
                    .aggregated_from
                    .iter()
                    .map(|r| format!("`{r}`"))
                    .collect();
                format!(" through aggregation of {}", from.join(", "))
            };
            for (path, subject) in bound_subjects(obj) {
                out.report(
                    obj,
                    path,
                    format!(
                        "{subject} is bound {scope} to `{}`, which grants every verb on every resource like `cluster-admin`{via}",
                        role.display(),
                    ),
                );
            }
        }
    }
}
