//! Reports over a fleet: one [`Report`] per cluster, each with its scope (account, region,
//! cluster), how far it was read, and the accounts, regions and clusters that could not be
//! read at all.
//!
//! Text and HTML open with the fleet summary (clusters by severity, worst first, and every
//! part not read with its reason), then each cluster's findings under its name. JSON, SARIF
//! and ASFF carry the scope on every finding; SARIF has one run per cluster.

use std::io::Write;

use eksguard_model::Severity;
use serde::Serialize;
use serde_json::{json, Value};

use crate::asff::{self, AsffTarget};
use crate::{escape, OutputFormat, RenderOptions, Report, SourceCache};

/// Which cluster a finding belongs to.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct ClusterScope {
    pub account: String,
    pub region: String,
    pub cluster: String,
}

impl ClusterScope {
    /// `ACCOUNT/REGION/CLUSTER`.
    pub fn label(&self) -> String {
        format!("{}/{}/{}", self.account, self.region, self.cluster)
    }
}

/// How much of a cluster was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReadStatus {
    /// The AWS side and the Kubernetes API.
    Full,
    /// The AWS side only: asked for (`--aws-only`), or the Kubernetes API refused or
    /// could not be reached.
    AwsOnly,
    /// Nothing: the cluster could not be described.
    NotRead,
}

impl ReadStatus {
    fn text(self) -> &'static str {
        match self {
            ReadStatus::Full => "full",
            ReadStatus::AwsOnly => "aws-only",
            ReadStatus::NotRead => "not read",
        }
    }
}

/// One cluster's results.
#[derive(Debug, Clone)]
pub struct FleetCluster<'a> {
    pub scope: ClusterScope,
    pub status: ReadStatus,
    /// Why the cluster was not read fully (absent for `--aws-only` by choice).
    pub reason: Option<String>,
    pub report: Report<'a>,
    /// Where its ASFF findings go (its own account and region).
    pub asff: Option<AsffTarget>,
}

/// An account or region whose clusters could not even be listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FleetProblem {
    pub account: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    pub reason: String,
}

#[derive(Debug, Clone)]
pub struct FleetReport<'a> {
    pub tool_version: &'a str,
    pub clusters: Vec<FleetCluster<'a>>,
    pub problems: Vec<FleetProblem>,
}

/// The counts the summary shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct FleetSummary {
    pub clusters_found: usize,
    pub read_fully: usize,
    pub aws_side_only: usize,
    pub not_read: usize,
    /// Accounts and regions whose clusters could not be listed.
    pub accounts_or_regions_not_read: usize,
}

impl FleetReport<'_> {
    pub fn summary(&self) -> FleetSummary {
        summary_of(self.clusters.iter().map(|c| c.status), self.problems.len())
    }

    /// Clusters worst first: most critical findings, then high, and so on; then by scope.
    pub fn worst_first(&self) -> Vec<&FleetCluster<'_>> {
        let keys: Vec<_> = self
            .clusters
            .iter()
            .map(|c| (c.report.counts_by_severity().map(|(_, n)| n), &c.scope))
            .collect();
        worst_order(&keys)
            .into_iter()
            .map(|i| &self.clusters[i])
            .collect()
    }

    /// Lines naming every part not read, with the reason.
    pub fn not_read_lines(&self) -> Vec<String> {
        not_read_lines(
            &self.problems,
            self.clusters
                .iter()
                .map(|c| (&c.scope, c.status, c.reason.as_deref())),
        )
    }
}

/// What the fleet keeps of a cluster once its findings are written out: enough for the
/// summary, the table and the exit status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterLine {
    pub scope: ClusterScope,
    pub status: ReadStatus,
    pub reason: Option<String>,
    /// Findings by severity, in the order of [`Severity::ALL`].
    pub counts: [usize; 5],
    pub resources_scanned: usize,
}

impl ClusterLine {
    pub fn of(c: &FleetCluster<'_>) -> Self {
        ClusterLine {
            scope: c.scope.clone(),
            status: c.status,
            reason: c.reason.clone(),
            counts: c.report.counts_by_severity().map(|(_, n)| n),
            resources_scanned: c.report.resources_scanned,
        }
    }

    /// Whether a finding at or above `threshold` was found.
    pub fn reaches(&self, threshold: Severity) -> bool {
        Severity::ALL
            .iter()
            .zip(self.counts)
            .any(|(s, n)| n > 0 && *s >= threshold)
    }
}

