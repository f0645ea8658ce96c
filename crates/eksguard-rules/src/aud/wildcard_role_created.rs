use eksguard_model::audit::AuditEvent;

use crate::aud::{created_role_rule, target_name, who};
use crate::{declare_rule, EventCtx, EventRule, EventSink};

declare_rule! {
    /// ## What it checks
    /// A Role or ClusterRole created successfully with `*` among the verbs or resources
    /// of a rule; the finding points at the first such rule. Corresponds to the Falco
    /// k8saudit rule `ClusterRole With Wildcard Created`.
    ///
    /// ## Why it matters
    /// Wildcards grant rights on resources and verbs that exist now and that will be
    /// added later (custom resources, new subresources): never least privilege.
    ///
    /// ## Example
    /// ```json
    /// {"kind":"Event","verb":"create","objectRef":{"resource":"clusterroles"},
    ///  "requestObject":{"rules":[{"apiGroups":[""],"resources":["*"],"verbs":["get"]}]}}
    /// ```
    ///
    /// ## Fix
    /// List the verbs and resources the role needs.
    pub WildcardRoleCreated {
        id: "AUD011",
        name: "wildcard-role-created",
        severity: High,
        data: [Audit],
        scope: Events,
        summary: "A role with wildcard verbs or resources was created",
        remediation: "Replace `*` with the verbs and resources the role needs.",
        guide: &["DC-07"],
    }
}

impl EventRule for WildcardRoleCreated {
    fn check_event(&self, _cx: &EventCtx<'_>, ev: &AuditEvent<'_>, out: &mut EventSink) {
        let wildcard = |verbs: &[&str], resources: &[&str]| {
            if resources.contains(&"*") {
                Some("resources")
            } else if verbs.contains(&"*") {
                Some("verbs")
            } else {
                None
            }
        };
        if let Some((path, field)) = created_role_rule(ev, wildcard) {
            out.report(
                path,
                format!(
                    "{} created role {} with `*` {field}",
                    who(ev),
                    target_name(ev)
                ),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::aud::testing::{event, run};

    #[test]
    fn fires_on_wildcards() {
        let role = |rules: &str| {
            event(
                "alice",
                "create",
                r#""resource":"clusterroles","name":"r""#,
                201,
                &format!(r#""requestObject":{{"rules":{rules}}}"#),
            )
        };
        let lines = [
            role(r#"[{"resources":["pods"],"verbs":["get"]}]"#),
            role(
                r#"[{"resources":["pods"],"verbs":["get"]},{"resources":["secrets"],"verbs":["*"]}]"#,
            ),
        ];
        let got = run("AUD011", Default::default(), &lines);
        assert_eq!(
            got,
            [(
                2,
                "requestObject.rules[1].verbs".into(),
                "`alice` created role r with `*` verbs".into()
            )]
        );
    }
}
