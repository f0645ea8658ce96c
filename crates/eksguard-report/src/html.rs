//! A self-contained HTML report: one file with its style and script inline, no request
//! to anywhere, so it works offline and as a CI artifact. The findings are rendered on
//! the server side as a table of `<details>` rows and read without JavaScript; the
//! script only adds filters and sorting over data embedded as JSON.
//!
//! Every string from input goes through [`escape::html`](crate::escape::html); JSON in
//! the page goes through [`script_json`], so no input can close a tag or start markup.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write;

use eksguard_model::{EventSummary, Severity};
use serde::Serialize;

use crate::escape;
use crate::{Report, ReportFinding, SourceCache, SuppressedReportFinding};

pub(crate) const CSS: &str = include_str!("html/report.css");
const JS: &str = include_str!("html/report.js");

/// Bars a chart shows before the rest is summed up as `(other)`.
const CHART_BARS: usize = 15;
/// Rows of the riskiest-resources table.
const TOP_RESOURCES: usize = 10;
/// Rows the page shows at once when it opens; the rest follow in chunks of this many.
const CHUNK: usize = 500;

/// Input text as HTML: markup characters as entities, and control and format characters
/// (bidi overrides, zero-width characters, line separators) as visible escapes, as on a
/// terminal, so no name can reorder or hide what the page shows.
fn esc(s: &str) -> String {
    escape::html(&escape::terminal(s)).into_owned()
}

/// `write!` into a `String`, which cannot fail.
macro_rules! w {
    ($dst:expr, $($arg:tt)*) => {{
        let _ = write!($dst, $($arg)*);
    }};
}

/// JSON for a `<script type="application/json">` element: `<`, `>` and `&` (which could
/// close the element or open a comment) and U+2028/U+2029 (line ends to older script
/// parsers) as `\u` escapes, which JSON reads back as the same characters.
pub fn script_json<T: Serialize>(value: &T) -> String {
    let text = serde_json::to_string(value).unwrap_or_else(|_| "null".into());
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out
}

/// The start of a page: a policy that allows nothing from outside the file.
pub(crate) fn head(doc: &mut String, title: &str) {
    w!(
        doc,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; \
         style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"generator\" content=\"eksguard\">\n<title>{}</title>\n<style>\n{CSS}</style>\n</head>\n",
        esc(title)
    );
}

/// What the script needs of one finding: its filter and sort keys, and the text the
/// free-text filter searches (with the rule's name, from [`PageData::rules`]).
#[derive(Serialize)]
struct RowData {
    /// Severity rank, 4 for critical to 0 for info.
    s: u8,
    r: &'static str,
    ns: String,
    k: String,
    res: String,
    loc: String,
    /// Message and field path.
    m: String,
    p: String,
    /// Suppressed or baselined.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    sup: bool,
}

#[derive(Serialize)]
struct PageData {
    findings: Vec<RowData>,
    /// Rule ID → [name, family].
    rules: BTreeMap<&'static str, [&'static str; 2]>,
    total: usize,
    suppressed: usize,
}

const NO_NAMESPACE: &str = "(none)";

fn rank(s: Severity) -> u8 {
    match s {
        Severity::Critical => 4,
        Severity::High => 3,
        Severity::Medium => 2,
        Severity::Low => 1,
        Severity::Info => 0,
    }
}

fn location_text(f: &ReportFinding) -> String {
    match &f.location {
        Some(l) => format!("{}:{}", l.file, l.line),
        None => String::new(),
    }
}

/// Filter keys are shown as the page shows them (controls as visible escapes), so that the
/// options of the filters, written the same way, match them.
fn row_data(f: &ReportFinding, sup: bool) -> RowData {
    RowData {
        s: rank(f.severity),
        r: f.rule.id,
        ns: escape::terminal(f.resource.namespace.as_deref().unwrap_or(NO_NAMESPACE)).into_owned(),
        k: escape::terminal(&f.resource.kind).into_owned(),
        res: f.qualified_name(),
        loc: location_text(f),
        m: f.message.clone(),
        p: f.field_path.clone(),
        sup,
    }
}

