//! The admission decision: an `AdmissionReview` (admission.k8s.io/v1) in, its response out.
//!
//! Pure: no I/O. The object is judged by the same engine, rule selection, severities,
//! parameters and suppressions as `scan`. Rules that read only the object always run;
//! rules that look at other objects (their `reads` in the registry) run only when the
//! caller hands in the cached objects around it, since judging them against nothing would
//! report what is not so.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, RwLock};

use eksguard_model::workload::WORKLOAD_KINDS;
use eksguard_model::{Inventory, Node, Object, RuleMeta, Severity, Source};
use eksguard_rules::engine::{Engine, EngineConfig};
use eksguard_rules::{registry, Rule};
use serde_json::{json, Value as Json};

use crate::config::AdmissionExempt;

/// Largest request body read; a larger one is answered 413 unread.
pub const MAX_BODY: usize = 3 * 1024 * 1024;

/// Longest warning returned: the API server may cut longer ones, and a short one names
/// the rule and the field, which is what the user needs.
const MAX_WARNING: usize = 200;
/// Warnings returned at most; the rest are counted in a last one.
const MAX_WARNINGS: usize = 20;
/// Findings listed in a deny message at most.
const MAX_DENY_LINES: usize = 20;

/// Who creates the pods (and ReplicaSets, Jobs) of a workload controller: the controller
/// manager, under its own identity or one service account per controller
/// (`replicaset-controller`, `job-controller`, `daemon-set-controller`, ...).
fn is_controller_user(username: &str) -> bool {
    username == "system:kube-controller-manager"
        || username
            .strip_prefix("system:serviceaccount:kube-system:")
            .is_some_and(|sa| sa.ends_with("-controller"))
}

/// Kinds whose controllers create workloads from a template they carry.
const CONTROLLER_KINDS: &[&str] = &[
    "Deployment",
    "ReplicaSet",
    "StatefulSet",
    "DaemonSet",
    "Job",
    "CronJob",
    "ReplicationController",
];

/// Whether a rule runs at admission, and with what.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Needs only the object under review.
    Object,
    /// Also looks at other objects: runs when the watch cache has synced.
    Cache,
    /// Reads AWS, node or audit data, which a webhook does not have: scans only.
    ScanOnly,
}

/// Where a rule runs, from its registry metadata.
pub fn scope(meta: &RuleMeta) -> Scope {
    let kubernetes_only = meta.data.is_only(eksguard_model::Data::Kubernetes);
    if !kubernetes_only || (meta.kinds().is_empty() && meta.reads.is_empty()) {
        Scope::ScanOnly
    } else if meta.reads.is_empty() {
        Scope::Object
    } else {
        Scope::Cache
    }
}

/// Where the README's list of rules by admission scope goes.
pub const README_MARKERS: (&str, &str) = (
    "<!-- admission-rules:start -->",
    "<!-- admission-rules:end -->",
);

/// The rules by where they run, from the registry: a Markdown table for the README.
pub fn scope_table() -> String {
    let mut s = String::from("| where | rules |\n|---|---|\n");
    for (label, want) in [
        ("at admission, on the object alone", Scope::Object),
        (
            "at admission, with the watch cache (after it has synced)",
            Scope::Cache,
        ),
        ("in scans only (AWS, node or audit data)", Scope::ScanOnly),
    ] {
        let ids: Vec<&str> = registry::all()
            .iter()
            .map(|r| r.meta())
            .filter(|m| scope(m) == want)
            .map(|m| m.id)
            .collect();
        s.push_str(&format!(
            "| {label} ({}) | {} |\n",
            ids.len(),
            ids.join(", ")
        ));
    }
    s
}

/// The README with its scope table regenerated; `None` without the markers.
pub fn refresh_readme(readme: &str) -> Option<String> {
    let (start, end) = README_MARKERS;
    let a = readme.find(start)? + start.len();
    let b = readme[a..].find(end)? + a;
    Some(format!(
        "{}\n{}{}",
        &readme[..a],
        scope_table(),
        &readme[b..]
    ))
}

/// The request part of an AdmissionReview that the decision needs.
#[derive(Debug, Clone)]
pub struct Review {
    pub uid: String,
    pub operation: String,
    pub kind: String,
    pub namespace: Option<String>,
    pub name: String,
    pub object: Option<Json>,
    pub old_object: Option<Json>,
    pub username: String,
}

