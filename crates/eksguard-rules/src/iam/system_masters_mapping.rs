use eksguard_model::Object;

use super::{aws_auth_entries, entry_arn, entry_groups};
use crate::{declare_rule, Ctx, Rule, Sink};

declare_rule! {
    /// ## What it checks
    /// Entries of `data.mapRoles` and `data.mapUsers` in the `kube-system/aws-auth`
    /// ConfigMap that put the IAM principal in the `system:masters` group; the finding
    /// points at the group. Mapping text that is not valid YAML is skipped without a
    /// finding.
    ///
    /// ## Why it matters
    /// `system:masters` bypasses RBAC altogether: no RoleBinding grants it and none can be
    /// removed to take it away. Anyone who can assume the role is cluster root, and audit
    /// logs cannot show which RBAC rule allowed an action.
    ///
    /// ## Example
    /// ```yaml
    /// data:
    ///   mapRoles: |
    ///     - rolearn: arn:aws:iam::111122223333:role/ops
    ///       username: ops:{{SessionName}}
    ///       groups: [system:masters]
    /// ```
    ///
    /// ## Fix
    /// Map the role to a group of your own and bind that group to the ClusterRole it
    /// needs; keep break-glass admin access outside aws-auth.
    pub SystemMastersMapping {
        id: "IAM006",
        name: "system-masters-mapping",
        severity: High,
        sources: "K,E",
        kinds: &["ConfigMap"],
        summary: "aws-auth maps an IAM principal to system:masters",
        remediation: "Map the principal to a custom group bound to a least-privilege ClusterRole instead of `system:masters`.",
    }
}

impl Rule for SystemMastersMapping {
    fn check_object(&self, _cx: &Ctx<'_>, obj: &Object, out: &mut Sink) {
        for (key, what) in [("mapRoles", "role"), ("mapUsers", "user")] {
            let Some((entries, base)) = aws_auth_entries(obj, key) else {
                continue;
            };
            for (i, entry) in entries.items().iter().enumerate() {
                for (j, g) in entry_groups(entry) {
                    if g == "system:masters" {
                        out.report(
                            obj,
                            base.index(i).key("groups").index(j),
                            format!(
                                "aws-auth maps IAM {what} `{}` to group `system:masters`",
                                entry_arn(entry)
                            ),
                        );
                    }
                }
            }
        }
    }
}
