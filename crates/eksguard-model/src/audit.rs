//! Kubernetes audit events (`audit.k8s.io/v1`, `v1beta1`).
//!
//! An [`AuditEvent`] borrows its strings from the input buffer where they need no
//! unescaping, skips unknown fields, and keeps the request and response bodies as raw JSON
//! that only the few rules that look inside them parse. Every field may be missing: old
//! logs lack `apiVersion` or `stageTimestamp`, 401 responses carry no user name.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

pub use crate::date::parse_rfc3339_micros;
use crate::node::Node;
use crate::object::{Object, ResourceRef, Source};
use crate::rbac::RequestAttributes;

/// A string borrowed from the input when it holds no escapes, owned otherwise. (serde
/// borrows a `Cow` only when it is a field's whole type, not inside `Option` or `Vec`.)
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Str<'a>(pub Cow<'a, str>);

impl std::ops::Deref for Str<'_> {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl std::borrow::Borrow<str> for Str<'_> {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Str<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Str<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Str<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Str(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Str(Cow::Owned(v.to_string())))
            }
            fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
                Ok(Str(Cow::Owned(v)))
            }
        }
        d.deserialize_str(V)
    }
}

/// The authenticated (or impersonated) identity of a request.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct UserInfo<'a> {
    #[serde(borrow)]
    pub username: Option<Str<'a>>,
    #[serde(borrow)]
    pub uid: Option<Str<'a>>,
    #[serde(borrow)]
    pub groups: Vec<Str<'a>>,
    /// Extra attributes (`accessKeyId`, `arn`, `sessionName`, bound-token pod names),
    /// kept raw: few readers need them.
    #[serde(borrow)]
    pub extra: Option<&'a RawValue>,
}

impl UserInfo<'_> {
    pub fn name(&self) -> &str {
        self.username.as_deref().unwrap_or("")
    }

    /// The extra attributes, parsed.
    pub fn extra_map(&self) -> BTreeMap<String, Vec<String>> {
        self.extra
            .and_then(|raw| serde_json::from_str(raw.get()).ok())
            .unwrap_or_default()
    }
}

/// The annotations rules read: the authorizer's decision and reason. Others (admission,
/// Pod Security, deprecation) are skipped while parsing.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Annotations<'a> {
    #[serde(borrow, rename = "authorization.k8s.io/decision")]
    pub decision: Option<Str<'a>>,
    /// Kept raw: reasons quote role names, so reading them would copy a string per event.
    #[serde(borrow, rename = "authorization.k8s.io/reason")]
    pub reason: Option<&'a RawValue>,
}

/// The object a request is about; absent for non-resource URLs such as `/healthz`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ObjectRef<'a> {
    #[serde(borrow)]
    pub resource: Option<Str<'a>>,
    #[serde(borrow)]
    pub namespace: Option<Str<'a>>,
    #[serde(borrow)]
    pub name: Option<Str<'a>>,
    #[serde(borrow)]
    pub api_group: Option<Str<'a>>,
    #[serde(borrow)]
    pub api_version: Option<Str<'a>>,
    #[serde(borrow)]
    pub subresource: Option<Str<'a>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ResponseStatus<'a> {
    pub code: Option<i64>,
    #[serde(borrow)]
    pub reason: Option<Str<'a>>,
    #[serde(borrow)]
    pub message: Option<Str<'a>>,
}

/// One audit event. Field names follow the Kubernetes types, in Rust case.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct AuditEvent<'a> {
    #[serde(borrow)]
    pub kind: Option<Str<'a>>,
    #[serde(borrow)]
    pub api_version: Option<Str<'a>>,
    #[serde(borrow)]
    pub level: Option<Str<'a>>,
    #[serde(borrow, rename = "auditID")]
    pub audit_id: Option<Str<'a>>,
    #[serde(borrow)]
    pub stage: Option<Str<'a>>,
    #[serde(borrow, rename = "requestURI")]
    pub request_uri: Option<Str<'a>>,
    #[serde(borrow)]
    pub verb: Option<Str<'a>>,
    #[serde(borrow)]
    pub user: UserInfo<'a>,
    #[serde(borrow)]
    pub impersonated_user: Option<UserInfo<'a>>,
    #[serde(borrow, rename = "sourceIPs")]
    pub source_ips: Vec<Str<'a>>,
    #[serde(borrow)]
    pub user_agent: Option<Str<'a>>,
    #[serde(borrow)]
    pub object_ref: Option<ObjectRef<'a>>,
    #[serde(borrow)]
    pub response_status: Option<ResponseStatus<'a>>,
    #[serde(borrow)]
    pub request_object: Option<&'a RawValue>,
    #[serde(borrow)]
    pub response_object: Option<&'a RawValue>,
    #[serde(borrow)]
    pub annotations: Annotations<'a>,
    #[serde(borrow)]
    pub request_received_timestamp: Option<Str<'a>>,
    #[serde(borrow)]
    pub stage_timestamp: Option<Str<'a>>,
    /// The top-level timestamp of legacy `v1beta1`/`v1alpha1` events.
    #[serde(borrow)]
    pub timestamp: Option<Str<'a>>,
    /// What was built from the event for the rules (see [`AuditEvent::request_pod`]).
    #[serde(skip)]
    pub built: Built,
}