pub(crate) fn render(
    report: &Report<'_>,
    sources: &SourceCache,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    // Most severe first; the reporters' file order within a severity.
    let mut order: Vec<usize> = (0..report.findings.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(report.findings[i].severity));

    let mut doc = String::with_capacity(4096 + report.findings.len() * 1200);
    head(&mut doc, "eksguard report");
    doc.push_str("<body>\n<header>\n<h1>eksguard report</h1>\n");
    w!(
        doc,
        "<p class=\"meta\">{}</p>\n",
        esc(&summary_line(report))
    );
    doc.push_str("</header>\n<main>\n");

    totals(&mut doc, report);
    charts(&mut doc, report);
    top_resources(&mut doc, report);
    fact_tables(&mut doc, report);
    // A few input problems are read first; a long list would push the findings down.
    let problems_first = report.errors.len() + report.warnings.len() <= SHORT_PROBLEMS;
    if problems_first {
        problems(&mut doc, report);
    }

    // Filters need the script: hidden until it runs.
    doc.push_str("<section id=\"findings\">\n<h2>Findings</h2>\n");
    filters(&mut doc, report);
    w!(
        doc,
        "<p class=\"count\"><span id=\"shown\">{n}</span> of <span id=\"total\">{n}</span> findings shown</p>\n",
        n = report.findings.len()
    );
    let mut data = PageData {
        findings: Vec::with_capacity(report.findings.len() + report.suppressed_findings.len()),
        rules: report
            .findings
            .iter()
            .chain(report.suppressed_findings.iter().map(|s| &s.finding))
            .map(|f| (f.rule.id, [f.rule.name, f.rule.family()]))
            .collect(),
        total: report.findings.len(),
        suppressed: report.suppressed_findings.len(),
    };
    table_start(&mut doc, "findings-table");
    for (n, &i) in order.iter().enumerate() {
        let f = &report.findings[i];
        let lazy = chunk_mark(&mut doc, n);
        row(&mut doc, data.findings.len(), f, None, sources, lazy);
        data.findings.push(row_data(f, false));
    }
    chunk_end(&mut doc, order.len());
    doc.push_str("</div>\n</div>\n");
    if report.findings.is_empty() {
        doc.push_str("<p class=\"empty\">No findings.</p>\n");
    }
    doc.push_str("</section>\n");

    if !report.suppressed_findings.is_empty() {
        w!(
            doc,
            "<section id=\"suppressed\">\n<details id=\"suppressed-toggle\">\n<summary>Show \
             <span id=\"suppressed-shown\">{n}</span> suppressed or baselined findings</summary>\n",
            n = report.suppressed_findings.len()
        );
        table_start(&mut doc, "suppressed-table");
        for (n, s) in report.suppressed_findings.iter().enumerate() {
            let lazy = chunk_mark(&mut doc, n);
            row(
                &mut doc,
                data.findings.len(),
                &s.finding,
                Some(s),
                sources,
                lazy,
            );
            data.findings.push(row_data(&s.finding, true));
        }
        chunk_end(&mut doc, report.suppressed_findings.len());
        doc.push_str("</div>\n</div>\n</details>\n</section>\n");
    }
    if !problems_first {
        problems(&mut doc, report);
    }
    if let Some(c) = &report.config {
        config(&mut doc, c);
    }
    doc.push_str("</main>\n");
    w!(
        doc,
        "<script type=\"application/json\" id=\"eksguard-data\">{}</script>\n<script>\n{JS}</script>\n</body>\n</html>\n",
        script_json(&data)
    );
    out.write_all(doc.as_bytes())
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn summary_line(report: &Report<'_>) -> String {
    let unit = if report.audit.is_some() {
        plural(report.resources_scanned, "event", "events")
    } else {
        plural(report.resources_scanned, "resource", "resources")
    };
    let mut line = format!(
        "{} in {unit} from {}",
        plural(report.findings.len(), "finding", "findings"),
        plural(report.files_scanned, "file", "files")
    );
    if report.suppressed > 0 {
        line.push_str(&format!("; {} suppressed", report.suppressed));
    }
    if let Some(a) = &report.audit {
        line.push_str(&format!(
            "; {} events read, {} duplicate, {} truncated, {} malformed",
            a.events_read, a.duplicates, a.truncated, a.malformed
        ));
    }
    if let Some(s) = report.files_skipped.filter(|s| s.total() > 0) {
        line.push_str(&format!("; {} skipped", plural(s.total(), "file", "files")));
    }
    line.push_str(&format!("; eksguard {}", report.tool_version));
    line
}

fn totals(doc: &mut String, report: &Report<'_>) {
    doc.push_str("<section id=\"totals\" class=\"cards\">\n");
    for (sev, n) in report.counts_by_severity() {
        w!(
            doc,
            "<div class=\"card sev-{s}\"><span class=\"n\" data-severity=\"{s}\">{n}</span> {s}</div>\n",
            s = sev.as_str()
        );
    }
    doc.push_str("</section>\n");
}

/// Counts per key, split by severity (critical first).
type Tally = BTreeMap<String, [usize; 5]>;

fn tally<'a>(
    findings: impl Iterator<Item = &'a ReportFinding>,
    key: impl Fn(&ReportFinding) -> String,
) -> Tally {
    let mut t = Tally::new();
    for f in findings {
        let slot = Severity::ALL
            .iter()
            .position(|s| *s == f.severity)
            .unwrap_or(4);
        t.entry(key(f)).or_default()[slot] += 1;
    }
    t
}