fn summary_of(statuses: impl Iterator<Item = ReadStatus>, problems: usize) -> FleetSummary {
    let mut s = FleetSummary {
        clusters_found: 0,
        read_fully: 0,
        aws_side_only: 0,
        not_read: 0,
        accounts_or_regions_not_read: problems,
    };
    for status in statuses {
        s.clusters_found += 1;
        match status {
            ReadStatus::Full => s.read_fully += 1,
            ReadStatus::AwsOnly => s.aws_side_only += 1,
            ReadStatus::NotRead => s.not_read += 1,
        }
    }
    s
}

/// Indexes of `keys` (counts by severity, scope) worst first.
fn worst_order(keys: &[([usize; 5], &ClusterScope)]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..keys.len()).collect();
    order.sort_by(|&a, &b| {
        keys[b]
            .0
            .cmp(&keys[a].0)
            .then_with(|| keys[a].1.cmp(keys[b].1))
    });
    order
}

/// Lines naming every part not read, with the reason.
pub fn not_read_lines<'a>(
    problems: &[FleetProblem],
    clusters: impl Iterator<Item = (&'a ClusterScope, ReadStatus, Option<&'a str>)>,
) -> Vec<String> {
    let mut lines: Vec<String> = problems
        .iter()
        .map(|p| match &p.region {
            Some(r) => format!("region {}/{r}: {}", p.account, p.reason),
            None => format!("account {}: {}", p.account, p.reason),
        })
        .collect();
    for (scope, status, reason) in clusters {
        if let Some(reason) = reason {
            lines.push(format!(
                "cluster {} ({}): {reason}",
                scope.label(),
                status.text()
            ));
        }
    }
    lines
}

/// Renders the fleet in `format` (text, json, sarif, asff or html).
pub fn render(
    format: OutputFormat,
    fleet: &FleetReport<'_>,
    sources: &SourceCache,
    opts: &RenderOptions,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    let writer = FleetWriter::new(Some(format), sources, opts)?;
    for (i, c) in fleet.clusters.iter().enumerate() {
        writer.add(i, c)?;
    }
    writer.finish(fleet.tool_version, &fleet.problems, out)
}

fn summary_sentence(s: &FleetSummary) -> String {
    let mut line = format!(
        "fleet: {} clusters found: {} read fully, {} AWS side only, {} not read",
        s.clusters_found, s.read_fully, s.aws_side_only, s.not_read
    );
    if s.accounts_or_regions_not_read > 0 {
        line.push_str(&format!(
            "; {} accounts or regions not read",
            s.accounts_or_regions_not_read
        ));
    }
    line
}

fn by_severity(counts: [usize; 5]) -> Value {
    let mut m = serde_json::Map::new();
    for (s, n) in Severity::ALL.iter().zip(counts) {
        m.insert(s.as_str().to_string(), json!(n));
    }
    Value::Object(m)
}

/// Where a cluster's part of the report lies in the spool file.
type Part = std::ops::Range<u64>;

/// A cluster written out: its line of the summary and its parts in the spool (by format:
/// text and HTML its section; JSON its findings, suppressed findings, errors and
/// warnings; SARIF its run; ASFF its findings).
struct Written {
    index: usize,
    line: ClusterLine,
    parts: [Part; 4],
}

struct Spooled {
    file: Option<Spool>,
    written: Vec<Written>,
    /// The configuration of the JSON document, or the SARIF log around the runs, of the
    /// first cluster: the same in every cluster.
    head: Option<(usize, Value)>,
}

/// A fleet report written as clusters are judged: each cluster's part is rendered at once
/// and spooled to a temporary file, and only its [`ClusterLine`] stays in memory. At the
/// end the summary comes first and the parts follow, copied from the spool in the order
/// the format wants, so the output is the one [`render`] writes for the whole fleet.
pub struct FleetWriter<'o> {
    format: Option<OutputFormat>,
    sources: &'o SourceCache,
    opts: &'o RenderOptions,
    state: std::sync::Mutex<Spooled>,
}

/// Items of an array spooled at this indentation (members of the top-level document's
/// arrays in JSON and SARIF, of the top-level array in ASFF).
fn item_indent(format: OutputFormat) -> &'static [u8] {
    match format {
        OutputFormat::Asff => b"  ",
        _ => b"    ",
    }
}

