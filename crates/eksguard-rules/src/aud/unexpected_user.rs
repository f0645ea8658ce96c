use eksguard_model::audit::AuditEvent;
use eksguard_model::FieldPath;

use crate::aud::{is_system_user, matches_any, ReportedRecently, REPORTED_KEYS};
use crate::{declare_rule, EventCtx, EventSink, EventWindow, WindowRule};

declare_rule! {
    /// ## What it checks
    /// A finished request by a non-system user (a name starting neither with `system:`
    /// nor with `eks:`) that matches no pattern of `allowed_users` (`*` matches
    /// anything, e.g. `arn:aws:sts::111122223333:assumed-role/admin/*`). The rule is
    /// inactive while the list is empty. Each user is reported once per
    /// `report_every_seconds` (default one hour), with the request that revealed them.
    /// Corresponds to the Falco k8saudit rule `Disallowed K8s User`.
    ///
    /// ## Why it matters
    /// On EKS every person reaches the cluster through an IAM mapping; a user name
    /// nobody expected is a mapping nobody reviewed, or a credential in the wrong hands.
    ///
    /// ## Example
    /// With `allowed_users = ["kubernetes-admin"]`:
    /// ```json
    /// {"kind":"Event","verb":"create","user":{"username":"some-user"},
    ///  "objectRef":{"resource":"namespaces","name":"foo"}}
    /// ```
    ///
    /// ## Fix
    /// Find the aws-auth mapping or access entry behind the user; remove it, or add the
    /// user to `allowed_users`.
    pub UnexpectedUser {
        id: "AUD025",
        name: "unexpected-user",
        severity: Medium,
        data: [Audit],
        scope: EventWindow,
        summary: "A request by a user outside the allow-list",
        remediation: "Remove the mapping behind the user, or add the user to the rule's allowed_users.",
        params: Params,
        guide: &["DC-07"],
    }
}

crate::rule_params! {
    pub struct Params {
        /// User name patterns (`*` matches anything) expected in the cluster; the rule is
        /// inactive while empty.
        allowed_users: Vec<String> = Vec::new(),
        /// Each user is reported at most once per this many seconds.
        report_every_seconds: i64 = 3600,
    }
}

struct Unexpected {
    allowed: Vec<String>,
    reported: ReportedRecently,
}

impl EventWindow for Unexpected {
    fn observe(&mut self, _cx: &EventCtx<'_>, ev: &AuditEvent<'_>, out: &mut EventSink) {
        let user = ev.username();
        if user.is_empty() || is_system_user(user) || !ev.is_complete() {
            return;
        }
        if matches_any(&self.allowed, user) || !self.reported.due(user, ev.time_micros()) {
            return;
        }
        out.report(
            FieldPath::parse("user.username"),
            format!("unexpected user `{user}`: {} {}", ev.verb(), ev.uri()),
        );
    }

    fn save(&self) -> serde_json::Value {
        self.reported.save()
    }

    fn restore(&mut self, state: &serde_json::Value) -> Result<(), String> {
        self.reported.restore(state)
    }
}

impl WindowRule for UnexpectedUser {
    fn event_window(&self, cx: &EventCtx<'_>) -> Option<Box<dyn EventWindow>> {
        let params = cx.params::<Params>(&Self::META);
        if params.allowed_users.is_empty() {
            return None;
        }
        Some(Box::new(Unexpected {
            allowed: params.allowed_users.clone(),
            reported: ReportedRecently::new(params.report_every_seconds, REPORTED_KEYS),
        }))
    }
}

#[cfg(test)]
mod tests {
    use crate::aud::testing::{event, params, run};

    #[test]
    fn fires_once_per_unexpected_user() {
        let lines = [
            event("kubernetes-admin", "get", r#""resource":"pods""#, 200, ""),
            event("some-user", "create", r#""resource":"namespaces""#, 201, ""),
            event("some-user", "get", r#""resource":"pods""#, 200, ""),
            event(
                "system:node:ip-10-0-0-1",
                "get",
                r#""resource":"pods""#,
                200,
                "",
            ),
        ];
        assert!(
            run("AUD025", Default::default(), &lines).is_empty(),
            "inactive without a list"
        );
        let p = params(
            "AUD025",
            "allowed_users",
            serde_json::json!(["kubernetes-admin", "arn:aws:sts::*:assumed-role/admin/*"]),
        );
        let got = run("AUD025", p, &lines);
        assert_eq!(
            got,
            [(
                2,
                "user.username".into(),
                "unexpected user `some-user`: create /x".into()
            )]
        );
    }
}
