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

    // The findings take what the rest leaves of the size limit; the rest is bounded.
    let mut tail = Vec::new();
    render_tail(report, opts, &mut tail)?;
    let mut findings = Vec::new();
    let left_out = render_findings(
        report,
        LIMIT.saturating_sub(tail.len() + RESERVE),
        &mut findings,
    )?;
    out.write_all(&findings)?;
    if left_out > 0 {
        writeln!(
            out,
            "\n**{left_out} finding{} left out** to keep this report within {} KiB, the \
             limit of a GitHub job summary. The full report is the run's SARIF or JSON \
             output (`--format sarif`, `--format json`; in the GitHub Action, the \
             `sarif-file` output shown in code scanning).",
            s(left_out),
            LIMIT / 1024
        )?;
    }
    out.write_all(&tail)
}

/// Largest report written: GitHub's limit for a step's job summary (1 MiB).
pub const LIMIT: usize = 1024 * 1024;
/// Room kept for the heading, totals, configuration and the note on what was left out.
const RESERVE: usize = 16 * 1024;
/// Warnings or errors listed before the rest are only counted.
const MAX_LISTED: usize = 200;

/// The findings by rule, most severe rule first, each rule's findings folded under a
/// line that counts them; rows past `budget` bytes are left out. Returns how many were.
fn render_findings(
    report: &Report<'_>,
    budget: usize,
    out: &mut Vec<u8>,
) -> std::io::Result<usize> {
    if report.findings.is_empty() {
        return Ok(0);
    }
    let mut rules: Vec<(&RuleMeta, Vec<&crate::ReportFinding>)> = Vec::new();
    for f in &report.findings {
        match rules.iter_mut().find(|(r, _)| r.id == f.rule.id) {
            Some((_, list)) => list.push(f),
            None => rules.push((f.rule, vec![f])),
        }
    }
    let worst = |list: &[&crate::ReportFinding]| list.iter().map(|f| f.severity).max();
    rules.sort_by(|(a, fa), (b, fb)| worst(fb).cmp(&worst(fa)).then(a.id.cmp(b.id)));
    writeln!(out, "\n## Findings\n")?;
    let mut left_out = 0;
    for (rule, list) in &rules {
        // The block's heading and closing lines: at most this long.
        const FRAME: usize = 512;
        let mut rows = Vec::new();
        let mut shown = 0;
        for f in list {
            let mut row = Vec::new();
            finding_row(f, &mut row)?;
            if out.len() + FRAME + rows.len() + row.len() > budget {
                break;
            }
            rows.extend_from_slice(&row);
            shown += 1;
        }
        left_out += list.len() - shown;
        if shown == 0 {
            continue;
        }
        let sev = worst(list).map(|s| s.to_string()).unwrap_or_default();
        let partial = match shown < list.len() {
            true => format!(" ({shown} shown)"),
            false => String::new(),
        };
        writeln!(
            out,
            "<details><summary><b>{sev}</b> {} {}: {} finding{}{partial}</summary>\n",
            rule.id,
            crate::escape::html(rule.name),
            list.len(),
            s(list.len())
        )?;
        writeln!(out, "| Severity | Resource | Location | Message |")?;
        writeln!(out, "|---|---|---|---|")?;
        out.extend_from_slice(&rows);
        writeln!(out, "\n</details>\n")?;
    }
    Ok(left_out)
}

fn finding_row(f: &crate::ReportFinding, out: &mut Vec<u8>) -> std::io::Result<()> {
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
        "| {} | {} | {} | {} |",
        f.severity,
        cell(&f.qualified_name()),
        location,
        cell(&message),
    )
}

/// Suppressed findings on request, warnings, errors and the rules that fired.
fn render_tail(
    report: &Report<'_>,
    opts: &RenderOptions,
    out: &mut Vec<u8>,
) -> std::io::Result<()> {
    if opts.show_suppressed && !report.suppressed_findings.is_empty() {
        writeln!(out, "\n## Suppressed\n")?;
        writeln!(
            out,
            "| Severity | Rule | Resource | Location | Source | Reason |"
        )?;
        writeln!(out, "|---|---|---|---|---|---|")?;
        for s in report.suppressed_findings.iter().take(MAX_LISTED) {
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

    if report.suppressed_findings.len() > MAX_LISTED && opts.show_suppressed {
        writeln!(
            out,
            "\n... and {} more suppressed findings",
            report.suppressed_findings.len() - MAX_LISTED
        )?;
    }
    if !report.warnings.is_empty() {
        writeln!(out, "\n## Warnings\n")?;
        list_inputs(&report.warnings, out)?;
    }

    if !report.errors.is_empty() {
        writeln!(out, "\n## Errors\n")?;
        list_inputs(&report.errors, out)?;
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

/// Input errors or warnings, a line each, the first [`MAX_LISTED`] of them.
fn list_inputs(list: &[eksguard_model::InputError], out: &mut Vec<u8>) -> std::io::Result<()> {
    for e in list.iter().take(MAX_LISTED) {
        let at = match e.line {
            Some(l) => format!("{}:{l}", e.file),
            None => e.file.clone(),
        };
        writeln!(out, "- {}: {}", code(&at), cell(&e.message))?;
    }
    if list.len() > MAX_LISTED {
        writeln!(out, "- ... and {} more", list.len() - MAX_LISTED)?;
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
