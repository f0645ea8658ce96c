use eksguard_model::audit::AuditEvent;

use crate::aud::{created_role_rule, target_name, who};
use crate::{declare_rule, EventCtx, EventRule, EventSink};

declare_rule! {
    /// ## What it checks
    /// A Role or ClusterRole created successfully with a rule on `pods/exec` (or
    /// `pods/*`) for the verbs `create`, `get` or `*` — the verbs exec needs. Wildcard
    /// resources are left to `AUD011`. Corresponds to the Falco k8saudit rule
    /// `ClusterRole With Pod Exec Created`, which ignores the verbs.
    ///
    /// ## Why it matters
    /// Exec rights are shell access to every pod the role reaches, with their secrets and
    /// service account tokens.
    ///
    /// ## Example
    /// ```json
    /// {"kind":"Event","verb":"create","objectRef":{"resource":"roles"},
    ///  "requestObject":{"rules":[{"resources":["pods/exec"],"verbs":["create"]}]}}
    /// ```
    ///
    /// ## Fix
    /// Keep exec rights in a separate break-glass role bound only when needed.
    pub ExecRoleCreated {
        id: "AUD012",
        name: "exec-role-created",
        severity: Medium,
        data: [Audit],
        scope: Events,
        summary: "A role granting pods/exec was created",
        remediation: "Keep pods/exec in a break-glass role bound only when needed.",
        guide: &["DC-07"],
    }
}

impl EventRule for ExecRoleCreated {
    fn check_event(&self, _cx: &EventCtx<'_>, ev: &AuditEvent<'_>, out: &mut EventSink) {
        let exec = |verbs: &[&str], resources: &[&str]| {
            let exec = resources
                .iter()
                .any(|r| matches!(*r, "pods/exec" | "pods/*"));
            let can = verbs.iter().any(|v| matches!(*v, "create" | "get" | "*"));
            (exec && can).then_some("resources")
        };
        if let Some((path, _)) = created_role_rule(ev, exec) {
            out.report(
                path,
                format!(
                    "{} created role {} granting pods/exec",
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
    fn fires_on_exec_rights() {
        let role = |rules: &str| {
            event(
                "alice",
                "create",
                r#""resource":"roles","namespace":"a","name":"r""#,
                201,
                &format!(r#""requestObject":{{"rules":{rules}}}"#),
            )
        };
        let lines = [
            role(r#"[{"resources":["pods/exec"],"verbs":["list"]}]"#),
            role(r#"[{"resources":["pods","pods/exec"],"verbs":["get"]}]"#),
        ];
        let got = run("AUD012", Default::default(), &lines);
        assert_eq!(
            got,
            [(
                2,
                "requestObject.rules[0].resources".into(),
                "`alice` created role a/r granting pods/exec".into()
            )]
        );
    }
}