fn charts(doc: &mut String, report: &Report<'_>) {
    if report.findings.is_empty() {
        return;
    }
    doc.push_str("<section id=\"charts\" class=\"charts\">\n");
    let by_family = tally(report.findings.iter(), |f| f.rule.family().to_string());
    let by_ns = tally(report.findings.iter(), |f| {
        f.resource
            .namespace
            .clone()
            .unwrap_or_else(|| NO_NAMESPACE.into())
    });
    let by_rule = tally(report.findings.iter(), |f| f.rule.id.to_string());
    bar_chart(doc, "By guide section", "family", &by_family);
    bar_chart(doc, "By namespace", "namespace", &by_ns);
    bar_chart(doc, "By rule", "rule", &by_rule);
    doc.push_str("</section>\n");
}

/// A horizontal bar chart, bars stacked by severity, as inline SVG. A bar carries the
/// filter it stands for, which the script applies on a click.
fn bar_chart(doc: &mut String, title: &str, filter: &str, tally: &Tally) {
    let mut entries: Vec<(&String, &[usize; 5])> = tally.iter().collect();
    entries.sort_by(|a, b| {
        let (sa, sb): (usize, usize) = (a.1.iter().sum(), b.1.iter().sum());
        sb.cmp(&sa).then(a.0.cmp(b.0))
    });
    let rest: usize = entries
        .iter()
        .skip(CHART_BARS)
        .map(|e| e.1.iter().sum::<usize>())
        .sum();
    entries.truncate(CHART_BARS);
    let max = entries
        .iter()
        .map(|e| e.1.iter().sum::<usize>())
        .max()
        .unwrap_or(1)
        .max(1);
    // The label column fits the longest label whole (a namespace name has at most 63
    // characters): names are what the chart is read by.
    let longest = entries
        .iter()
        .map(|(l, _)| l.chars().count().min(LABEL_CHARS))
        .max()
        .unwrap_or(0);
    let (bar_w, row_h) = (210.0, 18.0);
    let label_w = (longest as f64 * 7.0 + 12.0).max(110.0);
    let width = label_w + bar_w + 40.0;
    let rows = entries.len() + usize::from(rest > 0);
    let height = rows as f64 * row_h + 8.0;
    w!(
        doc,
        "<figure class=\"chart\" id=\"chart-{filter}\">\n<figcaption>{}</figcaption>\n\
         <svg xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" viewBox=\"0 0 {width} {height}\" width=\"{width}\" height=\"{height}\">\n",
        esc(title)
    );
    for (i, (label, counts)) in entries.iter().enumerate() {
        let y = i as f64 * row_h + 4.0;
        let total: usize = counts.iter().sum();
        w!(
            doc,
            "<g class=\"bar\" data-filter=\"{filter}\" data-value=\"{}\"><title>{}: {total}</title>\
             <text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>",
            esc(label),
            esc(label),
            label_w - 6.0,
            y + 12.0,
            esc(&short(label, LABEL_CHARS))
        );
        let mut x = label_w;
        for (slot, n) in counts.iter().enumerate() {
            if *n == 0 {
                continue;
            }
            let width = *n as f64 / max as f64 * bar_w;
            w!(
                doc,
                "<rect class=\"sev-{}\" x=\"{x:.1}\" y=\"{y}\" width=\"{width:.1}\" height=\"{}\"/>",
                Severity::ALL[slot].as_str(),
                row_h - 4.0
            );
            x += width;
        }
        w!(
            doc,
            "<text x=\"{:.1}\" y=\"{}\">{total}</text></g>\n",
            x + 4.0,
            y + 12.0
        );
    }
    if rest > 0 {
        let y = entries.len() as f64 * row_h + 4.0;
        w!(
            doc,
            "<g><text x=\"{}\" y=\"{}\" text-anchor=\"end\">(other)</text><text x=\"{label_w}\" y=\"{}\">{rest}</text></g>\n",
            label_w - 6.0,
            y + 12.0,
            y + 12.0
        );
    }
    doc.push_str("</svg>\n</figure>\n");
}

/// Characters of a chart label shown before it is cut: a Kubernetes name's limit.
const LABEL_CHARS: usize = 63;

/// At most `n` characters, with an ellipsis when cut.
fn short(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        return s.to_string();
    }
    let mut t: String = s.chars().take(n - 1).collect();
    t.push('…');
    t
}

