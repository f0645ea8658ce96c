use eksguard_model::encoding::decode_base64;
use eksguard_model::{FieldPath, Node, Object};

use crate::{declare_rule, Ctx, ObjectRule, Sink};

declare_rule! {
    /// ## What it checks
    /// ConfigMap entries (`data`, and `binaryData` once base64-decoded) that hold
    /// credentials:
    /// - an AWS access key ID (`AKIA…`/`ASIA…` and 16 upper-case letters or digits),
    ///   noting when a secret access key sits beside it;
    /// - a PEM private key (`-----BEGIN … PRIVATE KEY-----`); certificates and public
    ///   keys are fine;
    /// - a key named like a credential (ending in `password`, `passwd`, `secret`, `token`,
    ///   `api_key`/`apikey`, `access_key`, `secret_key`, `private_key`, `credentials` or
    ///   `client_secret`, in any case or separator style) with a real value; inside
    ///   multi-line values (properties, .env, YAML or JSON files) `name = value` and
    ///   `name: value` lines are checked the same way.
    ///
    /// Values that are obviously not the secret itself are skipped: empty values,
    /// booleans, templates and variables (`${…}`, `$(…)`, `{{…}}`, `$VAR`, `<…>`),
    /// references (`arn:aws…`, `vault:`, `ssm:`, `secretsmanager:`, `ref+`, `file:` and
    /// absolute file paths) and well-known placeholders (`changeme`, `placeholder`,
    /// `redacted`, `xxxx`, `****`, …). A placeholder may still be deployed as the real
    /// password, but that is a different problem from a leaked secret.
    /// `kube-system/aws-auth` is skipped: it maps identities and holds no secrets. The
    /// message names the key and the kind of credential and never the value.
    ///
    /// ## Why it matters
    /// ConfigMaps are not meant for secrets: anyone with read access to ConfigMaps (far
    /// more common than Secret access) sees them, they are not encrypted with the
    /// secrets KMS key, and they end up in Git, Helm values and logs.
    ///
    /// ## Example
    /// ```yaml
    /// kind: ConfigMap
    /// data:
    ///   DB_PASSWORD: s3cr3t-value
    /// ```
    ///
    /// ## Fix
    /// Rotate the exposed credential, then move it to a Secret (encrypted with KMS) or to
    /// AWS Secrets Manager; use IRSA or Pod Identity instead of AWS access keys.
    pub CredentialsInConfigmap {
        id: "DATA004",
        name: "credentials-in-configmap",
        severity: High,
        data: [Kubernetes],
        scope: Objects(&["ConfigMap"]),
        summary: "ConfigMap holds credentials",
        remediation: "Rotate the credential and move it to a Secret or AWS Secrets Manager.",
        guide: &["DE-09"],
    }
}

const SECRET_WORDS: &[&str] = &[
    "password",
    "passwd",
    "secret",
    "token",
    "api_key",
    "apikey",
    "access_key",
    "secret_key",
    "private_key",
    "credentials",
    "client_secret",
];

const PLACEHOLDERS: &[&str] = &[
    "changeme",
    "change-me",
    "change_me",
    "replaceme",
    "replace-me",
    "placeholder",
    "redacted",
    "todo",
    "tbd",
    "none",
    "null",
    "nil",
    "undefined",
    "dummy",
    "true",
    "false",
    "yes",
    "no",
];

const REFERENCE_PREFIXES: &[&str] = &[
    "arn:aws",
    "vault:",
    "ssm:",
    "secretsmanager:",
    "ref+",
    "file:",
    "/",
];

/// `dbPassword`, `DB-PASSWORD`, `db.password` → `db_password`.
pub(crate) fn normalize_key(key: &str) -> String {
    let mut out = String::new();
    let mut prev_lower = false;
    for ch in key.chars() {
        if ch.is_ascii_uppercase() && prev_lower {
            out.push('_');
        }
        prev_lower = ch.is_ascii_lowercase() || ch.is_ascii_digit();
        out.push(if ch.is_ascii_alphanumeric() {
            ch.to_ascii_lowercase()
        } else {
            '_'
        });
    }
    out
}

