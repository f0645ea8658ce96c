//! `eksguard audit scan`, `audit summary` and `audit rbac`: stream audit logs (files, or
//! CloudWatch Logs through the AWS API) through the AUD rules, the summary counters, or
//! the least-privilege RBAC generator.

use eksguard_load::audit::{AuditReader, OnBatch, ReadOptions};
use eksguard_model::audit::AuditEvent;
use eksguard_model::{InputError, Severity};
use eksguard_policy::rbac_gen::{self, Decision, Power, Target};
use eksguard_report::audit_summary::{self, AuditSummary};
use eksguard_report::reporter::JsonLines;
use eksguard_report::{
    OutputFormat, Report, ReportFinding, Reporter, SourceCache, SuppressedReportFinding,
};
use eksguard_rules::events::{AuditEngine, EventFinding};
use eksguard_rules::registry;
use rayon::prelude::*;

use crate::baseline::BaselineEntry;
use crate::cli::{
    AuditCommand, AuditLogs, AuditRbacArgs, AuditScanArgs, AuditSummaryArgs, SummaryFormat,
};
use crate::pipeline::{self, output, Baseline, RunSpec};
use crate::Outcome;

pub fn run(cmd: AuditCommand) -> anyhow::Result<Outcome> {
    match cmd {
        AuditCommand::Scan(args) => run_scan(*args),
        AuditCommand::Summary(args) => run_summary(*args),
        AuditCommand::Rbac(args) => run_rbac(*args),
    }
}

/// Feeds every log named on the command line, then the CloudWatch group, through `reader`.
fn read_logs(input: &AuditLogs, reader: &mut AuditReader, on_batch: &mut OnBatch<'_>) {
    for path in &input.logs {
        reader.read_path(path, on_batch);
    }
    if let Some(group) = &input.cloudwatch {
        read_cloudwatch(input, group, reader, on_batch);
    }
}

#[cfg(feature = "aws")]
fn read_cloudwatch(
    input: &AuditLogs,
    group: &str,
    reader: &mut AuditReader,
    on_batch: &mut OnBatch<'_>,
) {
    use std::collections::HashMap;

    use eksguard_live::cloudwatch_live::{LogQuery, LogReader};

    let label = format!("cloudwatch:{group}");
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    let mut q = LogQuery::new(group);
    q.stream_prefix = Some(input.log_stream_prefix.clone()).filter(|p| !p.is_empty());
    q.region = input.region.clone();
    q.profile = input.profile.clone();
    q.endpoint_url = input.endpoint_url.clone();
    for (flag, value, slot) in [
        ("--since", &input.since, &mut q.start_ms),
        ("--until", &input.until, &mut q.end_ms),
    ] {
        if let Some(v) = value {
            match parse_when(v, now_ms) {
                Some(ms) => *slot = Some(ms),
                None => {
                    reader.push_error(InputError::new(
                        &label,
                        None,
                        format!("{flag} {v:?}: not a duration (2h, 30m, 7d) or an RFC 3339 time"),
                    ));
                    return;
                }
            }
        }
    }
    let mut pages = match LogReader::open(&q) {
        Ok(r) => r,
        Err(e) => return reader.push_error(InputError::new(&label, None, e.to_string())),
    };
    // Each stream numbers its events from 1: the "line" a finding points at.
    let mut seen: HashMap<String, u32> = HashMap::new();
    while let Some(page) = pages.next_page() {
        let messages = match page {
            Ok(m) => m,
            Err(e) => return reader.push_error(InputError::new(&label, None, e.to_string())),
        };
        // One call per run of events from the same stream, so each keeps its stream's name.
        for run in messages.chunk_by(|a, b| a.stream == b.stream) {
            let counter = seen.entry(run[0].stream.clone()).or_default();
            let numbered: Vec<(u32, &[u8])> = run
                .iter()
                .map(|m| {
                    *counter += 1;
                    (*counter, m.message.as_bytes())
                })
                .collect();
            reader.read_messages(&format!("{group}/{}", run[0].stream), &numbered, on_batch);
        }
    }
}

#[cfg(not(feature = "aws"))]
fn read_cloudwatch(_: &AuditLogs, group: &str, reader: &mut AuditReader, _: &mut OnBatch<'_>) {
    reader.push_error(InputError::new(
        format!("cloudwatch:{group}"),
        None,
        "this eksguard was built without AWS support (cargo feature `aws`)",
    ));
}