/// The request body as a pod, once built: every rule that reads it shares one tree. A
/// clone starts without it.
#[derive(Debug, Default)]
pub struct Built(Mutex<Option<Option<Arc<Object>>>>);

impl Clone for Built {
    fn clone(&self) -> Built {
        Built::default()
    }
}

/// Why bytes are not an audit event.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuditParseError {
    /// The event was cut: CloudWatch's `[Truncated...]` marker, or JSON that ends early.
    #[error("truncated audit event{}", id_suffix(.audit_id))]
    Truncated { audit_id: Option<String> },
    #[error("not an audit event: {0}")]
    Malformed(String),
}

fn id_suffix(id: &Option<String>) -> String {
    id.as_ref()
        .map(|i| format!(" (auditID {i})"))
        .unwrap_or_default()
}

impl AuditParseError {
    pub fn is_truncated(&self) -> bool {
        matches!(self, AuditParseError::Truncated { .. })
    }
}

/// The marker CloudWatch Logs puts at the end of an event it had to cut.
pub const TRUNCATED_MARKER: &[u8] = b"[Truncated...]";

/// The auditID of a cut event, found by looking at the text (it cannot be parsed).
fn sniff_audit_id(bytes: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(&bytes[..bytes.len().min(4096)]).ok()?;
    let at = text.find("\"auditID\"")? + "\"auditID\"".len();
    let rest = text[at..].trim_start().strip_prefix(':')?.trim_start();
    let rest = rest.strip_prefix('"')?;
    let id = &rest[..rest.find('"')?];
    (!id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
        .then(|| id.to_string())
}

impl<'a> AuditEvent<'a> {
    /// Parses one event from JSON. A `kind` other than `Event` is an error; a missing one
    /// is accepted when the object looks like an event (it has a verb or a stage).
    pub fn parse(bytes: &'a [u8]) -> Result<AuditEvent<'a>, AuditParseError> {
        let trimmed = trim_ascii_end(bytes);
        if trimmed.ends_with(TRUNCATED_MARKER) {
            return Err(AuditParseError::Truncated {
                audit_id: sniff_audit_id(trimmed),
            });
        }
        match serde_json::from_slice::<AuditEvent<'a>>(trimmed) {
            Ok(ev) => match ev.kind.as_deref() {
                Some("Event") => Ok(ev),
                None if ev.verb.is_some() || ev.stage.is_some() => Ok(ev),
                Some(other) => Err(AuditParseError::Malformed(format!(
                    "kind `{}` is not `Event`",
                    other.chars().take(40).collect::<String>()
                ))),
                None => Err(AuditParseError::Malformed(
                    "no `kind`, `verb` or `stage`".into(),
                )),
            },
            Err(e) if e.classify() == serde_json::error::Category::Eof => {
                Err(AuditParseError::Truncated {
                    audit_id: sniff_audit_id(trimmed),
                })
            }
            Err(e) => Err(AuditParseError::Malformed(e.to_string())),
        }
    }

    pub fn username(&self) -> &str {
        self.user.name()
    }

    pub fn verb(&self) -> &str {
        self.verb.as_deref().unwrap_or("")
    }

    pub fn stage(&self) -> &str {
        self.stage.as_deref().unwrap_or("")
    }

    pub fn resource(&self) -> &str {
        self.object_ref
            .as_ref()
            .and_then(|o| o.resource.as_deref())
            .unwrap_or("")
    }

    pub fn subresource(&self) -> &str {
        self.object_ref
            .as_ref()
            .and_then(|o| o.subresource.as_deref())
            .unwrap_or("")
    }

    pub fn namespace(&self) -> Option<&str> {
        self.object_ref
            .as_ref()
            .and_then(|o| o.namespace.as_deref())
    }

    /// The target's name: from `objectRef`, or for a create from the request body.
    pub fn name(&self) -> Option<Cow<'_, str>> {
        if let Some(n) = self.object_ref.as_ref().and_then(|o| o.name.as_deref()) {
            return Some(Cow::Borrowed(n));
        }
        #[derive(Deserialize)]
        struct Body<'b> {
            #[serde(borrow)]
            metadata: Option<Meta<'b>>,
        }
        #[derive(Deserialize)]
        struct Meta<'b> {
            #[serde(borrow)]
            name: Option<Cow<'b, str>>,
        }
        [self.request_object, self.response_object]
            .into_iter()
            .flatten()
            .find_map(|raw| {
                serde_json::from_str::<Body<'_>>(raw.get())
                    .ok()?
                    .metadata?
                    .name
                    .map(|n| Cow::Owned(n.into_owned()))
            })
    }

    pub fn api_group(&self) -> &str {
        self.object_ref
            .as_ref()
            .and_then(|o| o.api_group.as_deref())
            .unwrap_or("")
    }

    pub fn code(&self) -> Option<i64> {
        self.response_status.as_ref().and_then(|s| s.code)
    }

    /// The authorizer's decision annotation (`allow` or `forbid`).
    pub fn decision(&self) -> Option<&str> {
        self.annotations.decision.as_deref()
    }

    pub fn decision_reason(&self) -> Option<String> {
        self.annotations
            .reason
            .and_then(|raw| serde_json::from_str(raw.get()).ok())
    }

    /// The identity the authorizer checked: the impersonated user when there is one.
    pub fn effective_user(&self) -> &UserInfo<'a> {
        self.impersonated_user.as_ref().unwrap_or(&self.user)
    }

    /// The request as the RBAC authorizer saw it, for its effective user. The namespace
    /// comes from the request path, which is what was authorized, and from the object
    /// reference only when the path names none. `None` without a verb, or for a
    /// resource request without a resource.
    pub fn request_attributes(&self) -> Option<RequestAttributes> {
        let verb = self.verb.as_deref().filter(|v| !v.is_empty())?;
        let who = self.effective_user();
        let uri = self.request_uri.as_deref().unwrap_or("");
        let mut req = match self.object_ref.as_ref().filter(|o| o.resource.is_some()) {
            Some(o) => {
                let mut r = RequestAttributes::resource(
                    verb,
                    o.api_group.as_deref().unwrap_or(""),
                    o.resource.as_deref().unwrap_or(""),
                );
                if let Some(sub) = o.subresource.as_deref().filter(|s| !s.is_empty()) {
                    r.subresource = Some(sub.to_string());
                }
                r.namespace = namespace_in_path(uri)
                    .or(o.namespace.as_deref())
                    .filter(|n| !n.is_empty())
                    .map(str::to_string);
                r.name = o
                    .name
                    .as_deref()
                    .filter(|n| !n.is_empty())
                    .map(str::to_string);
                r
            }
            None if !uri.is_empty() => RequestAttributes::non_resource(verb, uri),
            None => return None,
        };
        req.user = who.name().to_string();
        req.groups = who.groups.iter().map(|g| g.to_string()).collect();
        Some(req)
    }

    /// When this stage was reached, falling back to when the request arrived and to the
    /// legacy top-level timestamp.
    pub fn time(&self) -> Option<&str> {
        self.stage_timestamp
            .as_deref()
            .or(self.request_received_timestamp.as_deref())
            .or(self.timestamp.as_deref())
    }

    /// [`Self::time`] in microseconds since the Unix epoch.
    pub fn time_micros(&self) -> Option<i64> {
        self.time().and_then(parse_rfc3339_micros)
    }

    /// The stage rules look at for a finished request. An event without a stage counts
    /// as finished (hand-written and very old logs omit it).
    pub fn is_complete(&self) -> bool {
        matches!(self.stage.as_deref(), None | Some("ResponseComplete"))
    }

    /// The request succeeded: a 2xx status, or, without a status, not forbidden.
    pub fn succeeded(&self) -> bool {
        match self.code() {
            Some(c) => (200..300).contains(&c),
            None => self.decision() != Some("forbid"),
        }
    }

    /// The caller was refused: 401, 403, or the authorizer said `forbid`.
    pub fn denied(&self) -> bool {
        matches!(self.code(), Some(401 | 403)) || self.decision() == Some("forbid")
    }

    /// The source IP that can be trusted: the last one (the others come from headers the
    /// client sets).
    pub fn source_ip(&self) -> Option<&str> {
        self.source_ips.last().map(|s| &**s)
    }

    /// The request body as JSON, parsed on demand. What is nested deeper than
    /// [`BODY_DEPTH`] levels is left out (read past, not parsed), so a deep but irrelevant
    /// subtree such as `metadata.managedFields` cannot make the whole body unreadable.
    pub fn request_json(&self) -> Option<serde_json::Value> {
        self.request_object
            .and_then(|raw| json_within_depth(raw.get()))
    }

    /// The request body as a Pod object, for rules that read a created pod through the
    /// pod spec view. Built on first use and shared by every later caller, until
    /// [`forget_built`](Self::forget_built).
    pub fn request_pod(&self) -> Option<Arc<Object>> {
        let mut built = self.built.0.lock().unwrap_or_else(PoisonError::into_inner);
        built
            .get_or_insert_with(|| {
                let root = Node::from_json(&self.request_json()?);
                Some(Arc::new(Object::synthetic(
                    "v1",
                    "Pod",
                    "",
                    root,
                    Source::Live,
                )))
            })
            .clone()
    }

    /// Drops what [`request_pod`](Self::request_pod) built, once the rules that read it
    /// are done, so a batch of events does not hold every tree at once.
    pub fn forget_built(&self) {
        *self.built.0.lock().unwrap_or_else(PoisonError::into_inner) = None;
    }

    /// The command of an exec or attach (the URI's `command` parameters), with
    /// credentials given on the command line replaced by [`REDACTED`].
    pub fn command(&self) -> Vec<String> {
        redact_args(&self.query_values("command"))
    }

    /// The request URI as reports may show it: credentials in its query (tokens,
    /// passwords, and those in an exec's command) replaced by [`REDACTED`].
    pub fn uri(&self) -> Cow<'_, str> {
        self.request_uri
            .as_deref()
            .map_or(Cow::Borrowed(""), redact_uri)
    }

    /// The values of a query parameter of the request URI, percent-decoded.
    pub fn query_values(&self, key: &str) -> Vec<String> {
        let Some(uri) = self.request_uri.as_deref() else {
            return Vec::new();
        };
        let Some((_, query)) = uri.split_once('?') else {
            return Vec::new();
        };
        query
            .split('&')
            .filter_map(|kv| kv.split_once('='))
            .filter(|(k, _)| *k == key)
            .map(|(_, v)| percent_decode(v))
            .collect()
    }

    /// The request's target as a resource reference for reports: the Kind is derived from
    /// the resource plural; non-resource requests name their URL path.
    pub fn target(&self) -> ResourceRef {
        let Some(o) = self.object_ref.as_ref().filter(|o| o.resource.is_some()) else {
            let path = self
                .request_uri
                .as_deref()
                .map(|u| u.split('?').next().unwrap_or(u))
                .unwrap_or("");
            return ResourceRef {
                api_version: String::new(),
                kind: "NonResourceURL".into(),
                namespace: None,
                name: path.to_string(),
            };
        };
        let group = o.api_group.as_deref().unwrap_or("");
        let version = o.api_version.as_deref().unwrap_or("");
        let api_version = match (group, version) {
            ("", v) => v.to_string(),
            (g, "") => g.to_string(),
            (g, v) => format!("{g}/{v}"),
        };
        let resource = o.resource.as_deref().unwrap_or("");
        let mut name = self.name().map(Cow::into_owned).unwrap_or_default();
        if name.is_empty() {
            name = "*".into();
        }
        ResourceRef {
            api_version,
            kind: kind_of(resource),
            namespace: o.namespace.as_deref().map(str::to_string),
            name,
        }
    }

    /// Who, what, when and the decision, owned, for reports.
    pub fn summary(&self) -> EventSummary {
        let own = |s: &Option<Str<'_>>| s.as_deref().map(str::to_string);
        let imp = self.impersonated_user.as_ref();
        let command = self.command();
        EventSummary {
            audit_id: own(&self.audit_id),
            stage: own(&self.stage),
            time: self.time().map(str::to_string),
            user: self.username().to_string(),
            groups: self.user.groups.iter().map(|g| g.to_string()).collect(),
            impersonated_user: imp.and_then(|u| u.username.as_deref().map(str::to_string)),
            impersonated_groups: imp
                .map(|u| u.groups.iter().map(|g| g.to_string()).collect())
                .unwrap_or_default(),
            source_ips: self.source_ips.iter().map(|s| s.to_string()).collect(),
            user_agent: own(&self.user_agent),
            verb: self.verb().to_string(),
            request_uri: self.request_uri.as_ref().map(|_| self.uri().into_owned()),
            api_group: self
                .object_ref
                .as_ref()
                .and_then(|o| o.api_group.as_deref())
                .map(str::to_string),
            resource: self
                .object_ref
                .as_ref()
                .and_then(|o| o.resource.as_deref())
                .map(str::to_string),
            subresource: self
                .object_ref
                .as_ref()
                .and_then(|o| o.subresource.as_deref())
                .map(str::to_string),
            namespace: self.namespace().map(str::to_string),
            name: self.name().map(Cow::into_owned),
            command: (!command.is_empty()).then(|| command.join(" ")),
            code: self.code(),
            decision: self.decision().map(str::to_string),
            reason: self
                .decision_reason()
                .filter(|r| !r.is_empty())
                .or_else(|| {
                    self.response_status
                        .as_ref()
                        .and_then(|s| s.reason.as_deref())
                        .map(str::to_string)
                }),
        }
    }
}