/// Resources ranked by a weighted count of their findings (critical 10, high 5, medium 2,
/// low 1).
fn top_resources(doc: &mut String, report: &Report<'_>) {
    if report.findings.is_empty() {
        return;
    }
    // Keyed by file as well: objects of one name in two files (an overlay and its base,
    // two environments) are two resources.
    let mut by_resource: BTreeMap<(String, String), [usize; 5]> = BTreeMap::new();
    for f in &report.findings {
        let file = f
            .location
            .as_ref()
            .map(|l| l.file.clone())
            .unwrap_or_default();
        let slot = Severity::ALL
            .iter()
            .position(|s| *s == f.severity)
            .unwrap_or(4);
        by_resource.entry((file, f.qualified_name())).or_default()[slot] += 1;
    }
    let score = |c: &[usize; 5]| c[0] * 10 + c[1] * 5 + c[2] * 2 + c[3];
    let mut ranked: Vec<(&(String, String), &[usize; 5])> = by_resource.iter().collect();
    ranked.sort_by(|a, b| score(b.1).cmp(&score(a.1)).then(a.0.cmp(b.0)));
    doc.push_str(
        "<section id=\"top-resources\">\n<h2>Riskiest resources</h2>\n<table class=\"plain\">\n\
         <thead><tr><th>Resource</th><th>File</th><th>Critical</th><th>High</th><th>Medium</th><th>Low</th><th>Info</th><th>Score</th></tr></thead>\n<tbody>\n",
    );
    for ((file, name), c) in ranked.into_iter().take(TOP_RESOURCES) {
        w!(doc, "<tr><td>{}</td><td>{}</td>", esc(name), esc(file));
        for n in c {
            w!(doc, "<td class=\"num\">{n}</td>");
        }
        w!(doc, "<td class=\"num\">{}</td></tr>\n", score(c));
    }
    doc.push_str("</tbody>\n</table>\n</section>\n");
}

/// One sortable table per rule whose findings carry facts (the workloads running
/// vulnerable images, say): a column per fact, most severe and most counted first.
fn fact_tables(doc: &mut String, report: &Report<'_>) {
    let mut by_rule: Vec<(&str, Vec<&ReportFinding>)> = Vec::new();
    for f in report.findings.iter().filter(|f| !f.facts.is_empty()) {
        match by_rule.iter_mut().find(|(id, _)| *id == f.rule.id) {
            Some((_, list)) => list.push(f),
            None => by_rule.push((f.rule.id, vec![f])),
        }
    }
    for (_, mut list) in by_rule {
        let total =
            |f: &ReportFinding| -> u64 { f.facts.iter().filter_map(|(_, v)| v.count()).sum() };
        list.sort_by(|a, b| {
            b.severity
                .cmp(&a.severity)
                .then_with(|| total(b).cmp(&total(a)))
        });
        let rule = list[0].rule;
        // The columns are the facts of the rule's first finding, in the rule's order.
        let columns: Vec<(&str, bool)> = list[0]
            .facts
            .iter()
            .map(|(name, v)| (*name, v.count().is_some()))
            .collect();
        w!(
            doc,
            "<section class=\"fact-table\" id=\"facts-{id}\">\n<h2>{} <small>{id}</small></h2>\n\
             <table class=\"plain sortable\">\n<thead><tr>\
             <th class=\"num\"><button type=\"button\" data-num=\"1\">Severity</button></th>\
             <th><button type=\"button\">Resource</button></th>\
             <th><button type=\"button\">File</button></th>",
            esc(rule.summary),
            id = esc(rule.id),
        );
        for (name, numeric) in &columns {
            let label = name.replace('_', " ");
            if *numeric {
                w!(
                    doc,
                    "<th class=\"num\"><button type=\"button\" data-num=\"1\">{}</button></th>",
                    esc(&label)
                );
            } else {
                w!(
                    doc,
                    "<th><button type=\"button\">{}</button></th>",
                    esc(&label)
                );
            }
        }
        doc.push_str("</tr></thead>\n<tbody>\n");
        for f in list {
            w!(
                doc,
                "<tr><td class=\"num\" data-v=\"{}\"><span class=\"badge sev-{s}\">{s}</span></td><td>{}</td><td>{}</td>",
                rank(f.severity),
                esc(&f.qualified_name()),
                esc(&location_text(f)),
                s = f.severity.as_str(),
            );
            for (name, numeric) in &columns {
                match eksguard_model::fact(&f.facts, name) {
                    Some(v) if *numeric => {
                        w!(doc, "<td class=\"num\">{}</td>", v.count().unwrap_or(0))
                    }
                    Some(v) => w!(doc, "<td>{}</td>", esc(v.text().unwrap_or(""))),
                    None => doc.push_str("<td></td>"),
                }
            }
            doc.push_str("</tr>\n");
        }
        doc.push_str("</tbody>\n</table>\n</section>\n");
    }
}

/// Input errors and warnings shown before the findings; more go after them.
const SHORT_PROBLEMS: usize = 10;

fn problems(doc: &mut String, report: &Report<'_>) {
    if report.errors.is_empty() && report.warnings.is_empty() {
        return;
    }
    doc.push_str("<section id=\"problems\">\n<h2>Input errors and warnings</h2>\n<ul>\n");
    for e in &report.errors {
        w!(
            doc,
            "<li class=\"error\"><strong>error:</strong> {}</li>\n",
            esc(&e.to_string())
        );
    }
    for e in &report.warnings {
        w!(
            doc,
            "<li class=\"warning\"><strong>warning:</strong> {}</li>\n",
            esc(&e.to_string())
        );
    }
    doc.push_str("</ul>\n</section>\n");
}