#[cfg(feature = "aws")]
fn follow(args: AuditScanArgs) -> anyhow::Result<Outcome> {
    super::audit_follow::run(args)
}

#[cfg(not(feature = "aws"))]
fn follow(_: AuditScanArgs) -> anyhow::Result<Outcome> {
    eprintln!("error: this eksguard was built without AWS support (cargo feature `aws`)");
    Ok(Outcome::Error)
}

/// `2h`, `90m`, `7d` ago, or an RFC 3339 time, in milliseconds since the epoch.
#[cfg(feature = "aws")]
pub(super) fn parse_when(text: &str, now_ms: i64) -> Option<i64> {
    if let Some(micros) = eksguard_model::audit::parse_rfc3339_micros(text) {
        return Some(micros / 1000);
    }
    let ago = humantime::parse_duration(text).ok()?;
    Some(now_ms - i64::try_from(ago.as_millis()).ok()?)
}

/// The requests of one identity, turned into the RBAC objects that allow them.
fn run_rbac(args: AuditRbacArgs) -> anyhow::Result<Outcome> {
    let target = match (&args.user, &args.serviceaccount, &args.group) {
        (Some(u), _, _) => Target::from_user(u),
        (_, Some(sa), _) => {
            let sa = sa.strip_prefix("system:serviceaccount:").unwrap_or(sa);
            let Some((namespace, name)) = sa
                .split_once(':')
                .filter(|(n, m)| !n.is_empty() && !m.is_empty())
            else {
                eprintln!(
                    "error: --serviceaccount takes NS:NAME, got {}",
                    super::shown(format!("{sa:?}"))
                );
                return Ok(Outcome::Error);
            };
            Target::ServiceAccount {
                namespace: namespace.to_string(),
                name: name.to_string(),
            }
        }
        (_, _, Some(g)) => Target::Group(g.clone()),
        _ => unreachable!("clap requires one identity"),
    };
    let user = match &target {
        Target::User(u) => Some(u.clone()),
        Target::ServiceAccount { namespace, name } => {
            Some(format!("system:serviceaccount:{namespace}:{name}"))
        }
        Target::Group(_) => None,
    };
    let mut reader = AuditReader::new(ReadOptions::default());
    let mut requests = Vec::new();
    read_logs(&args.input, &mut reader, &mut |batch| {
        for p in &batch.events {
            let e = &p.event;
            // A 401 has no identity worth granting; the first stages repeat the last.
            if e.code() == Some(401) || matches!(e.stage.as_deref(), Some("RequestReceived")) {
                continue;
            }
            let who = e.effective_user();
            let ours = match (&user, &target) {
                (Some(u), _) => who.name() == u,
                (None, Target::Group(g)) => who.groups.iter().any(|x| **x == **g),
                _ => false,
            };
            if ours {
                let decision = match e.denied() {
                    true => Decision::Denied,
                    false => Decision::Allowed,
                };
                requests.extend(e.request_attributes().map(|r| (r, decision)));
            }
        }
    });
    let errors = reader.errors();
    for e in &errors {
        eprintln!("error: {}", super::shown(e));
    }
    let mut opts = rbac_gen::Options::new(target);
    opts.resource_names = args.resource_names;
    opts.name_prefix = args.name_prefix.clone();
    opts.include_denied = args.include_denied;
    opts.allow = args
        .allow_dangerous
        .iter()
        .filter_map(|p| Power::parse(p))
        .collect();
    let generated = rbac_gen::generate_from(requests.iter().map(|(r, d)| (r, *d)), &opts);
    eprintln!(
        "eksguard: {} requests of {} observed; {} left out as allowed to every authenticated user",
        requests.len(),
        super::shown(
            user.as_deref()
                .or(args.group.as_deref())
                .unwrap_or_default()
        ),
        generated.skipped_default
    );
    for note in rbac_gen::notes(&generated) {
        eprintln!("eksguard: {}", super::shown(&note));
    }
    let mut out = super::open_output(args.output.as_deref())?;
    out.write_all(rbac_gen::render(&generated, &opts).as_bytes())?;
    out.flush()?;
    Ok(if errors.is_empty() {
        Outcome::Clean
    } else {
        Outcome::Error
    })
}