/// How deep request bodies are read. Rules look a dozen levels down at most (a pod
/// template's container security context); the JSON parser gives up at 128.
pub const BODY_DEPTH: usize = 64;

/// Parses JSON, leaving out (as `null`) every value nested deeper than [`BODY_DEPTH`].
/// The parts left out are skipped by the parser's iterative skipper, so no depth of
/// nesting makes the document unreadable or exhausts the stack.
pub fn json_within_depth(text: &str) -> Option<serde_json::Value> {
    use serde::de::DeserializeSeed;
    let mut de = serde_json::Deserializer::from_str(text);
    let v = Within(BODY_DEPTH).deserialize(&mut de).ok()?;
    de.end().ok()?;
    Some(v)
}

/// Builds a JSON value `self.0` levels deep at most.
struct Within(usize);

impl<'de> serde::de::DeserializeSeed<'de> for Within {
    type Value = serde_json::Value;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        if self.0 == 0 {
            serde::de::IgnoredAny::deserialize(d)?;
            return Ok(serde_json::Value::Null);
        }
        d.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for Within {
    type Value = serde_json::Value;
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
        Ok(v.into())
    }
    fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
        Ok(v.into())
    }
    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        Ok(v.into())
    }
    fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(serde_json::Value::Null, Into::into))
    }
    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(v.into())
    }
    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(v.into())
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(serde_json::Value::Null)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::new();
        while let Some(v) = seq.next_element_seed(Within(self.0 - 1))? {
            out.push(v);
        }
        Ok(serde_json::Value::Array(out))
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut out = serde_json::Map::new();
        while let Some(k) = map.next_key::<String>()? {
            let v = map.next_value_seed(Within(self.0 - 1))?;
            out.insert(k, v);
        }
        Ok(serde_json::Value::Object(out))
    }
}

