//! The engine: selects rules, dispatches them by scope (in parallel), then applies
//! suppressions and severity overrides.

use std::collections::HashMap;

use eksguard_model::{
    Finding, InputError, Inventory, Object, ObjectId, Severity, SuppressionNote, SuppressionSource,
};
use rayon::prelude::*;

use crate::suppress::{annotations_of, parse_annotation, Date, Suppression};
use crate::{Ctx, Dispatch, Params, Rule, Sink};

/// A suppression from the configuration: rules plus the resources it matches.
#[derive(Debug, Clone)]
pub struct ConfigSuppression {
    pub suppression: Suppression,
    pub kind: Option<String>,
    pub namespace: Option<String>,
    /// An exact name, or a prefix when it ends with `*`.
    pub name: Option<String>,
}

impl ConfigSuppression {
    fn matches(&self, obj: &Object) -> bool {
        match &obj.iac {
            // Infrastructure as code is named as the code names it.
            Some(iac) => self.matches_resource(&iac.kind, None, &iac.name),
            None => self.matches_resource(&obj.kind, obj.ns(), &obj.name),
        }
    }

    /// Whether the suppression covers a resource named by kind, namespace and name.
    pub fn matches_resource(&self, kind: &str, namespace: Option<&str>, name: &str) -> bool {
        let name_ok = match self.name.as_deref() {
            None => true,
            Some(n) => match n.strip_suffix('*') {
                Some(prefix) => name.starts_with(prefix),
                None => name == n,
            },
        };
        name_ok
            && self.kind.as_deref().is_none_or(|k| k == kind)
            && self
                .namespace
                .as_deref()
                .is_none_or(|ns| Some(ns) == namespace)
    }
}

#[derive(Debug, Clone, Default)]
pub struct EngineConfig {
    /// Rule IDs or prefixes to run (empty: all).
    pub select: Vec<String>,
    /// Rule IDs or prefixes not to run.
    pub ignore: Vec<String>,
    pub severity_overrides: HashMap<String, Severity>,
    pub params: Params,
    pub suppressions: Vec<ConfigSuppression>,
    /// The day suppressions expire against (today unless a test says otherwise).
    pub today: Option<Date>,
    /// Leave `eksguard.io/ignore` annotations out (reviewing changes one does not trust).
    pub ignore_inline: bool,
}

/// A finding a suppression hides, and which one: kept so the report can show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SuppressedFinding {
    pub finding: Finding,
    pub note: SuppressionNote,
}

#[derive(Debug, Default)]
pub struct RunResult {
    pub findings: Vec<Finding>,
    pub suppressed: Vec<SuppressedFinding>,
    /// Suppression annotations that suppress nothing (malformed, wildcard, unknown rules),
    /// at the file and line of the annotation. They hide nothing, so they do not make the
    /// run fail as unreadable input does.
    pub warnings: Vec<InputError>,
}

pub struct Engine<'r> {
    rules: Vec<&'r dyn Rule>,
    config: EngineConfig,
}

pub(crate) fn matches_any(id: &str, patterns: &[String]) -> bool {
    patterns.iter().any(|p| {
        p == "*" || p.eq_ignore_ascii_case("all") || id.starts_with(&p.to_ascii_uppercase())
    })
}