/// Stands for the spooled items of array `k` in the document's skeleton.
fn marker(k: usize) -> String {
    format!("eksguard-spooled-items-{k}")
}

fn poisoned() -> std::io::Error {
    std::io::Error::other("a thread writing the fleet report failed")
}

impl<'o> FleetWriter<'o> {
    /// `format` `None` keeps the lines only (nothing is written).
    pub fn new(
        format: Option<OutputFormat>,
        sources: &'o SourceCache,
        opts: &'o RenderOptions,
    ) -> std::io::Result<Self> {
        if let Some(f) = format {
            if !matches!(
                f,
                OutputFormat::Text
                    | OutputFormat::Json
                    | OutputFormat::Sarif
                    | OutputFormat::Asff
                    | OutputFormat::Html
            ) {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    "a fleet report is text, json, sarif, asff or html",
                ));
            }
        }
        let file = match format {
            Some(_) => Some(Spool::new()?),
            None => None,
        };
        Ok(FleetWriter {
            format,
            sources,
            opts,
            state: std::sync::Mutex::new(Spooled {
                file,
                written: Vec::new(),
                head: None,
            }),
        })
    }

    /// Writes out cluster `index` (its place in the fleet's order) and returns its line.
    /// Safe to call from several threads.
    pub fn add(&self, index: usize, c: &FleetCluster<'_>) -> std::io::Result<ClusterLine> {
        let line = ClusterLine::of(c);
        let (parts, head) = match self.format {
            Some(format) => self.render_parts(format, c)?,
            None => (Default::default(), None),
        };
        let mut state = self.state.lock().map_err(|_| poisoned())?;
        let mut ranges: [Part; 4] = Default::default();
        if let Some(file) = state.file.as_mut() {
            for (range, bytes) in ranges.iter_mut().zip(&parts) {
                *range = file.append(bytes)?;
            }
        }
        if let Some(h) = head {
            if state.head.as_ref().is_none_or(|(i, _)| index < *i) {
                state.head = Some((index, h));
            }
        }
        state.written.push(Written {
            index,
            line: line.clone(),
            parts: ranges,
        });
        Ok(line)
    }

    /// The lines of the clusters written, in the fleet's order.
    pub fn lines(&self) -> std::io::Result<Vec<ClusterLine>> {
        let mut state = self.state.lock().map_err(|_| poisoned())?;
        state.written.sort_by_key(|w| w.index);
        Ok(state.written.iter().map(|w| w.line.clone()).collect())
    }

    fn render_parts(
        &self,
        format: OutputFormat,
        c: &FleetCluster<'_>,
    ) -> std::io::Result<([Vec<u8>; 4], Option<Value>)> {
        let mut parts: [Vec<u8>; 4] = Default::default();
        let mut head = None;
        let indent = item_indent(format);
        match format {
            OutputFormat::Text if c.status != ReadStatus::NotRead => {
                let out = &mut parts[0];
                let shown = |s: &str| escape::terminal(s).into_owned();
                writeln!(
                    out,
                    "\n== {} ({}) ==",
                    shown(&c.scope.label()),
                    c.status.text()
                )?;
                crate::text::render(&c.report, self.sources, self.opts, out)?;
            }
            OutputFormat::Text => {}
            OutputFormat::Html => parts[0] = html_section(c).into_bytes(),
            OutputFormat::Json => {
                let scope = serde_json::to_value(&c.scope).map_err(std::io::Error::other)?;
                let mut doc = rendered(&c.report, OutputFormat::Json)?;
                for (k, key) in ["findings", "suppressed", "errors", "warnings"]
                    .iter()
                    .enumerate()
                {
                    if let Some(Value::Array(items)) = doc.get_mut(*key).map(Value::take) {
                        for item in items {
                            push_item(&mut parts[k], &with_scope(item, &scope), indent)?;
                        }
                    }
                }
                head = Some(doc.get("config").cloned().unwrap_or(Value::Null));
            }
            OutputFormat::Sarif => {
                let scope = serde_json::to_value(&c.scope).map_err(std::io::Error::other)?;
                let mut log = rendered(&c.report, OutputFormat::Sarif)?;
                if let Some(Value::Array(runs)) = log.get_mut("runs").map(Value::take) {
                    for mut run in runs {
                        scope_run(&mut run, &scope, c);
                        push_item(&mut parts[0], &run, indent)?;
                    }
                    head = Some(log);
                }
            }
            OutputFormat::Asff => {
                if let Some(t) = &c.asff {
                    for f in asff::findings(&c.report, t) {
                        push_item(&mut parts[0], &f, indent)?;
                    }
                }
            }
            _ => {}
        }
        Ok((parts, head))
    }

    /// Writes the whole report: the summary, then the clusters' parts.
    pub fn finish(
        self,
        tool_version: &str,
        problems: &[FleetProblem],
        out: &mut dyn Write,
    ) -> std::io::Result<()> {
        let Some(format) = self.format else {
            return Ok(());
        };
        let mut state = self.state.into_inner().map_err(|_| poisoned())?;
        state.written.sort_by_key(|w| w.index);
        let head = state.head.take().map(|(_, h)| h);
        let Some(mut file) = state.file.take() else {
            return Ok(());
        };
        let written = state.written;
        let mut out = std::io::BufWriter::with_capacity(64 << 10, out);
        let lines: Vec<&ClusterLine> = written.iter().map(|w| &w.line).collect();
        let summary = summary_of(lines.iter().map(|l| l.status), problems.len());
        let keys: Vec<_> = lines.iter().map(|l| (l.counts, &l.scope)).collect();
        let ordered = worst_order(&keys);
        let not_read = not_read_lines(
            problems,
            lines
                .iter()
                .map(|l| (&l.scope, l.status, l.reason.as_deref())),
        );
        match format {
            OutputFormat::Text => {
                text_head(&summary, &ordered, &lines, &not_read, &mut out)?;
                for &i in &ordered {
                    file.copy(&written[i].parts[0], &mut out)?;
                }
            }
            OutputFormat::Html => {
                out.write_all(html_head(&summary, &ordered, &lines, &not_read).as_bytes())?;
                for &i in &ordered {
                    file.copy(&written[i].parts[0], &mut out)?;
                }
                out.write_all(b"</body>\n</html>\n")?;
            }
            OutputFormat::Json => {
                let mut clusters = Vec::new();
                let mut totals = [0usize; 5];
                let mut resources = 0;
                for l in &lines {
                    for (t, n) in totals.iter_mut().zip(l.counts) {
                        *t += n;
                    }
                    resources += l.resources_scanned;
                    clusters.push(json!({
                        "account": l.scope.account,
                        "region": l.scope.region,
                        "cluster": l.scope.cluster,
                        "status": l.status,
                        "reason": l.reason,
                        "findings_by_severity": by_severity(l.counts),
                    }));
                }
                let array = |k: usize| {
                    let any = written.iter().any(|w| !w.parts[k].is_empty());
                    Value::Array(if any { vec![json!(marker(k))] } else { vec![] })
                };
                let mut doc = json!({
                    "schema_version": crate::json::SCHEMA_VERSION,
                    "tool": {"name": "eksguard", "version": tool_version},
                    "fleet": {
                        "summary": summary,
                        "clusters": clusters,
                        "not_read": problems,
                    },
                    "findings": array(0),
                    "suppressed": array(1),
                    "errors": array(2),
                    "warnings": array(3),
                    "summary": {
                        "findings_by_severity": by_severity(totals),
                        "resources_scanned": resources,
                    },
                });
                if let Some(config) = head.filter(|c| !c.is_null()) {
                    doc["config"] = config;
                }
                splice(&doc, format, &written, &mut file, &mut out)?;
            }
            OutputFormat::Sarif => {
                let mut head = head.unwrap_or_else(|| {
                    json!({
                        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
                        "version": "2.1.0",
                    })
                });
                let any = written.iter().any(|w| !w.parts[0].is_empty());
                if let Some(o) = head.as_object_mut() {
                    o.insert(
                        "runs".into(),
                        Value::Array(if any { vec![json!(marker(0))] } else { vec![] }),
                    );
                    o.insert(
                        "properties".into(),
                        json!({"fleet": {"summary": summary, "not_read": problems}}),
                    );
                }
                splice(&head, format, &written, &mut file, &mut out)?;
            }
            OutputFormat::Asff => {
                let any = written.iter().any(|w| !w.parts[0].is_empty());
                let doc = Value::Array(if any { vec![json!(marker(0))] } else { vec![] });
                splice(&doc, format, &written, &mut file, &mut out)?;
            }
            _ => {}
        }
        out.flush()
    }
}