/// What reports show in place of a credential.
pub const REDACTED: &str = "REDACTED";

/// Whether a query parameter, option or variable name (`access_token`, `--password`,
/// `MYSQL_PWD`) names a credential.
fn is_secret_name(name: &str) -> bool {
    let n: String = name
        .trim_start_matches('-')
        .chars()
        .filter(|c| !matches!(c, '-' | '_' | '.'))
        .flat_map(char::to_lowercase)
        .collect();
    const PARTS: &[&str] = &[
        "token",
        "password",
        "passwd",
        "passphrase",
        "secret",
        "apikey",
        "accesskey",
        "privatekey",
        "credential",
        "authorization",
        "signature",
        "sessionkey",
    ];
    PARTS.iter().any(|p| n.contains(p))
        || matches!(n.as_str(), "pwd" | "pass" | "key" | "sig" | "auth")
}

/// Programs whose short option carries a password: the program name's prefix, the
/// option, and whether its value may also be the next word (`mysql -p` alone prompts).
const SHORT_PASSWORD_OPTIONS: &[(&str, &str, bool)] = &[
    ("mysql", "-p", false),
    ("mariadb", "-p", false),
    ("redis-cli", "-a", true),
    ("sshpass", "-p", true),
];

/// Hides the credentials in a command line given as arguments (an exec's `command`
/// parameters, where a shell's `-c` script is one argument of many words): values of
/// options and variables named like credentials (`--password=…`, `--token …`,
/// `PGPASSWORD=…`), `mysql -p…`, `Bearer …`, and passwords in URLs. Each argument keeps
/// its place; only the values change.
pub fn redact_args(args: &[String]) -> Vec<String> {
    let mut r = Redactor::default();
    args.iter().map(|a| r.arg(a)).collect()
}