/// Parses a request body; the error is the message of a 400 answer.
pub fn parse_review(body: &[u8]) -> Result<Review, String> {
    let doc: Json =
        serde_json::from_slice(body).map_err(|e| format!("request body is not JSON: {e}"))?;
    let api_version = doc.get("apiVersion").and_then(Json::as_str).unwrap_or("");
    let kind = doc.get("kind").and_then(Json::as_str).unwrap_or("");
    if kind != "AdmissionReview" || api_version != "admission.k8s.io/v1" {
        return Err(format!(
            "expected an AdmissionReview of apiVersion admission.k8s.io/v1, got kind `{}` apiVersion `{}`",
            shorten(kind, 60),
            shorten(api_version, 60)
        ));
    }
    let Some(Json::Object(mut req)) = doc.get("request").cloned() else {
        return Err("AdmissionReview has no `request` object".into());
    };
    let text = |v: Option<&Json>| v.and_then(Json::as_str).unwrap_or("").to_string();
    let uid = text(req.get("uid"));
    if uid.is_empty() {
        return Err("AdmissionReview `request.uid` is missing".into());
    }
    let operation = text(req.get("operation"));
    if operation.is_empty() {
        return Err("AdmissionReview `request.operation` is missing".into());
    }
    let object_kind = text(req.get("kind").and_then(|k| k.get("kind")));
    if object_kind.is_empty() {
        return Err("AdmissionReview `request.kind.kind` is missing".into());
    }
    let namespace = Some(text(req.get("namespace"))).filter(|n| !n.is_empty());
    let name = text(req.get("name"));
    let username = text(req.get("userInfo").and_then(|u| u.get("username")));
    let take = |req: &mut serde_json::Map<String, Json>, key: &str| match req.remove(key) {
        Some(Json::Null) | None => Ok(None),
        Some(v @ Json::Object(_)) => Ok(Some(v)),
        Some(_) => Err(format!("AdmissionReview `request.{key}` is not an object")),
    };
    let object = take(&mut req, "object")?;
    let old_object = take(&mut req, "oldObject")?;
    Ok(Review {
        uid,
        operation,
        kind: object_kind,
        namespace,
        name,
        object,
        old_object,
        username,
    })
}

/// The decision as metrics label it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Allowed with no finding at or above `--warn-on`.
    Allowed,
    /// Allowed with warnings.
    Warned,
    Denied,
    /// Would have been denied; `--dry-run` allowed it with warnings.
    DryRunDenied,
    /// Matched an `[[admission.exempt]]` entry.
    Exempt,
    /// A pod (or ReplicaSet, Job) created by the controller whose template was judged.
    Controlled,
    /// DELETE, CONNECT, or nothing to judge.
    Skipped,
    /// The rules failed: allowed, with a warning.
    Error,
}

impl Decision {
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Allowed => "allowed",
            Decision::Warned => "warned",
            Decision::Denied => "denied",
            Decision::DryRunDenied => "dry-run-denied",
            Decision::Exempt => "exempt",
            Decision::Controlled => "controlled",
            Decision::Skipped => "skipped",
            Decision::Error => "error",
        }
    }
}

/// A finding of the object under review.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    pub rule_id: &'static str,
    pub severity: Severity,
    pub path: String,
    pub message: String,
    /// Reported on the object's namespace (coverage rules), not on the object itself.
    pub on_namespace: bool,
}

/// The answer to one review.
#[derive(Debug, Clone)]
pub struct Verdict {
    pub uid: String,
    pub allowed: bool,
    pub decision: Decision,
    pub warnings: Vec<String>,
    pub audit: BTreeMap<String, String>,
    pub message: Option<String>,
    /// New findings of this request (for the findings metric).
    pub hits: Vec<Hit>,
}

impl Verdict {
    fn plain(uid: &str, decision: Decision) -> Verdict {
        Verdict {
            uid: uid.to_string(),
            allowed: true,
            decision,
            warnings: Vec::new(),
            audit: BTreeMap::new(),
            message: None,
            hits: Vec::new(),
        }
    }