/// Appends `item`, pretty and indented as an element of a top-level array, after a comma
/// when `buf` holds an item already.
fn push_item<T: Serialize>(buf: &mut Vec<u8>, item: &T, indent: &[u8]) -> std::io::Result<()> {
    let mut one = Vec::new();
    escape::write_json(item, &mut one, true)?;
    if !buf.is_empty() {
        buf.extend_from_slice(b",\n");
    }
    // A JSON string holds no raw line break: every line of the item is indented.
    for (i, l) in one.split(|b| *b == b'\n').enumerate() {
        if i > 0 {
            buf.push(b'\n');
        }
        buf.extend_from_slice(indent);
        buf.extend_from_slice(l);
    }
    Ok(())
}

/// Writes the document `skeleton` pretty, each marker replaced by the items of its array
/// from every cluster, in the fleet's order.
fn splice(
    skeleton: &Value,
    format: OutputFormat,
    written: &[Written],
    file: &mut Spool,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    let mut doc = Vec::new();
    escape::write_json(skeleton, &mut doc, true)?;
    doc.push(b'\n');
    let indent = item_indent(format);
    let markers: Vec<Vec<u8>> = (0..4)
        .map(|k| {
            let mut m = indent.to_vec();
            m.extend_from_slice(format!("\"{}\"\n", marker(k)).as_bytes());
            m
        })
        .collect();
    let mut done = [false; 4];
    for line in doc.split_inclusive(|b| *b == b'\n') {
        match markers.iter().position(|m| m.as_slice() == line) {
            Some(k) if !done[k] => {
                done[k] = true;
                let mut first = true;
                for w in written.iter().filter(|w| !w.parts[k].is_empty()) {
                    if !first {
                        out.write_all(b",\n")?;
                    }
                    first = false;
                    file.copy(&w.parts[k], out)?;
                }
                out.write_all(b"\n")?;
            }
            _ => out.write_all(line)?,
        }
    }
    Ok(())
}