#[derive(Default)]
struct Redactor {
    /// The next word is a value to hide.
    next_secret: bool,
    /// Inside a hidden value that opened this quote.
    in_quote: Option<char>,
    /// The short password option of the program seen last, if any.
    short: Option<(&'static str, bool)>,
}

impl Redactor {
    fn arg(&mut self, arg: &str) -> String {
        let mut out = String::with_capacity(arg.len());
        let mut rest = arg;
        while !rest.is_empty() {
            let ws = rest.len() - rest.trim_start().len();
            out.push_str(&rest[..ws]);
            rest = &rest[ws..];
            let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
            out.push_str(&self.word(&rest[..end]));
            rest = &rest[end..];
        }
        out
    }

    /// One whitespace-separated word, redacted as needed.
    fn word(&mut self, w: &str) -> String {
        if let Some(q) = self.in_quote {
            if w.ends_with(q) {
                self.in_quote = None;
            }
            return REDACTED.to_string();
        }
        if std::mem::take(&mut self.next_secret) && !w.starts_with('-') {
            return self.hide(w, "");
        }
        if w.contains("://") {
            return redact_url(w);
        }
        let program = w.rsplit('/').next().unwrap_or(w);
        if let Some((_, opt, sep)) = SHORT_PASSWORD_OPTIONS
            .iter()
            .find(|(p, _, _)| program.starts_with(p) && !w.starts_with('-') && !w.contains('='))
        {
            self.short = Some((opt, *sep));
            return w.to_string();
        }
        if let Some((opt, sep)) = self.short {
            if w == opt && sep {
                self.next_secret = true;
                return w.to_string();
            }
            if let Some(v) = w.strip_prefix(opt).filter(|v| !v.is_empty()) {
                return self.hide(v, opt);
            }
        }
        if w.eq_ignore_ascii_case("bearer") || w.eq_ignore_ascii_case("basic") {
            self.next_secret = true;
            return w.to_string();
        }
        if let Some((name, value)) = w.split_once('=') {
            // `--password=x`, `PGPASSWORD=x`; a URL's query is looked at below.
            let bare = name.trim_start_matches('-');
            let plain = bare
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
            if plain && !bare.is_empty() && is_secret_name(bare) {
                return self.hide(value, &w[..=name.len()]);
            }
        } else if w.starts_with('-') && w.len() > 2 && is_secret_name(w) {
            self.next_secret = true;
            return w.to_string();
        }
        if w.contains('?') {
            return redact_url(w);
        }
        w.to_string()
    }

