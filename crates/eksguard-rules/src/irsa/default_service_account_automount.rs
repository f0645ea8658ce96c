use eksguard_model::{FieldPath, Node, Object};

use crate::{declare_rule, Ctx, ObjectRule, Sink};

declare_rule! {
    /// ## What it checks
    /// ServiceAccounts named `default` — in any namespace — that do not set
    /// `automountServiceAccountToken: false`.
    ///
    /// ## Why it matters
    /// Every pod that names no service account runs as `default`, and gets its token
    /// mounted unless something says otherwise. Turning automount off on `default` means
    /// only pods that opt in carry an API credential an attacker could steal.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: v1
    /// kind: ServiceAccount
    /// metadata:
    ///   name: default
    ///   namespace: shop
    /// ```
    ///
    /// ## Fix
    /// Set `automountServiceAccountToken: false` on the `default` ServiceAccount and give
    /// pods that need the API a dedicated service account.
    pub DefaultServiceAccountAutomount {
        id: "IRSA001",
        name: "default-service-account-automount",
        severity: Low,
        data: [Kubernetes],
        scope: Objects(&["ServiceAccount"]),
        summary: "Default service account automounts its token",
        remediation: "Set `automountServiceAccountToken: false` on the `default` ServiceAccount.",
        guide: &["IAM-18", "PS-09"],
    }
}

impl ObjectRule for DefaultServiceAccountAutomount {
    fn check_object(&self, _cx: &Ctx<'_>, obj: &Object, out: &mut Sink) {
        if &*obj.name != "default" {
            return;
        }
        let value = obj
            .root
            .get("automountServiceAccountToken")
            .and_then(Node::as_bool);
        if value == Some(false) {
            return;
        }
        let ns = obj.ns().unwrap_or("default");
        let how = if value == Some(true) {
            "sets `automountServiceAccountToken: true`"
        } else {
            "does not set `automountServiceAccountToken: false`"
        };
        out.report(
            obj,
            FieldPath::parse("automountServiceAccountToken"),
            format!("the `default` service account of namespace `{ns}` {how}"),
        );
    }
}
