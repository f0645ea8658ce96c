use eksguard_model::audit::AuditEvent;
use eksguard_model::encoding::decode_base64;
use eksguard_model::FieldPath;
use serde_json::Value as Json;

use crate::aud::{succeeded_on, target_name, who};
use crate::data::credentials_in_configmap::{
    classify, embedded_setting, is_placeholder, normalize_key,
};
use crate::{declare_rule, EventCtx, EventRule, EventSink};

declare_rule! {
    /// ## What it checks
    /// A ConfigMap created, updated or patched successfully whose request body holds
    /// credential-looking data, judged as `DATA004 credentials-in-configmap` judges a
    /// manifest (AWS access keys, private keys, keys or settings named like passwords,
    /// tokens and secrets, with placeholders skipped), plus settings named like
    /// `aws_access_key_id` or `passphrase`. `kube-system/aws-auth` is left to `AUD019`.
    /// The finding names the key and the kind of credential; the value is never printed,
    /// and the text report shows no line of the log for this rule. Needs the `Request`
    /// audit level for ConfigMaps; EKS logs them at `Metadata` (no body), so on EKS this
    /// fires only with audit logs from other sources. Corresponds to the Falco k8saudit
    /// rule `Create/Modify Configmap With Private Credentials`.
    ///
    /// ## Why it matters
    /// ConfigMaps are readable by far more identities than Secrets and are not encrypted
    /// with the secrets KMS key; the audit log itself now holds the credential too.
    ///
    /// ## Example
    /// ```json
    /// {"kind":"Event","verb":"create","objectRef":{"resource":"configmaps","name":"app"},
    ///  "requestObject":{"data":{"access.properties":"aws_secret_access_key = ..."}}}
    /// ```
    ///
    /// ## Fix
    /// Rotate the credential, move it to a Secret or AWS Secrets Manager, and restrict
    /// who can read the audit logs that recorded it.
    pub ConfigmapWithCredentials {
        id: "AUD009",
        name: "configmap-with-credentials",
        severity: High,
        data: [Audit],
        scope: Events,
        summary: "A ConfigMap was written with credentials in it",
        remediation: "Rotate the credential and move it to a Secret or AWS Secrets Manager.",
        guide: &["DC-07"],
    }
}

/// Setting names that mean a credential even where `classify` would not say so.
fn extra_secret_name(key: &str) -> bool {
    let k = normalize_key(key);
    k.ends_with("access_key_id") || k.ends_with("passphrase") || k == "password"
}

fn judge(key: &str, value: &str) -> Option<String> {
    if let Some(kind) = classify(key, value) {
        return Some(kind);
    }
    if extra_secret_name(key) && !value.contains('\n') && !is_placeholder(value) {
        return Some("a credential-like value".into());
    }
    value
        .lines()
        .filter_map(embedded_setting)
        .find(|(k, v)| extra_secret_name(k) && !is_placeholder(v))
        .map(|(k, _)| format!("a credential-like setting `{k}`"))
}

impl EventRule for ConfigmapWithCredentials {
    fn check_event(&self, _cx: &EventCtx<'_>, ev: &AuditEvent<'_>, out: &mut EventSink) {
        if !succeeded_on(ev, &["create", "update", "patch"], "configmaps") {
            return;
        }
        if ev.namespace() == Some("kube-system") && ev.name().as_deref() == Some("aws-auth") {
            return;
        }
        let Some(body) = ev.request_json() else {
            return;
        };
        for section in ["data", "binaryData"] {
            let Some(map) = body.get(section).and_then(Json::as_object) else {
                continue;
            };
            for (key, value) in map {
                let Some(raw) = value.as_str() else {
                    continue;
                };
                let decoded;
                let text = if section == "binaryData" {
                    match decode_base64(raw.as_bytes()).map(String::from_utf8) {
                        Some(Ok(t)) => {
                            decoded = t;
                            decoded.as_str()
                        }
                        _ => continue,
                    }
                } else {
                    raw
                };
                if let Some(kind) = judge(key, text) {
                    out.report(
                        FieldPath::parse("requestObject").key(section).key(key),
                        format!(
                            "{} wrote ConfigMap {} with key `{key}` holding {kind}",
                            who(ev),
                            target_name(ev)
                        ),
                    );
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::aud::testing::{event, run};

    #[test]
    fn fires_without_printing_values() {
        let cm = |data: &str| {
            event(
                "alice",
                "create",
                r#""resource":"configmaps","namespace":"a","name":"c""#,
                201,
                &format!(r#""requestObject":{{"data":{data}}}"#),
            )
        };
        let lines = [
            cm(r#"{"ui.properties":"color=blue\n"}"#),
            cm(r#"{"access.properties":"aws_access_key_id = hunter2-id\n"}"#),
            cm(r#"{"DB_PASSWORD":"Tr0ub4dor&3","url":"https://x"}"#),
            cm(r#"{"DB_PASSWORD":"${DB_PASSWORD}"}"#),
        ];
        let got = run("AUD009", Default::default(), &lines);
        assert_eq!(got.len(), 2, "{got:?}");
        assert_eq!(
            (got[0].0, got[0].1.as_str()),
            (2, r#"requestObject.data["access.properties"]"#)
        );
        assert_eq!(
            (got[1].0, got[1].1.as_str()),
            (3, "requestObject.data.DB_PASSWORD")
        );
        for (_, _, m) in &got {
            assert!(!m.contains("hunter2") && !m.contains("Tr0ub4dor"), "{m}");
        }
    }
}
