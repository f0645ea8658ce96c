//! The JSON report: a stable, versioned contract (see the product spec). Field order and
//! names here are that contract; change `SCHEMA_VERSION` before changing them.

use std::io::Write;

use eksguard_model::{
    AuditStats, EventSummary, Facts, FilesSkipped, InputError, ResourceRef, Severity,
    SuppressionSource,
};
use serde::Serialize;

use crate::{write_json, ConfigSummary, Location, Report, ReportFinding, SuppressedReportFinding};

pub(crate) const SCHEMA_VERSION: u32 = 1;

#[derive(Serialize)]
struct JsonReport<'a> {
    schema_version: u32,
    tool: Tool<'a>,
    /// The configuration in effect: the file read (or none) and what it changes.
    #[serde(skip_serializing_if = "Option::is_none")]
    config: Option<&'a ConfigSummary>,
    findings: Vec<Finding<'a>>,
    /// Findings hidden by a suppression, each with its source and reason.
    suppressed: Vec<Suppressed<'a>>,
    errors: &'a [InputError],
    /// Problems that lose nothing: inputs only partly understood, a suppression annotation
    /// that suppresses nothing (added within schema 1).
    warnings: &'a [InputError],
    summary: Summary,
}

#[derive(Serialize)]
struct Suppressed<'a> {
    #[serde(flatten)]
    finding: Finding<'a>,
    /// `inline`, `config` or `baseline`.
    source: SuppressionSource,
    reason: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    until: Option<&'a str>,
}

impl<'a> Suppressed<'a> {
    fn of(s: &'a SuppressedReportFinding) -> Self {
        Suppressed {
            finding: Finding::of(&s.finding),
            source: s.note.source,
            reason: &s.note.reason,
            until: s.note.until.as_deref(),
        }
    }
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
    /// Rules that tabulate (added within schema 1): the named values behind the message.
    #[serde(skip_serializing_if = "FactMap::is_empty")]
    facts: FactMap<'a>,
}

/// A finding's facts as a JSON object, in the rule's order.
struct FactMap<'a>(&'a Facts);

impl FactMap<'_> {
    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl Serialize for FactMap<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (name, value) in self.0 {
            map.serialize_entry(name, value)?;
        }
        map.end()
    }
}

#[derive(Serialize)]
struct Summary {
    findings_by_severity: BySeverity,
    resources_scanned: usize,
    files_scanned: usize,
    /// Runs over files only (added within schema 1): files met but not read, by reason.
    #[serde(skip_serializing_if = "Option::is_none")]
    files_skipped: Option<FilesSkipped>,
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

impl<'a> Finding<'a> {
    fn of(f: &'a ReportFinding) -> Self {
        Finding {
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
            facts: FactMap(&f.facts),
        }
    }
}

/// What the summary of a report counts; kept apart from the findings so a streamed
/// report can end with it.
#[derive(Debug, Clone, Default)]
pub struct Totals {
    /// Findings per severity, in [`Severity::ALL`] order (critical first).
    pub by_severity: [usize; 5],
    pub resources_scanned: usize,
    pub files_scanned: usize,
    pub files_skipped: Option<FilesSkipped>,
    pub suppressed: usize,
    pub audit: Option<AuditStats>,
}

impl Totals {
    pub fn of(report: &Report<'_>) -> Self {
        let mut t = Totals {
            resources_scanned: report.resources_scanned,
            files_scanned: report.files_scanned,
            files_skipped: report.files_skipped,
            suppressed: report.suppressed,
            audit: report.audit,
            ..Totals::default()
        };
        for f in &report.findings {
            t.count(f.severity);
        }
        t
    }

    pub fn count(&mut self, s: Severity) {
        if let Some(i) = Severity::ALL.iter().position(|x| *x == s) {
            self.by_severity[i] += 1;
        }
    }

    fn summary(&self) -> Summary {
        let [critical, high, medium, low, info] = self.by_severity;
        Summary {
            findings_by_severity: BySeverity {
                critical,
                high,
                medium,
                low,
                info,
            },
            resources_scanned: self.resources_scanned,
            files_scanned: self.files_scanned,
            files_skipped: self.files_skipped,
            suppressed: self.suppressed,
            audit: self.audit,
        }
    }
}

fn tool(version: &str) -> Tool<'_> {
    Tool {
        name: "eksguard",
        version,
    }
}

pub(crate) fn render(report: &Report<'_>, out: &mut dyn Write) -> std::io::Result<()> {
    let doc = JsonReport {
        schema_version: SCHEMA_VERSION,
        tool: tool(report.tool_version),
        config: report.config.as_ref(),
        findings: report.findings.iter().map(Finding::of).collect(),
        suppressed: report
            .suppressed_findings
            .iter()
            .map(Suppressed::of)
            .collect(),
        errors: &report.errors,
        warnings: &report.warnings,
        summary: Totals::of(report).summary(),
    };
    write_json(&doc, out)
}

/// The last line of a JSON-lines report.
#[derive(Serialize)]
struct LinesEnd<'a> {
    schema_version: u32,
    tool: Tool<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    config: Option<&'a ConfigSummary>,
    errors: &'a [InputError],
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    warnings: &'a [InputError],
    summary: Summary,
}

/// JSON lines: one finding per line, each as in the JSON report, then one line with the
/// errors and the summary. Findings can be written as they are found
/// ([`write_finding_line`], [`write_end_line`]), so memory does not grow with the input.
pub(crate) fn render_lines(report: &Report<'_>, out: &mut dyn Write) -> std::io::Result<()> {
    for f in &report.findings {
        write_finding_line(f, out)?;
    }
    write_end_line(
        report.tool_version,
        report.config.as_ref(),
        &report.errors,
        &report.warnings,
        &Totals::of(report),
        out,
    )
}

/// One finding as a line of a JSON-lines report.
pub fn write_finding_line<W: Write + ?Sized>(
    f: &ReportFinding,
    out: &mut W,
) -> std::io::Result<()> {
    crate::escape::write_json(&Finding::of(f), &mut *out, false)?;
    out.write_all(b"\n")
}

/// The closing line of a JSON-lines report.
pub fn write_end_line(
    tool_version: &str,
    config: Option<&ConfigSummary>,
    errors: &[InputError],
    warnings: &[InputError],
    totals: &Totals,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    let end = LinesEnd {
        schema_version: SCHEMA_VERSION,
        tool: tool(tool_version),
        config,
        errors,
        warnings,
        summary: totals.summary(),
    };
    crate::escape::write_json(&end, &mut *out, false)?;
    out.write_all(b"\n")
}
