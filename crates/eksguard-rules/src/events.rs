//! The audit engine: runs the audit-event rules over batches of events. Per-event checks
//! run in parallel; rules that look across events (bursts, once-per-identity reports) see
//! the events one by one in input order through their [`EventWindow`]. Rule selection,
//! severity overrides and configured suppressions (matched against the request's target
//! object) work as in the object engine.

use std::sync::Arc;

use eksguard_model::audit::AuditEvent;
use eksguard_model::{FieldPath, RuleMeta, Severity, SuppressionNote, SuppressionSource};
use rayon::prelude::*;
use serde_json::{Map, Value as Json};

use crate::engine::{matches_any, EngineConfig};
use crate::params::{ParamCache, RuleParams};
use crate::suppress::Date;
use crate::{Dispatch, Params, Rule};

/// What audit-event rules see besides the event: their parameters.
pub struct EventCtx<'a> {
    params: &'a Params,
    parsed: &'a ParamCache,
}

impl<'a> EventCtx<'a> {
    pub fn new(params: &'a Params, parsed: &'a ParamCache) -> Self {
        EventCtx { params, parsed }
    }

    /// The rule's parameters, read from the configuration once per engine.
    pub fn params<P: RuleParams>(&self, meta: &'static RuleMeta) -> Arc<P> {
        self.parsed.get(self.params, meta)
    }
}

/// State a rule keeps across events; it must stay bounded however long the log is.
///
/// A follower that restarts from a checkpoint saves the state with [`save`](Self::save)
/// and gives it back to a fresh window with [`restore`](Self::restore): the events after
/// the restart must be judged as if the run had never stopped.
pub trait EventWindow: Send {
    fn observe(&mut self, cx: &EventCtx<'_>, ev: &AuditEvent<'_>, out: &mut EventSink);
    /// Everything `observe` remembers, as JSON.
    fn save(&self) -> Json;
    /// Takes back what [`save`](Self::save) wrote (possibly under other parameters: the
    /// window's own bounds apply).
    fn restore(&mut self, state: &Json) -> Result<(), String>;
}