    /// `prefix` followed by the hidden value; a value opening a quote it does not close
    /// hides the following words up to the closing one.
    fn hide(&mut self, value: &str, prefix: &str) -> String {
        if let Some(q) = value.chars().next().filter(|c| matches!(c, '\'' | '"')) {
            if value.len() == 1 || !value.ends_with(q) {
                self.in_quote = Some(q);
            }
        }
        format!("{prefix}{REDACTED}")
    }
}

/// A URL (or URI) with its password (`user:password@`) and credential-named query
/// values hidden.
fn redact_url(url: &str) -> String {
    let mut out = url.to_string();
    if let Some(scheme_end) = out.find("://") {
        let auth_start = scheme_end + 3;
        let auth_end = out[auth_start..]
            .find(['/', '?', '#'])
            .map_or(out.len(), |i| auth_start + i);
        if let Some(at) = out[auth_start..auth_end].rfind('@') {
            if let Some(colon) = out[auth_start..auth_start + at].find(':') {
                out.replace_range(auth_start + colon + 1..auth_start + at, REDACTED);
            }
        }
    }
    match redact_uri(&out) {
        Cow::Owned(o) => o,
        Cow::Borrowed(_) => out,
    }
}

/// A request URI with the values of credential-named query parameters (`access_token`,
/// `password`, ...) and the credentials in an exec's `command` parameters hidden.
pub fn redact_uri(uri: &str) -> Cow<'_, str> {
    let Some((path, query)) = uri.split_once('?') else {
        return Cow::Borrowed(uri);
    };
    let pairs: Vec<(&str, Option<&str>)> = query
        .split('&')
        .map(|kv| match kv.split_once('=') {
            Some((k, v)) => (k, Some(v)),
            None => (kv, None),
        })
        .collect();
    let is_command = |k: &str| percent_decode(k) == "command";
    let command: Vec<String> = pairs
        .iter()
        .filter(|(k, _)| is_command(k))
        .map(|(_, v)| percent_decode(v.unwrap_or("")))
        .collect();
    let mut redacted = redact_args(&command).into_iter();
    let mut changed = false;
    let mut out = String::with_capacity(uri.len());
    out.push_str(path);
    for (i, (k, v)) in pairs.iter().enumerate() {
        out.push(if i == 0 { '?' } else { '&' });
        out.push_str(k);
        let Some(v) = v else { continue };
        out.push('=');
        if is_command(k) {
            let arg = redacted.next().unwrap_or_default();
            if arg != percent_decode(v) {
                changed = true;
                out.push_str(&percent_encode(&arg));
                continue;
            }
        } else if !v.is_empty() && is_secret_name(&percent_decode(k)) {
            changed = true;
            out.push_str(REDACTED);
            continue;
        }
        out.push_str(v);
    }
    if changed {
        Cow::Owned(out)
    } else {
        Cow::Borrowed(uri)
    }
}

/// Percent-encodes all but the unreserved characters of RFC 3986.
fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn trim_ascii_end(b: &[u8]) -> &[u8] {
    let mut end = b.len();
    while end > 0 && b[end - 1].is_ascii_whitespace() {
        end -= 1;
    }
    &b[..end]
}

/// The Kind of a resource plural, for the common built-in resources; other resources keep
/// their plural name.
pub fn kind_of(resource: &str) -> String {
    crate::kinds::of_plural(resource)
        .map(|k| k.kind.to_string())
        .unwrap_or_else(|| resource.to_string())
}

/// `%2F` → `/`, `+` kept (Kubernetes clients encode spaces as `%20`); invalid escapes
/// are kept as they are.
pub fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            let hex = std::str::from_utf8(&b[i + 1..i + 3])
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok());
            if let Some(v) = hex {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Who did what to which object, when, and what the authorizer said: the owned part of an
/// event that reports carry with a finding.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct EventSummary {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audit_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stage: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time: Option<String>,
    pub user: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub impersonated_user: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub impersonated_groups: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub source_ips: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
    pub verb: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_uri: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_group: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subresource: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The command of an exec or attach, from the URI's `command` parameters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decision: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// Counts of one audit-log run: what was read and what was left out.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct AuditStats {
    /// Events parsed, duplicates included.
    pub events_read: u64,
    /// Events dropped as repeats of an auditID and stage seen shortly before.
    pub duplicates: u64,
    /// Events cut by CloudWatch or by the end of the input.
    pub truncated: u64,
    /// Lines or documents that are not audit events.
    pub malformed: u64,
}

