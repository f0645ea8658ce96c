//! The admission decision: an `AdmissionReview` (admission.k8s.io/v1) in, its response out.
//!
//! Pure: no I/O. The object is judged by the same engine, rule selection, severities,
//! parameters and configured suppressions as `scan`. Rules that read only the object
//! always run; rules that look at other objects (their `reads` in the registry) run only
//! when the caller hands in the cached objects around it, since judging them against
//! nothing would report what is not so.
//!
//! Only what a cluster administrator controls exempts an object: the server's
//! configuration (`[[admission.exempt]]`, `[[suppress]]`). The object's own
//! `eksguard.io/ignore` annotations are written by whoever may create it, so they count
//! only in the namespaces the server is told to trust them in.

use std::collections::hash_map::RandomState;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::hash::{BuildHasher, Hash, Hasher};
use std::sync::{Arc, RwLock};

use eksguard_model::workload::WORKLOAD_KINDS;
use eksguard_model::{
    Inventory, Node, Object, RuleMeta, Seg, Severity, Source, SuppressionSource, Value,
};
use eksguard_rules::engine::{Engine, EngineConfig};
use eksguard_rules::suppress::Date;
use eksguard_rules::{registry, Rule};
use serde_json::{json, Value as Json};

pub use super::review::{parse_review, Review};
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
/// Longest audit annotation value.
const AUDIT_MAX: usize = 1024;

/// The identities of the controller manager that create pods, ReplicaSets and Jobs from
/// a workload's template: the controller manager's own user, and the service accounts of
/// the built-in controllers when it runs with `--use-service-account-credentials` (as on
/// EKS). Exact names: a service account that merely ends in `-controller` is not one.
pub const DEFAULT_CONTROLLERS: &[&str] = &[
    "system:kube-controller-manager",
    "system:serviceaccount:kube-system:cronjob-controller",
    "system:serviceaccount:kube-system:daemon-set-controller",
    "system:serviceaccount:kube-system:deployment-controller",
    "system:serviceaccount:kube-system:job-controller",
    "system:serviceaccount:kube-system:replicaset-controller",
    "system:serviceaccount:kube-system:replication-controller",
    "system:serviceaccount:kube-system:statefulset-controller",
];

/// The annotation an object may carry to suppress findings on itself.
const IGNORE_ANNOTATION: &str = "eksguard.io/ignore";
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
    // Kubelet configurations live on nodes, never in the API: a rule that only refines
    // its verdict with them judges the object alone, as without them.
    let reads: Vec<&str> = meta
        .reads
        .iter()
        .copied()
        .filter(|k| !matches!(*k, "KubeletConfiguration"))
        .collect();
    let other_objects = reads.iter().filter(|k| !WORKLOAD_KINDS.contains(k));
    // A rule that reads what the cache does not watch (policy-engine and mesh resources,
    // whose definitions a cluster may not have) would judge without them and be wrong:
    // it runs in scans only.
    let unwatched = other_objects
        .clone()
        .any(|k| !super::cache::WATCHED.iter().any(|w| w.kind == *k));
    if !kubernetes_only || (meta.kinds().is_empty() && reads.is_empty()) || unwatched {
        Scope::ScanOnly
    } else if reads.is_empty() {
        Scope::Object
    } else {
        Scope::Cache
    }
}

/// Where the admission chapter's list of rules by admission scope goes.
pub const README_MARKERS: (&str, &str) = (
    "<!-- admission-rules:start -->",
    "<!-- admission-rules:end -->",
);

/// The rules by where they run, from the registry: a Markdown table for the book.
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

/// A page with its scope table regenerated; `None` without the markers.
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

