//! Markdown for pull-request comments and job summaries.

use std::io::Write;

use eksguard_model::RuleMeta;

use crate::escape::{markdown as cell, markdown_code as code};
use crate::{ConfigSummary, RenderOptions, Report};

pub(crate) fn render(
    report: &Report<'_>,
    opts: &RenderOptions,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    writeln!(out, "# eksguard report\n")?;
    let total = report.findings.len();
    let unit = if report.audit.is_some() {
        "event"
    } else {
        "resource"
    };
    write!(
        out,
        "**{total} finding{}** in {} {unit}{} from {} file{}",
        s(total),
        report.resources_scanned,
        s(report.resources_scanned),
        report.files_scanned,
        s(report.files_scanned),
    )?;
    if report.suppressed > 0 {
        write!(out, " ({} suppressed)", report.suppressed)?;
    }
    writeln!(out, ".\n")?;
    if let Some(c) = &report.config {
        render_config(c, out)?;
    }
    if let Some(a) = &report.audit {
        writeln!(
            out,
            "Audit events read: {}, duplicates dropped: {}, truncated: {}, malformed: {}.\n",
            a.events_read, a.duplicates, a.truncated, a.malformed
        )?;
    }

    writeln!(out, "| Severity | Findings |\n|---|---:|")?;
    for (sev, n) in report.counts_by_severity() {
        writeln!(out, "| {sev} | {n} |")?;
    }

    if !report.findings.is_empty() {
        writeln!(out, "\n## Findings\n")?;
        writeln!(out, "| Severity | Rule | Resource | Location | Message |")?;
        writeln!(out, "|---|---|---|---|---|")?;
        for f in &report.findings {
            let location = match &f.location {
                Some(l) => code(&format!("{}:{}", l.file, l.line)),
                None => code(&format!(".{}", f.field_path)),
            };
            let mut message = f.message.clone();
            if let Some(ev) = &f.event {
                // The when and the decision; the message already says who and what.
                if let Some(t) = &ev.time {
                    message.push_str(&format!(" (at {t}"));
                    if let Some(c) = ev.code {
                        message.push_str(&format!(", {c}"));
                    }
                    message.push(')');
                }
            }
            writeln!(
                out,
                "| {} | {} {} | {} | {} | {} |",
                f.severity,
                f.rule.id,
                cell(f.rule.name),
                cell(&f.qualified_name()),
                location,
                cell(&message),
            )?;
        }
    }

    if opts.show_suppressed && !report.suppressed_findings.is_empty() {
        writeln!(out, "\n## Suppressed\n")?;
        writeln!(
            out,
            "| Severity | Rule | Resource | Location | Source | Reason |"
        )?;
        writeln!(out, "|---|---|---|---|---|---|")?;
        for s in &report.suppressed_findings {
            let f = &s.finding;
            let location = match &f.location {
                Some(l) => code(&format!("{}:{}", l.file, l.line)),
                None => code(&format!(".{}", f.field_path)),
            };
            let mut reason = s.note.reason.clone();
            if let Some(u) = &s.note.until {
                reason.push_str(&format!(" (until {u})"));
            }
            writeln!(
                out,
                "| {} | {} {} | {} | {} | {} | {} |",
                f.severity,
                f.rule.id,
                cell(f.rule.name),
                cell(&f.qualified_name()),
                location,
                s.note.source.describe(),
                cell(&reason),
            )?;
        }
    }

    if !report.warnings.is_empty() {
        writeln!(out, "\n## Warnings\n")?;
        for e in &report.warnings {
            let at = match e.line {
                Some(l) => format!("{}:{l}", e.file),
                None => e.file.clone(),
            };
            writeln!(out, "- {}: {}", code(&at), cell(&e.message))?;
        }
    }

    if !report.errors.is_empty() {
        writeln!(out, "\n## Errors\n")?;
        for e in &report.errors {
            let at = match e.line {
                Some(l) => format!("{}:{l}", e.file),
                None => e.file.clone(),
            };
            writeln!(out, "- {}: {}", code(&at), cell(&e.message))?;
        }
    }

    // Only rules that fired: the full catalog belongs in `rules list`, not in a comment.
    let mut fired: Vec<&RuleMeta> = Vec::new();
    for f in &report.findings {
        if !fired.iter().any(|r| r.id == f.rule.id) {
            fired.push(f.rule);
        }
    }
    fired.sort_by_key(|r| r.id);
    if !fired.is_empty() {
        writeln!(out, "\n## Rules\n")?;
        for r in fired {
            writeln!(
                out,
                "- [{} {}]({}): {}",
                r.id,
                r.name,
                r.help_uri(),
                one_line(r.summary)
            )?;
        }
    }
    Ok(())
}

/// A short section: the file used (or none) and what it turns off or changes.
fn render_config(c: &ConfigSummary, out: &mut dyn Write) -> std::io::Result<()> {
    writeln!(out, "## Configuration\n")?;
    match &c.file {
        Some(f) => writeln!(out, "- file: {} ({})", code(f), c.origin)?,
        None => writeln!(out, "- file: none ({})", c.origin)?,
    }
    for line in c.changes(&|v| code(v), &|t| cell(t), "→") {
        writeln!(out, "- {line}")?;
    }
    if c.inline_suppressions == Some(false) {
        writeln!(
            out,
            "- inline suppressions: ignored (`--no-inline-suppressions`)"
        )?;
    }
    writeln!(out)
}

fn s(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// Rule metadata (not input) on one line.
fn one_line(text: &str) -> String {
    text.replace("\r\n", " ").replace(['\n', '\r'], " ")
}
