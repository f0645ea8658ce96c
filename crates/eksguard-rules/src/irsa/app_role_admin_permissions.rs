use std::collections::BTreeMap;

use eksguard_model::iam_policy::{is_every_action, Statement};
use eksguard_model::{FieldPath, ObjectId};

use super::app_roles::{app_roles, AppRole, Doc, KINDS};
use crate::{declare_rule, Ctx, InventoryRule, Sink};

/// AWS-managed policies that give an account's administration away.
pub(crate) const ADMIN_POLICIES: &[&str] =
    &["AdministratorAccess", "PowerUserAccess", "IAMFullAccess"];

declare_rule! {
    /// ## What it checks
    /// Application roles (IAM roles that service accounts assume through IRSA or EKS Pod
    /// Identity, node and cluster roles excepted) that hold the AWS-managed
    /// `AdministratorAccess`, `PowerUserAccess` or `IAMFullAccess`, or a policy statement
    /// that allows every action (`Action: "*"`) or everything but a list (`NotAction`).
    ///
    /// A role's permissions are its inline policies (`get-role-policy`, Terraform
    /// `aws_iam_role_policy` and `inline_policy`, CloudFormation `Policies` and
    /// `AWS::IAM::Policy`) and its attached managed policies (`list-attached-role-policies`,
    /// `managed_policy_arns`, `aws_iam_role_policy_attachment`, `ManagedPolicyArns`,
    /// `AWS::IAM::ManagedPolicy`); a customer-managed policy is judged by its default
    /// version (`get-policy-version` named by a `PolicyArn` key or a path component,
    /// `get-account-authorization-details`, `aws_iam_policy`). Only `Allow` statements
    /// grant; action names compare case-insensitively with IAM wildcards.
    ///
    /// ## Why it matters
    /// Whoever runs code in the pod, a dependency or an attacker through a remote-code
    /// bug, holds the role's credentials: an administrator role turns one compromised pod
    /// into a compromised AWS account.
    ///
    /// ## Example
    /// ```json
    /// {"RoleName": "orders-api", "AttachedPolicies": [
    ///   {"PolicyName": "AdministratorAccess", "PolicyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}]}
    /// ```
    ///
    /// ## Fix
    /// Replace the policy with one that lists the actions and resources the application
    /// calls, and consider a permissions boundary for roles that teams create themselves.
    pub AppRoleAdminPermissions {
        id: "IRSA014",
        name: "app-role-admin-permissions",
        severity: Critical,
        data: [Iam, Kubernetes, Eks],
        scope: Inventory,
        reads: KINDS,
        summary: "Application IAM role has administrator permissions",
        remediation: "Give the application's role a policy that names only the actions and resources it uses.",
        guide: &["IAM-21"],
    }
}

/// Whether IRSA014 reports the statement (the other application-role rules skip it).
pub(crate) fn statement_is_admin(st: &Statement<'_>) -> bool {
    st.is_allow()
        && (st.not_action_path().is_some()
            || st.actions().iter().any(|a| is_every_action(&a.pattern)))
}

/// One statement finding, with the application roles whose documents hold it.
struct Hit<'a> {
    obj: &'a eksguard_model::Object,
    path: FieldPath,
    what: String,
    roles: Vec<String>,
}

/// Reports each statement of the application roles' documents once, naming every role
/// it is part of; `judge` gives the paths and messages of a statement, if any.
pub(crate) fn report_statements<'a>(
    roles: &[&AppRole<'a>],
    out: &mut Sink,
    mut judge: impl FnMut(&Statement<'a>, &Doc<'a>) -> Vec<(FieldPath, String)>,
) {
    let mut seen: BTreeMap<(ObjectId, String), Hit<'a>> = BTreeMap::new();
    for role in roles {
        for doc in role.documents() {
            for st in doc.statements() {
                for (path, what) in judge(&st, &doc) {
                    let hit = seen
                        .entry((doc.obj.id, format!("{path}\u{0}{what}")))
                        .or_insert_with(|| Hit {
                            obj: doc.obj,
                            path,
                            what,
                            roles: Vec::new(),
                        });
                    if !hit.roles.contains(&role.name) {
                        hit.roles.push(role.name.clone());
                    }
                }
            }
        }
    }
    for hit in seen.into_values() {
        let names: Vec<String> = hit.roles.iter().map(|n| format!("`{n}`")).collect();
        let subject = if names.len() == 1 {
            format!("application role {}", names[0])
        } else {
            format!("application roles {}", names.join(", "))
        };
        out.report(hit.obj, hit.path, format!("{subject}: {}", hit.what));
    }
}

impl InventoryRule for AppRoleAdminPermissions {
    fn check_inventory(&self, cx: &Ctx<'_>, out: &mut Sink) {
        let roles = app_roles(cx);
        for role in roles.values() {
            for a in &role.attached {
                if let Some(n) = a
                    .aws_managed
                    .as_deref()
                    .filter(|n| ADMIN_POLICIES.contains(n))
                {
                    out.report(
                        a.list,
                        a.path.clone(),
                        format!(
                            "application role `{}` has `{n}` attached ({})",
                            role.name, role.why
                        ),
                    );
                }
            }
        }
        let all: Vec<&AppRole<'_>> = roles.values().collect();
        report_statements(&all, out, |st, _| {
            if !st.is_allow() {
                return Vec::new();
            }
            if let Some(p) = st.not_action_path() {
                return vec![(
                    p,
                    "a statement allows every action except those listed (`NotAction`)".to_string(),
                )];
            }
            st.actions()
                .into_iter()
                .filter(|a| is_every_action(&a.pattern))
                .map(|a| {
                    (
                        a.path,
                        format!("a statement allows every action (`{}`)", a.pattern),
                    )
                })
                .collect()
        });
    }
}
