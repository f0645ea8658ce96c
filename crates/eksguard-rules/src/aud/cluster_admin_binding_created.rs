use eksguard_model::audit::AuditEvent;
use eksguard_model::FieldPath;
use serde_json::Value as Json;

use crate::aud::{str_at, succeeded_on, target_name, who};
use crate::{declare_rule, EventCtx, EventRule, EventSink};

declare_rule! {
    /// ## What it checks
    /// A ClusterRoleBinding or RoleBinding created successfully whose `roleRef` is the
    /// ClusterRole `cluster-admin`; the message lists the subjects. Corresponds to the
    /// Falco k8saudit rule `Attach to cluster-admin Role`.
    ///
    /// ## Why it matters
    /// `cluster-admin` is every right on every object. A new binding to it is the most
    /// direct form of privilege escalation and of persistence after a compromise.
    ///
    /// ## Example
    /// ```json
    /// {"kind":"Event","verb":"create","objectRef":{"resource":"clusterrolebindings"},
    ///  "requestObject":{"roleRef":{"kind":"ClusterRole","name":"cluster-admin"},
    ///   "subjects":[{"kind":"User","name":"mallory"}]}}
    /// ```
    ///
    /// ## Fix
    /// Confirm the binding was approved; otherwise delete it and bind a narrower role.
    pub ClusterAdminBindingCreated {
        id: "AUD010",
        name: "cluster-admin-binding-created",
        severity: High,
        data: [Audit],
        scope: Events,
        summary: "A binding to cluster-admin was created",
        remediation: "Delete the binding unless it was approved and bind a narrower role instead.",
        guide: &["DC-07"],
    }
}

impl EventRule for ClusterAdminBindingCreated {
    fn check_event(&self, _cx: &EventCtx<'_>, ev: &AuditEvent<'_>, out: &mut EventSink) {
        let binding = ["clusterrolebindings", "rolebindings"]
            .into_iter()
            .any(|r| succeeded_on(ev, &["create"], r));
        if !binding {
            return;
        }
        let Some(body) = ev.request_json() else {
            return;
        };
        if str_at(&body, &["roleRef", "name"]) != Some("cluster-admin")
            || str_at(&body, &["roleRef", "kind"]).is_some_and(|k| k != "ClusterRole")
        {
            return;
        }
        let subjects: Vec<String> = body
            .get("subjects")
            .and_then(Json::as_array)
            .into_iter()
            .flatten()
            .map(|s| {
                format!(
                    "{} {}",
                    s.get("kind").and_then(Json::as_str).unwrap_or("?"),
                    s.get("name").and_then(Json::as_str).unwrap_or("?")
                )
            })
            .collect();
        out.report(
            FieldPath::parse("requestObject.roleRef.name"),
            format!(
                "{} bound cluster-admin to {} ({})",
                who(ev),
                if subjects.is_empty() {
                    "no subjects".to_string()
                } else {
                    subjects.join(", ")
                },
                target_name(ev)
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use crate::aud::testing::{event, run};

    #[test]
    fn fires_on_cluster_admin_bindings() {
        let b = |role: &str| {
            event(
                "alice",
                "create",
                r#""resource":"clusterrolebindings","name":"b""#,
                201,
                &format!(
                    r#""requestObject":{{"roleRef":{{"kind":"ClusterRole","name":"{role}"}},"subjects":[{{"kind":"User","name":"mallory"}}]}}"#
                ),
            )
        };
        let got = run(
            "AUD010",
            Default::default(),
            &[b("view"), b("cluster-admin")],
        );
        assert_eq!(
            got,
            [(
                2,
                "requestObject.roleRef.name".into(),
                "`alice` bound cluster-admin to User mallory (b)".into()
            )]
        );
    }
}
