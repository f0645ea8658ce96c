//! Runs every rule over its fixtures under `fixtures/<family>/`.
//!
//! A fixture is `<ID>.yaml` or `<ID>_<variant>.yaml` (`.json` too). Lines that a finding
//! must point at carry a `# expect: ID` comment (repeat the ID for several findings on one
//! line); no other line may get a finding. Each fixture must produce at least one finding
//! and leave at least one object clean. Optional `<ID>.params.json` sets the rule's
//! parameters as `{"name": value}`. The findings (line, field path, message) are
//! snapshot-tested too.
//!
//! Rules that see audit events take `<ID>.jsonl` (or `<ID>_<variant>.jsonl`): one event
//! a line, in the order the audit engine reads them. A line `# expect: ID field.path`
//! says the next event gets a finding of ID at that path in the event (one such line per
//! finding); the harness leaves comment and blank lines out of the events but keeps the
//! file's line numbers. Each fixture must fire and leave at least one event alone.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use eksguard_load::files::load_text;
use eksguard_load::LoadOptions;
use eksguard_rules::engine::{Engine, EngineConfig};
use eksguard_rules::suppress::Date;
use eksguard_rules::{registry, Params};

fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

fn expectations(text: &str) -> BTreeMap<(u32, String), usize> {
    let mut out = BTreeMap::new();
    for (i, line) in text.lines().enumerate() {
        if let Some(idx) = line.find("# expect:") {
            for id in line[idx + 9..]
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
            {
                *out.entry((i as u32 + 1, id.to_string())).or_insert(0) += 1;
            }
        }
    }
    out
}

fn check_family(family: &str) {
    let mut checked = 0;
    for rule in registry::all() {
        let meta = rule.meta();
        if meta.family() != family {
            continue;
        }
        let dir = fixture_dir().join(family.to_ascii_lowercase());
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default();
        let events = meta.scope.is_events();
        files.retain(|p| {
            let stem = p.file_stem().and_then(|s| s.to_str()).unwrap_or("");
            let ext = p.extension().and_then(|s| s.to_str()).unwrap_or("");
            let wanted = if events {
                ext == "jsonl"
            } else {
                ext == "yaml" || ext == "json"
            };
            wanted
                && !stem.ends_with(".params")
                && (stem == meta.id || stem.starts_with(&format!("{}_", meta.id)))
        });
        files.sort();
        assert!(
            !files.is_empty(),
            "{}: no fixture in {}",
            meta.id,
            dir.display()
        );
        let mut params = Params::default();
        let pfile = dir.join(format!("{}.params.json", meta.id));
        if let Ok(text) = std::fs::read_to_string(&pfile) {
            let v: BTreeMap<String, serde_json::Value> = serde_json::from_str(&text).unwrap();
            params.0.insert(meta.id.to_string(), v);
        }
        for file in files {
            if events {
                check_event_fixture(rule, &file, &params);
            } else {
                check_fixture(rule, &file, &params);
            }
            checked += 1;
        }
    }
    assert!(checked > 0, "no rules in family {family}");
}