fn filters(doc: &mut String, report: &Report<'_>) {
    let all = || {
        report
            .findings
            .iter()
            .chain(report.suppressed_findings.iter().map(|s| &s.finding))
    };
    let families: std::collections::BTreeSet<&str> = all().map(|f| f.rule.family()).collect();
    let namespaces: std::collections::BTreeSet<&str> = all()
        .map(|f| f.resource.namespace.as_deref().unwrap_or(NO_NAMESPACE))
        .collect();
    let kinds: std::collections::BTreeSet<&str> = all().map(|f| f.resource.kind.as_str()).collect();
    doc.push_str("<form id=\"filters\" class=\"filters\" hidden>\n");
    select(
        doc,
        "f-sev",
        "Severity",
        Severity::ALL.iter().map(|s| s.as_str()),
    );
    select(doc, "f-family", "Section", families.into_iter());
    select(doc, "f-namespace", "Namespace", namespaces.into_iter());
    select(doc, "f-kind", "Kind", kinds.into_iter());
    doc.push_str(
        "<label>Search <input type=\"search\" id=\"f-text\" placeholder=\"rule, resource, file, message\"></label>\n\
         <button type=\"reset\" id=\"f-reset\">Clear</button>\n</form>\n",
    );
}

fn select<'a>(doc: &mut String, id: &str, label: &str, values: impl Iterator<Item = &'a str>) {
    w!(
        doc,
        "<label>{label} <select id=\"{id}\"><option value=\"\">all</option>"
    );
    for v in values {
        w!(doc, "<option value=\"{v}\">{v}</option>", v = esc(v));
    }
    doc.push_str("</select></label>\n");
}

/// Rows after the first [`CHUNK`] come in `<noscript class="chunk">` elements of
/// [`CHUNK`] rows: shown as they are without a script, one inert text node each with
/// one, which the script turns into rows after the page is ready. Returns whether row
/// `n` is in the first chunk, whose rows keep their own details inert (a chunk's rows
/// cannot: a `<noscript>` ends at the first `</noscript>`).
fn chunk_mark(doc: &mut String, n: usize) -> bool {
    if n > 0 && n % CHUNK == 0 {
        if n > CHUNK {
            doc.push_str("</noscript>\n");
        }
        doc.push_str("<noscript class=\"chunk\">");
    }
    n < CHUNK
}

fn chunk_end(doc: &mut String, rows: usize) {
    if rows > CHUNK {
        doc.push_str("</noscript>\n");
    }
}

/// The findings table: a header row and one `<details>` row per finding, laid out as
/// columns by CSS. Rows are blocks rather than table rows so the browser can skip laying
/// out those off screen (`content-visibility`), which keeps a large report fast.
fn table_start(doc: &mut String, id: &str) {
    w!(
        doc,
        "<div id=\"{id}\" class=\"findings\" role=\"table\">\n<div class=\"cols head\" role=\"row\">\
         <button type=\"button\" data-sort=\"s\">Severity</button>\
         <button type=\"button\" data-sort=\"r\">Rule</button>\
         <button type=\"button\" data-sort=\"res\">Resource</button>\
         <button type=\"button\" data-sort=\"loc\">Location</button>\
         <span>Message</span></div>\n<div class=\"rows\">\n"
    );
}

/// One finding: a `<details>` row whose summary holds severity, rule, resource, location
/// and message, and which opens on the rest (field path, code frame or audit event,
/// remediation, documentation).
///
/// In the first chunk (`lazy`) the rest sits in a `<noscript>`: without a script it is
/// ordinary markup and shows; with one, the parser keeps it as one inert text node, which
/// the script turns back into the same markup when the row is opened. All input in it is
/// escaped, so it cannot hold a `</noscript>` of its own.
fn row(
    doc: &mut String,
    index: usize,
    f: &ReportFinding,
    suppressed: Option<&SuppressedReportFinding>,
    sources: &SourceCache,
    lazy: bool,
) {
    let (open, close) = if lazy {
        ("<noscript>", "</noscript>")
    } else {
        ("", "")
    };
    let sev = f.severity.as_str();
    w!(
        doc,
        "<details class=\"f\" data-i=\"{index}\"><summary class=\"cols\"><span class=\"badge sev-{sev}\">{sev}</span>\
         <span><b>{}</b> {}</span><span>{}</span><span>{}</span><span>{}</span></summary>{open}<div class=\"body\"><dl>",
        f.rule.id,
        f.rule.name,
        esc(&f.qualified_name()),
        esc(&location_text(f)),
        esc(&f.message)
    );
    w!(
        doc,
        "<dt>Field path</dt><dd><code>.{}</code></dd>",
        esc(&f.field_path)
    );
    if let Some(l) = &f.location {
        w!(
            doc,
            "<dt>Location</dt><dd><code>{}:{}:{}</code></dd>",
            esc(&l.file),
            l.line,
            l.column
        );
    }
    if let Some(s) = suppressed {
        let until = s
            .note
            .until
            .as_deref()
            .map(|u| format!(" (until {u})"))
            .unwrap_or_default();
        w!(
            doc,
            "<dt>Suppressed by</dt><dd>{}: {}{}</dd>",
            s.note.source.describe(),
            esc(&s.note.reason),
            esc(&until)
        );
    }
    doc.push_str("</dl>\n");
    match (&f.event, &f.location) {
        (Some(ev), _) => event(doc, ev),
        (None, Some(l)) => frame(doc, sources, &l.file, l.line, l.column),
        (None, None) => {}
    }
    w!(
        doc,
        "<p class=\"fix\"><strong>Remediation:</strong> {}</p>\
         <p class=\"doc\"><a href=\"{}\" rel=\"noopener noreferrer\">{} in the EKS Best Practices Guide</a></p>\
         </div>{close}</details>",
        esc(f.rule.remediation),
        esc(f.rule.help_uri()),
        esc(f.rule.summary)
    );
}

