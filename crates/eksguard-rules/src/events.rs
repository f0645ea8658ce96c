//! The audit engine: runs the audit-event rules over batches of events. Per-event checks
//! run in parallel; rules that look across events (bursts, once-per-identity reports) see
//! the events one by one in input order through their [`EventWindow`]. Rule selection,
//! severity overrides and configured suppressions (matched against the request's target
//! object) work as in the object engine.

use eksguard_model::audit::AuditEvent;
use eksguard_model::{FieldPath, RuleMeta, Severity, SuppressionNote, SuppressionSource};
use rayon::prelude::*;

use crate::engine::{matches_any, EngineConfig};
use crate::suppress::Date;
use crate::{Params, Rule};

/// The `sources` value of audit-event rules.
pub const AUDIT_SOURCE: &str = "A";

/// What audit-event rules see besides the event: their parameters.
pub struct EventCtx<'a> {
    pub params: &'a Params,
}

impl EventCtx<'_> {
    pub fn param_list(&self, meta: &RuleMeta, name: &str) -> Vec<String> {
        self.params.list(meta, name)
    }

    pub fn param_i64(&self, meta: &RuleMeta, name: &str) -> Option<i64> {
        self.params.value(meta, name).as_i64()
    }
}

/// State a rule keeps across events; it must stay bounded however long the log is.
pub trait EventWindow: Send {
    fn observe(&mut self, cx: &EventCtx<'_>, ev: &AuditEvent<'_>, out: &mut EventSink);
}

/// One detection on one event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventHit {
    pub rule_id: &'static str,
    pub severity: Severity,
    pub message: String,
    /// Where in the event: `requestObject.spec.hostNetwork`, `objectRef.subresource`, ...
    pub path: FieldPath,
}

/// A detection and the index of its event in the batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventFinding {
    pub index: usize,
    pub hit: EventHit,
}

/// Collects a rule's detections on one event.
pub struct EventSink {
    meta: &'static RuleMeta,
    hits: Vec<EventHit>,
}

impl EventSink {
    pub fn new(meta: &'static RuleMeta) -> Self {
        EventSink {
            meta,
            hits: Vec::new(),
        }
    }

    pub fn report(&mut self, path: FieldPath, message: impl Into<String>) {
        self.report_with(path, self.meta.severity, message);
    }

    pub fn report_with(&mut self, path: FieldPath, severity: Severity, message: impl Into<String>) {
        self.hits.push(EventHit {
            rule_id: self.meta.id,
            severity,
            message: message.into(),
            path,
        });
    }

    pub fn into_hits(self) -> Vec<EventHit> {
        self.hits
    }
}

pub struct AuditEngine<'r> {
    rules: Vec<&'r dyn Rule>,
    windows: Vec<(&'r dyn Rule, Box<dyn EventWindow>)>,
    config: EngineConfig,
    today: Date,
    suppressed: usize,
}

impl<'r> AuditEngine<'r> {
    /// The audit-event rules of `all` that `config` selects.
    pub fn new(all: &[&'r dyn Rule], config: EngineConfig) -> Self {
        let rules: Vec<&'r dyn Rule> = all
            .iter()
            .copied()
            .filter(|r| {
                let id = r.meta().id;
                r.meta().sources == AUDIT_SOURCE
                    && (config.select.is_empty() || matches_any(id, &config.select))
                    && !matches_any(id, &config.ignore)
            })
            .collect();
        let cx = EventCtx {
            params: &config.params,
        };
        let windows = rules
            .iter()
            .filter_map(|r| r.event_window(&cx).map(|w| (*r, w)))
            .collect();
        let today = config.today.unwrap_or_else(Date::today);
        AuditEngine {
            rules,
            windows,
            config,
            today,
            suppressed: 0,
        }
    }

    pub fn rules(&self) -> &[&'r dyn Rule] {
        &self.rules
    }

    /// Findings dropped by configured suppressions so far.
    pub fn suppressed(&self) -> usize {
        self.suppressed
    }

    /// Checks a batch of events (in input order); findings come back ordered by event,
    /// then by rule.
    pub fn check(&mut self, events: &[&AuditEvent<'_>]) -> Vec<EventFinding> {
        self.check_keeping_suppressed(events).0
    }

    /// As [`check`](Self::check), and the findings configured suppressions hide, each with
    /// the suppression's reason.
    pub fn check_keeping_suppressed(
        &mut self,
        events: &[&AuditEvent<'_>],
    ) -> (Vec<EventFinding>, Vec<(EventFinding, SuppressionNote)>) {
        let cx = EventCtx {
            params: &self.config.params,
        };
        let rules = &self.rules;
        let mut found: Vec<EventFinding> = events
            .par_iter()
            .enumerate()
            .with_min_len(256)
            .flat_map_iter(|(index, ev)| {
                let mut hits = Vec::new();
                for rule in rules {
                    let mut sink = EventSink::new(rule.meta());
                    rule.check_event(&cx, ev, &mut sink);
                    hits.extend(sink.into_hits());
                }
                hits.into_iter().map(move |hit| EventFinding { index, hit })
            })
            .collect();
        for (index, ev) in events.iter().enumerate() {
            for (rule, window) in &mut self.windows {
                let mut sink = EventSink::new(rule.meta());
                window.observe(&cx, ev, &mut sink);
                found.extend(
                    sink.into_hits()
                        .into_iter()
                        .map(|hit| EventFinding { index, hit }),
                );
            }
        }
        let order = |id: &str| self.rules.iter().position(|r| r.meta().id == id);
        found.sort_by_key(|f| (f.index, order(f.hit.rule_id)));
        self.filter(events, found)
    }

    fn filter(
        &mut self,
        events: &[&AuditEvent<'_>],
        found: Vec<EventFinding>,
    ) -> (Vec<EventFinding>, Vec<(EventFinding, SuppressionNote)>) {
        let mut out = Vec::with_capacity(found.len());
        let mut hidden = Vec::new();
        for mut f in found {
            if let Some(sev) = self.config.severity_overrides.get(f.hit.rule_id) {
                f.hit.severity = *sev;
            }
            if !self.config.suppressions.is_empty() {
                let target = events[f.index].target();
                let mut expired = None;
                let mut applied = None;
                for c in self.config.suppressions.iter().filter(|c| {
                    c.suppression.covers(f.hit.rule_id)
                        && c.matches_resource(
                            &target.kind,
                            target.namespace.as_deref(),
                            &target.name,
                        )
                }) {
                    match c.suppression.until {
                        Some(d) if d < self.today => expired = Some(d),
                        _ => {
                            applied.get_or_insert_with(|| SuppressionNote {
                                source: SuppressionSource::Config,
                                reason: c.suppression.reason.clone(),
                                until: c.suppression.until.map(|d| d.to_string()),
                            });
                        }
                    }
                }
                if let Some(note) = applied {
                    self.suppressed += 1;
                    hidden.push((f, note));
                    continue;
                }
                if let Some(d) = expired {
                    f.hit.message = format!("{} (suppression expired {d})", f.hit.message);
                }
            }
            out.push(f);
        }
        (out, hidden)
    }
}
