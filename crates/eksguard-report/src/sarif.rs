//! SARIF 2.1.0 for code-scanning UIs: the rule catalog in `tool.driver.rules`, one result
//! per finding with a precise region, and input errors as tool execution notifications.

use std::collections::{BTreeMap, HashMap};
use std::io::Write;

use eksguard_model::{InputError, RuleMeta, Severity, SuppressionNote, SuppressionSource};
use serde::Serialize;

use crate::{write_json, ConfigSummary, Report, ReportFinding, INFORMATION_URI};

const SCHEMA_URI: &str =
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";

/// Key of `partialFingerprints`; bump the suffix if the hashed fields change.
const FINGERPRINT_KEY: &str = "eksguard/v1";

#[derive(Serialize)]
struct Log<'a> {
    #[serde(rename = "$schema")]
    schema: &'static str,
    version: &'static str,
    runs: [Run<'a>; 1],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Run<'a> {
    tool: Tool<'a>,
    invocations: [Invocation<'a>; 1],
    /// Our columns count characters, not SARIF's default UTF-16 code units.
    column_kind: &'static str,
    results: Vec<SarifResult<'a>>,
}

#[derive(Serialize)]
struct Tool<'a> {
    driver: Driver<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Driver<'a> {
    name: &'static str,
    version: &'a str,
    information_uri: &'static str,
    rules: Vec<Rule>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Rule {
    id: &'static str,
    name: &'static str,
    short_description: Text,
    full_description: Text,
    help: Help,
    help_uri: &'static str,
    default_configuration: Configuration,
    properties: RuleProperties,
}

#[derive(Serialize)]
struct Text {
    text: String,
}

impl Text {
    fn new(s: impl Into<String>) -> Self {
        Text { text: s.into() }
    }
}

#[derive(Serialize)]
struct Help {
    text: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    markdown: Option<&'static str>,
}

#[derive(Serialize)]
struct Configuration {
    level: &'static str,
}

#[derive(Serialize)]
struct RuleProperties {
    tags: Vec<&'static str>,
    /// GitHub's 0–10 scale; it maps scores to its own critical/high/medium/low labels.
    #[serde(rename = "security-severity")]
    security_severity: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SarifResult<'a> {
    rule_id: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    rule_index: Option<usize>,
    level: &'static str,
    message: Text,
    locations: [ResultLocation<'a>; 1],
    partial_fingerprints: BTreeMap<&'static str, String>,
    /// Present on suppressed findings: code-scanning UIs show them as dismissed.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    suppressions: Vec<SarifSuppression<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    properties: Option<ResultProperties<'a>>,
}

#[derive(Serialize)]
struct SarifSuppression<'a> {
    /// `inSource` for an annotation in the scanned file, `external` for the configuration
    /// file or a baseline.
    kind: &'static str,
    justification: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    properties: Option<SuppressionProperties<'a>>,
}

#[derive(Serialize)]
struct SuppressionProperties<'a> {
    source: SuppressionSource,
    until: &'a str,
}

impl<'a> SarifSuppression<'a> {
    fn of(note: &'a SuppressionNote) -> Self {
        SarifSuppression {
            kind: match note.source {
                SuppressionSource::Inline => "inSource",
                SuppressionSource::Config | SuppressionSource::Baseline => "external",
            },
            justification: format!("{}: {}", note.source.describe(), note.reason),
            properties: note.until.as_deref().map(|until| SuppressionProperties {
                source: note.source,
                until,
            }),
        }
    }
}

/// Audit findings carry their event in the result's property bag.
#[derive(Serialize)]
struct ResultProperties<'a> {
    event: &'a eksguard_model::EventSummary,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ResultLocation<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    physical_location: Option<PhysicalLocation>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    logical_locations: Vec<LogicalLocation<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PhysicalLocation {
    artifact_location: ArtifactLocation,
    region: Region,
}

#[derive(Serialize)]
struct ArtifactLocation {
    uri: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Region {
    start_line: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    start_column: Option<u32>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct LogicalLocation<'a> {
    name: &'a str,
    fully_qualified_name: String,
    kind: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Invocation<'a> {
    execution_successful: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tool_execution_notifications: Vec<Notification>,
    #[serde(skip_serializing_if = "Option::is_none")]
    properties: Option<InvocationProperties<'a>>,
}

/// The configuration the run used: the file (or none) and what it changes.
#[derive(Serialize)]
struct InvocationProperties<'a> {
    config: &'a ConfigSummary,
}

#[derive(Serialize)]
struct Notification {
    level: &'static str,
    message: Text,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    locations: Vec<NotificationLocation>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct NotificationLocation {
    physical_location: NotificationPhysical,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct NotificationPhysical {
    artifact_location: ArtifactLocation,
    #[serde(skip_serializing_if = "Option::is_none")]
    region: Option<Region>,
}

pub(crate) fn level(s: Severity) -> &'static str {
    match s {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low | Severity::Info => "note",
    }
}

pub(crate) fn security_severity(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "9.5",
        Severity::High => "8.0",
        Severity::Medium => "5.5",
        Severity::Low => "3.0",
        Severity::Info => "1.0",
    }
}

