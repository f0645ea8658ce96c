use std::collections::BTreeMap;

use super::app_role_admin_permissions::{report_statements, statement_is_admin};
use super::app_roles::{app_roles, AppRole, KINDS};
use crate::{declare_rule, Ctx, InventoryRule, Sink};

declare_rule! {
    /// ## What it checks
    /// Application roles (as IRSA014 finds them) that may raise their own privileges: an
    /// `Allow` statement granting, on `Resource: "*"` or on a pattern that covers every
    /// role, user or policy of an account (`arn:aws:iam::*:role/*`,
    /// `arn:aws:iam::111122223333:role/*`), any of `iam:PassRole`, `sts:AssumeRole`,
    /// `iam:CreatePolicyVersion`, `iam:SetDefaultPolicyVersion`, `iam:Attach{Role,User,Group}Policy`,
    /// `iam:Put{Role,User,Group}Policy`, `iam:UpdateAssumeRolePolicy`,
    /// `iam:CreateAccessKey`, `iam:CreateLoginProfile`, `iam:UpdateLoginProfile` or
    /// `iam:AddUserToGroup` — by name, by a pattern that matches one (`iam:*`,
    /// `iam:Pass*`) or through `NotAction`. Conditions do not lift it: an
    /// `iam:PassedToService` condition still lets the pod pass any role to that service.
    /// Statements IRSA014 reports are not reported again.
    ///
    /// ## Why it matters
    /// Each of these turns the pod's credentials into more: passing an administrator role
    /// to a new EC2 instance or Lambda function, rewriting a policy the role itself holds,
    /// or minting access keys for a user.
    ///
    /// ## Example
    /// ```json
    /// {"Statement": [{"Effect": "Allow", "Action": ["iam:PassRole", "ec2:RunInstances"], "Resource": "*"}]}
    /// ```
    ///
    /// ## Fix
    /// Name the one role the application passes or assumes; leave policy and user
    /// administration to roles no workload holds.
    pub AppRolePrivilegeEscalation {
        id: "IRSA016",
        name: "app-role-privilege-escalation",
        severity: High,
        data: [Iam, Kubernetes, Eks],
        scope: Inventory,
        reads: KINDS,
        summary: "Application IAM role can escalate its own privileges",
        remediation: "Restrict `iam:PassRole`, `sts:AssumeRole` and IAM write actions to the specific resources the application needs, or remove them.",
        guide: &["IAM-21"],
    }
}

impl InventoryRule for AppRolePrivilegeEscalation {
    fn check_inventory(&self, cx: &Ctx<'_>, out: &mut Sink) {
        let roles = app_roles(cx);
        let all: Vec<&AppRole<'_>> = roles.values().collect();
        report_statements(&all, out, |st, _| {
            if statement_is_admin(st) {
                return Vec::new();
            }
            let mut by_path: BTreeMap<String, (eksguard_model::FieldPath, Vec<&str>)> =
                BTreeMap::new();
            for (action, path) in st.escalations() {
                by_path
                    .entry(path.to_string())
                    .or_insert_with(|| (path, Vec::new()))
                    .1
                    .push(action);
            }
            by_path
                .into_values()
                .map(|(path, actions)| {
                    let listed: Vec<String> = actions.iter().map(|a| format!("`{a}`")).collect();
                    (
                        path,
                        format!(
                            "a statement allows {} on every resource of its kind",
                            listed.join(", ")
                        ),
                    )
                })
                .collect()
        });
    }
}
