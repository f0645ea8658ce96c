//! Human output: findings grouped by resource, each with a code frame at the offending line.

use std::io::Write;

use eksguard_model::Severity;
use owo_colors::{OwoColorize, Style};
use rayon::prelude::*;

use crate::{RenderOptions, Report, ReportFinding, SourceCache};

struct Styles {
    header: Style,
    gutter: Style,
    help: Style,
    rule: Style,
    error: Style,
    warning: Style,
}

impl Styles {
    fn new(color: bool) -> Self {
        if color {
            Styles {
                header: Style::new().bold(),
                gutter: Style::new().blue(),
                help: Style::new().cyan().bold(),
                rule: Style::new().bold(),
                error: Style::new().red().bold(),
                warning: Style::new().yellow().bold(),
            }
        } else {
            let plain = Style::new();
            Styles {
                header: plain,
                gutter: plain,
                help: plain,
                rule: plain,
                error: plain,
                warning: plain,
            }
        }
    }

    fn severity(color: bool, s: Severity) -> Style {
        if !color {
            return Style::new();
        }
        match s {
            Severity::Critical => Style::new().red().bold(),
            Severity::High => Style::new().red(),
            Severity::Medium => Style::new().yellow(),
            Severity::Low => Style::new().blue(),
            Severity::Info => Style::new().dimmed(),
        }
    }
}

pub(crate) fn render(
    report: &Report<'_>,
    sources: &SourceCache,
    opts: &RenderOptions,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    let st = Styles::new(opts.color);
    if !opts.no_frames {
        // Frames read and mask files: do that for all of them at once, in parallel, judging
        // only the lines the frames show.
        sources.preload_frames(
            report
                .findings
                .iter()
                .filter(|f| f.event.is_none())
                .filter_map(|f| f.location.as_ref().map(|l| (&*l.file, l.line))),
        );
    }
    // Groups are written into memory on all cores, a bounded number at a time, and then
    // out in order.
    for groups in group_by_resource(&report.findings).chunks(GROUPS_PER_WRITE) {
        let rendered: Vec<std::io::Result<Vec<u8>>> = groups
            .par_iter()
            .map(|group| {
                let mut buf = Vec::new();
                render_group(group, sources, opts, &st, &mut buf)?;
                Ok(buf)
            })
            .collect();
        for text in rendered {
            out.write_all(&text?)?;
        }
    }
    render_tail(report, opts, &st, out)
}

/// One line per finding (`file:line:col: severity RULE resource: message`), then the
/// errors, warnings and summary as in the full text report.
pub(crate) fn render_concise(
    report: &Report<'_>,
    opts: &RenderOptions,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    let st = Styles::new(opts.color);
    let mut buf = std::io::BufWriter::with_capacity(64 << 10, out);
    for f in &report.findings {
        let sev = Styles::severity(opts.color, f.severity);
        let r = &f.resource;
        let resource = match &r.namespace {
            Some(ns) => format!("{} {}/{}", r.kind, ns, r.name),
            None => format!("{} {}", r.kind, r.name),
        };
        let at = match &f.location {
            Some(l) => format!("{}:{}:{}: ", l.file, l.line, l.column),
            None => String::new(),
        };
        writeln!(
            buf,
            "{}{} {} {}: {}",
            printable(&at),
            f.severity.as_str().style(sev),
            f.rule.id.style(st.rule),
            printable(&resource),
            printable(&f.message)
        )?;
    }
    if !report.findings.is_empty() {
        writeln!(buf)?;
    }
    render_tail(report, opts, &st, &mut buf)?;
    buf.flush()
}

/// Errors, warnings, suppressed findings on request, the configuration and the summary.
fn render_tail(
    report: &Report<'_>,
    opts: &RenderOptions,
    st: &Styles,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    for e in &report.errors {
        writeln!(
            out,
            "{} {}",
            "error:".style(st.error),
            printable(&e.to_string())
        )?;
    }
    for w in &report.warnings {
        writeln!(
            out,
            "{} {}",
            "warning:".style(st.warning),
            printable(&w.to_string())
        )?;
    }
    if !report.errors.is_empty() || !report.warnings.is_empty() {
        writeln!(out)?;
    }
    if opts.show_suppressed && !report.suppressed_findings.is_empty() {
        render_suppressed(report, st, out)?;
    }
    if let Some(c) = &report.config {
        render_config(c, out)?;
    }
    writeln!(out, "{}", summary_line(report, opts))?;
    if let Some(line) = skipped_line(report) {
        writeln!(out, "{line}")?;
    }
    Ok(())
}

/// Resource groups rendered in memory before being written.
const GROUPS_PER_WRITE: usize = 1024;