/// One detection on one event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventHit {
    /// The rule that found it, with its metadata.
    pub rule: &'static RuleMeta,
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
            rule: self.meta,
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
    parsed: ParamCache,
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
                matches!(r.dispatch(), Dispatch::Events(_) | Dispatch::EventWindow(_))
                    && (config.select.is_empty() || matches_any(id, &config.select))
                    && !matches_any(id, &config.ignore)
            })
            .collect();
        let parsed = ParamCache::default();
        let cx = EventCtx::new(&config.params, &parsed);
        let windows = rules
            .iter()
            .filter_map(|r| match r.dispatch() {
                Dispatch::EventWindow(w) => w.event_window(&cx).map(|w| (*r, w)),
                _ => None,
            })
            .collect();
        let today = config.today.unwrap_or_else(Date::today);
        AuditEngine {
            rules,
            windows,
            config,
            parsed,
            today,
            suppressed: 0,
        }
    }

    pub fn rules(&self) -> &[&'r dyn Rule] {
        &self.rules
    }

    /// The state of the rules that look across events, by rule ID, for a checkpoint.
    pub fn save_state(&self) -> Json {
        let mut out = Map::new();
        for (rule, window) in &self.windows {
            out.insert(rule.meta().id.to_string(), window.save());
        }
        Json::Object(out)
    }

    /// Restores what [`save_state`](Self::save_state) wrote. State of rules that are not
    /// running now (deselected, or inactive under the current parameters) is left out;
    /// rules without saved state start empty.
    pub fn restore_state(&mut self, state: &Json) -> Result<(), String> {
        let Some(map) = state.as_object() else {
            return Err("rule state: not a JSON object".into());
        };
        for (rule, window) in &mut self.windows {
            let id = rule.meta().id;
            if let Some(s) = map.get(id) {
                window
                    .restore(s)
                    .map_err(|e| format!("rule state of {id}: {e}"))?;
            }
        }
        Ok(())
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
        let cx = EventCtx::new(&self.config.params, &self.parsed);
        let rules = &self.rules;
        // Each finding with the position of its rule, the second sort key.
        let mut found: Vec<(usize, EventFinding)> = events
            .par_iter()
            .enumerate()
            .with_min_len(256)
            .flat_map_iter(|(index, ev)| {
                let mut hits = Vec::new();
                for (at, rule) in rules.iter().enumerate() {
                    if let Dispatch::Events(check) = rule.dispatch() {
                        let mut sink = EventSink::new(rule.meta());
                        check.check_event(&cx, ev, &mut sink);
                        hits.extend(sink.into_hits().into_iter().map(|hit| (at, hit)));
                    }
                }
                ev.forget_built();
                hits.into_iter()
                    .map(move |(at, hit)| (at, EventFinding { index, hit }))
            })
            .collect();
        let at: Vec<usize> = self
            .windows
            .iter()
            .map(|(w, _)| {
                let id = w.meta().id;
                self.rules
                    .iter()
                    .position(|r| r.meta().id == id)
                    .unwrap_or(usize::MAX)
            })
            .collect();
        for (index, ev) in events.iter().enumerate() {
            for ((rule, window), &at) in self.windows.iter_mut().zip(&at) {
                let mut sink = EventSink::new(rule.meta());
                window.observe(&cx, ev, &mut sink);
                found.extend(
                    sink.into_hits()
                        .into_iter()
                        .map(|hit| (at, EventFinding { index, hit })),
                );
            }
        }
        found.sort_by_key(|(at, f)| (f.index, *at));
        let found = found.into_iter().map(|(_, f)| f).collect();
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
            if let Some(sev) = self.config.severity_overrides.get(f.hit.rule.id) {
                f.hit.severity = *sev;
            }
            if !self.config.suppressions.is_empty() {
                let target = events[f.index].target();
                let mut expired = None;
                let mut applied = None;
                for c in self.config.suppressions.iter().filter(|c| {
                    c.suppression.covers(f.hit.rule.id)
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

#[cfg(test)]
mod tests {
    use eksguard_model::audit::AuditEvent;

    use super::AuditEngine;
    use crate::aud::testing::event;
    use crate::engine::EngineConfig;
    use crate::{Params, Rule};

    /// Events for every rule that keeps state: exec and port-forward sessions logged at
    /// two stages, a burst of refusals, a service-account token used from outside, an
    /// unexpected user seen twice.
    fn lines() -> Vec<String> {
        let at = |s: u32| format!("2024-05-01T12:{:02}:{:02}.000000Z", s / 60, s % 60);
        let id = |n: u32| format!(r#""auditID":"id-{n}""#);
        let mut out = Vec::new();
        for (n, sub) in [(1, "exec"), (2, "portforward")] {
            let obj =
                format!(r#""resource":"pods","subresource":"{sub}","namespace":"a","name":"p""#);
            let started = event("alice", "create", &obj, 101, "")
                .replace("ResponseComplete", "ResponseStarted")
                .replace(
                    r#""auditID":"00000000-0000-0000-0000-000000000001""#,
                    &id(n),
                );
            out.push(started.clone());
            out.push(started.replace("ResponseStarted", "ResponseComplete"));
        }
        for s in 0..5 {
            out.push(
                event("mallory", "list", r#""resource":"secrets""#, 403, "")
                    .replace("2024-05-01T12:00:00.000000Z", &at(s * 10))
                    .replace(
                        r#""auditID":"00000000-0000-0000-0000-000000000001""#,
                        &id(10 + s),
                    ),
            );
        }
        for _ in 0..2 {
            out.push(
                event(
                    "system:serviceaccount:ci:deployer",
                    "list",
                    r#""resource":"secrets""#,
                    200,
                    "",
                )
                .replace("192.0.2.10", "203.0.113.50"),
            );
            out.push(event("intruder", "get", r#""resource":"pods""#, 200, ""));
        }
        out
    }

    fn params() -> Params {
        let mut p = Params::default();
        let mut set = |id: &str, name: &str, v: serde_json::Value| {
            p.0.entry(id.to_string())
                .or_default()
                .insert(name.to_string(), v);
        };
        set("AUD020", "threshold", serde_json::json!(3));
        set(
            "AUD024",
            "cluster_cidrs",
            serde_json::json!(["10.0.0.0/16"]),
        );
        set(
            "AUD025",
            "allowed_users",
            serde_json::json!(["alice", "mallory"]),
        );
        p
    }

    fn engine(rules: &[&'static dyn Rule]) -> AuditEngine<'static> {
        AuditEngine::new(
            rules,
            EngineConfig {
                params: params(),
                ..EngineConfig::default()
            },
        )
    }

    /// (event index, rule, field path, message) of each finding.
    type Seen = Vec<(usize, &'static str, String, String)>;

    /// The findings of a batch that starts at event `offset`.
    fn seen(found: Vec<super::EventFinding>, offset: usize) -> Seen {
        found
            .into_iter()
            .map(|f| {
                (
                    f.index + offset,
                    f.hit.rule.id,
                    f.hit.path.to_string(),
                    f.hit.message,
                )
            })
            .collect()
    }

    #[test]
    fn saved_and_restored_state_judges_as_one_run() {
        let lines = lines();
        let events: Vec<AuditEvent<'_>> = lines
            .iter()
            .map(|l| AuditEvent::parse(l.as_bytes()).unwrap())
            .collect();
        let refs: Vec<&AuditEvent<'_>> = events.iter().collect();
        let rules: Vec<&'static dyn Rule> = crate::registry::all().to_vec();
        let whole = seen(engine(&rules).check(&refs), 0);
        let ids: Vec<&str> = whole.iter().map(|f| f.1).collect();
        // Each session, burst (user and IP), token and user is reported once.
        for (id, n) in [
            ("AUD002", 1),
            ("AUD003", 1),
            ("AUD020", 2),
            ("AUD024", 1),
            ("AUD025", 1),
        ] {
            assert_eq!(
                ids.iter().filter(|x| **x == id).count(),
                n,
                "{id}: {whole:?}"
            );
        }
        // Stopped after any event and restarted from the saved state (through its JSON
        // text, as a checkpoint file holds it): the same findings, once each.
        for cut in 0..=refs.len() {
            let mut first = engine(&rules);
            let mut got = seen(first.check(&refs[..cut]), 0);
            let saved = serde_json::to_string(&first.save_state()).unwrap();
            let mut second = engine(&rules);
            second
                .restore_state(&serde_json::from_str(&saved).unwrap())
                .unwrap();
            got.extend(seen(second.check(&refs[cut..]), cut));
            assert_eq!(got, whole, "stopped after event {cut}");
        }
    }

    #[test]
    fn malformed_state_is_refused_with_the_rule_named() {
        let rules: Vec<&'static dyn Rule> = crate::registry::all().to_vec();
        let mut e = engine(&rules);
        let err = e
            .restore_state(&serde_json::json!({"AUD020": {"keys": [["x"]], "queue": []}}))
            .unwrap_err();
        assert!(
            err.starts_with("rule state of AUD020: not a tracked key"),
            "{err}"
        );
        assert!(e.restore_state(&serde_json::json!([1])).is_err());
    }
}