fn check_fixture(rule: &&'static dyn eksguard_rules::Rule, file: &Path, params: &Params) {
    let meta = rule.meta();
    let name = file.file_name().unwrap().to_string_lossy().to_string();
    let text = std::fs::read_to_string(file).unwrap();
    let inv = load_text(&name, text.as_bytes(), &LoadOptions::default());
    assert!(inv.errors.is_empty(), "{name}: {:?}", inv.errors);
    let config = EngineConfig {
        select: vec![meta.id.to_string()],
        params: params.clone(),
        today: Some(Date(2026, 1, 1)),
        ..EngineConfig::default()
    };
    let engine = Engine::new(registry::all(), config);
    let result = engine.run(&inv);
    let mut got: BTreeMap<(u32, String), usize> = BTreeMap::new();
    let mut report = String::new();
    let mut dirty = BTreeSet::new();
    for f in &result.findings {
        let obj = inv.get(f.object);
        dirty.insert(f.object);
        let pos = obj.locate(&f.path).unwrap_or_default();
        *got.entry((pos.line, f.rule.id.to_string())).or_insert(0) += 1;
        report.push_str(&format!(
            "{}:{} {} {} {} {}\n    {}\n",
            pos.line,
            pos.col,
            f.rule.id,
            f.severity,
            obj.display_name(),
            f.path,
            f.message
        ));
        // Facts (the tables reports build) are part of what a fixture pins.
        if !f.facts.is_empty() {
            let facts: Vec<String> = f
                .facts
                .iter()
                .map(|(k, v)| format!("{k}={}", serde_json::to_string(v).unwrap()))
                .collect();
            report.push_str(&format!("    facts: {}\n", facts.join(" ")));
        }
    }
    let want = expectations(&text);
    assert_eq!(
        got, want,
        "{name}: findings (line, rule) differ from `# expect:` comments\n{report}"
    );
    assert!(
        !result.findings.is_empty(),
        "{name}: the fixture must make {} fire",
        meta.id
    );
    assert!(
        inv.objects.len() > dirty.len(),
        "{name}: the fixture needs at least one object {} leaves alone",
        meta.id
    );
    let snap = name
        .trim_end_matches(".yaml")
        .trim_end_matches(".json")
        .to_string();
    insta::with_settings!({ snapshot_path => "snapshots/fixtures", prepend_module_to_snapshot => false }, {
        insta::assert_snapshot!(snap, report);
    });
}

/// Expectations of an event fixture, (line, rule, path) with their counts, and the
/// events with their line numbers.
type EventExpectations = BTreeMap<(u32, String, String), usize>;

fn event_expectations(name: &str, text: &str) -> (EventExpectations, Vec<(u32, String)>) {
    let mut want = BTreeMap::new();
    let mut events = Vec::new();
    let mut pending: Vec<(String, String)> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim();
        if let Some(rest) = trimmed.strip_prefix("# expect:") {
            let mut words = rest.split_whitespace();
            let (Some(id), Some(path), None) = (words.next(), words.next(), words.next()) else {
                panic!("{name}:{}: write `# expect: ID field.path`", i + 1);
            };
            pending.push((id.to_string(), path.to_string()));
        } else if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        } else {
            let n = i as u32 + 1;
            for (id, path) in pending.drain(..) {
                *want.entry((n, id, path)).or_insert(0) += 1;
            }
            events.push((n, line.to_string()));
        }
    }
    assert!(
        pending.is_empty(),
        "{name}: `# expect:` after the last event"
    );
    (want, events)
}

fn check_event_fixture(rule: &&'static dyn eksguard_rules::Rule, file: &Path, params: &Params) {
    use eksguard_model::audit::AuditEvent;
    use eksguard_rules::AuditEngine;
    let meta = rule.meta();
    let name = file.file_name().unwrap().to_string_lossy().to_string();
    let text = std::fs::read_to_string(file).unwrap();
    let (want, lines) = event_expectations(&name, &text);
    let events: Vec<AuditEvent<'_>> = lines
        .iter()
        .map(|(n, l)| AuditEvent::parse(l.as_bytes()).unwrap_or_else(|e| panic!("{name}:{n}: {e}")))
        .collect();
    let refs: Vec<&AuditEvent<'_>> = events.iter().collect();
    let config = EngineConfig {
        select: vec![meta.id.to_string()],
        params: params.clone(),
        today: Some(Date(2026, 1, 1)),
        ..EngineConfig::default()
    };
    let mut engine = AuditEngine::new(registry::all(), config);
    let found = engine.check(&refs);
    let mut got: EventExpectations = BTreeMap::new();
    let mut report = String::new();
    let mut dirty = BTreeSet::new();
    for f in &found {
        let line = lines[f.index].0;
        dirty.insert(f.index);
        let path = f.hit.path.to_string();
        report.push_str(&format!(
            "{line} {} {} {path}\n    {}\n",
            f.hit.rule.id, f.hit.severity, f.hit.message
        ));
        *got.entry((line, f.hit.rule.id.to_string(), path))
            .or_insert(0) += 1;
    }
    assert_eq!(
        got, want,
        "{name}: findings (line, rule, path) differ from `# expect:` comments\n{report}"
    );
    assert!(
        !found.is_empty(),
        "{name}: the fixture must make {} fire",
        meta.id
    );
    assert!(
        events.len() > dirty.len(),
        "{name}: the fixture needs at least one event {} leaves alone",
        meta.id
    );
    let snap = name.trim_end_matches(".jsonl").to_string();
    insta::with_settings!({ snapshot_path => "snapshots/fixtures", prepend_module_to_snapshot => false }, {
        insta::assert_snapshot!(snap, report);
    });
}