    /// The AdmissionReview response document.
    pub fn to_json(&self) -> Json {
        let mut response = json!({"uid": self.uid, "allowed": self.allowed});
        if !self.warnings.is_empty() {
            response["warnings"] = json!(self.warnings);
        }
        if !self.audit.is_empty() {
            response["auditAnnotations"] = json!(self.audit);
        }
        if let (false, Some(m)) = (self.allowed, &self.message) {
            response["status"] = json!({"code": 403, "reason": "Forbidden", "message": m});
        }
        json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "response": response})
    }
}

/// Thresholds and exemptions: what turns findings into a decision.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    pub deny_on: Option<Severity>,
    pub warn_on: Option<Severity>,
    pub dry_run: bool,
    pub exempt: Vec<AdmissionExempt>,
}

/// The rules and configuration that judge objects, with one engine per kind and scope
/// built on first use.
pub struct Judge {
    rules: Vec<&'static dyn Rule>,
    config: EngineConfig,
    policy: Policy,
    engines: RwLock<HashMap<(String, bool), Arc<Engine<'static>>>>,
}

/// What judging one object found.
#[derive(Debug, Default)]
struct Judged {
    hits: Vec<Hit>,
    /// `RULE: reason` of each suppressed finding.
    suppressed: Vec<String>,
    /// Suppression annotations that suppress nothing.
    notes: Vec<String>,
}

impl Judge {
    pub fn new(config: EngineConfig, policy: Policy) -> Judge {
        Judge::with_rules(registry::all().to_vec(), config, policy)
    }