/// Findings resolved by one task: enough that a task outweighs handing it out.
const FINDINGS_PER_TASK: usize = 256;

/// What a run keeps of a finding: the finding itself for a report written at the end or
/// a streamed one yet to write it, whether the baseline holds it, its baseline entry when
/// one is written.
struct Resolved {
    finding: Option<ReportFinding>,
    severity: Severity,
    known: bool,
    baseline: Option<BaselineEntry>,
}

/// What `audit scan` judges with, batch or following.
pub(super) struct ScanSetup {
    pub spec: RunSpec,
    pub engine: AuditEngine<'static>,
    pub reader: AuditReader,
    pub baseline: Baseline,
}

/// The spec, the engine under it, a reader, and the baseline read; `None` when the
/// configuration has errors (already reported).
pub(super) fn scan_setup(args: &AuditScanArgs) -> anyhow::Result<Option<ScanSetup>> {
    // Audit events carry no annotations: only configured suppressions apply.
    let Some(spec) = RunSpec::from_flags(&args.check, None, args.report.clone()) else {
        return Ok(None);
    };
    let engine = AuditEngine::new(registry::all(), spec.engine.clone());
    let baseline = Baseline::new(&spec)?.load()?;
    Ok(Some(ScanSetup {
        spec,
        engine,
        reader: AuditReader::new(ReadOptions::default()),
        baseline,
    }))
}

fn run_scan(mut args: AuditScanArgs) -> anyhow::Result<Outcome> {
    let scope = match &args.input.cloudwatch {
        Some(group) => format!("audit:cloudwatch:{group}"),
        None => format!(
            "audit:{}",
            crate::security_hub::path_scope(&args.input.logs).trim_start_matches("path:")
        ),
    };
    args.report.aws = crate::cli::AwsReportContext {
        region: args.input.region.clone(),
        profile: args.input.profile.clone(),
        endpoint_url: args.input.endpoint_url.clone(),
        scope,
    };
    if args.follow.follow {
        return follow(args);
    }
    let Some(ScanSetup {
        spec,
        mut engine,
        mut reader,
        mut baseline,
    }) = scan_setup(&args)?
    else {
        return Ok(Outcome::Error);
    };
    // JSON lines are written as findings come: memory stays flat on endless logs. The
    // other formats are documents sorted or grouped over all findings; with nothing to
    // show (`--quiet`), findings are only counted, as for JSON lines.
    let silent = args.report.quiet && args.report.output.is_none();
    let streaming =
        (args.report.format == OutputFormat::Jsonl || silent) && !args.report.security_hub;
    let mut reporter: Option<Box<dyn Reporter>> = match streaming && !silent {
        true => Some(Box::new(JsonLines::new(super::open_output(
            args.report.output.as_deref(),
        )?))),
        false => None,
    };
    let mut write_error = None;
    let mut worst: Option<Severity> = None;
    let mut findings = Vec::new();
    let mut baseline_entries = Vec::new();
    let mut suppressed_findings = Vec::new();
    let baseline_note = baseline.note();
    let mut in_baseline = 0usize;
    let mut checked = 0usize;
    read_logs(&args.input, &mut reader, &mut |batch| {
        let events: Vec<&AuditEvent<'_>> = batch.events.iter().map(|p| &p.event).collect();
        checked += events.len();
        let (found, hidden) = engine.check_keeping_suppressed(&events);
        let resolve = |f: EventFinding| pipeline::resolve_event(batch, f);
        // A streamed report keeps nothing in memory: it counts suppressed findings only.
        if !streaming {
            suppressed_findings.extend(hidden.into_iter().filter_map(|(f, note)| {
                Some(SuppressedReportFinding {
                    finding: resolve(f)?,
                    note,
                })
            }));
        }
        // Resolving a finding (its event summary) and its baseline fingerprint are the
        // cost of each finding: done on all cores, a run of findings at a time, in the
        // findings' order. A streamed run keeps a batch's findings until the reporter has
        // written them.
        let write = reporter.is_some() && write_error.is_none();
        let want_baseline = baseline.writing();
        let mut runs: Vec<Vec<EventFinding>> = Vec::new();
        let mut rest = found.into_iter();
        loop {
            let run: Vec<EventFinding> = rest.by_ref().take(FINDINGS_PER_TASK).collect();
            if run.is_empty() {
                break;
            }
            runs.push(run);
        }
        let resolved: Vec<Vec<Resolved>> = runs
            .into_par_iter()
            .map(|run| {
                run.into_iter()
                    .filter_map(resolve)
                    .map(|finding| {
                        let known = baseline.knows(&finding);
                        Resolved {
                            severity: finding.severity,
                            known,
                            baseline: want_baseline.then(|| BaselineEntry::of(&finding)),
                            finding: (!streaming || (write && !known)).then_some(finding),
                        }
                    })
                    .collect()
            })
            .collect();
        let mut to_write = Vec::new();
        for r in resolved.into_iter().flatten() {
            baseline_entries.extend(r.baseline);
            if r.known {
                in_baseline += 1;
                if !streaming {
                    suppressed_findings.extend(r.finding.map(|finding| SuppressedReportFinding {
                        finding,
                        note: baseline_note.clone(),
                    }));
                }
                continue;
            }
            worst = worst.max(Some(r.severity));
            match r.finding {
                Some(f) if streaming => to_write.push(f),
                Some(f) => findings.push(f),
                None => {}
            }
        }
        if let (Some(r), true) = (reporter.as_mut(), write) {
            write_error = r.findings(to_write).err();
        }
    });
    if let Some(e) = write_error {
        return Err(e.into());
    }
    baseline.record(baseline_entries);
    baseline.save()?;
    let config = spec.config_summary();
    let errors = reader.errors();
    let suppressed = engine.suppressed() + in_baseline;
    let report = Report {
        tool_version: env!("CARGO_PKG_VERSION"),
        rules: engine.rules().iter().map(|r| r.meta()).collect(),
        findings,
        errors,
        warnings: Vec::new(),
        resources_scanned: checked,
        files_scanned: reader.inputs(),
        files_skipped: None,
        suppressed,
        audit: Some(reader.stats()),
        suppressed_findings,
        config: Some(config),
    };
    if streaming {
        output::errors_to_stderr(&args.report, &report.errors);
        let outcome = pipeline::decide(!report.errors.is_empty(), worst, spec.threshold);
        if let Some(r) = reporter.as_mut() {
            r.end(report)?;
        }
        return Ok(outcome);
    }
    let outcome = pipeline::decide(
        !report.errors.is_empty(),
        report.findings.iter().map(|f| f.severity).max(),
        spec.threshold,
    );
    // Findings show the event instead of a code frame: no source text is needed.
    output::emit(&args.report, report, &SourceCache::new())?;
    Ok(outcome)
}

