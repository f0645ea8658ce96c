use eksguard_model::{Node, Object};

use crate::{declare_rule, Ctx, ObjectRule, Sink, WORKLOAD_KINDS};

declare_rule! {
    /// ## What it checks
    /// Containers (init, regular and ephemeral) that take Secret data into environment
    /// variables: `env[].valueFrom.secretKeyRef` or `envFrom[].secretRef`.
    ///
    /// ## Why it matters
    /// Environment variables leak: they show in `kubectl describe`-style tooling, crash
    /// dumps, debug endpoints and logs, are inherited by every child process, and cannot
    /// be rotated without a restart. Files from a Secret volume can be restricted and
    /// are updated in place.
    ///
    /// ## Example
    /// ```yaml
    /// env:
    /// - name: DB_PASSWORD
    ///   valueFrom:
    ///     secretKeyRef: {name: db, key: password}
    /// ```
    ///
    /// ## Fix
    /// Mount the Secret as a read-only volume, or fetch it at runtime from AWS Secrets
    /// Manager (for example with the Secrets Store CSI driver).
    pub SecretInEnvironment {
        id: "DATA002",
        name: "secret-in-environment",
        severity: Low,
        data: [Kubernetes],
        scope: Objects(WORKLOAD_KINDS),
        summary: "Secret exposed through environment variables",
        remediation: "Mount the Secret as a file instead of injecting it into the environment.",
        guide: &["DE-09"],
    }
}

impl ObjectRule for SecretInEnvironment {
    fn check_object(&self, _cx: &Ctx<'_>, obj: &Object, out: &mut Sink) {
        let Some(pod) = obj.pod_spec() else { return };
        for c in pod.containers() {
            let env = c.node.get("env").map(Node::items).unwrap_or(&[]);
            for (i, e) in env.iter().enumerate() {
                let Some(r) = e.at("valueFrom.secretKeyRef") else {
                    continue;
                };
                let text =
                    |n: &Node, k: &str| n.get(k).and_then(Node::as_str).unwrap_or("?").to_string();
                out.report(
                    obj,
                    c.path_to("env").index(i).join("valueFrom.secretKeyRef"),
                    format!(
                        "{} puts key `{}` of Secret `{}` in environment variable `{}`",
                        c.describe(),
                        text(r, "key"),
                        text(r, "name"),
                        text(e, "name")
                    ),
                );
            }
            let env_from = c.node.get("envFrom").map(Node::items).unwrap_or(&[]);
            for (i, e) in env_from.iter().enumerate() {
                let Some(r) = e.get("secretRef") else {
                    continue;
                };
                let name = r.get("name").and_then(Node::as_str).unwrap_or("?");
                out.report(
                    obj,
                    c.path_to("envFrom").index(i).key("secretRef"),
                    format!(
                        "{} loads every key of Secret `{name}` into its environment",
                        c.describe()
                    ),
                );
            }
        }
    }
}
