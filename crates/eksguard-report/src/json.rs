//! The JSON report: a stable, versioned contract (see the product spec). Field order and
//! names here are that contract; change `SCHEMA_VERSION` before changing them.

use std::io::Write;

use eksguard_model::{AuditStats, EventSummary, InputError, ResourceRef, Severity};
use serde::Serialize;

use crate::{write_json, Location, Report};

pub(crate) const SCHEMA_VERSION: u32 = 1;

#[derive(Serialize)]
struct JsonReport<'a> {
    schema_version: u32,
    tool: Tool<'a>,
    findings: Vec<Finding<'a>>,
    errors: &'a [InputError],
    summary: Summary,
}

#[derive(Serialize)]
struct Tool<'a> {
    name: &'static str,
    version: &'a str,
}

#[derive(Serialize)]
struct Finding<'a> {
    rule_id: &'static str,
    rule_name: &'static str,
    severity: Severity,
    message: &'a str,
    resource: &'a ResourceRef,
    #[serde(skip_serializing_if = "Option::is_none")]
    location: Option<&'a Location>,
    field_path: &'a str,
    remediation: &'static str,
    help_uri: &'static str,
    /// Audit findings only: the event behind the finding.
    #[serde(skip_serializing_if = "Option::is_none")]
    event: Option<&'a EventSummary>,
}

#[derive(Serialize)]
struct Summary {
    findings_by_severity: BySeverity,
    resources_scanned: usize,
    files_scanned: usize,
    suppressed: usize,
    /// Audit runs only: events read, duplicates, truncated and malformed ones.
    #[serde(skip_serializing_if = "Option::is_none")]
    audit: Option<AuditStats>,
}

/// Every key always present, so consumers need no defaults.
#[derive(Serialize)]
struct BySeverity {
    critical: usize,
    high: usize,
    medium: usize,
    low: usize,
    info: usize,
}

pub(crate) fn render(report: &Report<'_>, out: &mut dyn Write) -> std::io::Result<()> {
    let count = |s: Severity| report.findings.iter().filter(|f| f.severity == s).count();
    let doc = JsonReport {
        schema_version: SCHEMA_VERSION,
        tool: Tool {
            name: "eksguard",
            version: report.tool_version,
        },
        findings: report
            .findings
            .iter()
            .map(|f| Finding {
                rule_id: f.rule.id,
                rule_name: f.rule.name,
                severity: f.severity,
                message: &f.message,
                resource: &f.resource,
                location: f.location.as_ref(),
                field_path: &f.field_path,
                remediation: f.rule.remediation,
                help_uri: f.rule.help_uri(),
                event: f.event.as_deref(),
            })
            .collect(),
        errors: &report.errors,
        summary: Summary {
            findings_by_severity: BySeverity {
                critical: count(Severity::Critical),
                high: count(Severity::High),
                medium: count(Severity::Medium),
                low: count(Severity::Low),
                info: count(Severity::Info),
            },
            resources_scanned: report.resources_scanned,
            files_scanned: report.files_scanned,
            suppressed: report.suppressed,
            audit: report.audit,
        },
    };
    write_json(&doc, out)
}
