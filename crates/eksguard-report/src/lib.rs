//! Reporters: text, json, sarif, junit, markdown and html.
//!
//! Reporters receive findings already resolved to resources and positions (see
//! [`Report`]); they never see the rules themselves, only their metadata.

use std::io::Write;

use eksguard_model::{
    AuditStats, EventSummary, Facts, FilesSkipped, InputError, ResourceRef, RuleMeta, Severity,
    SuppressionNote,
};

pub mod asff;
pub mod audit_summary;
pub mod escape;
pub mod fleet;
pub mod html;
pub mod json;
mod junit;
mod markdown;
pub mod mask;
pub mod rbac;
pub mod reporter;
mod sarif;
pub mod source;
mod text;

pub use reporter::{Reporter, ReporterError};
pub use source::SourceCache;

/// SARIF `informationUri`: the security pillar of the EKS Best Practices Guide, which the
/// rules implement.
pub const INFORMATION_URI: &str =
    "https://docs.aws.amazon.com/eks/latest/best-practices/security.html";

/// The report formats, the one list every command and the `--format` flag share.
///
/// The variant order and doc comments are what `--help` shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum OutputFormat {
    Text,
    Json,
    Sarif,
    Junit,
    Markdown,
    /// JSON lines: a finding per line, then a line with the errors and the summary
    /// (`audit scan` writes each finding as it is found).
    Jsonl,
    /// One self-contained HTML page: totals, charts, a findings table with filters.
    Html,
    /// AWS Security Finding Format for Security Hub: a JSON array of findings.
    Asff,
    /// One line per finding: file:line:column, severity, rule, resource, message.
    Concise,
}

impl OutputFormat {
    pub const NAMES: &'static [&'static str] = &[
        "text", "json", "sarif", "junit", "markdown", "jsonl", "html", "asff", "concise",
    ];

    pub fn parse(s: &str) -> Option<OutputFormat> {
        Some(match s {
            "text" => OutputFormat::Text,
            "concise" => OutputFormat::Concise,
            "json" => OutputFormat::Json,
            "sarif" => OutputFormat::Sarif,
            "junit" => OutputFormat::Junit,
            "markdown" | "md" => OutputFormat::Markdown,
            "jsonl" => OutputFormat::Jsonl,
            "html" => OutputFormat::Html,
            "asff" => OutputFormat::Asff,
            _ => return None,
        })
    }

    /// The format's name as `--format` takes it.
    pub fn name(self) -> &'static str {
        match self {
            OutputFormat::Text => "text",
            OutputFormat::Json => "json",
            OutputFormat::Sarif => "sarif",
            OutputFormat::Junit => "junit",
            OutputFormat::Markdown => "markdown",
            OutputFormat::Jsonl => "jsonl",
            OutputFormat::Html => "html",
            OutputFormat::Asff => "asff",
            OutputFormat::Concise => "concise",
        }
    }

    /// The format a file's extension names (`--output report.sarif`), if any.
    pub fn of_extension(ext: &str) -> Option<OutputFormat> {
        Some(match ext.to_ascii_lowercase().as_str() {
            "sarif" => OutputFormat::Sarif,
            "json" => OutputFormat::Json,
            "jsonl" | "ndjson" => OutputFormat::Jsonl,
            "html" | "htm" => OutputFormat::Html,
            "md" | "markdown" => OutputFormat::Markdown,
            "xml" => OutputFormat::Junit,
            "txt" | "text" | "log" => OutputFormat::Text,
            _ => return None,
        })
    }

    /// Whether the format shows input errors itself when written to a terminal.
    pub fn shows_errors(self) -> bool {
        matches!(self, OutputFormat::Text | OutputFormat::Concise)
    }
}

/// A position in a file (1-based).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub struct Location {
    pub file: String,
    pub line: u32,
    pub column: u32,
}

/// A finding resolved for output.
#[derive(Debug, Clone)]
pub struct ReportFinding {
    pub rule: &'static RuleMeta,
    pub severity: Severity,
    pub message: String,
    pub resource: ResourceRef,
    /// Absent for objects read from a live cluster.
    pub location: Option<Location>,
    pub field_path: String,
    /// The audit event behind a finding of `audit scan`: who, what, when, the decision.
    pub event: Option<Box<EventSummary>>,
    /// The rule's named values behind the message (JSON `facts`, the HTML report's
    /// per-rule tables).
    pub facts: Facts,
}

