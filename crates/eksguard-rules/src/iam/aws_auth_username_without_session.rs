use eksguard_model::{Node, Object};

use super::{aws_auth_entries, entry_arn, entry_groups};
use crate::{declare_rule, Ctx, ObjectRule, Sink};

declare_rule! {
    /// ## What it checks
    /// Entries of `data.mapRoles` in the `kube-system/aws-auth` ConfigMap whose `username`
    /// does not contain `{{SessionName}}` (or `{{SessionNameRaw}}`), including entries with
    /// no `username` at all. Node roles — entries whose groups include `system:nodes` or
    /// `system:bootstrappers` — are exempt: nodes must use the
    /// `system:node:{{EC2PrivateDNSName}}` form, and the instance is what identifies them.
    /// Mapping text that is not valid YAML is skipped without a finding.
    ///
    /// ## Why it matters
    /// Everyone who assumes the role then shows up in the Kubernetes audit log under the
    /// same user name, so an action cannot be traced back to the person or pipeline that
    /// performed it. The session name ties it to the CloudTrail `AssumeRole` event.
    ///
    /// ## Example
    /// ```yaml
    /// data:
    ///   mapRoles: |
    ///     - rolearn: arn:aws:iam::111122223333:role/developers
    ///       username: developer
    ///       groups: [dev-team]
    /// ```
    ///
    /// ## Fix
    /// Include the session name in the user name, e.g. `developer:{{SessionName}}`.
    pub AwsAuthUsernameWithoutSession {
        id: "IAM007",
        name: "aws-auth-username-without-session",
        severity: Low,
        data: [Kubernetes],
        scope: Objects(&["ConfigMap"]),
        summary: "aws-auth role mapping username lacks the session name",
        remediation: "Add `{{SessionName}}` to the mapped username so audit logs identify who assumed the role.",
        guide: &["IAM-07"],
    }
}

impl ObjectRule for AwsAuthUsernameWithoutSession {
    fn check_object(&self, cx: &Ctx<'_>, obj: &Object, out: &mut Sink) {
        let Some((roles, base)) = aws_auth_entries(cx, obj, "mapRoles") else {
            return;
        };
        for (i, entry) in roles.items().iter().enumerate() {
            let is_node = entry_groups(entry)
                .any(|(_, g)| g == "system:nodes" || g == "system:bootstrappers");
            if is_node {
                continue;
            }
            let path = base.index(i).key("username");
            match entry.get("username").and_then(Node::scalar_text) {
                Some(u) if u.contains("{{SessionName}}") || u.contains("{{SessionNameRaw}}") => {}
                Some(u) => out.report(
                    obj,
                    path,
                    format!(
                        "role `{}` is mapped to username `{u}` without `{{{{SessionName}}}}`",
                        entry_arn(entry)
                    ),
                ),
                None => out.report(
                    obj,
                    path,
                    format!(
                        "role `{}` is mapped without a username that carries `{{{{SessionName}}}}`",
                        entry_arn(entry)
                    ),
                ),
            }
        }
    }
}