fn scope_run(run: &mut Value, scope: &Value, c: &FleetCluster<'_>) {
    for r in run
        .get_mut("results")
        .and_then(Value::as_array_mut)
        .into_iter()
        .flatten()
    {
        if let Some(o) = r.as_object_mut() {
            let props = o.entry("properties").or_insert_with(|| json!({}));
            if let Some(p) = props.as_object_mut() {
                p.insert("scope".into(), scope.clone());
            }
        }
    }
    if let Some(o) = run.as_object_mut() {
        o.insert(
            "properties".into(),
            json!({"scope": scope, "read": c.status, "reason": c.reason}),
        );
    }
}

fn rendered(report: &Report<'_>, format: OutputFormat) -> std::io::Result<Value> {
    let mut buf = Vec::new();
    match format {
        OutputFormat::Json => crate::json::render(report, &mut buf)?,
        _ => crate::sarif::render(report, &mut buf)?,
    }
    serde_json::from_slice(&buf).map_err(std::io::Error::other)
}

fn with_scope(mut v: Value, scope: &Value) -> Value {
    if let Some(o) = v.as_object_mut() {
        o.insert("scope".into(), scope.clone());
    }
    v
}

fn text_head(
    summary: &FleetSummary,
    ordered: &[usize],
    lines: &[&ClusterLine],
    not_read: &[String],
    out: &mut dyn Write,
) -> std::io::Result<()> {
    let shown = |s: &str| escape::terminal(s).into_owned();
    writeln!(out, "{}", summary_sentence(summary))?;
    if !ordered.is_empty() {
        let width = lines
            .iter()
            .map(|l| shown(&l.scope.label()).chars().count())
            .max()
            .unwrap_or(0)
            .max("CLUSTER".len());
        writeln!(out)?;
        write!(out, "{:width$}", "CLUSTER")?;
        for s in Severity::ALL {
            write!(out, " {:>8}", s.as_str())?;
        }
        writeln!(out, "  READ")?;
        for &i in ordered {
            let l = lines[i];
            write!(out, "{:width$}", shown(&l.scope.label()))?;
            for n in l.counts {
                write!(out, " {n:>8}")?;
            }
            writeln!(out, "  {}", l.status.text())?;
        }
    }
    if !not_read.is_empty() {
        writeln!(out, "\nnot read:")?;
        for l in not_read {
            writeln!(out, "  {}", shown(l))?;
        }
    }
    Ok(())
}