/// A resource, its file, and its findings with their frames.
fn render_group(
    group: &[&ReportFinding],
    sources: &SourceCache,
    opts: &RenderOptions,
    st: &Styles,
    out: &mut Vec<u8>,
) -> std::io::Result<()> {
    let first = group[0];
    let r = &first.resource;
    let name = printable(&match &r.namespace {
        Some(ns) => format!("{} {}/{}", r.kind, ns, r.name),
        None => format!("{} {}", r.kind, r.name),
    });
    match &first.location {
        Some(loc) => writeln!(out, "{}  ({})", name.style(st.header), printable(&loc.file))?,
        None => writeln!(out, "{}", name.style(st.header))?,
    }
    for line in by_line(group, opts) {
        writeln!(out)?;
        match line.as_slice() {
            [f] => render_finding(f, sources, opts, st, out)?,
            _ => render_line(&line, sources, opts, st, out)?,
        }
    }
    writeln!(out)
}

/// The findings of a resource in the order the text report shows them: the findings on
/// one line of a file together (they share a frame), the lines in order of their most
/// severe finding, then by position; on a line, the most severe first. Findings without
/// a frame (no file, an audit event) stand alone.
fn by_line<'a>(group: &[&'a ReportFinding], opts: &RenderOptions) -> Vec<Vec<&'a ReportFinding>> {
    let mut lines: Vec<Vec<&ReportFinding>> = Vec::new();
    let mut index: std::collections::HashMap<(&str, u32), usize> = Default::default();
    for f in group {
        let key = match &f.location {
            Some(l) if f.event.is_none() && !opts.no_frames => Some((l.file.as_str(), l.line)),
            _ => None,
        };
        match key.and_then(|k| index.get(&k).copied()) {
            Some(i) => lines[i].push(f),
            None => {
                if let Some(k) = key {
                    index.insert(k, lines.len());
                }
                lines.push(vec![f]);
            }
        }
    }
    for line in &mut lines {
        // Stable: equal severities keep the report's order.
        line.sort_by_key(|f| std::cmp::Reverse(f.severity));
    }
    lines.sort_by_key(|l| std::cmp::Reverse(l[0].severity));
    lines
}

/// Several findings on one line: each with its position, then the line's frame once
/// with a caret under every column, then each one's help.
fn render_line(
    line: &[&ReportFinding],
    sources: &SourceCache,
    opts: &RenderOptions,
    st: &Styles,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    let arrow = "-->".style(st.gutter);
    let mut columns = Vec::new();
    for f in line {
        write_headline(f, opts, st, out)?;
        if let Some(loc) = &f.location {
            let at = format!(
                "{}:{}:{}  .{}",
                loc.file, loc.line, loc.column, f.field_path
            );
            writeln!(out, "    {arrow} {}", printable(&at))?;
            columns.push(loc.column);
        }
    }
    if let Some(loc) = &line[0].location {
        let sev = Styles::severity(opts.color, line[0].severity);
        render_frame(loc, &columns, sources, sev, st, out)?;
    }
    let mut seen = std::collections::HashSet::new();
    for f in line {
        if seen.insert(f.rule.id) {
            writeln!(
                out,
                "    {} {}",
                format!("help ({}):", f.rule.id).style(st.help),
                f.rule.remediation
            )?;
        }
    }
    Ok(())
}

/// One finding as it is found (a follower's output): its resource and file, then the
/// finding as in the report.
pub(crate) fn render_one(
    f: &ReportFinding,
    color: bool,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    let st = Styles::new(color);
    let r = &f.resource;
    let name = printable(&match &r.namespace {
        Some(ns) => format!("{} {}/{}", r.kind, ns, r.name),
        None => format!("{} {}", r.kind, r.name),
    });
    writeln!(out, "{}", name.style(st.header))?;
    let opts = RenderOptions {
        color,
        no_frames: true,
        show_suppressed: false,
        asff: None,
    };
    render_finding(f, &SourceCache::new(), &opts, &st, out)?;
    writeln!(out)
}

/// Each suppressed finding on one line, with the suppression's source and reason.
fn render_suppressed(report: &Report<'_>, st: &Styles, out: &mut dyn Write) -> std::io::Result<()> {
    writeln!(out, "{}", "Suppressed findings:".style(st.header))?;
    for s in &report.suppressed_findings {
        let f = &s.finding;
        let at = match &f.location {
            Some(l) => format!("{}:{}:{}", l.file, l.line, l.column),
            None => format!(".{}", f.field_path),
        };
        writeln!(
            out,
            "  {} {} {} {}  ({})",
            f.severity,
            f.rule.id.style(st.rule),
            f.rule.name,
            printable(&f.qualified_name()),
            printable(&at)
        )?;
        let until = s
            .note
            .until
            .as_deref()
            .map(|u| format!(" (until {u})"))
            .unwrap_or_default();
        writeln!(
            out,
            "    {}: {}{until}",
            s.note.source.describe(),
            printable(&s.note.reason)
        )?;
    }
    writeln!(out)
}