/// The namespace of an API path (`/api/v1/namespaces/NS/...`, `/apis/G/V/namespaces/NS/...`),
/// read the way the API server reads it before authorizing.
fn namespace_in_path(uri: &str) -> Option<&str> {
    let path = uri.split('?').next().unwrap_or(uri);
    let mut parts = path.trim_start_matches('/').split('/');
    match parts.next()? {
        "api" => {
            parts.next()?;
        }
        "apis" => {
            parts.next()?;
            parts.next()?;
        }
        _ => return None,
    }
    (parts.next()? == "namespaces")
        .then(|| parts.next())
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_request_pod_is_built_once_until_forgotten() {
        let line = br#"{"kind":"Event","verb":"create","objectRef":{"resource":"pods"},"requestObject":{"spec":{"hostPID":true}}}"#;
        let ev = AuditEvent::parse(line).unwrap();
        let first = ev.request_pod().unwrap();
        assert_eq!(
            first.spec().get("hostPID").and_then(Node::as_bool),
            Some(true)
        );
        assert!(Arc::ptr_eq(&first, &ev.request_pod().unwrap()));
        assert!(ev
            .clone()
            .request_pod()
            .is_some_and(|p| !Arc::ptr_eq(&p, &first)));
        ev.forget_built();
        assert!(!Arc::ptr_eq(&first, &ev.request_pod().unwrap()));
        let none = AuditEvent::parse(br#"{"kind":"Event","verb":"create"}"#).unwrap();
        assert!(none.request_pod().is_none());
    }

    #[test]
    fn request_attributes_are_what_the_authorizer_checked() {
        let line = br#"{"verb":"create","user":{"username":"admin","groups":["system:masters"]},"impersonatedUser":{"username":"diana","groups":["dev"]},"objectRef":{"resource":"pods","namespace":"elsewhere","subresource":"exec","name":"web","apiVersion":"v1"},"requestURI":"/api/v1/namespaces/ns1/pods/web/exec?command=sh"}"#;
        let r = AuditEvent::parse(line)
            .unwrap()
            .request_attributes()
            .unwrap();
        assert_eq!(r.user, "diana");
        assert_eq!(r.groups, ["dev"]);
        assert_eq!((r.verb.as_str(), r.resource.as_str()), ("create", "pods"));
        assert_eq!(r.subresource.as_deref(), Some("exec"));
        // The path was authorized, not the object reference.
        assert_eq!(r.namespace.as_deref(), Some("ns1"));
        assert_eq!(r.name.as_deref(), Some("web"));

        let line = br#"{"verb":"list","user":{"username":"bob"},"objectRef":{"resource":"deployments","apiGroup":"apps","namespace":"shop"},"requestURI":"/apis/apps/v1/deployments?limit=500"}"#;
        let r = AuditEvent::parse(line)
            .unwrap()
            .request_attributes()
            .unwrap();
        assert_eq!(
            (r.api_group.as_str(), r.namespace.as_deref()),
            ("apps", Some("shop"))
        );

        let line = br#"{"verb":"get","user":{"username":"bob"},"requestURI":"/metrics"}"#;
        let r = AuditEvent::parse(line)
            .unwrap()
            .request_attributes()
            .unwrap();
        assert_eq!(r.path.as_deref(), Some("/metrics"));
        assert!(
            AuditEvent::parse(br#"{"kind":"Event","user":{"username":"x"}}"#)
                .unwrap()
                .request_attributes()
                .is_none()
        );
    }

    #[test]
    fn namespace_is_read_from_api_paths() {
        assert_eq!(namespace_in_path("/api/v1/namespaces/a/pods"), Some("a"));
        assert_eq!(
            namespace_in_path("/apis/apps/v1/namespaces/b/deployments/x?w=1"),
            Some("b")
        );
        assert_eq!(namespace_in_path("/api/v1/namespaces/c"), Some("c"));
        assert_eq!(namespace_in_path("/api/v1/namespaces"), None);
        assert_eq!(namespace_in_path("/api/v1/pods"), None);
        assert_eq!(namespace_in_path("/healthz"), None);
    }

    #[test]
    fn parses_borrowed_fields_and_fallbacks() {
        let line = br#"{"kind":"Event","auditID":"a1","stage":"ResponseComplete","verb":"create","user":{"username":"alice","groups":["dev"]},"impersonatedUser":{"username":"bob"},"sourceIPs":["10.0.0.1","203.0.113.9"],"objectRef":{"resource":"pods","namespace":"prod","subresource":"exec","apiVersion":"v1","name":"web"},"requestURI":"/api/v1/namespaces/prod/pods/web/exec?command=sh&command=-c&command=id%20-u&container=app","responseStatus":{"code":101},"annotations":{"authorization.k8s.io/decision":"allow","authorization.k8s.io/reason":"RBAC: allowed"},"requestReceivedTimestamp":"2024-05-01T12:00:00.5Z","unknown":[1,2,{"x":3}]}"#;
        let ev = AuditEvent::parse(line).unwrap();
        assert!(matches!(ev.verb, Some(Str(Cow::Borrowed("create")))));
        assert_eq!(ev.username(), "alice");
        assert_eq!(ev.source_ip(), Some("203.0.113.9"));
        assert_eq!(ev.query_values("command"), ["sh", "-c", "id -u"]);
        assert_eq!(ev.decision(), Some("allow"));
        assert_eq!(ev.time(), Some("2024-05-01T12:00:00.5Z"));
        assert_eq!(ev.time_micros(), Some(1_714_564_800_500_000));
        let t = ev.target();
        assert_eq!(
            (t.kind.as_str(), t.namespace.as_deref(), t.name.as_str()),
            ("Pod", Some("prod"), "web")
        );
        let s = ev.summary();
        assert_eq!(s.command.as_deref(), Some("sh -c id -u"));
        assert_eq!(s.impersonated_user.as_deref(), Some("bob"));
    }

    #[test]
    fn rejects_non_events_and_detects_truncation() {
        assert!(matches!(
            AuditEvent::parse(br#"{"kind": 0}"#),
            Err(AuditParseError::Malformed(_))
        ));
        assert!(matches!(
            AuditEvent::parse(br#"{"kind":"Pod","verb":"get"}"#),
            Err(AuditParseError::Malformed(_))
        ));
        assert_eq!(
            AuditEvent::parse(
                br#"{"kind":"Event","auditID":"abc-1","verb":"get","requestObject":{"x"#
            )
            .unwrap_err(),
            AuditParseError::Truncated {
                audit_id: Some("abc-1".into())
            }
        );
        assert!(
            AuditEvent::parse(br#"{"kind":"Event","auditID":"z","ver[Truncated...]"#)
                .unwrap_err()
                .is_truncated()
        );
        // No kind but plainly an event.
        assert!(AuditEvent::parse(br#"{"verb":"get","stage":"ResponseComplete"}"#).is_ok());
    }

    #[test]
    fn credentials_in_uris_are_redacted() {
        assert_eq!(
            redact_uri("/api/v1/namespaces?access_token=SECRETX&limit=500"),
            "/api/v1/namespaces?access_token=REDACTED&limit=500"
        );
        assert_eq!(
            redact_uri("/healthz?token=a&password=b&Api-Key=c&continue=d&watch"),
            "/healthz?token=REDACTED&password=REDACTED&Api-Key=REDACTED&continue=d&watch"
        );
        // Nothing to hide: the same text, not a copy.
        let plain = "/api/v1/pods?limit=500&labelSelector=app%3Dweb";
        assert!(matches!(redact_uri(plain), Cow::Borrowed(p) if p == plain));
        // An exec's command is redacted argument by argument, in place.
        assert_eq!(
            redact_uri("/api/v1/namespaces/db/pods/m/exec?command=mysql&command=-uroot&command=-pSECRETY&container=db&stdin=true"),
            "/api/v1/namespaces/db/pods/m/exec?command=mysql&command=-uroot&command=-pREDACTED&container=db&stdin=true"
        );
        assert_eq!(
            redact_uri("/api/v1/namespaces/db/pods/m/exec?command=sh&command=-c&command=mysql%20-pSECRETY%20-e%20select"),
            "/api/v1/namespaces/db/pods/m/exec?command=sh&command=-c&command=mysql%20-pREDACTED%20-e%20select"
        );
    }

    #[test]
    fn credentials_in_commands_are_redacted() {
        let r = |args: &[&str]| {
            redact_args(&args.iter().map(|a| a.to_string()).collect::<Vec<_>>()).join(" ")
        };
        assert_eq!(
            r(&["mysql", "-u", "root", "-pS3cret"]),
            "mysql -u root -pREDACTED"
        );
        // `mysql -p` alone prompts: nothing follows it to hide.
        assert_eq!(r(&["mysql", "-p", "shop"]), "mysql -p shop");
        assert_eq!(
            r(&["/usr/bin/mysqldump", "--password=S3cret", "shop"]),
            "/usr/bin/mysqldump --password=REDACTED shop"
        );
        assert_eq!(
            r(&["app", "--token", "abc", "--verbose"]),
            "app --token REDACTED --verbose"
        );
        assert_eq!(
            r(&["app", "--password", "--user", "x"]),
            "app --password --user x"
        );
        assert_eq!(
            r(&["sh", "-c", "PGPASSWORD=S3cret psql -h db"]),
            "sh -c PGPASSWORD=REDACTED psql -h db"
        );
        assert_eq!(
            r(&[
                "curl",
                "-H",
                "Authorization: Bearer eyJabc",
                "https://u:S3cret@h/x?api_key=k&q=1"
            ]),
            "curl -H Authorization: Bearer REDACTED https://u:REDACTED@h/x?api_key=REDACTED&q=1"
        );
        assert_eq!(
            r(&["redis-cli", "-a", "S3cret", "ping"]),
            "redis-cli -a REDACTED ping"
        );
        assert_eq!(
            r(&["sh", "-c", "app --secret='two words' --x"]),
            "sh -c app --secret=REDACTED REDACTED --x"
        );
        assert_eq!(
            r(&["mysql://root:S3cret@db/shop"]),
            "mysql://root:REDACTED@db/shop"
        );
        assert_eq!(r(&["ls", "-la", "/etc"]), "ls -la /etc");
        // The summary and the accessors only hand out redacted text.
        let line = br#"{"verb":"create","objectRef":{"resource":"pods","subresource":"exec"},"requestURI":"/api/v1/namespaces/a/pods/b/exec?command=mysql&command=-pSECRETY&access_token=SECRETX"}"#;
        let ev = AuditEvent::parse(line).unwrap();
        let s = ev.summary();
        assert_eq!(s.command.as_deref(), Some("mysql -pREDACTED"));
        let uri = s.request_uri.unwrap();
        assert!(!uri.contains("SECRET"), "{uri}");
        assert_eq!(ev.command(), ["mysql", "-pREDACTED"]);
        assert!(!ev.uri().contains("SECRET"));
    }

    #[test]
    fn deep_request_bodies_are_read_to_a_depth() {
        // `managedFields` nested far past what the JSON parser accepts.
        let deep = format!("{}1{}", "[".repeat(5000), "]".repeat(5000));
        let body = format!(
            r#"{{"metadata":{{"name":"p","managedFields":{deep}}},"spec":{{"hostPID":true}}}}"#
        );
        assert!(serde_json::from_str::<serde_json::Value>(&body).is_err());
        let v = json_within_depth(&body).unwrap();
        assert_eq!(v["spec"]["hostPID"], true);
        assert_eq!(v["metadata"]["name"], "p");
        // Values down to the limit are kept; below it they read as null.
        let nested = |n: usize| format!("{}7{}", "[".repeat(n), "]".repeat(n));
        let v = json_within_depth(&nested(BODY_DEPTH - 1)).unwrap();
        let mut at = &v;
        for _ in 0..BODY_DEPTH - 1 {
            at = &at[0];
        }
        assert_eq!(*at, 7);
        let v = json_within_depth(&nested(BODY_DEPTH)).unwrap();
        let mut at = &v;
        for _ in 0..BODY_DEPTH {
            at = &at[0];
        }
        assert!(at.is_null());
        assert!(json_within_depth("{\"a\":1} x").is_none());
    }

    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decode("a%20b%2Fc%zz%"), "a b/c%zz%");
    }
}