pub(crate) fn render(report: &Report<'_>, out: &mut dyn Write) -> std::io::Result<()> {
    let index: HashMap<&str, usize> = report
        .rules
        .iter()
        .enumerate()
        .map(|(i, r)| (r.id, i))
        .collect();
    let errors = report.errors.iter().map(|e| notification("error", e));
    let warnings = report.warnings.iter().map(|e| notification("warning", e));
    let notifications = errors.chain(warnings).collect();
    let log = Log {
        schema: SCHEMA_URI,
        version: "2.1.0",
        runs: [Run {
            tool: Tool {
                driver: Driver {
                    name: "eksguard",
                    version: report.tool_version,
                    information_uri: INFORMATION_URI,
                    rules: report.rules.iter().map(|r| rule(r)).collect(),
                },
            },
            invocations: [Invocation {
                execution_successful: report.errors.is_empty(),
                tool_execution_notifications: notifications,
                properties: report
                    .config
                    .as_ref()
                    .map(|config| InvocationProperties { config }),
            }],
            column_kind: "unicodeCodePoints",
            results: report
                .findings
                .iter()
                .map(|f| result(f, index.get(f.rule.id).copied(), None))
                .chain(report.suppressed_findings.iter().map(|s| {
                    result(
                        &s.finding,
                        index.get(s.finding.rule.id).copied(),
                        Some(&s.note),
                    )
                }))
                .collect(),
        }],
    };
    write_json(&log, out)
}

fn notification(level: &'static str, e: &InputError) -> Notification {
    Notification {
        level,
        message: Text::new(e.message.clone()),
        locations: (!e.file.is_empty())
            .then(|| NotificationLocation {
                physical_location: NotificationPhysical {
                    artifact_location: ArtifactLocation {
                        uri: to_uri(&e.file),
                    },
                    region: e.line.filter(|l| *l > 0).map(|l| Region {
                        start_line: l,
                        start_column: None,
                    }),
                },
            })
            .into_iter()
            .collect(),
    }
}

fn rule(r: &RuleMeta) -> Rule {
    Rule {
        id: r.id,
        name: r.name,
        short_description: Text::new(r.summary),
        full_description: Text::new(first_paragraph(r.docs).unwrap_or_else(|| r.summary.into())),
        help: Help {
            text: if r.docs.trim().is_empty() {
                r.remediation.to_string()
            } else {
                format!("{}\n\n{}", r.remediation, r.docs.trim())
            },
            markdown: (!r.docs.trim().is_empty()).then_some(r.docs),
        },
        help_uri: r.help_uri(),
        default_configuration: Configuration {
            level: level(r.severity),
        },
        properties: RuleProperties {
            tags: vec!["security", "eks", r.family()],
            security_severity: security_severity(r.severity),
        },
    }
}

fn result<'a>(
    f: &'a ReportFinding,
    rule_index: Option<usize>,
    suppression: Option<&'a SuppressionNote>,
) -> SarifResult<'a> {
    let r = &f.resource;
    let logical = LogicalLocation {
        name: &r.name,
        fully_qualified_name: f.qualified_name(),
        kind: "resource",
    };
    SarifResult {
        rule_id: f.rule.id,
        rule_index,
        level: level(f.severity),
        message: Text::new(f.message.clone()),
        locations: [ResultLocation {
            physical_location: f.location.as_ref().map(|l| PhysicalLocation {
                artifact_location: ArtifactLocation {
                    uri: to_uri(&l.file),
                },
                region: Region {
                    start_line: l.line.max(1),
                    start_column: Some(l.column.max(1)),
                },
            }),
            logical_locations: vec![logical],
        }],
        partial_fingerprints: BTreeMap::from([(FINGERPRINT_KEY, f.fingerprint())]),
        suppressions: suppression.map(SarifSuppression::of).into_iter().collect(),
        properties: f.event.as_deref().map(|event| ResultProperties { event }),
    }
}

/// The first prose paragraph of a rule's markdown docs, joined into one line.
fn first_paragraph(docs: &str) -> Option<String> {
    let mut para: Vec<&str> = Vec::new();
    for line in docs.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') || line.starts_with("```") {
            if !para.is_empty() {
                break;
            }
            continue;
        }
        para.push(line);
    }
    (!para.is_empty()).then(|| para.join(" "))
}

/// A relative URI reference for a path as given: forward slashes, and percent-encoding
/// for anything a URI reference cannot hold literally (spaces, `%`, `#`, `?`, non-ASCII)
/// and for `:`, which in a first segment would read as a scheme (`C:`).
pub(crate) fn to_uri(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.replace('\\', "/").bytes() {
        if b.is_ascii_alphanumeric() || b"/-._~!$&'()*+,;=@".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{first_paragraph, to_uri};

    #[test]
    fn uris() {
        assert_eq!(to_uri(r"k8s\web.yaml"), "k8s/web.yaml");
        assert_eq!(to_uri("a b/100%.yaml"), "a%20b/100%25.yaml");
        assert_eq!(to_uri("ü.yaml"), "%C3%BC.yaml");
    }

    #[test]
    fn paragraph() {
        let docs = " ## What it checks\n Containers that\n run privileged.\n\n ## Why\n x";
        assert_eq!(
            first_paragraph(docs).as_deref(),
            Some("Containers that run privileged.")
        );
        assert_eq!(first_paragraph("## Only\n"), None);
    }
}