/// Everything a reporter renders.
#[derive(Debug, Clone)]
pub struct Report<'a> {
    pub tool_version: &'a str,
    /// The rules that ran, in registry order (SARIF's `tool.driver.rules`).
    pub rules: Vec<&'static RuleMeta>,
    /// Findings sorted by file, line, column, rule.
    pub findings: Vec<ReportFinding>,
    pub errors: Vec<InputError>,
    /// Problems that lose nothing: inputs only partly understood, a suppression annotation
    /// that suppresses nothing. Reported, but they do not fail the run.
    pub warnings: Vec<InputError>,
    pub resources_scanned: usize,
    pub files_scanned: usize,
    /// Files met but not read, by reason; `None` where no files were walked.
    pub files_skipped: Option<FilesSkipped>,
    pub suppressed: usize,
    /// Counts of the audit events read, for `audit scan`.
    pub audit: Option<AuditStats>,
    /// Findings a suppression hides, with what hid them (part of `suppressed`, which also
    /// counts those not kept).
    pub suppressed_findings: Vec<SuppressedReportFinding>,
    /// The configuration in effect, shown so nothing it turns off goes unnoticed; `None`
    /// when the caller has none to show.
    pub config: Option<ConfigSummary>,
}

/// A suppressed finding and the suppression that hides it.
#[derive(Debug, Clone)]
pub struct SuppressedReportFinding {
    pub finding: ReportFinding,
    pub note: SuppressionNote,
}

impl ConfigSummary {
    /// What the configuration turns off or changes, one entry a line, for the text and
    /// Markdown reports: `value` escapes a value for the output, `text` escapes prose, and
    /// `arrow` joins a default severity to its override.
    pub(crate) fn changes(
        &self,
        value: &dyn Fn(&str) -> String,
        text: &dyn Fn(&str) -> String,
        arrow: &str,
    ) -> Vec<String> {
        let list = |v: &[String]| v.iter().map(|x| value(x)).collect::<Vec<_>>().join(", ");
        let mut lines = Vec::new();
        if !self.select.is_empty() {
            lines.push(format!("runs only: {}", list(&self.select)));
        }
        if !self.ignore.is_empty() {
            lines.push(format!("ignores rules: {}", list(&self.ignore)));
        }
        if !self.exclude.is_empty() {
            lines.push(format!("excludes paths: {}", list(&self.exclude)));
        }
        for o in &self.severity_overrides {
            let note = if o.lowers() { " (lowered)" } else { "" };
            lines.push(format!(
                "severity: {} {} {arrow} {}{note}",
                value(&o.rule_id),
                o.default,
                o.severity
            ));
        }
        for e in &self.suppress {
            let until = match (&e.until, e.expired) {
                (Some(u), true) => format!(" (expired {u})"),
                (Some(u), false) => format!(" until {u}"),
                (None, _) => String::new(),
            };
            lines.push(format!(
                "suppresses: {} on {}{until}: {}",
                list(&e.rules),
                text(&e.resources()),
                text(&e.reason)
            ));
        }
        for (rule, values) in &self.params {
            lines.push(format!(
                "parameters: {} {}",
                value(rule),
                value(&values.to_string())
            ));
        }
        if let Some(f) = &self.fail_on {
            lines.push(format!("fail_on: {}", value(f)));
        }
        if let Some(ns) = &self.default_namespace {
            lines.push(format!("default_namespace: {}", value(ns)));
        }
        if let Some(mb) = self.max_file_size_mb {
            lines.push(format!("max_file_size_mb: {mb}"));
        }
        lines
    }
}

/// What a run's configuration turns off or changes, for every report format.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct ConfigSummary {
    /// The configuration file read, if any.
    pub file: Option<String>,
    /// How it was chosen: `discovered`, `--config`, or why there is none: `not-found`,
    /// `--no-config`.
    pub origin: String,
    /// Rules run (IDs or prefixes; empty: all).
    pub select: Vec<String>,
    /// Rules not run.
    pub ignore: Vec<String>,
    /// Path globs not scanned.
    pub exclude: Vec<String>,
    pub severity_overrides: Vec<SeverityOverride>,
    pub suppress: Vec<ConfigSuppressEntry>,
    /// Per-rule parameters (rule ID → name → value).
    pub params: std::collections::BTreeMap<String, serde_json::Value>,
    /// `critical` … `info`, or `never`.
    pub fail_on: Option<String>,
    pub default_namespace: Option<String>,
    pub max_file_size_mb: Option<u64>,
    /// Whether `eksguard.io/ignore` annotations were applied (`None` where there are
    /// none to apply, as for audit events).
    pub inline_suppressions: Option<bool>,
}

impl ConfigSummary {
    /// Whether the configuration changes anything (a file can be present and empty).
    pub fn changes_anything(&self) -> bool {
        !(self.select.is_empty()
            && self.ignore.is_empty()
            && self.exclude.is_empty()
            && self.severity_overrides.is_empty()
            && self.suppress.is_empty()
            && self.params.is_empty()
            && self.fail_on.is_none()
            && self.default_namespace.is_none()
            && self.max_file_size_mb.is_none())
    }
}

/// A severity the configuration sets for a rule, beside the rule's own.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SeverityOverride {
    pub rule_id: String,
    pub default: Severity,
    pub severity: Severity,
}

impl SeverityOverride {
    pub fn lowers(&self) -> bool {
        self.severity < self.default
    }
}