/// The offending line with one line of context either side, masked where a line holds a
/// secret (see [`crate::mask`]), and a caret under the column.
fn frame(doc: &mut String, sources: &SourceCache, file: &str, line: u32, column: u32) {
    let Some(lines) = sources.frame(file, line) else {
        return;
    };
    let width = lines
        .iter()
        .map(|(n, _)| n.to_string().len())
        .max()
        .unwrap_or(1);
    doc.push_str("<pre class=\"frame\">");
    for (n, text) in &lines {
        let hit = *n == line;
        w!(
            doc,
            "<span class=\"{}\"><span class=\"ln\">{n:>width$}</span> {}</span>\n",
            if hit { "hit" } else { "ctx" },
            esc(text.trim_end())
        );
        if hit {
            let col = column.saturating_sub(1) as usize;
            let pad: String = text
                .chars()
                .chain(std::iter::repeat(' '))
                .take(col)
                .map(|c| if c == '\t' { '\t' } else { ' ' })
                .collect();
            w!(doc, "<span class=\"caret\">{:width$} {pad}^</span>\n", "");
        }
    }
    doc.push_str("</pre>\n");
}

/// Who, what, when and the decision of the audit event behind a finding.
fn event(doc: &mut String, ev: &EventSummary) {
    let mut who = if ev.user.is_empty() {
        "(unauthenticated)".to_string()
    } else {
        ev.user.clone()
    };
    if let Some(u) = &ev.impersonated_user {
        who.push_str(&format!(" as {u}"));
    }
    if !ev.source_ips.is_empty() {
        who.push_str(&format!(" from {}", ev.source_ips.join(", ")));
    }
    let mut what = ev.verb.clone();
    if let Some(r) = &ev.resource {
        what.push(' ');
        what.push_str(r);
        if let Some(s) = &ev.subresource {
            what.push('/');
            what.push_str(s);
        }
        match (&ev.namespace, &ev.name) {
            (Some(ns), Some(n)) => what.push_str(&format!(" {ns}/{n}")),
            (Some(ns), None) => what.push_str(&format!(" in {ns}")),
            (None, Some(n)) => what.push_str(&format!(" {n}")),
            (None, None) => {}
        }
    } else if let Some(uri) = &ev.request_uri {
        what.push_str(&format!(" {uri}"));
    }
    if let Some(c) = &ev.command {
        what.push_str(&format!(": {c}"));
    }
    let decision = match (&ev.code, &ev.decision) {
        (Some(c), Some(d)) => format!("{c}, {d}"),
        (Some(c), None) => c.to_string(),
        (None, Some(d)) => d.clone(),
        (None, None) => "unknown".into(),
    };
    w!(
        doc,
        "<dl class=\"event\"><dt>Who</dt><dd>{}</dd><dt>What</dt><dd>{}</dd><dt>When</dt><dd>{}</dd><dt>Decision</dt><dd>{}</dd></dl>\n",
        esc(&who),
        esc(&what),
        esc(ev.time.as_deref().unwrap_or("(no time)")),
        esc(&decision)
    );
}

fn config(doc: &mut String, c: &crate::ConfigSummary) {
    doc.push_str("<section id=\"config\">\n<h2>Configuration</h2>\n");
    match &c.file {
        Some(f) => w!(doc, "<p><code>{}</code> ({})</p>\n", esc(f), esc(&c.origin)),
        None => w!(doc, "<p>none ({})</p>\n", esc(&c.origin)),
    }
    let text = |s: &str| esc(s);
    let value = |s: &str| format!("<code>{}</code>", esc(s));
    let changes = c.changes(&value, &text, "&rarr;");
    if !changes.is_empty() {
        doc.push_str("<ul>\n");
        for line in changes {
            w!(doc, "<li>{line}</li>\n");
        }
        doc.push_str("</ul>\n");
    }
    if c.inline_suppressions == Some(false) {
        doc.push_str(
            "<p>Inline suppressions ignored (<code>--no-inline-suppressions</code>).</p>\n",
        );
    }
    doc.push_str("</section>\n");
}

