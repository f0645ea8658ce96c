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
        let count = |s: ReadStatus| self.clusters.iter().filter(|c| c.status == s).count();
        FleetSummary {
            clusters_found: self.clusters.len(),
            read_fully: count(ReadStatus::Full),
            aws_side_only: count(ReadStatus::AwsOnly),
            not_read: count(ReadStatus::NotRead),
            accounts_or_regions_not_read: self.problems.len(),
        }
    }

    /// Clusters worst first: most critical findings, then high, and so on; then by scope.
    pub fn worst_first(&self) -> Vec<&FleetCluster<'_>> {
        let mut list: Vec<&FleetCluster<'_>> = self.clusters.iter().collect();
        list.sort_by(|a, b| {
            let key = |c: &FleetCluster<'_>| c.report.counts_by_severity().map(|(_, n)| n);
            key(b).cmp(&key(a)).then_with(|| a.scope.cmp(&b.scope))
        });
        list
    }

    /// Lines naming every part not read, with the reason.
    pub fn not_read_lines(&self) -> Vec<String> {
        let mut lines: Vec<String> = self
            .problems
            .iter()
            .map(|p| match &p.region {
                Some(r) => format!("region {}/{r}: {}", p.account, p.reason),
                None => format!("account {}: {}", p.account, p.reason),
            })
            .collect();
        for c in &self.clusters {
            if let Some(reason) = &c.reason {
                lines.push(format!(
                    "cluster {} ({}): {reason}",
                    c.scope.label(),
                    c.status.text()
                ));
            }
        }
        lines
    }
}

/// Renders the fleet in `format` (text, json, sarif, asff or html).
pub fn render(
    format: OutputFormat,
    fleet: &FleetReport<'_>,
    sources: &SourceCache,
    opts: &RenderOptions,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    match format {
        OutputFormat::Text => text(fleet, sources, opts, out),
        OutputFormat::Json => crate::write_json(&json_doc(fleet)?, out),
        OutputFormat::Sarif => crate::write_json(&sarif_doc(fleet)?, out),
        OutputFormat::Asff => {
            let mut all = Vec::new();
            for c in &fleet.clusters {
                if let Some(t) = &c.asff {
                    all.extend(asff::findings(&c.report, t));
                }
            }
            crate::write_json(&all, out)
        }
        OutputFormat::Html => out.write_all(html(fleet).as_bytes()),
        _ => Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "a fleet report is text, json, sarif, asff or html",
        )),
    }
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

