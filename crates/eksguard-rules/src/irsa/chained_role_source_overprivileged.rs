use eksguard_model::aws_kinds as k;
use eksguard_model::{FieldPath, Node};

use super::app_roles::{app_roles, KINDS};
use crate::aws_iam::role_name;
use crate::{declare_rule, Ctx, InventoryRule, Sink};

/// What a role that only chains into another needs.
const CHAINING: [&str; 2] = ["sts:AssumeRole", "sts:TagSession"];

/// Most reasons one finding lists.
const MAX_LISTED: usize = 3;

declare_rule! {
    /// ## What it checks
    /// EKS Pod Identity associations with a `targetRoleArn` (the role the association's
    /// own role chains into, typically in another account) whose source role — the
    /// association's `roleArn` — allows anything besides `sts:AssumeRole` and
    /// `sts:TagSession`, or allows those on a resource other than the target role: an
    /// attached managed policy, `NotAction`, an action pattern with a wildcard, another
    /// action, or a `Resource` other than the target role's ARN. Reported on the
    /// association, listing what the source role grants beyond chaining.
    ///
    /// ## Why it matters
    /// The pod receives the target role's credentials, but the source role's credentials
    /// exist too: whatever it may do besides chaining is granted to the pod as well, in
    /// the cluster's account.
    ///
    /// ## Example
    /// ```json
    /// {"association": {"namespace": "orders", "serviceAccount": "api",
    ///   "roleArn": "arn:aws:iam::111122223333:role/orders-source",
    ///   "targetRoleArn": "arn:aws:iam::444455556666:role/orders"}}
    /// ```
    ///
    /// ## Fix
    /// Keep only `sts:AssumeRole` and `sts:TagSession` on the target role's ARN in the
    /// source role; give other permissions to the target role.
    pub ChainedRoleSourceOverprivileged {
        id: "IRSA019",
        name: "chained-role-source-overprivileged",
        severity: Medium,
        data: [Eks, Iam],
        scope: Inventory,
        reads: KINDS,
        summary: "Pod Identity source role grants more than chaining into its target role",
        remediation: "Reduce the source role to `sts:AssumeRole` and `sts:TagSession` on the target role's ARN.",
        guide: &["IAM-29"],
    }
}

impl InventoryRule for ChainedRoleSourceOverprivileged {
    fn check_inventory(&self, cx: &Ctx<'_>, out: &mut Sink) {
        let roles = app_roles(cx);
        for a in cx.objects_of(k::EKS_POD_IDENTITY_ASSOCIATION) {
            let text = |k: &str| {
                a.root
                    .get(k)
                    .and_then(Node::as_str)
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
            };
            let (Some(source), Some(target)) = (text("roleArn"), text("targetRoleArn")) else {
                continue;
            };
            let key = role_name(source).unwrap_or(source).to_ascii_lowercase();
            let Some(role) = roles.get(&key) else {
                continue;
            };
            let mut extra: Vec<String> = Vec::new();
            for att in &role.attached {
                extra.push(format!("policy `{}` is attached", att.shown));
            }
            for doc in role.documents() {
                let pname = doc
                    .obj
                    .root
                    .get("PolicyName")
                    .and_then(Node::as_str)
                    .unwrap_or(&doc.obj.name)
                    .to_string();
                for st in doc.statements() {
                    if !st.is_allow() {
                        continue;
                    }
                    let beyond = st.grants_beyond(&CHAINING);
                    for b in &beyond {
                        extra.push(format!("`{pname}` allows `{}`", b.pattern));
                    }
                    if !beyond.is_empty() {
                        continue;
                    }
                    if st.every_resource().is_some() {
                        extra.push(format!("`{pname}` allows chaining into any role"));
                        continue;
                    }
                    for r in st.resources() {
                        if r.pattern.trim() != target {
                            extra.push(format!("`{pname}` allows chaining into `{}`", r.pattern));
                        }
                    }
                }
            }
            if extra.is_empty() {
                continue;
            }
            let n = extra.len();
            let mut listed = extra
                .into_iter()
                .take(MAX_LISTED)
                .collect::<Vec<_>>()
                .join("; ");
            if n > MAX_LISTED {
                listed.push_str(&format!("; and {} more", n - MAX_LISTED));
            }
            out.report(
                a,
                FieldPath::parse("roleArn"),
                format!("source role `{}` of a chain into `{target}` grants more than chaining: {listed}", role.name),
            );
        }
    }
}