/// `audit summary` as a page: the request rate over time with the refused requests and
/// the findings of the audit rules marked on it, the top tables, the denied requests.
pub(crate) fn render_audit_summary(
    d: &crate::audit_summary::SummaryData,
    reading: &str,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    use crate::audit_summary::{bucket_label, tops};
    let mut doc = String::with_capacity(16 * 1024);
    head(&mut doc, "eksguard audit summary");
    doc.push_str("<body>\n<header>\n<h1>Audit log summary</h1>\n");
    w!(
        doc,
        "<p class=\"meta\">{} requests {}</p>\n</header>\n<main>\n",
        d.events,
        esc(reading)
    );
    let denied: u64 = d.rate.buckets.iter().map(|b| b.denied).sum();
    w!(
        doc,
        "<section id=\"totals\" class=\"cards\">\n\
         <div class=\"card\"><span class=\"n\" id=\"requests\">{}</span> requests</div>\n\
         <div class=\"card sev-high\"><span class=\"n\" id=\"denied\">{denied}</span> denied</div>\n\
         <div class=\"card sev-critical\"><span class=\"n\" id=\"aud-findings\">{}</span> audit findings</div>\n</section>\n",
        d.events,
        d.findings.len() as u64 + d.findings_not_marked
    );
    w!(
        doc,
        "<section id=\"rate\">\n<h2>Requests per {}</h2>\n",
        bucket_label(d.rate.bucket_seconds)
    );
    rate_chart(&mut doc, d);
    doc.push_str("</section>\n");

    if !d.findings.is_empty() {
        doc.push_str(
            "<section id=\"audit-findings\">\n<h2>Audit findings</h2>\n<table class=\"plain\">\n\
             <thead><tr><th>Time</th><th>Severity</th><th>Rule</th><th>Message</th></tr></thead>\n<tbody>\n",
        );
        for m in &d.findings {
            let sev = m.severity.as_str();
            w!(
                doc,
                "<tr><td>{}</td><td><span class=\"badge sev-{sev}\">{sev}</span></td><td><code>{}</code></td><td>{}</td></tr>\n",
                esc(&m.time),
                esc(m.rule),
                esc(&m.message)
            );
        }
        doc.push_str("</tbody>\n</table>\n");
        if d.findings_not_marked > 0 {
            w!(
                doc,
                "<p class=\"count\">{} more findings not listed.</p>\n",
                d.findings_not_marked
            );
        }
        doc.push_str("</section>\n");
    }

    doc.push_str("<section id=\"tops\" class=\"charts\">\n");
    for (title, entries) in tops(d) {
        w!(
            doc,
            "<figure class=\"chart\"><figcaption>{}</figcaption><table class=\"plain\">\n\
             <thead><tr><th class=\"num\">Requests</th><th>Name</th></tr></thead>\n<tbody>\n",
            esc(title)
        );
        for e in entries {
            w!(
                doc,
                "<tr><td class=\"num\">{}</td><td>{}</td></tr>\n",
                e.count,
                esc(&e.name)
            );
        }
        if entries.is_empty() {
            doc.push_str("<tr><td></td><td>(none)</td></tr>\n");
        }
        doc.push_str("</tbody>\n</table></figure>\n");
    }
    doc.push_str("</section>\n<section id=\"denied-requests\">\n<h2>Denied requests</h2>\n<table class=\"plain\">\n\
         <thead><tr><th class=\"num\">Requests</th><th>User</th><th>Reason</th></tr></thead>\n<tbody>\n");
    for e in &d.denied {
        w!(
            doc,
            "<tr><td class=\"num\">{}</td><td>{}</td><td>{}</td></tr>\n",
            e.count,
            esc(&e.user),
            esc(&e.reason)
        );
    }
    doc.push_str("</tbody>\n</table>\n</section>\n");
    if !d.errors.is_empty() {
        doc.push_str("<section id=\"problems\">\n<h2>Input errors</h2>\n<ul>\n");
        for e in &d.errors {
            w!(
                doc,
                "<li class=\"error\"><strong>error:</strong> {}</li>\n",
                esc(&e.to_string())
            );
        }
        doc.push_str("</ul>\n</section>\n");
    }
    doc.push_str("</main>\n</body>\n</html>\n");
    out.write_all(doc.as_bytes())
}

