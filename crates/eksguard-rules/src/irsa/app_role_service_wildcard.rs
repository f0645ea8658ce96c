use eksguard_model::iam_policy::whole_service;

use super::app_role_admin_permissions::{report_statements, statement_is_admin, ADMIN_POLICIES};
use super::app_roles::{app_roles, AppRole, KINDS};
use crate::{declare_rule, Ctx, InventoryRule, Sink};

declare_rule! {
    /// ## What it checks
    /// Application roles (as IRSA014 finds them) with an `Allow` statement granting a whole
    /// service (`s3:*`, `dynamodb:*`) on every resource (`Resource: "*"` or `NotResource`),
    /// or an AWS-managed `…FullAccess` policy attached (`AmazonS3FullAccess`,
    /// `AmazonEC2FullAccess`, …). What IRSA014 reports (administrator policies, `*` and
    /// `NotAction` statements) is not reported again.
    ///
    /// ## Why it matters
    /// A pod that needs to read one bucket but may delete every bucket, table or instance
    /// of the account turns a compromised dependency into lost data. Least privilege for
    /// application roles is the guide's first IAM recommendation for workloads.
    ///
    /// ## Example
    /// ```json
    /// {"RoleName": "reports", "PolicyName": "s3",
    ///  "PolicyDocument": {"Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}}
    /// ```
    ///
    /// ## Fix
    /// List the actions the application calls and the ARNs of the resources it uses.
    pub AppRoleServiceWildcard {
        id: "IRSA015",
        name: "app-role-service-wildcard",
        severity: Medium,
        data: [Iam, Kubernetes, Eks],
        scope: Inventory,
        reads: KINDS,
        summary: "Application IAM role grants a whole service on every resource",
        remediation: "Name the actions and resource ARNs the application uses instead of `service:*` on `*` or a FullAccess policy.",
        guide: &["IAM-21"],
    }
}

impl InventoryRule for AppRoleServiceWildcard {
    fn check_inventory(&self, cx: &Ctx<'_>, out: &mut Sink) {
        let roles = app_roles(cx);
        for role in roles.values() {
            for a in &role.attached {
                let Some(n) = a.aws_managed.as_deref() else {
                    continue;
                };
                if n.ends_with("FullAccess") && !ADMIN_POLICIES.contains(&n) {
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
            if !st.is_allow() || statement_is_admin(st) {
                return Vec::new();
            }
            if st.every_resource().is_none() {
                return Vec::new();
            }
            st.actions()
                .into_iter()
                .filter_map(|a| {
                    let svc = whole_service(&a.pattern)?.to_string();
                    Some((
                        a.path,
                        format!(
                            "a statement allows every `{svc}` action (`{}`) on every resource",
                            a.pattern
                        ),
                    ))
                })
                .collect()
        });
    }
}