    /// A judge over other rules than the registry's (tests).
    pub fn with_rules(
        rules: Vec<&'static dyn Rule>,
        config: EngineConfig,
        policy: Policy,
    ) -> Judge {
        Judge {
            rules,
            config,
            policy,
            engines: RwLock::new(HashMap::new()),
        }
    }

    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// The engine for objects of `kind`: the rules handed objects of that kind, or that
    /// look across objects of it; those that need other objects only `with_cache`.
    fn engine(&self, kind: &str, with_cache: bool) -> Option<Arc<Engine<'static>>> {
        let key = (kind.to_string(), with_cache);
        if let Some(e) = self.engines.read().ok()?.get(&key) {
            return Some(e.clone());
        }
        let rules: Vec<&'static dyn Rule> = self
            .rules
            .iter()
            .copied()
            .filter(|r| {
                let m = r.meta();
                m.uses_kind(kind)
                    && match scope(m) {
                        Scope::Object => true,
                        Scope::Cache => with_cache,
                        Scope::ScanOnly => false,
                    }
            })
            .collect();
        // Kinds no rule reads are not remembered: a client naming endless kinds must not
        // grow the map.
        if rules.is_empty() {
            return None;
        }
        let engine = Arc::new(Engine::new(&rules, self.config.clone()));
        if let Ok(mut map) = self.engines.write() {
            map.insert(key, engine.clone());
        }
        Some(engine)
    }

    /// Decides one review. `context` holds the cached objects around the object (its
    /// namespace, cluster-scoped RBAC, aws-auth), or `None` without a synced cache.
    pub fn decide(&self, review: &Review, context: Option<&[Object]>) -> Verdict {
        let uid = review.uid.as_str();
        if matches!(review.operation.as_str(), "DELETE" | "CONNECT") {
            return Verdict::plain(uid, Decision::Skipped);
        }
        let Some(object) = &review.object else {
            return Verdict::plain(uid, Decision::Skipped);
        };
        let name = match review.name.as_str() {
            "" => object
                .pointer("/metadata/name")
                .or_else(|| object.pointer("/metadata/generateName"))
                .and_then(Json::as_str)
                .unwrap_or(""),
            n => n,
        };
        let namespace = review
            .namespace
            .clone()
            .or_else(|| {
                object
                    .pointer("/metadata/namespace")
                    .and_then(Json::as_str)
                    .map(str::to_string)
            })
            // A Namespace is exempted by its own name.
            .or_else(|| (review.kind == "Namespace").then(|| name.to_string()));
        if let Some(ns) = &namespace {
            if let Some(e) = self
                .policy
                .exempt
                .iter()
                .find(|e| e.matches(ns, &review.kind, name))
            {
                let mut v = Verdict::plain(uid, Decision::Exempt);
                v.audit
                    .insert("exempt".into(), shorten(&e.reason, MAX_WARNING));
                return v;
            }
        }
        if let Some(owner) = controller_of(review, object) {
            let mut v = Verdict::plain(uid, Decision::Controlled);
            v.audit.insert("judged-as".into(), owner);
            return v;
        }
        let judged = match self.judge(object, namespace.as_deref(), context) {
            Ok(j) => j,
            Err(message) => {
                let mut v = Verdict::plain(uid, Decision::Skipped);
                v.warnings.push(shorten(&message, MAX_WARNING));
                return v;
            }
        };
        // UPDATE: what the old object already had is a warning, never a deny, so legacy
        // workloads can still be scaled and patched.
        let old: HashSet<(&'static str, String)> =
            match (&review.old_object, review.operation.as_str()) {
                (Some(old), "UPDATE") => self
                    .judge(old, namespace.as_deref(), context)
                    .map(|j| {
                        j.hits
                            .into_iter()
                            .flat_map(|h| [(h.rule_id, h.path), (h.rule_id, h.message)])
                            .collect()
                    })
                    .unwrap_or_default(),
                _ => HashSet::new(),
            };
        self.verdict(uid, &review.kind, name, namespace.as_deref(), judged, &old)
    }

    /// [`Judge::decide`], with a failure inside the rules (a panic) turned into an
    /// allowed answer with a warning: one bad rule must not take the webhook down, and
    /// the webhook's `failurePolicy` is for when it cannot answer at all.
    pub fn decide_guarded(&self, review: &Review, context: Option<&[Object]>) -> Verdict {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            self.decide(review, context)
        }))
        .unwrap_or_else(|_| {
            let mut v = Verdict::plain(&review.uid, Decision::Error);
            v.warnings
                .push("eksguard could not judge this object (internal error); allowed".into());
            v.audit.insert("decision".into(), "error".into());
            v
        })
    }

    fn verdict(
        &self,
        uid: &str,
        kind: &str,
        name: &str,
        namespace: Option<&str>,
        judged: Judged,
        old: &HashSet<(&'static str, String)>,
    ) -> Verdict {
        let p = &self.policy;
        let at = |t: Option<Severity>, s: Severity| t.is_some_and(|t| s >= t);
        let mut v = Verdict::plain(uid, Decision::Allowed);
        let mut deny_lines = Vec::new();
        let mut warnings = Vec::new();
        for h in &judged.hits {
            let existing = old.contains(&(h.rule_id, h.path.clone()))
                || old.contains(&(h.rule_id, h.message.clone()));
            // Namespace findings describe the namespace, not what this request adds.
            let denies = !existing && !h.on_namespace && at(p.deny_on, h.severity);
            let mut line = format!("{} ({}) {}: {}", h.rule_id, h.severity, h.path, h.message);
            if h.on_namespace {
                line = format!("{} namespace: {}", h.rule_id, h.message);
            }
            if existing {
                line.push_str(" [already present before this update]");
            }
            // Names from the object reach the user's terminal through kubectl.
            let line = crate::commands::shown(line);
            if denies {
                deny_lines.push(line.clone());
            }
            if denies || at(p.warn_on, h.severity) {
                let prefix = if denies && p.dry_run {
                    "would be denied: "
                } else {
                    ""
                };
                warnings.push(shorten(&format!("{prefix}{line}"), MAX_WARNING));
            }
            let entry = v.audit.entry(h.rule_id.to_ascii_lowercase()).or_default();
            if !entry.is_empty() {
                entry.push_str("; ");
            }
            entry.push_str(&format!("{} {}: {}", h.severity, h.path, h.message));
            if !existing {
                v.hits.push(h.clone());
            }
        }
        for value in v.audit.values_mut() {
            *value = shorten(value, 1024);
        }
        if !judged.suppressed.is_empty() {
            v.audit.insert(
                "suppressed".into(),
                shorten(&judged.suppressed.join("; "), 1024),
            );
        }
        warnings.extend(
            judged
                .notes
                .iter()
                .map(|n| shorten(&crate::commands::shown(n), MAX_WARNING)),
        );
        if warnings.len() > MAX_WARNINGS {
            let more = warnings.len() - (MAX_WARNINGS - 1);
            warnings.truncate(MAX_WARNINGS - 1);
            warnings.push(format!("and {more} more findings (see the audit log)"));
        }
        v.warnings = warnings;
        if !deny_lines.is_empty() {
            if p.dry_run {
                v.decision = Decision::DryRunDenied;
            } else {
                v.allowed = false;
                v.decision = Decision::Denied;
                let shown = match namespace {
                    Some(ns) if kind != "Namespace" => format!("{kind} {ns}/{name}"),
                    _ => format!("{kind} {name}"),
                };
                let mut message = format!(
                    "eksguard: {shown} has {} finding(s) at or above {}:",
                    deny_lines.len(),
                    p.deny_on.map(Severity::as_str).unwrap_or("never")
                );
                for l in deny_lines.iter().take(MAX_DENY_LINES) {
                    message.push_str("\n- ");
                    message.push_str(l);
                }
                if deny_lines.len() > MAX_DENY_LINES {
                    message.push_str(&format!(
                        "\n- and {} more",
                        deny_lines.len() - MAX_DENY_LINES
                    ));
                }
                v.message = Some(message);
            }
        } else if !v.warnings.is_empty() {
            v.decision = Decision::Warned;
        }
        v.audit
            .insert("decision".into(), v.decision.as_str().into());
        v
    }

    /// Runs the rules on one object (its Secret values dropped first), with the context
    /// objects beside it; keeps what is reported on it, or on its namespace.
    fn judge(
        &self,
        object: &Json,
        namespace: Option<&str>,
        context: Option<&[Object]>,
    ) -> Result<Judged, String> {
        let mut root = Node::from_json(object);
        eksguard_sources::snapshot::sanitize_node(&mut root);
        let obj = Object::from_node(root, Source::Live, namespace.unwrap_or("default"))
            .map_err(|_| "the object has no apiVersion or kind; not judged".to_string())?;
        let Some(engine) = self.engine(&obj.kind, context.is_some()) else {
            return Ok(Judged::default());
        };
        let mut inv = Inventory::default();
        for c in context.unwrap_or(&[]) {
            // The request's own version replaces the cached one.
            if !(c.kind == obj.kind && c.name == obj.name && c.namespace == obj.namespace) {
                inv.push(c.clone());
            }
        }
        let ns_object = obj.ns().and_then(|ns| {
            inv.of_kind("Namespace")
                .find(|n| &*n.name == ns)
                .map(|n| n.id)
        });
        let id = inv.push(obj);
        let result = engine.run(&inv);
        let mut judged = Judged::default();
        for f in result.findings {
            let on_namespace = Some(f.object) == ns_object;
            if f.object == id || on_namespace {
                judged.hits.push(Hit {
                    rule_id: f.rule_id,
                    severity: f.severity,
                    path: f.path.to_string(),
                    message: f.message,
                    on_namespace,
                });
            }
        }
        for s in result.suppressed.iter().filter(|s| s.finding.object == id) {
            judged.suppressed.push(format!(
                "{} ({}): {}",
                s.finding.rule_id,
                s.note.source.describe(),
                s.note.reason
            ));
        }
        judged.notes = result.warnings.into_iter().map(|w| w.message).collect();
        Ok(judged)
    }
}