/// Requests per bucket as columns, the refused part of each in red, and a dot above each
/// bucket with findings, coloured by the most severe, naming them in its tooltip.
fn rate_chart(doc: &mut String, d: &crate::audit_summary::SummaryData) {
    let buckets = &d.rate.buckets;
    if buckets.is_empty() {
        doc.push_str("<p class=\"empty\">No timestamps.</p>\n");
        return;
    }
    let (width, plot_h, top, bottom) = (760.0, 160.0, 18.0, 34.0);
    let left = 48.0;
    let max = buckets.iter().map(|b| b.count).max().unwrap_or(1).max(1);
    let step = (width - left) / buckets.len() as f64;
    let bar = (step * 0.8).max(1.0);
    let y_of = |n: u64| top + plot_h - n as f64 / max as f64 * plot_h;
    w!(
        doc,
        "<svg id=\"rate-chart\" xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" viewBox=\"0 0 {width} {h}\" width=\"{width}\" height=\"{h}\" class=\"chart\">\n\
         <text x=\"{lx}\" y=\"{ty}\" text-anchor=\"end\">{max}</text><text x=\"{lx}\" y=\"{by}\" text-anchor=\"end\">0</text>\n",
        h = top + plot_h + bottom,
        lx = left - 6.0,
        ty = top + 8.0,
        by = top + plot_h
    );
    let mut marks: BTreeMap<&str, Vec<&crate::audit_summary::Mark>> = BTreeMap::new();
    for m in &d.findings {
        marks.entry(m.bucket.as_str()).or_default().push(m);
    }
    let label_every = buckets.len().div_ceil(8).max(1);
    let mut last_day: Option<&str> = None;
    for (i, b) in buckets.iter().enumerate() {
        let x = left + i as f64 * step;
        w!(
            doc,
            "<g class=\"bucket\" data-start=\"{}\"><title>{}: {} requests, {} denied</title>\
             <rect class=\"requests\" x=\"{x:.1}\" y=\"{:.1}\" width=\"{bar:.1}\" height=\"{:.1}\"/>",
            esc(&b.start),
            esc(&b.start),
            b.count,
            b.denied,
            y_of(b.count),
            top + plot_h - y_of(b.count)
        );
        if b.denied > 0 {
            w!(
                doc,
                "<rect class=\"denied\" x=\"{x:.1}\" y=\"{:.1}\" width=\"{bar:.1}\" height=\"{:.1}\"/>",
                y_of(b.denied),
                top + plot_h - y_of(b.denied)
            );
        }
        doc.push_str("</g>\n");
        if let Some(found) = marks.get(b.start.as_str()) {
            let worst = found
                .iter()
                .map(|m| m.severity)
                .max()
                .unwrap_or(Severity::Info);
            // One line a finding: escaped piece by piece, joined by line breaks.
            let mut tip = esc(&format!("{} finding(s) at {}:", found.len(), b.start));
            for m in found.iter().take(10) {
                tip.push_str("&#10;");
                tip.push_str(&esc(&format!("{} {} {}", m.rule, m.severity, m.message)));
            }
            if found.len() > 10 {
                tip.push_str("&#10;…");
            }
            w!(
                doc,
                "<circle class=\"mark sev-{}\" cx=\"{:.1}\" cy=\"{:.1}\" r=\"5\"><title>{}</title></circle>\n",
                worst.as_str(),
                x + bar / 2.0,
                (y_of(b.count) - 8.0).max(5.0),
                tip
            );
        }
        if i % label_every == 0 {
            // `HH:MM`, with the date under it where the day changes (and at the start).
            let (day, time) = b.start.split_once('T').unwrap_or(("", &b.start));
            let time = time.trim_end_matches('Z');
            w!(
                doc,
                "<text class=\"tick\" x=\"{x:.1}\" y=\"{:.1}\">{}</text>\n",
                top + plot_h + 14.0,
                esc(time)
            );
            if last_day != Some(day) {
                w!(
                    doc,
                    "<text class=\"tick\" x=\"{x:.1}\" y=\"{:.1}\">{}</text>\n",
                    top + plot_h + 28.0,
                    esc(day)
                );
                last_day = Some(day);
            }
        }
    }
    doc.push_str("</svg>\n<p class=\"count\">Grey: requests; red: denied requests; dots: findings of the audit rules (hover for details). Times in UTC.</p>\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn script_json_cannot_close_the_element() {
        let s = script_json(&"</script><!-- & \u{2028}\u{2029}");
        assert_eq!(
            s,
            "\"\\u003c/script\\u003e\\u003c!-- \\u0026 \\u2028\\u2029\""
        );
        let back: String = serde_json::from_str(&s).unwrap();
        assert_eq!(back, "</script><!-- & \u{2028}\u{2029}");
    }

    #[test]
    fn short_cuts_on_characters() {
        assert_eq!(short("abc", 5), "abc");
        assert_eq!(short("ééééééé", 4), "ééé…");
    }
}