/// Every rule of every family has fixtures that make it fire and that it leaves alone:
/// manifests for the rules that see objects, JSON lines of audit events for the others.
#[test]
fn every_rule_fires_where_its_fixtures_say() {
    for family in eksguard_model::rule::FAMILIES {
        check_family(family.prefix);
    }
}

/// The table of dangerous powers and the rules that judge roles cannot drift apart: a
/// ClusterRole granting any one request of a power is flagged by an IAM rule, never at a
/// higher severity than holding the power cluster-wide.
#[test]
fn every_power_request_is_flagged_by_an_iam_rule() {
    use eksguard_model::rbac::powers::POWERS;
    for power in POWERS.iter().filter(|p| p.id != "full-control") {
        for r in power.requests {
            let text = format!(
                "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: probe\nrules:\n- apiGroups: [\"{}\"]\n  resources: [\"{}\"]\n  verbs: [\"{}\"]\n",
                r.group, r.resource, r.verb
            );
            let inv = load_text("probe.yaml", text.as_bytes(), &LoadOptions::default());
            let config = EngineConfig {
                select: vec!["IAM".to_string()],
                today: Some(Date(2026, 1, 1)),
                ..EngineConfig::default()
            };
            let result = Engine::new(registry::all(), config).run(&inv);
            let flagged: Vec<_> = result
                .findings
                .iter()
                .filter(|f| f.rule.id != "IAM008")
                .collect();
            assert!(!flagged.is_empty(), "{} {r:?}: no rule fires", power.id);
            for f in flagged {
                assert!(
                    f.severity <= power.severity,
                    "{} {r:?}: {} is {} above the power's {}",
                    power.id,
                    f.rule.id,
                    f.severity,
                    power.severity
                );
            }
        }
    }
}