/// A `[[suppress]]` entry of the configuration.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ConfigSuppressEntry {
    pub rules: Vec<String>,
    pub kind: Option<String>,
    pub namespace: Option<String>,
    pub name: Option<String>,
    pub reason: String,
    pub until: Option<String>,
    /// Past its `until` date: it no longer hides anything.
    pub expired: bool,
}

impl ConfigSuppressEntry {
    /// `DaemonSet kube-system/aws-node`, `every resource`, `name web-*`...
    pub fn resources(&self) -> String {
        let mut parts = Vec::new();
        if let Some(k) = &self.kind {
            parts.push(k.clone());
        }
        match (&self.namespace, &self.name) {
            (Some(ns), Some(n)) => parts.push(format!("{ns}/{n}")),
            (Some(ns), None) => parts.push(format!("in namespace {ns}")),
            (None, Some(n)) => parts.push(format!("named {n}")),
            (None, None) if self.kind.is_none() => parts.push("every resource".into()),
            (None, None) => {}
        }
        parts.join(" ")
    }
}

/// Options that change how a report looks but not what it says.
#[derive(Debug, Clone, Default)]
pub struct RenderOptions {
    /// ANSI colours (text only; on when writing to a terminal).
    pub color: bool,
    /// Leave out the code frame under each finding (text only).
    pub no_frames: bool,
    /// List suppressed findings (text and markdown; JSON and SARIF always carry them).
    pub show_suppressed: bool,
    /// Account, region and scope of ASFF findings.
    pub asff: Option<asff::AsffTarget>,
}

impl ReportFinding {
    /// `Kind/namespace/name`, or `Kind/name` for cluster-scoped objects.
    pub fn qualified_name(&self) -> String {
        qualified_name(&self.resource)
    }

    /// A stable identity for the finding that survives edits moving lines: a SHA-256 over
    /// rule, kind, namespace, name and field path (SARIF `partialFingerprints`, baselines).
    pub fn fingerprint(&self) -> String {
        use sha2::{Digest, Sha256};
        let r = &self.resource;
        let mut h = Sha256::new();
        for part in [
            self.rule.id,
            &r.kind,
            r.namespace.as_deref().unwrap_or(""),
            &r.name,
            &self.field_path,
        ] {
            h.update(part.as_bytes());
            // A separator no field contains keeps ("ab","c") and ("a","bc") apart.
            h.update([0u8]);
        }
        h.finalize().iter().map(|b| format!("{b:02x}")).collect()
    }
}

pub(crate) fn qualified_name(r: &ResourceRef) -> String {
    match &r.namespace {
        Some(ns) => format!("{}/{}/{}", r.kind, ns, r.name),
        None => format!("{}/{}", r.kind, r.name),
    }
}

impl Report<'_> {
    /// Finding counts in [`Severity::ALL`] order (critical first).
    pub fn counts_by_severity(&self) -> [(Severity, usize); 5] {
        Severity::ALL.map(|s| (s, self.findings.iter().filter(|f| f.severity == s).count()))
    }
}

/// Renders `report` in `format`. `sources` gives the text of scanned files for code frames.
pub fn render(
    format: OutputFormat,
    report: &Report<'_>,
    sources: &SourceCache,
    opts: &RenderOptions,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    match format {
        OutputFormat::Text => text::render(report, sources, opts, out),
        OutputFormat::Concise => text::render_concise(report, opts, out),
        OutputFormat::Json => json::render(report, out),
        OutputFormat::Sarif => sarif::render(report, out),
        OutputFormat::Junit => junit::render(report, out),
        OutputFormat::Markdown => markdown::render(report, opts, out),
        OutputFormat::Jsonl => json::render_lines(report, out),
        OutputFormat::Html => html::render(report, sources, out),
        OutputFormat::Asff => match &opts.asff {
            Some(t) => asff::render(report, t, out),
            None => Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "ASFF needs the AWS account and region of the findings",
            )),
        },
    }
}

/// One finding in the text format, written as it is found (no summary; audit findings
/// show their event, never a code frame).
pub fn render_text_finding(
    f: &ReportFinding,
    color: bool,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    text::render_one(f, color, out)
}

/// Renders to a string (tests, and callers that post-process the output).
pub fn render_to_string(
    format: OutputFormat,
    report: &Report<'_>,
    sources: &SourceCache,
    opts: &RenderOptions,
) -> String {
    let mut buf = Vec::new();
    // Writing to a Vec cannot fail; serializers only fail on I/O.
    let _ = render(format, report, sources, opts, &mut buf);
    String::from_utf8_lossy(&buf).into_owned()
}

/// Pretty JSON with a trailing newline.
pub(crate) fn write_json<T: serde::Serialize>(
    value: &T,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    // The serializer writes token by token: into a buffer of a known type, not through
    // the output's chain of trait objects for each token.
    let mut buffered = std::io::BufWriter::with_capacity(64 << 10, out);
    escape::write_json(value, &mut buffered, true)?;
    buffered.write_all(b"\n")?;
    buffered.flush()
}