/// The configuration file used (or none) and everything in it that turns checks off or
/// changes the verdict.
fn render_config(c: &crate::ConfigSummary, out: &mut dyn Write) -> std::io::Result<()> {
    match &c.file {
        Some(f) => writeln!(out, "config: {} ({})", printable(f), c.origin)?,
        None => writeln!(out, "config: none ({})", c.origin)?,
    }
    let shown = |v: &str| printable(v);
    for line in c.changes(&shown, &shown, "->") {
        writeln!(out, "  {line}")?;
    }
    if c.inline_suppressions == Some(false) {
        writeln!(
            out,
            "inline suppressions: ignored (--no-inline-suppressions)"
        )?;
    }
    writeln!(out)
}

/// `3 files skipped: 2 gitignored, 1 unrecognised extension`, when any was.
fn skipped_line(report: &Report<'_>) -> Option<String> {
    let skipped = report.files_skipped.filter(|s| s.total() > 0)?;
    let reasons: Vec<String> = skipped
        .by_reason()
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(name, n)| format!("{n} {}", name.replace('_', " ")))
        .collect();
    Some(format!(
        "{} skipped: {}",
        plural(skipped.total(), "file", "files"),
        reasons.join(", ")
    ))
}

/// A finding's first line (severity, rule, message), the same alone or sharing a source line.
fn write_headline(
    f: &ReportFinding,
    opts: &RenderOptions,
    st: &Styles,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    let sev = Styles::severity(opts.color, f.severity);
    writeln!(
        out,
        "  {} {} {}: {}",
        f.severity.as_str().style(sev),
        f.rule.id.style(st.rule),
        f.rule.name,
        printable(&f.message)
    )?;
    Ok(())
}

fn render_finding(
    f: &ReportFinding,
    sources: &SourceCache,
    opts: &RenderOptions,
    st: &Styles,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    write_headline(f, opts, st, out)?;
    let sev = Styles::severity(opts.color, f.severity);
    let arrow = "-->".style(st.gutter);
    match &f.location {
        Some(loc) => {
            let at = format!(
                "{}:{}:{}  .{}",
                loc.file, loc.line, loc.column, f.field_path
            );
            writeln!(out, "    {arrow} {}", printable(&at))?;
            if let Some(ev) = &f.event {
                // A log line is one long JSON event (and may hold secrets): show what
                // the event says instead of a frame.
                render_event(ev, st, out)?;
            } else if !opts.no_frames {
                render_frame(loc, &[loc.column], sources, sev, st, out)?;
            }
        }
        None => {
            let at = format!("{} .{}", f.qualified_name(), f.field_path);
            writeln!(out, "    {arrow} {}", printable(&at))?
        }
    }
    writeln!(out, "    {} {}", "help:".style(st.help), f.rule.remediation)
}

/// Who, what, when and the authorizer's decision of an audit event.
fn render_event(
    ev: &eksguard_model::EventSummary,
    st: &Styles,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    let bar = "|".style(st.gutter);
    let mut who = if ev.user.is_empty() {
        "(unauthenticated)".to_string()
    } else {
        ev.user.clone()
    };
    if !ev.groups.is_empty() {
        who.push_str(&format!(" [{}]", ev.groups.join(", ")));
    }
    if let Some(u) = &ev.impersonated_user {
        who.push_str(&format!(" as {u}"));
        if !ev.impersonated_groups.is_empty() {
            who.push_str(&format!(" [{}]", ev.impersonated_groups.join(", ")));
        }
    }
    if !ev.source_ips.is_empty() {
        who.push_str(&format!(" from {}", ev.source_ips.join(", ")));
    }
    if let Some(ua) = &ev.user_agent {
        who.push_str(&format!(" ({ua})"));
    }
    writeln!(out, "    {bar} who:  {}", printable(&who))?;
    let mut what = ev.verb.clone();
    match (&ev.resource, &ev.request_uri) {
        (Some(r), _) => {
            let mut target = r.clone();
            if let Some(s) = &ev.subresource {
                target.push_str(&format!("/{s}"));
            }
            what.push_str(&format!(" {target}"));
            match (&ev.namespace, &ev.name) {
                (Some(ns), Some(n)) => what.push_str(&format!(" {ns}/{n}")),
                (Some(ns), None) => what.push_str(&format!(" in {ns}")),
                (None, Some(n)) => what.push_str(&format!(" {n}")),
                (None, None) => {}
            }
        }
        (None, Some(uri)) => what.push_str(&format!(" {uri}")),
        (None, None) => {}
    }
    if let Some(c) = &ev.command {
        what.push_str(&format!(": {c}"));
    }
    writeln!(out, "    {bar} what: {}", printable(&what))?;
    let mut when = ev.time.clone().unwrap_or_else(|| "(no time)".into());
    if let Some(s) = &ev.stage {
        when.push_str(&format!(" ({s})"));
    }
    if let Some(id) = &ev.audit_id {
        when.push_str(&format!(" auditID {id}"));
    }
    writeln!(out, "    {bar} when: {}", printable(&when))?;
    let mut outcome = match (&ev.code, &ev.decision) {
        (Some(c), Some(d)) => format!("{c}, {d}"),
        (Some(c), None) => c.to_string(),
        (None, Some(d)) => d.clone(),
        (None, None) => "unknown".into(),
    };
    if let Some(r) = &ev.reason {
        outcome.push_str(&format!(": {r}"));
    }
    writeln!(out, "    {bar} decision: {}", printable(&outcome))
}

