use eksguard_model::{Node, Object};

use crate::{declare_rule, Ctx, ObjectRule, Sink};

declare_rule! {
    /// ## What it checks
    /// Role and ClusterRole rules with `*` in `verbs`, `resources` or `apiGroups`. The
    /// built-in `cluster-admin` and `system:*` roles are exempt.
    ///
    /// ## Why it matters
    /// A wildcard grants every current and future permission in its scope, including new
    /// resources added by CRDs; least privilege cannot be reasoned about.
    ///
    /// ## Example
    /// ```yaml
    /// rules:
    /// - apiGroups: ["*"]
    ///   resources: ["*"]
    ///   verbs: ["*"]
    /// ```
    ///
    /// ## Fix
    /// List the API groups, resources and verbs the subject needs.
    pub RbacWildcard {
        id: "IAM008",
        name: "rbac-wildcard",
        severity: High,
        data: [Kubernetes],
        scope: Objects(&["Role", "ClusterRole"]),
        summary: "RBAC rule grants a wildcard",
        remediation: "Replace `*` with the explicit API groups, resources and verbs needed.",
        guide: &["IAM-08"],
    }
}

impl ObjectRule for RbacWildcard {
    fn check_object(&self, _cx: &Ctx<'_>, obj: &Object, out: &mut Sink) {
        if &*obj.name == "cluster-admin" || obj.name.starts_with("system:") {
            return;
        }
        let Some(rules) = obj.root.get("rules") else {
            return;
        };
        for (i, rule) in rules.items().iter().enumerate() {
            for field in ["verbs", "resources", "apiGroups"] {
                let list = rule.get(field).map(Node::items).unwrap_or(&[]);
                if let Some(j) = list.iter().position(|v| v.as_str() == Some("*")) {
                    out.report(
                        obj,
                        eksguard_model::FieldPath::parse("rules")
                            .index(i)
                            .key(field)
                            .index(j),
                        format!("rule {} grants `*` in {field}", i + 1),
                    );
                }
            }
        }
    }
}