fn text(
    fleet: &FleetReport<'_>,
    sources: &SourceCache,
    opts: &RenderOptions,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    let shown = |s: &str| escape::terminal(s).into_owned();
    let ordered = fleet.worst_first();
    writeln!(out, "{}", summary_sentence(&fleet.summary()))?;
    if !ordered.is_empty() {
        let width = ordered
            .iter()
            .map(|c| shown(&c.scope.label()).chars().count())
            .max()
            .unwrap_or(0)
            .max("CLUSTER".len());
        writeln!(out)?;
        write!(out, "{:width$}", "CLUSTER")?;
        for s in Severity::ALL {
            write!(out, " {:>8}", s.as_str())?;
        }
        writeln!(out, "  READ")?;
        for c in &ordered {
            write!(out, "{:width$}", shown(&c.scope.label()))?;
            for (_, n) in c.report.counts_by_severity() {
                write!(out, " {n:>8}")?;
            }
            writeln!(out, "  {}", c.status.text())?;
        }
    }
    let lines = fleet.not_read_lines();
    if !lines.is_empty() {
        writeln!(out, "\nnot read:")?;
        for l in lines {
            writeln!(out, "  {}", shown(&l))?;
        }
    }
    for c in ordered {
        if c.status == ReadStatus::NotRead {
            continue;
        }
        writeln!(
            out,
            "\n== {} ({}) ==",
            shown(&c.scope.label()),
            c.status.text()
        )?;
        crate::text::render(&c.report, sources, opts, out)?;
    }
    Ok(())
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

fn json_doc(fleet: &FleetReport<'_>) -> std::io::Result<Value> {
    let mut findings = Vec::new();
    let mut suppressed = Vec::new();
    let mut errors = Vec::new();
    let mut warnings = Vec::new();
    let mut clusters = Vec::new();
    let mut config = Value::Null;
    let mut totals = [0usize; 5];
    let mut resources = 0;
    for c in &fleet.clusters {
        let scope = serde_json::to_value(&c.scope).map_err(std::io::Error::other)?;
        let mut doc = rendered(&c.report, OutputFormat::Json)?;
        let mut take = |key: &str, into: &mut Vec<Value>| {
            if let Some(Value::Array(items)) = doc.get_mut(key).map(Value::take) {
                into.extend(items.into_iter().map(|f| with_scope(f, &scope)));
            }
        };
        take("findings", &mut findings);
        take("suppressed", &mut suppressed);
        take("errors", &mut errors);
        take("warnings", &mut warnings);
        if config.is_null() {
            config = doc.get("config").cloned().unwrap_or(Value::Null);
        }
        let counts = c.report.counts_by_severity();
        for (i, (_, n)) in counts.iter().enumerate() {
            totals[i] += n;
        }
        resources += c.report.resources_scanned;
        clusters.push(json!({
            "account": c.scope.account,
            "region": c.scope.region,
            "cluster": c.scope.cluster,
            "status": c.status,
            "reason": c.reason,
            "findings_by_severity": by_severity(counts.map(|(_, n)| n)),
        }));
    }
    let mut doc = json!({
        "schema_version": crate::json::SCHEMA_VERSION,
        "tool": {"name": "eksguard", "version": fleet.tool_version},
        "fleet": {
            "summary": fleet.summary(),
            "clusters": clusters,
            "not_read": fleet.problems,
        },
        "findings": findings,
        "suppressed": suppressed,
        "errors": errors,
        "warnings": warnings,
        "summary": {
            "findings_by_severity": by_severity(totals),
            "resources_scanned": resources,
        },
    });
    if !config.is_null() {
        doc["config"] = config;
    }
    Ok(doc)
}

fn by_severity(counts: [usize; 5]) -> Value {
    let mut m = serde_json::Map::new();
    for (s, n) in Severity::ALL.iter().zip(counts) {
        m.insert(s.as_str().to_string(), json!(n));
    }
    Value::Object(m)
}

fn sarif_doc(fleet: &FleetReport<'_>) -> std::io::Result<Value> {
    let mut runs = Vec::new();
    let mut head = Value::Null;
    for c in &fleet.clusters {
        let scope = serde_json::to_value(&c.scope).map_err(std::io::Error::other)?;
        let mut log = rendered(&c.report, OutputFormat::Sarif)?;
        let Some(Value::Array(mut log_runs)) = log.get_mut("runs").map(Value::take) else {
            continue;
        };
        if head.is_null() {
            head = log;
        }
        for run in &mut log_runs {
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
        runs.extend(log_runs);
    }
    if head.is_null() {
        head = json!({
            "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
            "version": "2.1.0",
        });
    }
    if let Some(o) = head.as_object_mut() {
        o.insert("runs".into(), Value::Array(runs));
        o.insert(
            "properties".into(),
            json!({"fleet": {"summary": fleet.summary(), "not_read": fleet.problems}}),
        );
    }
    Ok(head)
}

fn html(fleet: &FleetReport<'_>) -> String {
    use std::fmt::Write as _;
    let esc = |s: &str| escape::html(&escape::terminal(s)).into_owned();
    let mut doc = String::new();
    crate::html::head(&mut doc, "eksguard fleet report");
    let _ = write!(
        doc,
        "<body>\n<h1>eksguard fleet report</h1>\n<p>{}</p>\n",
        esc(&summary_sentence(&fleet.summary()))
    );
    doc.push_str("<table>\n<thead><tr><th>cluster</th>");
    for s in Severity::ALL {
        let _ = write!(doc, "<th>{}</th>", s.as_str());
    }
    doc.push_str("<th>read</th></tr></thead>\n<tbody>\n");
    let ordered = fleet.worst_first();
    for c in &ordered {
        let _ = write!(doc, "<tr><td>{}</td>", esc(&c.scope.label()));
        for (_, n) in c.report.counts_by_severity() {
            let _ = write!(doc, "<td>{n}</td>");
        }
        let _ = writeln!(doc, "<td>{}</td></tr>", c.status.text());
    }
    doc.push_str("</tbody>\n</table>\n");
    let lines = fleet.not_read_lines();
    if !lines.is_empty() {
        doc.push_str("<h2>Not read</h2>\n<ul>\n");
        for l in lines {
            let _ = writeln!(doc, "<li>{}</li>", esc(&l));
        }
        doc.push_str("</ul>\n");
    }
    for c in ordered {
        if c.report.findings.is_empty() && c.report.errors.is_empty() {
            continue;
        }
        let _ = writeln!(doc, "<h2>{}</h2>", esc(&c.scope.label()));
        if !c.report.findings.is_empty() {
            doc.push_str("<table>\n<thead><tr><th>severity</th><th>rule</th><th>resource</th><th>message</th></tr></thead>\n<tbody>\n");
            for f in &c.report.findings {
                let _ = writeln!(
                    doc,
                    "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                    f.severity.as_str(),
                    esc(f.rule.id),
                    esc(&f.qualified_name()),
                    esc(&f.message)
                );
            }
            doc.push_str("</tbody>\n</table>\n");
        }
        if !c.report.errors.is_empty() {
            doc.push_str("<ul>\n");
            for e in &c.report.errors {
                let _ = writeln!(doc, "<li>error: {}</li>", esc(&e.to_string()));
            }
            doc.push_str("</ul>\n");
        }
    }
    doc.push_str("</body>\n</html>\n");
    doc
}
