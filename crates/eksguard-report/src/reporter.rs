//! Reporters: where the findings of a run go, one at a time.
//!
//! A run calls [`Reporter::begin`], then [`Reporter::finding`] for each finding in report
//! order, then [`Reporter::end`] with the rest of the report (errors, totals, suppressed
//! findings, configuration). Streaming reporters write each finding as it comes, so a run
//! over endless input keeps nothing; document reporters keep the findings and write the
//! whole document at the end.

use std::io::Write;

use crate::asff::AsffTarget;
use crate::json::{self, Totals};
use crate::{OutputFormat, RenderOptions, Report, ReportFinding, SourceCache};

/// A report being written.
pub trait Reporter {
    /// Before the first finding.
    fn begin(&mut self) -> std::io::Result<()> {
        Ok(())
    }

    /// One finding, in report order.
    fn finding(&mut self, f: ReportFinding) -> std::io::Result<()>;

    /// A run of findings, in report order: a reporter that can render them on all cores
    /// does.
    fn findings(&mut self, run: Vec<ReportFinding>) -> std::io::Result<()> {
        run.into_iter().try_for_each(|f| self.finding(f))
    }

    /// After the last finding: `rest` is the report without its findings (they came one
    /// by one). Flushes the output.
    fn end(&mut self, rest: Report<'_>) -> std::io::Result<()>;

    /// Pushes what was written so far to the output (a follower, after each poll).
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A format that needs what a run lacks.
#[derive(Debug, thiserror::Error)]
pub enum ReporterError {
    #[error("--format {0} cannot be written as findings are found")]
    NotStreaming(&'static str),
}

/// The reporter of `format` writing a whole document to `out` at the end.
pub fn document<'w>(
    format: OutputFormat,
    sources: &'w SourceCache,
    opts: &'w RenderOptions,
    out: &'w mut dyn Write,
) -> Box<dyn Reporter + 'w> {
    match format {
        // JSON lines need nothing of what follows a finding: written as found.
        OutputFormat::Jsonl => Box::new(JsonLines::new(out)),
        _ => Box::new(Document {
            format,
            sources,
            opts,
            findings: Vec::new(),
            out,
        }),
    }
}

/// The reporter of `format` writing each finding as it is found, with no document around
/// them: text blocks (no code frame, no summary), JSON lines, or a line of ASFF each
/// (`asff` then names the account and region).
pub fn streaming<'w>(
    format: OutputFormat,
    color: bool,
    asff: Option<AsffTarget>,
    out: Box<dyn Write + 'w>,
) -> Result<Box<dyn Reporter + 'w>, ReporterError> {
    Ok(match (format, asff) {
        (OutputFormat::Text, _) => Box::new(TextBlocks { color, out }),
        (OutputFormat::Jsonl, _) => Box::new(JsonLines::new(out)),
        (OutputFormat::Asff, Some(target)) => Box::new(AsffLines { target, out }),
        (other, _) => return Err(ReporterError::NotStreaming(other.name())),
    })
}

/// Findings kept, the document rendered at the end.
struct Document<'w> {
    format: OutputFormat,
    sources: &'w SourceCache,
    opts: &'w RenderOptions,
    findings: Vec<ReportFinding>,
    out: &'w mut dyn Write,
}

impl Reporter for Document<'_> {
    fn finding(&mut self, f: ReportFinding) -> std::io::Result<()> {
        self.findings.push(f);
        Ok(())
    }

    fn end(&mut self, mut rest: Report<'_>) -> std::io::Result<()> {
        rest.findings = std::mem::take(&mut self.findings);
        crate::render(self.format, &rest, self.sources, self.opts, self.out)?;
        self.out.flush()
    }
}

/// A JSON line per finding, then the closing line with the errors and the summary.
pub struct JsonLines<W> {
    totals: Totals,
    out: W,
}

impl<W: Write> JsonLines<W> {
    pub fn new(out: W) -> Self {
        JsonLines {
            totals: Totals::default(),
            out,
        }
    }
}

impl<W: Write> Reporter for JsonLines<W> {
    fn finding(&mut self, f: ReportFinding) -> std::io::Result<()> {
        self.totals.count(f.severity);
        json::write_finding_line(&f, &mut self.out)
    }

    fn findings(&mut self, run: Vec<ReportFinding>) -> std::io::Result<()> {
        use rayon::prelude::*;
        // Lines rendered per task: enough that a task outweighs handing it out.
        const PER_TASK: usize = 256;
        for f in &run {
            self.totals.count(f.severity);
        }
        // Serializing is the cost of each line: on all cores, written in order.
        let chunks: Vec<Vec<u8>> = run
            .par_chunks(PER_TASK)
            .map(|chunk| {
                let mut buf = Vec::new();
                for f in chunk {
                    // Into memory: cannot fail.
                    let _ = json::write_finding_line(f, &mut buf);
                }
                buf
            })
            .collect();
        chunks.iter().try_for_each(|b| self.out.write_all(b))
    }

    fn end(&mut self, rest: Report<'_>) -> std::io::Result<()> {
        let totals = Totals {
            by_severity: self.totals.by_severity,
            ..Totals::of(&rest)
        };
        json::write_end_line(
            rest.tool_version,
            rest.config.as_ref(),
            &rest.errors,
            &rest.warnings,
            &totals,
            &mut self.out,
        )?;
        self.out.flush()
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}

/// A text block per finding (its resource, file and event), nothing at the end.
struct TextBlocks<'w> {
    color: bool,
    out: Box<dyn Write + 'w>,
}

impl Reporter for TextBlocks<'_> {
    fn finding(&mut self, f: ReportFinding) -> std::io::Result<()> {
        crate::text::render_one(&f, self.color, &mut self.out)
    }

    fn end(&mut self, _rest: Report<'_>) -> std::io::Result<()> {
        self.out.flush()
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}

/// An ASFF finding per line, nothing at the end.
struct AsffLines<'w> {
    target: AsffTarget,
    out: Box<dyn Write + 'w>,
}

impl Reporter for AsffLines<'_> {
    fn finding(&mut self, f: ReportFinding) -> std::io::Result<()> {
        let v = crate::asff::finding_as_found(&f, &self.target, env!("CARGO_PKG_VERSION"));
        crate::escape::write_json(&v, &mut self.out, false)?;
        self.out.write_all(b"\n")
    }

    fn end(&mut self, _rest: Report<'_>) -> std::io::Result<()> {
        self.out.flush()
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}

/// Feeds a whole report through `reporter`.
pub fn write_report(reporter: &mut dyn Reporter, mut report: Report<'_>) -> std::io::Result<()> {
    reporter.begin()?;
    for f in std::mem::take(&mut report.findings) {
        reporter.finding(f)?;
    }
    reporter.end(report)
}