fn html_esc(s: &str) -> String {
    escape::html(&escape::terminal(s)).into_owned()
}

fn html_head(
    summary: &FleetSummary,
    ordered: &[usize],
    lines: &[&ClusterLine],
    not_read: &[String],
) -> String {
    use std::fmt::Write as _;
    let mut doc = String::new();
    crate::html::head(&mut doc, "eksguard fleet report");
    let _ = write!(
        doc,
        "<body>\n<h1>eksguard fleet report</h1>\n<p>{}</p>\n",
        html_esc(&summary_sentence(summary))
    );
    doc.push_str("<table>\n<thead><tr><th>cluster</th>");
    for s in Severity::ALL {
        let _ = write!(doc, "<th>{}</th>", s.as_str());
    }
    doc.push_str("<th>read</th></tr></thead>\n<tbody>\n");
    for &i in ordered {
        let l = lines[i];
        let _ = write!(doc, "<tr><td>{}</td>", html_esc(&l.scope.label()));
        for n in l.counts {
            let _ = write!(doc, "<td>{n}</td>");
        }
        let _ = writeln!(doc, "<td>{}</td></tr>", l.status.text());
    }
    doc.push_str("</tbody>\n</table>\n");
    if !not_read.is_empty() {
        doc.push_str("<h2>Not read</h2>\n<ul>\n");
        for l in not_read {
            let _ = writeln!(doc, "<li>{}</li>", html_esc(l));
        }
        doc.push_str("</ul>\n");
    }
    doc
}

/// A cluster's findings and errors in HTML; empty when it has neither.
fn html_section(c: &FleetCluster<'_>) -> String {
    use std::fmt::Write as _;
    let mut doc = String::new();
    if c.report.findings.is_empty() && c.report.errors.is_empty() {
        return doc;
    }
    let _ = writeln!(doc, "<h2>{}</h2>", html_esc(&c.scope.label()));
    if !c.report.findings.is_empty() {
        doc.push_str("<table>\n<thead><tr><th>severity</th><th>rule</th><th>resource</th><th>message</th></tr></thead>\n<tbody>\n");
        for f in &c.report.findings {
            let _ = writeln!(
                doc,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                f.severity.as_str(),
                html_esc(f.rule.id),
                html_esc(&f.qualified_name()),
                html_esc(&f.message)
            );
        }
        doc.push_str("</tbody>\n</table>\n");
    }
    if !c.report.errors.is_empty() {
        doc.push_str("<ul>\n");
        for e in &c.report.errors {
            let _ = writeln!(doc, "<li>error: {}</li>", html_esc(&e.to_string()));
        }
        doc.push_str("</ul>\n");
    }
    doc
}

/// A temporary file the parts are appended to and read back from, removed when dropped.
struct Spool {
    file: std::fs::File,
    path: std::path::PathBuf,
    len: u64,
}

impl Spool {
    fn new() -> std::io::Result<Self> {
        use std::sync::atomic::{AtomicU64, Ordering};
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let path = std::env::temp_dir().join(format!(
            "eksguard-fleet-{}-{nanos}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let mut options = std::fs::OpenOptions::new();
        options.read(true).write(true).create_new(true);
        // Findings name the estate's weak points: readable by this user alone.
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let file = options.open(&path).map_err(|e| {
            std::io::Error::new(
                e.kind(),
                format!("cannot create the spool file {}: {e}", path.display()),
            )
        })?;
        Ok(Spool { file, path, len: 0 })
    }

    fn append(&mut self, bytes: &[u8]) -> std::io::Result<Part> {
        use std::io::{Seek, SeekFrom};
        let start = self.len;
        if !bytes.is_empty() {
            self.file.seek(SeekFrom::Start(start))?;
            self.file.write_all(bytes)?;
            self.len += bytes.len() as u64;
        }
        Ok(start..self.len)
    }

    fn copy(&mut self, part: &Part, out: &mut dyn Write) -> std::io::Result<()> {
        use std::io::{Read, Seek, SeekFrom};
        if part.is_empty() {
            return Ok(());
        }
        self.file.seek(SeekFrom::Start(part.start))?;
        let mut taken = (&mut self.file).take(part.end - part.start);
        let copied = std::io::copy(&mut taken, out)?;
        if copied != part.end - part.start {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                format!("the spool file {} was cut short", self.path.display()),
            ));
        }
        Ok(())
    }
}

impl Drop for Spool {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}
