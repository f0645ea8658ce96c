use eksguard_model::{Node, Object};

use super::credentials_in_configmap::{classify, normalize_key};
use crate::{declare_rule, Ctx, ObjectRule, Sink, WORKLOAD_KINDS};

declare_rule! {
    /// ## What it checks
    /// Literal credentials in containers' environment (`env[].value` of init, regular and
    /// ephemeral containers), recognised as DATA004 recognises them in ConfigMaps:
    /// - an AWS access key ID (`AKIA…`/`ASIA…`), noting a secret access key beside it;
    /// - a PEM private key;
    /// - a variable named like a credential (ending in `PASSWORD`, `PASSWD`, `SECRET`,
    ///   `TOKEN`, `API_KEY`, `ACCESS_KEY`, `SECRET_KEY`, `PRIVATE_KEY`, `CREDENTIALS`,
    ///   `CLIENT_SECRET`, in any case or separator style) with a real value, or a
    ///   multi-line value holding such a `name = value` setting.
    ///
    /// Variables set through `valueFrom` (a Secret, ConfigMap or field reference) never
    /// count, nor do values that are not the secret itself: empty values, `$(VAR)`
    /// references to other variables, templates (`${…}`, `{{…}}`), file paths, ARNs and
    /// other references, well-known placeholders (`changeme`, `redacted`, `xxxx`, …) and
    /// markers made from the variable's own name (`API_KEY_VAL` or `INSERT_API_KEY` for
    /// `API_KEY`, `SECRET` for `COOKIE_SECRET`) that a deployment script replaces.
    /// The message names the container and the variable, never the value.
    ///
    /// ## Why it matters
    /// A literal value is part of the workload's manifest: it sits in Git, Helm values, CI
    /// logs and the API server, readable by anyone who can read the Deployment (far more
    /// people than can read Secrets), and it is not encrypted with the secrets KMS key.
    ///
    /// ## Example
    /// ```yaml
    /// containers:
    /// - name: app
    ///   env:
    ///   - name: DB_PASSWORD
    ///     value: s3cr3t-value
    /// ```
    ///
    /// ## Fix
    /// Rotate the exposed credential. Keep it in a Secret (or AWS Secrets Manager through
    /// the Secrets Store CSI driver) and mount it as a file; use IRSA or EKS Pod Identity
    /// instead of AWS access keys.
    pub CredentialsInEnvironment {
        id: "DATA006",
        name: "credentials-in-environment",
        severity: High,
        data: [Kubernetes],
        scope: Objects(WORKLOAD_KINDS),
        summary: "Container environment holds a literal credential",
        remediation: "Rotate the credential and move it to a Secret mounted as a file, or to AWS Secrets Manager.",
        guide: &["DE-09"],
    }
}

/// A value made from the variable's own name (`GOOGLE_API_KEY_VAL`,
/// `INSERT_DISCOVERY_TOKEN` for `DISCOVERY_TOKEN`, `SECRET` for `COOKIE_SECRET`): a marker
/// that a deployment script substitutes, not the credential.
fn names_itself(name: &str, value: &str) -> bool {
    let n = normalize_key(name);
    let v = normalize_key(value);
    let (n, v) = (n.trim_matches('_'), v.trim_matches('_'));
    !n.is_empty() && !v.is_empty() && (v.contains(n) || n.ends_with(&format!("_{v}")))
}

impl ObjectRule for CredentialsInEnvironment {
    fn check_object(&self, _cx: &Ctx<'_>, obj: &Object, out: &mut Sink) {
        let Some(pod) = obj.pod_spec() else { return };
        for c in pod.containers() {
            let env = c.node.get("env").map(Node::items).unwrap_or(&[]);
            for (i, e) in env.iter().enumerate() {
                // A reference, whatever `value` says beside it.
                if e.get("valueFrom").is_some_and(|v| !v.is_null()) {
                    continue;
                }
                let name = e.get("name").and_then(Node::as_str).unwrap_or("");
                let Some(value) = e.get("value").and_then(Node::scalar_text) else {
                    continue;
                };
                if names_itself(name, &value) {
                    continue;
                }
                if let Some(kind) = classify(name, &value) {
                    out.report(
                        obj,
                        c.path_to("env").index(i).key("value"),
                        format!(
                            "{} sets environment variable `{name}` to {kind}",
                            c.describe()
                        ),
                    );
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn fixture_findings_never_show_values() {
        use crate::engine::{Engine, EngineConfig};
        use eksguard_load::{files::load_text, LoadOptions};
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/data/DATA006.yaml");
        let text = std::fs::read_to_string(path).unwrap();
        let inv = load_text("DATA006.yaml", text.as_bytes(), &LoadOptions::default());
        let config = EngineConfig {
            select: vec!["DATA006".into()],
            ..EngineConfig::default()
        };
        let found = Engine::new(crate::registry::all(), config)
            .run(&inv)
            .findings;
        assert_eq!(found.len(), 8);
        for f in &found {
            for value in [
                "Tr0ub4dor",
                "sk-live",
                "AKIA",
                "wJalrXUtnFEMI",
                "MIIEpAIBAAKCAQEA",
                "Sup3r-S3cret",
                "ghp_",
                "hunter2",
                "secret-value",
            ] {
                assert!(!f.message.contains(value), "{}", f.message);
            }
        }
    }
}