/// The POD and RUN rules and the Pod Security Standards levels of `generate
/// pod-security` read the same fields the same way: over every pod and workload of the
/// pod and runtime fixtures, each rule below reports exactly the fields the matching
/// standard's check reports, or (where the rule reads names as the node applies them, or
/// judges only the worst values) a subset of them.
#[test]
fn pod_rules_agree_with_pod_security_standards() {
    use eksguard_model::podsec;
    use eksguard_policy::pss;
    // (rule, the standard's check, whether the two must report the same fields)
    const PAIRS: &[(&str, &str, bool)] = &[
        ("POD001", "Privileged Containers", true),
        ("POD003", "Privilege Escalation", true),
        ("POD007", "Host Namespaces", false),
        ("POD008", "Host Namespaces", false),
        ("POD009", "Host Namespaces", false),
        ("POD010", "Host Ports", true),
        ("POD012", "Capabilities", false),
        ("POD016", "Sysctls", false),
        ("POD019", "HostProcess", true),
        ("RUN003", "AppArmor", false),
        ("RUN004", "SELinux", true),
    ];
    let mut compared = 0;
    for family in ["pod", "run"] {
        let mut files: Vec<PathBuf> = std::fs::read_dir(fixture_dir().join(family))
            .unwrap()
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
            .collect();
        files.sort();
        for file in files {
            let name = file.file_name().unwrap().to_string_lossy().to_string();
            let text = std::fs::read_to_string(&file).unwrap();
            let inv = load_text(&name, text.as_bytes(), &LoadOptions::default());
            let config = EngineConfig {
                select: PAIRS.iter().map(|(id, _, _)| id.to_string()).collect(),
                today: Some(Date(2026, 1, 1)),
                ..EngineConfig::default()
            };
            let result = Engine::new(registry::all(), config).run(&inv);
            for obj in &inv.objects {
                let Some(pod) = obj.pod_spec() else { continue };
                let violations = pss::check_pod(&pod);
                for (rule, check, equal) in PAIRS {
                    let by_rule: BTreeSet<String> = result
                        .findings
                        .iter()
                        .filter(|f| f.object == obj.id && f.rule.id == *rule)
                        .map(|f| f.path.to_string())
                        // The procMount half of POD016 is the standard's "/proc Mount Type".
                        .filter(|p| !p.ends_with("procMount"))
                        .collect();
                    let by_standard: BTreeSet<String> = violations
                        .iter()
                        .filter(|v| v.check == *check)
                        .map(|v| v.path.to_string())
                        .filter(|p| {
                            *check != "Capabilities" || *rule != "POD012" || p.ends_with(".drop")
                        })
                        .filter(|p| *check != "Host Namespaces" || by_rule_field(rule, p))
                        .collect();
                    // A pod scheduled onto Windows nodes by selector or affinity is
                    // Windows to the rules but not to admission, which reads only
                    // `spec.os.name`: there the rule may report less.
                    let scheduled_windows =
                        podsec::runs_on_windows(&pod) && !podsec::is_windows(&pod);
                    let ok = if *equal && !scheduled_windows {
                        by_rule == by_standard
                    } else {
                        by_rule.is_subset(&by_standard)
                    };
                    assert!(
                        ok,
                        "{name}: {} — {rule} reports {by_rule:?}, the standard's {check} {by_standard:?}",
                        obj.display_name()
                    );
                    compared += 1;
                }
            }
        }
    }
    assert!(compared > 100, "only {compared} comparisons");
}

/// Which host namespace field each of POD007–POD009 judges.
fn by_rule_field(rule: &str, path: &str) -> bool {
    let field = match rule {
        "POD007" => "hostNetwork",
        "POD008" => "hostPID",
        _ => "hostIPC",
    };
    path.ends_with(field)
}

/// What a rule reads is declared: over every fixture, each kind a rule looks up through
/// its context is among its metadata's `kinds` or `reads`, so the live readers' failures
/// can name the rules that lose data, and the admission paths know which rules need the
/// cluster's other objects.
#[test]
fn rules_read_only_declared_kinds() {
    use eksguard_rules::{Ctx, Dispatch, Sink};
    let mut files: Vec<PathBuf> = Vec::new();
    for family in eksguard_model::rule::FAMILIES {
        if let Ok(rd) = std::fs::read_dir(fixture_dir().join(family.prefix.to_ascii_lowercase())) {
            files.extend(rd.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| {
                p.extension().is_some_and(|e| e == "yaml" || e == "json")
                    && !p.to_string_lossy().ends_with(".params.json")
            }));
        }
    }
    files.sort();
    let params = Params::default();
    let mut undeclared: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    for file in &files {
        let name = file.file_name().unwrap().to_string_lossy().to_string();
        let text = std::fs::read_to_string(file).unwrap();
        let inv = load_text(&name, text.as_bytes(), &LoadOptions::default());
        let cx = Ctx::recording(&inv, &params);
        for rule in registry::all() {
            let meta = rule.meta();
            let mut sink = Sink::new(meta);
            match rule.dispatch() {
                Dispatch::Objects(check) => {
                    for obj in inv
                        .objects
                        .iter()
                        .filter(|o| meta.kinds().contains(&&*o.kind))
                    {
                        check.check_object(&cx, obj, &mut sink);
                    }
                }
                Dispatch::Inventory(check) => check.check_inventory(&cx, &mut sink),
                Dispatch::Events(_) | Dispatch::EventWindow(_) => {}
            }
            for kind in cx.take_lookups() {
                if !meta.uses_kind(&kind) {
                    undeclared.entry(meta.id).or_default().insert(kind);
                }
            }
        }
    }
    assert!(
        undeclared.is_empty(),
        "rules look up kinds their metadata does not declare: {undeclared:?}"
    );
}
