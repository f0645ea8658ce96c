use eksguard_model::{FieldPath, Node, Object};

use crate::{declare_rule, Ctx, ObjectRule, Sink};

declare_rule! {
    /// ## What it checks
    /// Secrets of type `kubernetes.io/service-account-token`, the long-lived tokens that
    /// the token controller fills in for the service account named in the
    /// `kubernetes.io/service-account.name` annotation.
    ///
    /// ## Why it matters
    /// These tokens never expire and are not bound to a pod, so a copy stays valid until
    /// the Secret is deleted — from any network that reaches the API server. Pods get
    /// short-lived, audience-bound projected tokens without them.
    ///
    /// ## Example
    /// ```yaml
    /// kind: Secret
    /// type: kubernetes.io/service-account-token
    /// metadata:
    ///   annotations:
    ///     kubernetes.io/service-account.name: ci-bot
    /// ```
    ///
    /// ## Fix
    /// Delete the Secret; use projected tokens in pods, or `kubectl create token` (the
    /// TokenRequest API) with a short lifetime for clients outside the cluster.
    pub LegacyServiceAccountToken {
        id: "IAM019",
        name: "legacy-service-account-token",
        severity: Medium,
        data: [Kubernetes],
        scope: Objects(&["Secret"]),
        summary: "Long-lived service account token Secret",
        remediation: "Delete the token Secret and use short-lived tokens from the TokenRequest API or projected volumes.",
        guide: &["IAM-03"],
    }
}

impl ObjectRule for LegacyServiceAccountToken {
    fn check_object(&self, _cx: &Ctx<'_>, obj: &Object, out: &mut Sink) {
        if obj.root.get("type").and_then(Node::as_str)
            != Some("kubernetes.io/service-account-token")
        {
            return;
        }
        let msg = match obj.annotation("kubernetes.io/service-account.name") {
            Some(sa) => format!("Secret holds a long-lived token for service account `{sa}`"),
            None => "Secret holds a long-lived service account token".to_string(),
        };
        out.report(obj, FieldPath::parse("type"), msg);
    }
}
