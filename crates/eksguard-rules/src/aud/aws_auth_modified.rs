use eksguard_model::audit::AuditEvent;

use crate::aud::{report_change, succeeded_on, CHANGE_VERBS};
use crate::{declare_rule, EventCtx, EventRule, EventSink};

declare_rule! {
    /// ## What it checks
    /// The `kube-system/aws-auth` ConfigMap created, updated, patched or deleted
    /// successfully, by anyone (node group tooling included: the change is what matters).
    /// EKS logs these requests at `RequestResponse`, so the log holds the new mappings.
    /// The EKS Best Practices Guide recommends alerting on exactly this; Falco has no
    /// corresponding rule.
    ///
    /// ## Why it matters
    /// aws-auth maps IAM roles and users to Kubernetes identities and groups, including
    /// `system:masters`: whoever edits it decides who is cluster administrator.
    ///
    /// ## Example
    /// ```json
    /// {"kind":"Event","verb":"patch",
    ///  "objectRef":{"resource":"configmaps","namespace":"kube-system","name":"aws-auth"}}
    /// ```
    ///
    /// ## Fix
    /// Review the change in the event's request body; move to EKS access entries
    /// (authentication mode `API`) so that access changes go through IAM and CloudTrail.
    pub AwsAuthModified {
        id: "AUD019",
        name: "aws-auth-modified",
        severity: High,
        data: [Audit],
        scope: Events,
        summary: "The aws-auth ConfigMap was changed",
        remediation: "Review the change and move cluster access to EKS access entries.",
        guide: &["DC-04", "DC-07"],
    }
}

impl EventRule for AwsAuthModified {
    fn check_event(&self, _cx: &EventCtx<'_>, ev: &AuditEvent<'_>, out: &mut EventSink) {
        if ev.namespace() != Some("kube-system")
            || !succeeded_on(ev, CHANGE_VERBS, "configmaps")
            || ev.name().as_deref() != Some("aws-auth")
        {
            return;
        }
        report_change(ev, "", out);
    }
}

#[cfg(test)]
mod tests {
    use crate::aud::testing::{event, run};

    #[test]
    fn fires_on_aws_auth_changes() {
        let cm = |ns: &str, name: &str, verb: &str| {
            event(
                "alice",
                verb,
                &format!(r#""resource":"configmaps","namespace":"{ns}","name":"{name}""#),
                200,
                "",
            )
        };
        let lines = [
            cm("kube-system", "aws-auth", "get"),
            cm("kube-system", "aws-auth", "patch"),
            cm("default", "aws-auth", "patch"),
            cm("kube-system", "coredns", "patch"),
        ];
        let got = run("AUD019", Default::default(), &lines);
        assert_eq!(
            got,
            [(
                2,
                "verb".into(),
                "`alice` patch kube-system/aws-auth".into()
            )]
        );
    }
}
