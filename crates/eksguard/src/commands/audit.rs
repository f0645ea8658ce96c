//! `eksguard audit scan` and `eksguard audit summary`: stream audit logs through the AUD
//! rules or through the summary counters.

use eksguard_model::audit::AuditEvent;
use eksguard_report::audit_summary::{self, AuditSummary};
use eksguard_report::{Location, Report, ReportFinding, SourceCache};
use eksguard_rules::events::AuditEngine;
use eksguard_rules::registry;
use eksguard_sources::audit::{AuditReader, ReadOptions};

use crate::cli::{AuditCommand, AuditScanArgs, AuditSummaryArgs, DataFormat};
use crate::commands::scan;
use crate::Outcome;

pub fn run(cmd: AuditCommand) -> anyhow::Result<Outcome> {
    match cmd {
        AuditCommand::Scan(args) => run_scan(*args),
        AuditCommand::Summary(args) => run_summary(args),
    }
}

fn run_scan(args: AuditScanArgs) -> anyhow::Result<Outcome> {
    let Some(cfg) = scan::load_config(&args.check) else {
        return Ok(Outcome::Error);
    };
    let mut engine = AuditEngine::new(registry::all(), scan::engine_config(&args.check, &cfg));
    let mut reader = AuditReader::new(ReadOptions::default());
    let mut findings = Vec::new();
    let mut checked = 0usize;
    for path in &args.input.logs {
        reader.read_path(path, &mut |batch| {
            let events: Vec<&AuditEvent<'_>> = batch.events.iter().map(|p| &p.event).collect();
            checked += events.len();
            for f in engine.check(&events) {
                let Some(rule) = registry::find(f.hit.rule_id) else {
                    continue;
                };
                let parsed = &batch.events[f.index];
                findings.push(ReportFinding {
                    rule: rule.meta(),
                    severity: f.hit.severity,
                    message: f.hit.message,
                    resource: parsed.event.target(),
                    location: Some(Location {
                        file: batch.file.to_string(),
                        line: parsed.line,
                        column: 1,
                    }),
                    field_path: f.hit.path.to_string(),
                    event: Some(Box::new(parsed.event.summary())),
                });
            }
        });
    }
    let mut report = Report {
        tool_version: env!("CARGO_PKG_VERSION"),
        rules: engine.rules().iter().map(|r| r.meta()).collect(),
        findings,
        errors: reader.errors(),
        resources_scanned: checked,
        files_scanned: reader.inputs(),
        suppressed: engine.suppressed(),
        audit: Some(reader.stats()),
    };
    scan::apply_baseline(&args.check, &mut report)?;
    let threshold = scan::fail_threshold(args.report.fail_on, cfg.fail_on);
    // Findings show the event instead of a code frame: no source text is needed.
    scan::emit(&args.report, &report, &SourceCache::new())?;
    Ok(scan::outcome(&report, threshold))
}

fn run_summary(args: AuditSummaryArgs) -> anyhow::Result<Outcome> {
    let mut reader = AuditReader::new(ReadOptions::default());
    let mut summary = AuditSummary::default();
    for path in &args.input.logs {
        reader.read_path(path, &mut |batch| {
            for p in &batch.events {
                summary.observe(&p.event);
            }
        });
    }
    let errors = reader.errors();
    let data = summary.data(args.top, reader.inputs(), reader.stats(), &errors);
    let mut out = super::open_output(args.output.as_deref())?;
    match args.format {
        DataFormat::Text => audit_summary::render_text(&data, &mut out)?,
        DataFormat::Json => audit_summary::render_json(&data, &mut out)?,
        DataFormat::Markdown => audit_summary::render_markdown(&data, &mut out)?,
    }
    out.flush()?;
    Ok(if errors.is_empty() {
        Outcome::Clean
    } else {
        Outcome::Error
    })
}

use std::io::Write as _;