/// The offending line with one line of context either side and a caret under each of
/// `columns`.
fn render_frame(
    loc: &crate::Location,
    columns: &[u32],
    sources: &SourceCache,
    sev: Style,
    st: &Styles,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    let Some(lines) = sources.frame(&loc.file, loc.line) else {
        return Ok(());
    };
    let width = lines
        .iter()
        .map(|(n, _)| n.to_string().len())
        .max()
        .unwrap_or(1);
    let bar = format!("{:width$} |", "");
    writeln!(out, "    {}", bar.style(st.gutter))?;
    for (n, text) in &lines {
        let text = printable(text);
        let gutter = format!("{n:>width$} |");
        writeln!(out, "    {} {}", gutter.style(st.gutter), text.trim_end())?;
        if *n == loc.line {
            // Tabs stay tabs so the carets line up however the terminal expands them.
            let mut cols: Vec<usize> = columns
                .iter()
                .map(|c| c.saturating_sub(1) as usize)
                .collect();
            cols.sort_unstable();
            cols.dedup();
            let mut marks = String::new();
            let mut at = 0;
            let chars: Vec<char> = text.chars().collect();
            for col in cols {
                while at < col {
                    marks.push(if chars.get(at) == Some(&'\t') {
                        '\t'
                    } else {
                        ' '
                    });
                    at += 1;
                }
                marks.push_str(&"^".style(sev).to_string());
                at += 1;
            }
            writeln!(out, "    {} {marks}", bar.style(st.gutter))?;
        }
    }
    writeln!(out, "    {}", bar.style(st.gutter))
}

/// Input text (names, messages, file names, source lines) as the terminal may show it.
pub(crate) fn printable(s: &str) -> String {
    crate::escape::terminal(s).into_owned()
}

/// Findings grouped by resource and file, in order of first appearance.
fn group_by_resource(findings: &[ReportFinding]) -> Vec<Vec<&ReportFinding>> {
    let mut groups: Vec<Vec<&ReportFinding>> = Vec::new();
    let mut index = std::collections::HashMap::new();
    for f in findings {
        let key = (&f.resource, f.location.as_ref().map(|l| l.file.as_str()));
        let i = *index.entry(key).or_insert_with(|| {
            groups.push(Vec::new());
            groups.len() - 1
        });
        groups[i].push(f);
    }
    groups
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn summary_line(report: &Report<'_>, opts: &RenderOptions) -> String {
    let resources = if report.audit.is_some() {
        plural(report.resources_scanned, "event", "events")
    } else {
        plural(report.resources_scanned, "resource", "resources")
    };
    // Resources read from a live API come from no file.
    let scope = if report.files_scanned == 0 && report.resources_scanned > 0 {
        resources
    } else {
        format!(
            "{resources} from {}",
            plural(report.files_scanned, "file", "files")
        )
    };
    let mut line = if report.findings.is_empty() {
        format!("No findings in {scope}")
    } else {
        let counts: Vec<String> = report
            .counts_by_severity()
            .iter()
            .map(|(s, n)| format!("{n} {s}"))
            .collect();
        format!(
            "{} ({}) in {scope}",
            plural(report.findings.len(), "finding", "findings"),
            counts.join(", ")
        )
    };
    if report.suppressed > 0 {
        line.push_str(&format!("; {} suppressed", report.suppressed));
        if !opts.show_suppressed && !report.suppressed_findings.is_empty() {
            line.push_str(" (--show-suppressed lists them)");
        }
    }
    if let Some(a) = &report.audit {
        line.push_str(&format!(
            "; {} read, {} duplicate, {} truncated, {} malformed",
            a.events_read, a.duplicates, a.truncated, a.malformed
        ));
    }
    if !report.errors.is_empty() {
        line.push_str(&format!(
            "; {}",
            plural(report.errors.len(), "input error", "input errors")
        ));
    }
    if !report.warnings.is_empty() {
        line.push_str(&format!(
            "; {}",
            plural(report.warnings.len(), "warning", "warnings")
        ));
    }
    line
}