fn secret_like_key(key: &str) -> bool {
    let k = normalize_key(key);
    let k = k.trim_end_matches('_');
    SECRET_WORDS.iter().any(|w| {
        k == *w
            || k.ends_with(&format!("_{w}"))
            // `dbpassword`, `adminpasswd`: these words do not occur inside other words.
            || (w.starts_with("pass") && k.ends_with(w))
    })
}

pub(crate) fn is_placeholder(value: &str) -> bool {
    let v = value.trim().trim_matches(|c| c == '"' || c == '\'').trim();
    let lower = v.to_ascii_lowercase();
    v.is_empty()
        || v.starts_with("${")
        || v.starts_with("$(")
        || v.starts_with("{{")
        || v.starts_with("%(")
        || (v.starts_with('<') && v.ends_with('>'))
        || (v.starts_with('$')
            && v.len() > 1
            && v[1..]
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_'))
        || PLACEHOLDERS.contains(&lower.as_str())
        || REFERENCE_PREFIXES.iter().any(|p| lower.starts_with(p))
        || v.chars()
            .all(|c| matches!(c, 'x' | 'X' | '*' | '.' | '-' | '#'))
}

fn is_key_char(c: u8) -> bool {
    c.is_ascii_uppercase() || c.is_ascii_digit()
}

/// Whether the text contains an AWS access key ID, as a whole word.
fn has_access_key_id(text: &str) -> bool {
    let b = text.as_bytes();
    (0..b.len().saturating_sub(19)).any(|i| {
        (b[i..].starts_with(b"AKIA") || b[i..].starts_with(b"ASIA"))
            && (i == 0 || !b[i - 1].is_ascii_alphanumeric())
            && b[i + 4..i + 20].iter().all(|c| is_key_char(*c))
            && b.get(i + 20).is_none_or(|c| !c.is_ascii_alphanumeric())
    })
}

/// Whether the text contains a 40-character token shaped like a secret access key.
fn has_secret_access_key(text: &str) -> bool {
    let is_tok = |c: char| c.is_ascii_alphanumeric() || c == '/' || c == '+';
    text.split(|c: char| !is_tok(c)).any(|t| {
        t.len() == 40
            && t.chars().any(|c| c.is_ascii_uppercase())
            && t.chars().any(|c| c.is_ascii_lowercase())
    })
}

fn has_private_key(text: &str) -> bool {
    text.match_indices("-----BEGIN ").any(|(i, _)| {
        text[i..]
            .split_once("-----\n")
            .or_else(|| text[i..].split_once("-----"))
            .is_some_and(|(head, _)| head.ends_with("PRIVATE KEY"))
    })
}

/// A `name = value` or `name: value` line inside a file held in a ConfigMap.
pub(crate) fn embedded_setting(line: &str) -> Option<(&str, &str)> {
    let line = line.trim();
    if line.starts_with('#') || line.starts_with(';') || line.starts_with("//") {
        return None;
    }
    let at = line.find(['=', ':'])?;
    let key = line[..at]
        .trim()
        .trim_start_matches("export ")
        .trim_matches(|c| c == '"' || c == '\'' || c == '-' || c == ' ');
    let value = line[at + 1..].trim().trim_end_matches(',');
    (!key.is_empty() && !key.contains(' ')).then_some((key, value))
}

/// What kind of credential a ConfigMap entry holds, if any.
pub(crate) fn classify(key: &str, value: &str) -> Option<String> {
    if has_private_key(value) {
        return Some("a private key".into());
    }
    if has_access_key_id(value) {
        return Some(if has_secret_access_key(value) {
            "an AWS access key ID and secret access key".into()
        } else {
            "an AWS access key ID".into()
        });
    }
    if secret_like_key(key) && !value.contains('\n') && !is_placeholder(value) {
        return Some("a credential-like value".into());
    }
    value
        .lines()
        .filter_map(embedded_setting)
        .find(|(k, v)| secret_like_key(k) && !is_placeholder(v))
        .map(|(k, _)| format!("a credential-like setting `{k}`"))
}

impl ObjectRule for CredentialsInConfigmap {
    fn check_object(&self, _cx: &Ctx<'_>, obj: &Object, out: &mut Sink) {
        if eksguard_model::aws_auth::is_aws_auth(obj) {
            return;
        }
        for section in ["data", "binaryData"] {
            let entries = obj.root.get(section).map(Node::entries).unwrap_or(&[]);
            for e in entries {
                let Some(raw) = e.value.scalar_text() else {
                    continue;
                };
                let text = if section == "binaryData" {
                    match decode_base64(raw.as_bytes()).map(String::from_utf8) {
                        Some(Ok(t)) => t,
                        // Binary content: only the key name can tell.
                        _ if secret_like_key(&e.key) && !raw.trim().is_empty() => {
                            "binary".to_string()
                        }
                        _ => continue,
                    }
                } else {
                    raw
                };
                if let Some(kind) = classify(&e.key, &text) {
                    out.report(
                        obj,
                        FieldPath::parse(section).key(&e.key),
                        format!("ConfigMap key `{}` holds {kind}", e.key),
                    );
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_credentials_and_placeholders() {
        assert!(secret_like_key("DB_PASSWORD"));
        assert!(secret_like_key("dbPassword"));
        assert!(secret_like_key("smtp.passwd"));
        assert!(secret_like_key("github-token"));
        assert!(secret_like_key("clientSecret"));
        assert!(secret_like_key("API_KEY"));
        assert!(!secret_like_key("token_ttl"));
        assert!(!secret_like_key("secretName"));
        assert!(!secret_like_key("password_file"));
        assert!(is_placeholder("${DB_PASSWORD}"));
        assert!(is_placeholder("<your token>"));
        assert!(is_placeholder("CHANGEME"));
        assert!(is_placeholder("$TOKEN"));
        assert!(is_placeholder(
            "arn:aws:secretsmanager:eu-west-1:111122223333:secret:db"
        ));
        assert!(!is_placeholder("hunter2"));
        assert!(has_access_key_id("key=AKIAIOSFODNN7EXAMPLE\n"));
        assert!(!has_access_key_id("XAKIAIOSFODNN7EXAMPLE"));
        assert!(!has_access_key_id("AKIAIOSFODNN7EXAMPL"));
        assert!(has_private_key(
            "-----BEGIN OPENSSH PRIVATE KEY-----\nb3Bl\n-----END OPENSSH PRIVATE KEY-----"
        ));
        assert!(!has_private_key("-----BEGIN CERTIFICATE-----\nMIIB\n"));
    }

    #[test]
    fn messages_never_contain_the_value() {
        let secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY";
        for (k, v) in [
            ("DB_PASSWORD", "Tr0ub4dor&3"),
            (
                "aws",
                "AKIAIOSFODNN7EXAMPLE wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY",
            ),
            ("app.env", "USER=app\nAPI_TOKEN=Tr0ub4dor&3\n"),
        ] {
            let kind = classify(k, v).expect("credential");
            assert!(
                !kind.contains("Tr0ub4dor") && !kind.contains(secret) && !kind.contains("AKIA")
            );
        }
    }

    #[test]
    fn fixture_findings_never_show_values() {
        use crate::engine::{Engine, EngineConfig};
        use eksguard_load::{files::load_text, LoadOptions};
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/data/DATA004.yaml");
        let text = std::fs::read_to_string(path).unwrap();
        let inv = load_text("DATA004.yaml", text.as_bytes(), &LoadOptions::default());
        let config = EngineConfig {
            select: vec!["DATA004".into()],
            ..EngineConfig::default()
        };
        let found = Engine::new(crate::registry::all(), config)
            .run(&inv)
            .findings;
        assert!(found.len() >= 5);
        for f in &found {
            for value in [
                "Tr0ub4dor",
                "AKIA",
                "ASIA",
                "wJalrXUtnFEMI",
                "b3BlbnNzaC1",
                "Sup3r-S3cret",
                "c2VjcmV0",
                "secret-value",
            ] {
                assert!(!f.message.contains(value), "{}", f.message);
            }
        }
    }
}