impl<'r> Engine<'r> {
    pub fn new(all: &[&'r dyn Rule], config: EngineConfig) -> Self {
        let rules = all
            .iter()
            .copied()
            .filter(|r| {
                let id = r.meta().id;
                // Audit-event rules belong to the audit engine.
                matches!(r.dispatch(), Dispatch::Objects(_) | Dispatch::Inventory(_))
                    && (config.select.is_empty() || matches_any(id, &config.select))
                    && !matches_any(id, &config.ignore)
            })
            .collect();
        Engine { rules, config }
    }

    pub fn rules(&self) -> &[&'r dyn Rule] {
        &self.rules
    }

    pub fn run(&self, inv: &Inventory) -> RunResult {
        let cx = Ctx::new(inv, &self.config.params);
        let per_object: Vec<Vec<Finding>> = inv
            .objects
            .par_iter()
            .map(|obj| {
                let mut found = Vec::new();
                // A controller's pods (and a Deployment's ReplicaSets) share its template:
                // report once, on the controller.
                if cx.is_controlled(obj.id) {
                    return found;
                }
                for rule in &self.rules {
                    let meta = rule.meta();
                    if let Dispatch::Objects(check) = rule.dispatch() {
                        if meta.kinds().contains(&&*obj.kind) {
                            let mut sink = Sink::new(meta);
                            check.check_object(&cx, obj, &mut sink);
                            found.extend(sink.into_findings());
                        }
                    }
                }
                found
            })
            .collect();
        let cross: Vec<Vec<Finding>> = self
            .rules
            .par_iter()
            .map(|rule| {
                let mut sink = Sink::new(rule.meta());
                if let Dispatch::Inventory(check) = rule.dispatch() {
                    check.check_inventory(&cx, &mut sink);
                }
                sink.into_findings()
            })
            .collect();
        let mut findings: Vec<Finding> = per_object.into_iter().chain(cross).flatten().collect();
        findings.sort_by(|a, b| {
            (a.object, &a.path, a.rule.id, &a.message)
                .cmp(&(b.object, &b.path, b.rule.id, &b.message))
        });
        findings.dedup();
        let mut result = RunResult::default();
        let findings = set_aside_undecided(inv, findings, &mut result.warnings);
        let inline = if self.config.ignore_inline {
            HashMap::new()
        } else {
            inline_suppressions(&cx, inv, &mut result.warnings)
        };
        self.filter(inv, &inline, findings, &mut result);
        result
    }

    /// Applies severity overrides, sets suppressed findings apart (with what suppressed
    /// them) and marks lapsed suppressions on the findings they no longer hide.
    fn filter(
        &self,
        inv: &Inventory,
        inline: &HashMap<ObjectId, Vec<Suppression>>,
        findings: Vec<Finding>,
        result: &mut RunResult,
    ) {
        let today = self.config.today.unwrap_or_else(Date::today);
        for mut f in findings {
            if let Some(sev) = self.config.severity_overrides.get(f.rule.id) {
                f.severity = *sev;
            }
            let obj = inv.get(f.object);
            let own = inline
                .get(&f.object)
                .into_iter()
                .flatten()
                .map(|s| (SuppressionSource::Inline, s));
            let configured = self
                .config
                .suppressions
                .iter()
                .filter(|c| c.matches(obj))
                .map(|c| (SuppressionSource::Config, &c.suppression));
            let mut expired = None;
            let mut applied = None;
            for (source, s) in own.chain(configured).filter(|(_, s)| s.covers(f.rule.id)) {
                match s.until {
                    Some(d) if d < today => expired = Some(d),
                    _ => {
                        applied.get_or_insert(SuppressionNote {
                            source,
                            reason: s.reason.clone(),
                            until: s.until.map(|d| d.to_string()),
                        });
                    }
                }
            }
            match applied {
                Some(note) => result
                    .suppressed
                    .push(SuppressedFinding { finding: f, note }),
                None => {
                    if let Some(d) = expired {
                        f.message = format!("{} (suppression expired {d})", f.message);
                    }
                    result.findings.push(f);
                }
            }
        }
    }
}

/// Findings on infrastructure as code that depend on a value unknown before apply are not
/// findings: each resource with such checks gets one warning naming the rules and the
/// value, so the count of undecided resources is the count of these warnings.
fn set_aside_undecided(
    inv: &Inventory,
    findings: Vec<Finding>,
    warnings: &mut Vec<InputError>,
) -> Vec<Finding> {
    let mut undecided: std::collections::BTreeMap<ObjectId, (Vec<&'static str>, String)> =
        Default::default();
    let kept = findings
        .into_iter()
        .filter(|f| {
            let obj = inv.get(f.object);
            let Some((path, expr)) = obj.iac.as_ref().and_then(|i| i.undecided_by(&f.path)) else {
                return true;
            };
            let entry = undecided.entry(f.object).or_insert_with(|| {
                let shown = obj.report_path(path);
                let what = if shown.is_root() {
                    format!("the resource's existence (`{expr}`)")
                } else {
                    format!("`{shown}` (`{expr}`)")
                };
                (Vec::new(), what)
            });
            if !entry.0.contains(&f.rule.id) {
                entry.0.push(f.rule.id);
            }
            false
        })
        .collect();
    for (id, (rules, what)) in undecided {
        let obj = inv.get(id);
        warnings.push(InputError::new(
            obj.file().unwrap_or("<cluster>"),
            obj.locate(&eksguard_model::FieldPath::root())
                .map(|p| p.line),
            format!(
                "{}: {} left undecided: {what} is not known before apply",
                obj.display_name(),
                rules.join(", ")
            ),
        ));
    }
    kept
}

/// The valid `eksguard.io/ignore` annotations of every object that is reported on (a
/// controller's pods share its template and are not); the others become warnings at the
/// annotation's line, wherever they are, since they suppress nothing.
fn inline_suppressions(
    cx: &Ctx<'_>,
    inv: &Inventory,
    warnings: &mut Vec<InputError>,
) -> HashMap<ObjectId, Vec<Suppression>> {
    let mut out: HashMap<ObjectId, Vec<Suppression>> = HashMap::new();
    for obj in inv.objects.iter().filter(|o| !cx.is_controlled(o.id)) {
        for (path, value) in annotations_of(obj) {
            let mut warn = |message: String| {
                warnings.push(InputError::new(
                    obj.file().unwrap_or("<cluster>"),
                    obj.locate(&path).map(|p| p.line),
                    format!("{}: {message}", obj.display_name()),
                ))
            };
            match parse_annotation(value) {
                Ok(a) => {
                    if !a.unknown.is_empty() {
                        warn(format!(
                            "`{}` names unknown rules `{}`, left out",
                            crate::suppress::ANNOTATION,
                            a.unknown.join("`, `")
                        ));
                    }
                    out.entry(obj.id).or_default().push(a.suppression);
                }
                Err(message) => warn(format!("{message}; it suppresses nothing")),
            }
        }
        // Comments and `Metadata` of infrastructure as code, in the annotation's syntax.
        for (pos, value) in obj.iac.iter().flat_map(|i| &i.suppressions) {
            let mut warn = |message: String| {
                let message = message.replace(crate::suppress::ANNOTATION, "eksguard:ignore");
                warnings.push(InputError::new(
                    obj.file().unwrap_or("<cluster>"),
                    pos.is_known().then_some(pos.line),
                    format!("{}: {message}", obj.display_name()),
                ))
            };
            match parse_annotation(value) {
                Ok(a) => {
                    if !a.unknown.is_empty() {
                        warn(format!(
                            "`eksguard:ignore` names unknown rules `{}`, left out",
                            a.unknown.join("`, `")
                        ));
                    }
                    out.entry(obj.id).or_default().push(a.suppression);
                }
                Err(message) => warn(format!("{message}; it suppresses nothing")),
            }
        }
    }
    out
}