/// `Kind/name` of the controller that created this object from its template, when the
/// request comes from the controller manager: then its template was judged already.
/// Anyone else naming an owner is judged in full, so an `ownerReferences` entry cannot
/// be used to slip past the rules.
fn controller_of(review: &Review, object: &Json) -> Option<String> {
    if !WORKLOAD_KINDS.contains(&review.kind.as_str()) || !is_controller_user(&review.username) {
        return None;
    }
    object
        .pointer("/metadata/ownerReferences")?
        .as_array()?
        .iter()
        .filter(|r| r.get("controller").and_then(Json::as_bool) == Some(true))
        .find_map(|r| {
            let kind = r.get("kind").and_then(Json::as_str)?;
            let name = r.get("name").and_then(Json::as_str)?;
            CONTROLLER_KINDS
                .contains(&kind)
                .then(|| format!("{kind}/{name}"))
        })
}

/// At most `max` bytes, cut at a character boundary with an ellipsis.
pub fn shorten(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max.saturating_sub(3);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn judge(policy: Policy) -> Judge {
        Judge::new(EngineConfig::default(), policy)
    }

    fn policy() -> Policy {
        Policy {
            deny_on: Some(Severity::High),
            warn_on: Some(Severity::Low),
            dry_run: false,
            exempt: Vec::new(),
        }
    }

    fn deployment(privileged: bool, annotations: Json) -> Json {
        json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "shop"},
            "spec": {"template": {"metadata": {"annotations": annotations}, "spec": {"containers": [{
                "name": "web", "image": "nginx:1.27",
                "securityContext": {"privileged": privileged}
            }]}}}
        })
    }

    fn review(op: &str, object: Option<Json>, old: Option<Json>) -> Review {
        Review {
            uid: "u-1".into(),
            operation: op.into(),
            kind: object
                .as_ref()
                .and_then(|o| o["kind"].as_str())
                .unwrap_or("Deployment")
                .into(),
            namespace: Some("shop".into()),
            name: "web".into(),
            object,
            old_object: old,
            username: "alice".into(),
        }
    }

    #[test]
    fn privileged_deployment_is_denied_with_rule_and_path() {
        let v = judge(policy()).decide(
            &review("CREATE", Some(deployment(true, json!({}))), None),
            None,
        );
        assert!(!v.allowed);
        assert_eq!(v.decision, Decision::Denied);
        let m = v.message.unwrap();
        assert!(
            m.contains(
                "POD001 (critical) spec.template.spec.containers[0].securityContext.privileged"
            ),
            "{m}"
        );
        assert!(
            v.warnings.iter().any(|w| w.starts_with("POD001 ")),
            "{:?}",
            v.warnings
        );
        assert!(v.audit["pod001"].starts_with("critical "), "{:?}", v.audit);
        assert_eq!(v.audit["decision"], "denied");
    }

    #[test]
    fn update_ratchet_warns_on_what_was_there() {
        let j = judge(policy());
        let old = deployment(true, json!({}));
        let mut new = old.clone();
        new["spec"]["replicas"] = json!(5);
        let v = j.decide(
            &review("UPDATE", Some(new.clone()), Some(old.clone())),
            None,
        );
        assert!(v.allowed, "{:?}", v.message);
        assert_eq!(v.decision, Decision::Warned);
        assert!(v
            .warnings
            .iter()
            .any(|w| w.contains("POD001") && w.contains("already present")));
        // A new problem in the same update is still denied.
        new["spec"]["template"]["spec"]["hostPID"] = json!(true);
        let v = j.decide(&review("UPDATE", Some(new), Some(old)), None);
        assert!(!v.allowed);
        let m = v.message.unwrap();
        assert!(m.contains("hostPID") && !m.contains("POD001"), "{m}");
    }

    #[test]
    fn dry_run_never_denies() {
        let v = judge(Policy {
            dry_run: true,
            ..policy()
        })
        .decide(
            &review("CREATE", Some(deployment(true, json!({}))), None),
            None,
        );
        assert!(v.allowed);
        assert_eq!(v.decision, Decision::DryRunDenied);
        assert!(v
            .warnings
            .iter()
            .any(|w| w.starts_with("would be denied: POD001")));
    }

    #[test]
    fn delete_connect_and_exemptions_are_allowed() {
        let j = judge(Policy {
            exempt: vec![AdmissionExempt {
                namespace: "shop".into(),
                kind: Some("Deployment".into()),
                name: None,
                reason: "legacy shop, until the rewrite".into(),
            }],
            ..policy()
        });
        for op in ["DELETE", "CONNECT"] {
            let v = j.decide(&review(op, None, Some(deployment(true, json!({})))), None);
            assert_eq!((v.allowed, v.decision), (true, Decision::Skipped));
        }
        let v = j.decide(
            &review("CREATE", Some(deployment(true, json!({}))), None),
            None,
        );
        assert_eq!((v.allowed, v.decision), (true, Decision::Exempt));
        assert_eq!(v.audit["exempt"], "legacy shop, until the rewrite");
    }

    #[test]
    fn inline_annotation_suppresses_through_the_engine() {
        let ann = json!({"eksguard.io/ignore": "POD001 -- node agent needs it"});
        let v = judge(Policy {
            warn_on: None,
            ..policy()
        })
        .decide(&review("CREATE", Some(deployment(true, ann)), None), None);
        assert!(v.allowed, "{:?}", v.message);
        assert!(v.audit["suppressed"].contains("POD001 (inline annotation): node agent needs it"));
    }

    #[test]
    fn controller_pods_are_answered_as_their_controller_only_for_the_controller_manager() {
        let pod = json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "web-1", "namespace": "shop", "ownerReferences": [
                {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-6d4", "uid": "x", "controller": true}]},
            "spec": {"containers": [{"name": "web", "image": "nginx:1.27", "securityContext": {"privileged": true}}]}});
        let j = judge(policy());
        let mut r = review("CREATE", Some(pod), None);
        r.username = "system:serviceaccount:kube-system:replicaset-controller".into();
        let v = j.decide(&r, None);
        assert_eq!((v.allowed, v.decision), (true, Decision::Controlled));
        assert_eq!(v.audit["judged-as"], "ReplicaSet/web-6d4");
        for other in ["mallory", "system:serviceaccount:kube-system:aws-node"] {
            r.username = other.into();
            assert!(!j.decide(&r, None).allowed, "{other}");
        }
    }

    #[test]
    fn bad_bodies_say_what_is_wrong() {
        assert!(parse_review(b"{").unwrap_err().contains("not JSON"));
        let e = parse_review(br#"{"apiVersion":"v1","kind":"Pod"}"#).unwrap_err();
        assert!(e.contains("AdmissionReview"), "{e}");
        let e = parse_review(
            br#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"operation":"CREATE"}}"#,
        )
        .unwrap_err();
        assert!(e.contains("uid"), "{e}");
    }

    #[test]
    fn scopes_come_from_the_registry() {
        let of = |id: &str| scope(registry::find(id).unwrap().meta());
        assert_eq!(of("POD001"), Scope::Object);
        assert_eq!(of("NET005"), Scope::Cache);
        // Judging a binding needs the role it names, from the cache.
        assert_eq!(of("IAM020"), Scope::Cache);
        assert_eq!(of("IRSA008"), Scope::ScanOnly);
    }

    eksguard_rules::declare_rule! {
        /// Fails on every Deployment, as a rule with a bug would.
        pub Explodes {
            id: "TST001", name: "explodes", severity: High, data: [Kubernetes],
            scope: Objects(&["Deployment"]),
            summary: "Always fails",
            remediation: "Nothing.",
        }
    }

    impl eksguard_rules::ObjectRule for Explodes {
        fn check_object(
            &self,
            _cx: &eksguard_rules::Ctx<'_>,
            _obj: &Object,
            _out: &mut eksguard_rules::Sink,
        ) {
            panic!("a rule with a bug");
        }
    }

    #[test]
    fn a_failing_rule_allows_with_a_warning() {
        static RULE: Explodes = Explodes;
        let j = Judge::with_rules(vec![&RULE], EngineConfig::default(), policy());
        let v = j.decide_guarded(
            &review("CREATE", Some(deployment(true, json!({}))), None),
            None,
        );
        assert_eq!((v.allowed, v.decision), (true, Decision::Error));
        assert!(v.warnings[0].contains("internal error"), "{:?}", v.warnings);
        // And the judge still answers the next request.
        let v = j.decide_guarded(
            &review("DELETE", None, Some(deployment(true, json!({})))),
            None,
        );
        assert_eq!(v.decision, Decision::Skipped);
    }

    #[test]
    fn control_characters_in_names_are_escaped() {
        let mut d = deployment(true, json!({}));
        d["spec"]["template"]["spec"]["containers"][0]["name"] = json!("web\u{1b}[2J");
        let v = judge(policy()).decide(&review("CREATE", Some(d), None), None);
        let text = format!("{:?} {:?}", v.message, v.warnings);
        assert!(!text.contains('\u{1b}'), "{text}");
    }

    #[test]
    fn long_text_is_cut_on_a_character() {
        let s = "é".repeat(300);
        let cut = shorten(&s, 200);
        assert!(cut.len() <= 200 && cut.ends_with('…'));
    }
}