/// A finding of the object under review: the engine's own path and message, moved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    pub rule_id: &'static str,
    pub severity: Severity,
    pub path: eksguard_model::FieldPath,
    pub message: String,
    /// Reported on the object's namespace (coverage rules), not on the object itself.
    pub on_namespace: bool,
    /// The keyed hash of the rule, what the finding is about by content rather than
    /// position (see [`identity`]) and the message: an UPDATE's finding is already
    /// present only when the old object had one with the same key.
    pub key: u64,
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
    /// New findings of this request by rule and severity (for the findings metric).
    pub new_findings: BTreeMap<(&'static str, Severity), u64>,
    /// Rules an `eksguard.io/ignore` annotation suppressed, in a namespace trusted for
    /// it, with that namespace (for the metric that counts each use).
    pub annotation_uses: Vec<(String, &'static str)>,
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
            new_findings: BTreeMap::new(),
            annotation_uses: Vec::new(),
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

/// Thresholds, exemptions and trust: what turns findings into a decision.
#[derive(Debug, Clone)]
pub struct Policy {
    pub deny_on: Option<Severity>,
    pub warn_on: Option<Severity>,
    pub dry_run: bool,
    pub exempt: Vec<AdmissionExempt>,
    /// Namespaces whose objects' `eksguard.io/ignore` annotations are honoured (exact
    /// names); none by default.
    pub trust_annotations_in: Vec<String>,
    /// Users whose pods, ReplicaSets and Jobs with a controller owner get the owner's
    /// answer (exact names).
    pub controllers: Vec<String>,
}

impl Default for Policy {
    fn default() -> Policy {
        Policy {
            deny_on: None,
            warn_on: None,
            dry_run: false,
            exempt: Vec::new(),
            trust_annotations_in: Vec::new(),
            controllers: DEFAULT_CONTROLLERS.iter().map(|s| s.to_string()).collect(),
        }
    }
}

/// Engines are built per kind, per whether the cache is there, and per whether
/// annotations are trusted.
type EngineKey = (String, bool, bool);

/// The rules and configuration that judge objects, with one engine per kind and scope
/// built on first use.
pub struct Judge {
    rules: Vec<&'static dyn Rule>,
    config: EngineConfig,
    policy: Policy,
    engines: RwLock<HashMap<EngineKey, Arc<Engine<'static>>>>,
    /// Keys the content hashes of finding identities, so a client cannot make two
    /// different list items hash alike.
    hasher: RandomState,
}

/// What judging one object found.
#[derive(Debug, Default)]
struct Judged {
    hits: Vec<Hit>,
    /// `RULE (source): reason` of each suppressed finding.
    suppressed: Vec<String>,
    /// The rules an annotation suppressed, with its reason.
    by_annotation: Vec<(&'static str, String)>,
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
            hasher: RandomState::new(),
        }
    }

    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// The engine for objects of `kind`: the rules handed objects of that kind, or that
    /// look across objects of it; those that need other objects only `with_cache`.
    /// Annotations are read only by the engines built `trusting` them.
    fn engine(&self, kind: &str, with_cache: bool, trusting: bool) -> Option<Arc<Engine<'static>>> {
        let key = (kind.to_string(), with_cache, trusting);
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
        let config = EngineConfig {
            ignore_inline: !trusting,
            ..self.config.clone()
        };
        let engine = Arc::new(Engine::new(&rules, config));
        if let Ok(mut map) = self.engines.write() {
            map.insert(key, engine.clone());
        }
        Some(engine)
    }

    /// The `[[admission.exempt]]` entry that covers a request, if any; expired entries
    /// cover nothing.
    fn exemption(
        &self,
        review: &Review,
        namespace: Option<&str>,
        name: &str,
    ) -> Option<&AdmissionExempt> {
        let today = self.config.today.unwrap_or_else(Date::today);
        self.policy
            .exempt
            .iter()
            .filter(|e| e.until.is_none_or(|d| d >= today))
            .find(|e| e.matches(namespace, &review.kind, name, &review.username))
    }

    /// Decides one review. `context` holds the cached objects around the object (its
    /// namespace, cluster-scoped RBAC, aws-auth) in increasing id order, as
    /// [`Cache::around`](super::cache::Cache::around) gives them, or `None` without a
    /// synced cache.
    pub fn decide(&self, review: Review, context: Option<Vec<Arc<Object>>>) -> Verdict {
        let uid = review.uid.as_str();
        if matches!(review.operation.as_str(), "DELETE" | "CONNECT") {
            return Verdict::plain(uid, Decision::Skipped);
        }
        let Some(object) = &review.object else {
            return Verdict::plain(uid, Decision::Skipped);
        };
        let name = match review.name.as_str() {
            "" => object
                .at("metadata.name")
                .or_else(|| object.at("metadata.generateName"))
                .and_then(Node::as_str)
                .unwrap_or("")
                .to_string(),
            n => n.to_string(),
        };
        let namespace = review
            .namespace
            .clone()
            .or_else(|| {
                object
                    .at("metadata.namespace")
                    .and_then(Node::as_str)
                    .map(str::to_string)
            })
            // A Namespace is exempted by its own name.
            .or_else(|| (review.kind == "Namespace").then(|| name.clone()));
        if let Some(e) = self.exemption(&review, namespace.as_deref(), &name) {
            let mut v = Verdict::plain(uid, Decision::Exempt);
            v.audit.insert(
                "exempt".into(),
                shorten(&crate::term::shown(&e.reason), MAX_WARNING),
            );
            return v;
        }
        if let Some(owner) = self.controller_of(&review, object) {
            let mut v = Verdict::plain(uid, Decision::Controlled);
            v.audit
                .insert("judged-as".into(), crate::term::shown(owner));
            return v;
        }
        let trusting = namespace
            .as_deref()
            .is_some_and(|ns| self.policy.trust_annotations_in.iter().any(|t| t == ns));
        let annotated = !trusting && has_ignore_annotation(object);
        let Review {
            uid,
            operation,
            kind,
            object,
            old_object,
            ..
        } = review;
        let Some(object) = object else {
            return Verdict::plain(&uid, Decision::Skipped);
        };
        let ns = namespace.as_deref();
        // The cached objects, shared with the cache: each object judged is laid over
        // them and taken off again, so neither judgement copies them.
        let mut cached = context.map(|objects| {
            let mut inv = Inventory::default();
            for o in objects {
                inv.push_shared(o);
            }
            inv
        });
        // UPDATE: what the old object already had is a warning, never a deny, so legacy
        // workloads can still be scaled and patched. Compared by content: the same rule on
        // the same container, list item and value, with the same message. The old object
        // is judged first and kept only as keys, so the two are never held at once.
        let old: HashSet<u64> = match (old_object, operation.as_str()) {
            (Some(old), "UPDATE") => self
                .judge(old, ns, cached.as_mut(), trusting)
                .map(|j| j.hits.into_iter().map(|h| h.key).collect())
                .unwrap_or_default(),
            _ => HashSet::new(),
        };
        let judged = match self.judge(object, ns, cached.as_mut(), trusting) {
            Ok(j) => j,
            Err(message) => {
                let mut v = Verdict::plain(&uid, Decision::Skipped);
                v.warnings.push(shorten(&message, MAX_WARNING));
                return v;
            }
        };
        let mut v = self.verdict(&uid, &kind, &name, ns, judged, &old, trusting);
        if annotated {
            let shown_ns = crate::term::shown(ns.unwrap_or(""));
            v.warnings.push(shorten(
                &format!(
                    "{IGNORE_ANNOTATION} annotations are not honoured at admission in namespace {shown_ns}; exemptions belong in the server's configuration"
                ),
                MAX_WARNING,
            ));
            if v.decision == Decision::Allowed {
                v.decision = Decision::Warned;
                v.audit
                    .insert("decision".into(), v.decision.as_str().into());
            }
        }
        v
    }

    /// [`Judge::decide`], with a failure inside the rules (a panic) turned into an
    /// allowed answer with a warning: one bad rule must not take the webhook down, and
    /// the webhook's `failurePolicy` is for when it cannot answer at all.
    pub fn decide_guarded(&self, review: Review, context: Option<Vec<Arc<Object>>>) -> Verdict {
        let uid = review.uid.clone();
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            self.decide(review, context)
        }))
        .unwrap_or_else(|_| {
            let mut v = Verdict::plain(&uid, Decision::Error);
            v.warnings
                .push("eksguard could not judge this object (internal error); allowed".into());
            v.audit.insert("decision".into(), "error".into());
            v
        })
    }

    #[allow(clippy::too_many_arguments)]
    fn verdict(
        &self,
        uid: &str,
        kind: &str,
        name: &str,
        namespace: Option<&str>,
        judged: Judged,
        old: &HashSet<u64>,
        trusting: bool,
    ) -> Verdict {
        let p = &self.policy;
        let at = |t: Option<Severity>, s: Severity| t.is_some_and(|t| s >= t);
        let mut v = Verdict::plain(uid, Decision::Allowed);
        // Only what is shown is kept: the first lines of the deny message, the first
        // warnings, and each rule's audit text up to its cut; the rest is counted, so an
        // object with a hundred thousand findings costs no more than one with twenty.
        let mut deny_lines = Vec::new();
        let mut denials = 0usize;
        let mut warnings = Vec::new();
        let mut more_warnings = 0usize;
        for h in judged.hits {
            let existing = old.contains(&h.key);
            // Namespace findings describe the namespace, not what this request adds.
            let denies = !existing && !h.on_namespace && at(p.deny_on, h.severity);
            let warns = denies || at(p.warn_on, h.severity);
            let audit = v.audit.entry(h.rule_id.to_ascii_lowercase()).or_default();
            let audit_full = audit.len() > AUDIT_MAX;
            let show = (denies && deny_lines.len() < MAX_DENY_LINES)
                || (warns && warnings.len() < MAX_WARNINGS)
                || !audit_full;
            if show {
                let mut line = format!("{} ({}) {}: {}", h.rule_id, h.severity, h.path, h.message);
                if h.on_namespace {
                    line = format!("{} namespace: {}", h.rule_id, h.message);
                }
                if existing {
                    line.push_str(" [already present before this update]");
                }
                // Names from the object reach the user's terminal through kubectl.
                let line = crate::term::shown(line);
                if !audit_full {
                    if !audit.is_empty() {
                        audit.push_str("; ");
                    }
                    audit.push_str(&crate::term::shown(format!(
                        "{} {}: {}",
                        h.severity, h.path, h.message
                    )));
                }
                if warns && warnings.len() < MAX_WARNINGS {
                    let prefix = if denies && p.dry_run {
                        "would be denied: "
                    } else {
                        ""
                    };
                    warnings.push(shorten(&format!("{prefix}{line}"), MAX_WARNING));
                } else if warns {
                    more_warnings += 1;
                }
                if denies && deny_lines.len() < MAX_DENY_LINES {
                    deny_lines.push(line);
                }
            } else if warns {
                more_warnings += 1;
            }
            denials += usize::from(denies);
            if !existing {
                *v.new_findings.entry((h.rule_id, h.severity)).or_default() += 1;
            }
        }
        for value in v.audit.values_mut() {
            *value = shorten(value, AUDIT_MAX);
        }
        if !judged.suppressed.is_empty() {
            v.audit.insert(
                "suppressed".into(),
                shorten(&crate::term::shown(judged.suppressed.join("; ")), 1024),
            );
        }
        if trusting && !judged.by_annotation.is_empty() {
            let ns = namespace.unwrap_or("").to_string();
            let text: Vec<String> = judged
                .by_annotation
                .iter()
                .map(|(rule, reason)| format!("{rule}: {reason}"))
                .collect();
            v.audit.insert(
                "suppressed-by-annotation".into(),
                shorten(
                    &crate::term::shown(format!("trusted in namespace {ns}: {}", text.join("; "))),
                    1024,
                ),
            );
            v.annotation_uses = judged
                .by_annotation
                .iter()
                .map(|(rule, _)| (ns.clone(), *rule))
                .collect();
        }
        for n in judged.notes {
            if warnings.len() < MAX_WARNINGS {
                warnings.push(shorten(&crate::term::shown(n), MAX_WARNING));
            } else {
                more_warnings += 1;
            }
        }
        if more_warnings > 0 {
            let more = more_warnings + 1;
            warnings.truncate(MAX_WARNINGS - 1);
            warnings.push(format!("and {more} more findings (see the audit log)"));
        }
        v.warnings = warnings;
        if denials > 0 {
            if p.dry_run {
                v.decision = Decision::DryRunDenied;
            } else {
                v.allowed = false;
                v.decision = Decision::Denied;
                let shown = match namespace {
                    Some(ns) if kind != "Namespace" => format!("{kind} {ns}/{name}"),
                    _ => format!("{kind} {name}"),
                };
                // Every line of the message is escaped: the first carries the object's
                // name as the client sent it.
                let mut message = crate::term::shown(format!(
                    "eksguard: {} has {} finding(s) at or above {}:",
                    shorten(&shown, 400),
                    denials,
                    p.deny_on.map(Severity::as_str).unwrap_or("never")
                ));
                for l in &deny_lines {
                    message.push_str("\n- ");
                    message.push_str(l);
                }
                if denials > deny_lines.len() {
                    message.push_str(&format!("\n- and {} more", denials - deny_lines.len()));
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

    /// Runs the rules on one object (its Secret values dropped first), laid over the
    /// cached objects (`None` without a synced cache); keeps what is reported on it, or
    /// on its namespace. The cached objects are left as they were found, but for the
    /// object's own cached version, which the request replaces.
    fn judge(
        &self,
        mut root: Node,
        namespace: Option<&str>,
        cached: Option<&mut Inventory>,
        trusting: bool,
    ) -> Result<Judged, String> {
        eksguard_model::sanitize::sanitize_node(&mut root);
        let obj = Object::from_node(root, Source::Live, namespace.unwrap_or("default"))
            .map_err(|_| "the object has no apiVersion or kind; not judged".to_string())?;
        let Some(engine) = self.engine(&obj.kind, cached.is_some(), trusting) else {
            return Ok(Judged::default());
        };
        let mut alone = Inventory::default();
        let inv = match cached {
            Some(inv) => {
                inv.retain(|c| {
                    !(c.kind == obj.kind && c.name == obj.name && c.namespace == obj.namespace)
                });
                inv
            }
            None => &mut alone,
        };
        let ns_object = obj.ns().and_then(|ns| {
            inv.of_kind("Namespace")
                .find(|n| &*n.name == ns)
                .map(|n| n.id)
        });
        let id = inv.push(obj);
        let result = engine.run(inv);
        let root = &inv.get(id).root;
        let mut hashes = HashMap::new();
        let mut judged = Judged::default();
        for f in result.findings {
            let on_namespace = Some(f.object) == ns_object;
            if f.object == id || on_namespace {
                let identity = if on_namespace {
                    f.path.to_string()
                } else {
                    identity(root, f.path.segs(), &self.hasher, &mut hashes)
                };
                let key = self
                    .hasher
                    .hash_one((f.rule.id, on_namespace, identity, &f.message));
                judged.hits.push(Hit {
                    rule_id: f.rule.id,
                    severity: f.severity,
                    key,
                    path: f.path,
                    message: f.message,
                    on_namespace,
                });
            }
        }
        for s in result.suppressed.iter().filter(|s| s.finding.object == id) {
            judged.suppressed.push(format!(
                "{} ({}): {}",
                s.finding.rule.id,
                s.note.source.describe(),
                s.note.reason
            ));
            if s.note.source == SuppressionSource::Inline {
                judged
                    .by_annotation
                    .push((s.finding.rule.id, s.note.reason.clone()));
            }
        }
        judged.notes = result.warnings.into_iter().map(|w| w.message).collect();
        inv.pop();
        Ok(judged)
    }

    /// `Kind/name` of the controller that created this object from its template, when the
    /// request comes from one of the controller manager's identities: then its template
    /// was judged already. Anyone else naming an owner is judged in full, so an
    /// `ownerReferences` entry cannot be used to slip past the rules.
    fn controller_of(&self, review: &Review, object: &Node) -> Option<String> {
        if !WORKLOAD_KINDS.contains(&review.kind.as_str())
            || !self.policy.controllers.contains(&review.username)
        {
            return None;
        }
        object
            .at("metadata.ownerReferences")?
            .as_seq()?
            .iter()
            .filter(|r| r.get("controller").and_then(Node::as_bool) == Some(true))
            .find_map(|r| {
                let kind = r.get("kind").and_then(Node::as_str)?;
                let name = r.get("name").and_then(Node::as_str)?;
                eksguard_model::kinds::get(kind)
                    .is_some_and(|k| k.has_controller())
                    .then(|| format!("{kind}/{name}"))
            })
    }
}

/// Whether the object or a pod template in it carries the ignore annotation.
fn has_ignore_annotation(object: &Node) -> bool {
    [
        "metadata.annotations",
        "spec.template.metadata.annotations",
        "spec.jobTemplate.spec.template.metadata.annotations",
    ]
    .iter()
    .any(|p| {
        object
            .at(p)
            .and_then(|a| a.get(IGNORE_ANNOTATION))
            .is_some()
    })
}

/// Lists whose items are identified by their `name`: containers keep their identity
/// when others are added, removed or reordered around them.
const NAMED_LISTS: &[&str] = &["containers", "initContainers", "ephemeralContainers"];

/// What a finding at `path` is about, by content: the path with each container index
/// replaced by the container's name and every other list index by a hash of the item
/// (a capability, a volume with its host path, a port, a subject, an RBAC rule), and,
/// when the field holds a value or a list of values, a hash of that value. Two findings
/// with the same identity are about the same thing whatever their positions; anything
/// added (a container, a capability, a host path, a subject, a port) gets a new one.
fn identity(
    root: &Node,
    path: &[Seg],
    hasher: &RandomState,
    memo: &mut HashMap<*const Node, u64>,
) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let mut node = Some(root);
    let mut parent: Option<&str> = None;
    let mut hash_of = |n: &Node| {
        *memo.entry(n as *const Node).or_insert_with(|| {
            let mut h = hasher.build_hasher();
            hash_node(n, &mut h);
            h.finish()
        })
    };
    for seg in path {
        match seg {
            Seg::Key(k) => {
                let _ = write!(out, ".{k:?}");
                node = node.and_then(|n| n.get(k));
                parent = Some(k);
            }
            Seg::Index(i) => {
                let item = node.and_then(|n| n.index(*i));
                let named = parent
                    .filter(|p| NAMED_LISTS.contains(p))
                    .and(item)
                    .and_then(|c| c.get("name"))
                    .and_then(Node::as_str);
                let _ = match (named, item) {
                    (Some(n), _) => write!(out, "[name={n:?}]"),
                    (None, Some(it)) => write!(out, "[#{:016x}]", hash_of(it)),
                    (None, None) => write!(out, "[{i}]"),
                };
                node = item;
                parent = None;
            }
        }
    }
    if let Some(n) = node {
        let values = match &n.value {
            Value::Map(_) => false,
            Value::Seq(items) => items.iter().all(|i| !i.is_map() && i.as_seq().is_none()),
            _ => true,
        };
        if values {
            let _ = write!(out, "=#{:016x}", hash_of(n));
        }
    }
    out
}

/// Hashes a tree by content; map entries in key order, so reordered keys hash alike.
fn hash_node(n: &Node, h: &mut impl Hasher) {
    match &n.value {
        Value::Null => 0u8.hash(h),
        Value::Bool(b) => (1u8, b).hash(h),
        Value::Int(i) => (2u8, i).hash(h),
        Value::Float(f) => (3u8, f.to_bits()).hash(h),
        Value::Str(s) => (4u8, s).hash(h),
        Value::Seq(items) => {
            (5u8, items.len()).hash(h);
            for i in items {
                hash_node(i, h);
            }
        }
        Value::Map(entries) => {
            (6u8, entries.len()).hash(h);
            let mut sorted: Vec<_> = entries.iter().collect();
            sorted.sort_by(|a, b| a.key.cmp(&b.key));
            for e in sorted {
                e.key.hash(h);
                hash_node(&e.value, h);
            }
        }
    }
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
            ..Policy::default()
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
                .or(old.as_ref())
                .and_then(|o| o["kind"].as_str())
                .unwrap_or("Deployment")
                .into(),
            namespace: object
                .as_ref()
                .and_then(|o| o["metadata"]["namespace"].as_str())
                .map(str::to_string),
            name: object
                .as_ref()
                .and_then(|o| o["metadata"]["name"].as_str())
                .unwrap_or("web")
                .into(),
            object: object.as_ref().map(Node::from_json),
            old_object: old.as_ref().map(Node::from_json),
            username: "alice".into(),
        }
    }

    #[test]
    fn privileged_deployment_is_denied_with_rule_and_path() {
        let v = judge(policy()).decide(
            review("CREATE", Some(deployment(true, json!({}))), None),
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
        let v = j.decide(review("UPDATE", Some(new.clone()), Some(old.clone())), None);
        assert!(v.allowed, "{:?}", v.message);
        assert_eq!(v.decision, Decision::Warned);
        assert!(v
            .warnings
            .iter()
            .any(|w| w.contains("POD001") && w.contains("already present")));
        // A new problem in the same update is still denied.
        new["spec"]["template"]["spec"]["hostPID"] = json!(true);
        let v = j.decide(review("UPDATE", Some(new), Some(old)), None);
        assert!(!v.allowed);
        let m = v.message.unwrap();
        assert!(m.contains("hostPID") && !m.contains("POD001"), "{m}");
    }

    fn containers(d: &mut Json) -> &mut Vec<Json> {
        d["spec"]["template"]["spec"]["containers"]
            .as_array_mut()
            .unwrap()
    }

    /// The positional comparison let each of these through as "already present".
    #[test]
    fn the_ratchet_compares_content_not_positions() {
        let j = judge(policy());
        let denied = |new: Json, old: Json| {
            let v = j.decide(review("UPDATE", Some(new), Some(old)), None);
            (!v.allowed).then(|| v.message.unwrap_or_default())
        };
        let old = deployment(true, json!({}));

        // A new privileged container placed first, where the old privileged one was.
        let mut new = old.clone();
        containers(&mut new).insert(
            0,
            json!({"name": "sidecar", "image": "busybox:1.36", "securityContext": {"privileged": true}}),
        );
        let m = denied(new, old.clone()).expect("a new privileged container is denied");
        assert!(m.contains("container `sidecar` runs privileged"), "{m}");
        assert!(!m.contains("container `web` runs privileged"), "{m}");

        // The privileged container renamed, with a new image.
        let mut new = old.clone();
        containers(&mut new)[0]["name"] = json!("web2");
        containers(&mut new)[0]["image"] = json!("evil:1");
        let m = denied(new, old.clone()).expect("a renamed container is a new container");
        assert!(m.contains("container `web2` runs privileged"), "{m}");

        // NET_ADMIN, then SYS_ADMIN placed before it.
        let caps = |list: Json| {
            let mut d = deployment(false, json!({}));
            containers(&mut d)[0]["securityContext"]["capabilities"] = json!({"add": list});
            d
        };
        let m = denied(
            caps(json!(["SYS_ADMIN", "NET_ADMIN"])),
            caps(json!(["NET_ADMIN"])),
        )
        .expect("an added capability is new");
        assert!(m.contains("adds capability SYS_ADMIN"), "{m}");
        assert!(!m.contains("adds capability NET_ADMIN"), "{m}");
        // The same list in another order adds nothing.
        assert_eq!(
            denied(
                caps(json!(["SYS_ADMIN", "NET_ADMIN"])),
                caps(json!(["NET_ADMIN", "SYS_ADMIN"]))
            ),
            None
        );

        // A new subject placed first in a cluster-admin binding.
        let binding = |subjects: Json| {
            json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
                "metadata": {"name": "admins"},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
                "subjects": subjects})
        };
        let ops = json!({"kind": "Group", "name": "ops", "apiGroup": "rbac.authorization.k8s.io"});
        let mallory =
            json!({"kind": "User", "name": "mallory", "apiGroup": "rbac.authorization.k8s.io"});
        let m = denied(
            binding(json!([mallory, ops.clone()])),
            binding(json!([ops.clone()])),
        )
        .expect("an added subject is new");
        assert!(m.contains("mallory"), "{m}");
        assert!(!m.contains("`ops`"), "{m}");
        // Moving the container to another index keeps it the same container.
        let mut old2 = deployment(true, json!({}));
        containers(&mut old2).push(json!({"name": "a", "image": "x:1"}));
        let mut new2 = old2.clone();
        containers(&mut new2).reverse();
        assert_eq!(denied(new2, old2), None);
    }

    /// A small deterministic generator (splitmix64), so the property runs in the normal
    /// suite without a dependency and fails the same way every time.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
        fn chance(&mut self) -> bool {
            self.next() & 1 == 1
        }
    }

    const CAPS: &[&str] = &[
        "SYS_ADMIN",
        "NET_ADMIN",
        "SYS_PTRACE",
        "SYS_MODULE",
        "BPF",
        "NET_RAW",
        "CHOWN",
    ];
    const PATHS: &[&str] = &[
        "/etc",
        "/var/run/docker.sock",
        "/var/lib/kubelet",
        "/root",
        "/proc",
        "/data",
        "/",
    ];

    fn random_pod(rng: &mut Rng) -> Json {
        let n = 1 + rng.below(3);
        let containers: Vec<Json> = (0..n)
            .map(|i| {
                let caps: Vec<&str> = CAPS.iter().copied().filter(|_| rng.below(3) == 0).collect();
                json!({"name": format!("c{i}"), "image": format!("img{}:1", rng.below(3)),
                    "securityContext": {"privileged": rng.below(4) == 0, "capabilities": {"add": caps}}})
            })
            .collect();
        let volumes: Vec<Json> = PATHS
            .iter()
            .enumerate()
            .filter(|_| rng.below(3) == 0)
            .map(|(i, p)| json!({"name": format!("v{i}"), "hostPath": {"path": p}}))
            .collect();
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "shop"},
            "spec": {"hostPID": rng.chance(), "containers": containers, "volumes": volumes}})
    }

    /// The findings of `new` whose message mentions all of `marks`, and whether each is
    /// new against `old`; and the verdict of the UPDATE.
    fn added(
        j: &Judge,
        old: &Json,
        new: &Json,
        ns: Option<&str>,
        marks: &[&str],
    ) -> (usize, bool, Verdict) {
        let before: HashSet<u64> = j
            .judge(Node::from_json(old), ns, None, false)
            .unwrap()
            .hits
            .iter()
            .map(|h| h.key)
            .collect();
        let after = j.judge(Node::from_json(new), ns, None, false).unwrap();
        let about: Vec<&Hit> = after
            .hits
            .iter()
            .filter(|h| marks.iter().all(|m| h.message.contains(m)))
            .collect();
        let all_new = about.iter().all(|h| !before.contains(&h.key));
        let v = j.decide(review("UPDATE", Some(new.clone()), Some(old.clone())), None);
        (about.len(), all_new, v)
    }

    #[test]
    fn an_update_that_adds_something_never_finds_it_already_present() {
        let j = judge(Policy {
            deny_on: Some(Severity::Info),
            ..policy()
        });
        let mut rng = Rng(0x5eed);
        let mut checked = 0;
        for round in 0..300 {
            let old = random_pod(&mut rng);
            let mut new = old.clone();
            let marks: Vec<String> = match round % 4 {
                0 => {
                    // A container, anywhere in the list, named as none before.
                    let list = new["spec"]["containers"].as_array_mut().unwrap();
                    let at = rng.below(list.len() + 1);
                    let cap = CAPS[rng.below(CAPS.len())];
                    list.insert(at, json!({"name": "added", "image": "img0:1",
                        "securityContext": {"privileged": rng.chance(), "capabilities": {"add": [cap]}}}));
                    vec!["`added`".into()]
                }
                1 => {
                    // A capability the container did not add, anywhere in its list.
                    let list = new["spec"]["containers"].as_array_mut().unwrap();
                    let c = rng.below(list.len());
                    let add = list[c]["securityContext"]["capabilities"]["add"]
                        .as_array_mut()
                        .unwrap();
                    let missing: Vec<&str> = CAPS
                        .iter()
                        .copied()
                        .filter(|k| !add.iter().any(|a| a == k))
                        .collect();
                    if missing.is_empty() {
                        continue;
                    }
                    let cap = missing[rng.below(missing.len())];
                    let at = rng.below(add.len() + 1);
                    add.insert(at, json!(cap));
                    vec![format!("`c{c}`"), format!("capability {cap}")]
                }
                2 => {
                    // A host path not mounted before.
                    let list = new["spec"]["volumes"].as_array_mut().unwrap();
                    let at = rng.below(list.len() + 1);
                    list.insert(
                        at,
                        json!({"name": "added", "hostPath": {"path": "/added/path"}}),
                    );
                    vec!["/added/path".into()]
                }
                _ => {
                    // A subject of a cluster-admin binding.
                    let subjects: Vec<Json> = (0..rng.below(3))
                        .map(|i| json!({"kind": "User", "name": format!("u{i}"), "apiGroup": "rbac.authorization.k8s.io"}))
                        .collect();
                    let b = |subjects: &[Json]| {
                        json!({"apiVersion": "rbac.authorization.k8s.io/v1",
                        "kind": "ClusterRoleBinding", "metadata": {"name": "b"},
                        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
                        "subjects": subjects})
                    };
                    let mut more = subjects.clone();
                    let at = rng.below(more.len() + 1);
                    more.insert(at, json!({"kind": "User", "name": "added", "apiGroup": "rbac.authorization.k8s.io"}));
                    let (old, new) = (b(&subjects), b(&more));
                    let (n, ok, v) = added(&j, &old, &new, None, &["`added`"]);
                    assert!(n > 0 && ok, "round {round}: {v:?}");
                    assert_eq!(v.decision, Decision::Denied, "round {round}");
                    checked += n;
                    continue;
                }
            };
            let marks: Vec<&str> = marks.iter().map(String::as_str).collect();
            let (n, ok, v) = added(&j, &old, &new, Some("shop"), &marks);
            assert!(
                ok,
                "round {round}: {marks:?} found already present\nold {old}\nnew {new}\n{v:?}"
            );
            if n > 0 {
                // Every finding denies here: something new in it is never let through.
                assert_eq!(v.decision, Decision::Denied, "round {round}: {v:?}");
            }
            checked += n;
        }
        assert!(checked > 300, "the additions were found {checked} times");
    }

    #[test]
    fn dry_run_never_denies() {
        let v = judge(Policy {
            dry_run: true,
            ..policy()
        })
        .decide(
            review("CREATE", Some(deployment(true, json!({}))), None),
            None,
        );
        assert!(v.allowed);
        assert_eq!(v.decision, Decision::DryRunDenied);
        assert!(v
            .warnings
            .iter()
            .any(|w| w.starts_with("would be denied: POD001")));
    }

    fn exempt(namespace: Option<&str>, sa: Option<&str>, until: Option<&str>) -> AdmissionExempt {
        AdmissionExempt {
            namespace: namespace.map(str::to_string),
            kind: Some("Deployment".into()),
            name: None,
            service_account: sa.map(str::to_string),
            until: until.and_then(Date::parse),
            reason: "legacy shop, until the rewrite".into(),
        }
    }

    #[test]
    fn delete_connect_and_exemptions_are_allowed() {
        let j = judge(Policy {
            exempt: vec![exempt(Some("shop"), None, None)],
            ..policy()
        });
        for op in ["DELETE", "CONNECT"] {
            let v = j.decide(review(op, None, Some(deployment(true, json!({})))), None);
            assert_eq!((v.allowed, v.decision), (true, Decision::Skipped));
        }
        let v = j.decide(
            review("CREATE", Some(deployment(true, json!({}))), None),
            None,
        );
        assert_eq!((v.allowed, v.decision), (true, Decision::Exempt));
        assert_eq!(v.audit["exempt"], "legacy shop, until the rewrite");
    }

    #[test]
    fn exemptions_expire_and_may_name_the_requesting_service_account() {
        let today = Date::parse("2026-06-01");
        let j = Judge::new(
            EngineConfig {
                today,
                ..EngineConfig::default()
            },
            Policy {
                exempt: vec![
                    exempt(Some("shop"), None, Some("2026-05-31")),
                    exempt(None, Some("gitops:deployer"), Some("2026-06-01")),
                ],
                ..policy()
            },
        );
        let mut r = review("CREATE", Some(deployment(true, json!({}))), None);
        assert_eq!(j.decide(r, None).decision, Decision::Denied);
        r = review("CREATE", Some(deployment(true, json!({}))), None);
        r.username = "system:serviceaccount:gitops:deployer".into();
        assert_eq!(j.decide(r, None).decision, Decision::Exempt);
        r = review("CREATE", Some(deployment(true, json!({}))), None);
        r.username = "system:serviceaccount:gitops:deployer-2".into();
        assert_eq!(j.decide(r, None).decision, Decision::Denied);
    }

    #[test]
    fn annotations_do_not_exempt_at_admission_unless_the_namespace_is_trusted() {
        let ann = json!({"eksguard.io/ignore": "POD -- needs it"});
        let mut d = deployment(true, ann.clone());
        d["spec"]["template"]["spec"]["hostPID"] = json!(true);
        let v = judge(policy()).decide(review("CREATE", Some(d.clone()), None), None);
        assert_eq!(v.decision, Decision::Denied, "{v:?}");
        let m = v.message.unwrap();
        assert!(m.contains("POD001") && m.contains("POD008"), "{m}");
        assert!(
            v.warnings.iter().any(|w| w.contains("not honoured")),
            "{:?}",
            v.warnings
        );
        assert!(!v.audit.contains_key("suppressed"), "{:?}", v.audit);

        let trusted = judge(Policy {
            trust_annotations_in: vec!["shop".into()],
            ..policy()
        });
        let v = trusted.decide(review("CREATE", Some(d.clone()), None), None);
        assert!(v.allowed, "{:?}", v.message);
        let used = &v.audit["suppressed-by-annotation"];
        assert!(
            used.starts_with("trusted in namespace shop: ") && used.contains("POD001: needs it"),
            "{:?}",
            v.audit
        );
        assert!(v.annotation_uses.contains(&("shop".to_string(), "POD001")));
        // Another namespace is not trusted.
        d["metadata"]["namespace"] = json!("other");
        let v = trusted.decide(review("CREATE", Some(d), None), None);
        assert_eq!(v.decision, Decision::Denied);
        assert!(v.annotation_uses.is_empty());
    }

    #[test]
    fn controller_pods_are_answered_as_their_controller_only_for_the_controller_manager() {
        let pod = json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "web-1", "namespace": "shop", "ownerReferences": [
                {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-6d4", "uid": "x", "controller": true}]},
            "spec": {"containers": [{"name": "web", "image": "nginx:1.27", "securityContext": {"privileged": true}}]}});
        let j = judge(policy());
        let mut r = review("CREATE", Some(pod.clone()), None);
        r.username = "system:serviceaccount:kube-system:replicaset-controller".into();
        let v = j.decide(r, None);
        assert_eq!((v.allowed, v.decision), (true, Decision::Controlled));
        assert_eq!(v.audit["judged-as"], "ReplicaSet/web-6d4");
        for other in [
            "mallory",
            "system:serviceaccount:kube-system:aws-node",
            // Named like a controller, but none of the controller manager's.
            "system:serviceaccount:kube-system:evil-controller",
            "system:serviceaccount:shop:replicaset-controller",
        ] {
            let mut r = review("CREATE", Some(pod.clone()), None);
            r.username = other.into();
            assert!(!j.decide(r, None).allowed, "{other}");
        }
        // The list is the server's to set.
        let j = judge(Policy {
            controllers: vec!["system:serviceaccount:ops:my-controller".into()],
            ..policy()
        });
        let mut r = review("CREATE", Some(pod), None);
        r.username = "system:serviceaccount:ops:my-controller".into();
        assert_eq!(j.decide(r, None).decision, Decision::Controlled);
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
            review("CREATE", Some(deployment(true, json!({}))), None),
            None,
        );
        assert_eq!((v.allowed, v.decision), (true, Decision::Error));
        assert!(v.warnings[0].contains("internal error"), "{:?}", v.warnings);
        // And the judge still answers the next request.
        let v = j.decide_guarded(
            review("DELETE", None, Some(deployment(true, json!({})))),
            None,
        );
        assert_eq!(v.decision, Decision::Skipped);
    }

    #[test]
    fn control_characters_in_names_are_escaped() {
        let mut d = deployment(true, json!({}));
        d["spec"]["template"]["spec"]["containers"][0]["name"] = json!("web\u{1b}[2J");
        let v = judge(policy()).decide(review("CREATE", Some(d), None), None);
        let text = format!("{:?} {:?}", v.message, v.warnings);
        assert!(!text.contains('\u{1b}'), "{text}");
    }

    #[test]
    fn every_line_of_the_deny_message_is_escaped() {
        let mut d = deployment(true, json!({}));
        d["metadata"]["name"] = json!("web\n- POD000 (info) all clear\u{1b}[2J\u{202e}");
        let v = judge(policy()).decide(review("CREATE", Some(d), None), None);
        let m = v.message.unwrap();
        assert!(!m.contains('\u{1b}') && !m.contains('\u{202e}'), "{m:?}");
        let first = m.lines().next().unwrap();
        assert!(first.contains(r"web\n- POD000"), "{first:?}");
        assert!(m.lines().all(|l| !l.starts_with("- POD000")), "{m:?}");
        assert!(
            v.audit.values().all(|a| !a.contains('\u{1b}')),
            "{:?}",
            v.audit
        );
    }

    #[test]
    fn long_text_is_cut_on_a_character() {
        let s = "é".repeat(300);
        let cut = shorten(&s, 200);
        assert!(cut.len() <= 200 && cut.ends_with('…'));
    }
}