fn run_summary(args: AuditSummaryArgs) -> anyhow::Result<Outcome> {
    let mut reader = AuditReader::new(ReadOptions::default());
    let mut summary = AuditSummary::default();
    // The page marks the audit rules' findings on the request rate: only it runs them.
    let mut engine = (args.format == SummaryFormat::Html)
        .then(|| AuditEngine::new(registry::all(), Default::default()));
    read_logs(&args.input, &mut reader, &mut |batch| {
        for p in &batch.events {
            summary.observe(&p.event);
        }
        if let Some(engine) = engine.as_mut() {
            let events: Vec<&AuditEvent<'_>> = batch.events.iter().map(|p| &p.event).collect();
            for f in engine.check(&events) {
                let ev = &batch.events[f.index].event;
                if let Some(t) = ev.time_micros() {
                    let time = ev.time().unwrap_or_default().to_string();
                    let mark = audit_summary::Mark::new(
                        time,
                        f.hit.rule.id,
                        f.hit.severity,
                        f.hit.message,
                    );
                    summary.mark(t, mark);
                }
            }
        }
    });
    let errors = reader.errors();
    let data = summary.data(args.top, reader.inputs(), reader.stats(), &errors);
    let mut out = super::open_output(args.output.as_deref())?;
    match args.format {
        SummaryFormat::Text => audit_summary::render_text(&data, &mut out)?,
        SummaryFormat::Json => audit_summary::render_json(&data, &mut out)?,
        SummaryFormat::Markdown => audit_summary::render_markdown(&data, &mut out)?,
        SummaryFormat::Html => audit_summary::render_html(&data, &mut out)?,
    }
    out.flush()?;
    Ok(if errors.is_empty() {
        Outcome::Clean
    } else {
        Outcome::Error
    })
}

use std::io::Write as _;
