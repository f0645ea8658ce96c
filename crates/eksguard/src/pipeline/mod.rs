//! The run every mode that reports findings shares: a [`RunSpec`] built once from the
//! flags and the configuration, the findings of objects and of audit events resolved for
//! output, suppressions and the baseline applied, the exit status decided, the report
//! written through a reporter. Commands only gather their input and drive this.

pub mod output;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use eksguard_load::audit::Batch;
use eksguard_model::{Inventory, Severity, SuppressionNote, SuppressionSource};
use eksguard_report::{Location, Report, ReportFinding, SourceCache, SuppressedReportFinding};
use eksguard_rules::engine::{Engine, EngineConfig, RunResult};
use eksguard_rules::events::EventFinding;
use eksguard_rules::suppress::Date;
use eksguard_rules::Rule;

use crate::baseline::{self, BaselineEntry};
use crate::cli::{CheckArgs, FailOn, InlineArgs, ReportArgs};
use crate::config::{self, Config, Origin};
use crate::term::shown;
use crate::Outcome;

/// Everything a run decides before it reads its input.
#[derive(Debug, Clone)]
pub struct RunSpec {
    pub config: Config,
    /// Selection, severities, parameters and suppressions.
    pub engine: EngineConfig,
    /// Whether `eksguard.io/ignore` annotations apply; `None` where the input has none
    /// (audit events).
    pub inline: Option<bool>,
    /// `--baseline`: findings it holds are suppressed.
    pub baseline: Option<PathBuf>,
    /// `--write-baseline`: the findings are recorded there.
    pub write_baseline: Option<PathBuf>,
    /// Findings at or above it make the run exit 1.
    pub threshold: Option<Severity>,
    /// Format, destination and AWS target of the report; `None` for a caller that
    /// renders for itself (the server).
    pub output: Option<ReportArgs>,
}

/// Where rule selection and the configuration file come from.
#[derive(Debug, Clone, Default)]
pub struct Selection<'a> {
    pub select: &'a [String],
    pub ignore: &'a [String],
    pub config: Option<&'a Path>,
    /// No configuration file, neither named nor discovered.
    pub no_config: bool,
}

impl<'a> Selection<'a> {
    pub fn of(check: &'a CheckArgs) -> Self {
        Selection {
            select: &check.select,
            ignore: &check.ignore,
            config: check.config.as_deref(),
            no_config: check.no_config,
        }
    }

    /// Only the file named, no flags: a server's working directory is no place to look
    /// for one.
    pub fn file_only(config: Option<&'a Path>) -> Self {
        Selection {
            config,
            no_config: config.is_none(),
            ..Selection::default()
        }
    }
}

impl RunSpec {
    /// The spec of a command's flags; `None` after printing the configuration's errors.
    /// `inline` is absent for inputs without annotations.
    pub fn from_flags(
        check: &CheckArgs,
        inline: Option<&InlineArgs>,
        output: ReportArgs,
    ) -> Option<RunSpec> {
        let mut spec = RunSpec::judging(&Selection::of(check))?;
        let no_inline = inline.is_some_and(|i| i.no_inline_suppressions);
        spec.engine.ignore_inline = no_inline;
        spec.inline = inline.map(|_| !no_inline);
        spec.baseline = check.baseline.clone();
        spec.write_baseline = check.write_baseline.clone();
        // A run writing a baseline is for its findings: they never fail it.
        spec.threshold = match check.write_baseline {
            Some(_) => None,
            None => fail_threshold(output.fail_on, spec.config.fail_on),
        };
        spec.output = Some(output);
        Some(spec)
    }

    /// The spec of rules and configuration only: no baseline, no threshold, no output.
    pub fn judging(sel: &Selection<'_>) -> Option<RunSpec> {
        let config = load_config(sel)?;
        Some(RunSpec {
            engine: engine_config(sel, &config),
            config,
            inline: Some(true),
            baseline: None,
            write_baseline: None,
            threshold: None,
            output: None,
        })
    }

    /// The report's settings; a spec built by [`RunSpec::from_flags`] has them.
    pub fn output(&self) -> anyhow::Result<&ReportArgs> {
        self.output
            .as_ref()
            .ok_or_else(|| anyhow::anyhow!("this run has no report to write"))
    }

    /// Region, profile, endpoint and default scope of ASFF and Security Hub, known once
    /// the command has read its input.
    pub fn set_aws(&mut self, aws: crate::cli::AwsReportContext) {
        if let Some(o) = self.output.as_mut() {
            o.aws = aws;
        }
    }

    /// What the configuration changes, for the report.
    pub fn config_summary(&self) -> eksguard_report::ConfigSummary {
        self.config.summary(self.inline, Date::today())
    }
}

/// Rule selection, severities, parameters and suppressions from flags and configuration.
fn engine_config(sel: &Selection<'_>, cfg: &Config) -> EngineConfig {
    let mut select = if sel.select.is_empty() {
        cfg.select.clone()
    } else {
        sel.select.to_vec()
    };
    select.retain(|s| !s.is_empty());
    EngineConfig {
        select,
        ignore: cfg.ignore.iter().chain(sel.ignore).cloned().collect(),
        severity_overrides: cfg.severity_overrides.clone(),
        params: cfg.params.clone(),
        suppressions: cfg.suppressions.clone(),
        today: None,
        ignore_inline: false,
    }
}

/// The configuration named or found by discovery; `None` after printing its errors.
fn load_config(sel: &Selection<'_>) -> Option<Config> {
    let (path, origin) = match (sel.config, sel.no_config) {
        (Some(p), _) => (Some(p.to_path_buf()), Origin::Flag),
        (None, true) => (None, Origin::Disabled),
        (None, false) => match std::env::current_dir()
            .ok()
            .and_then(|d| config::discover(&d))
        {
            Some(p) => (Some(p), Origin::Discovered),
            None => (None, Origin::NotFound),
        },
    };
    let loaded = match path {
        Some(p) => config::load(&p),
        None => Ok(Config::default()),
    };
    // A mistyped rule on the command line would otherwise select or skip nothing, silently.
    let flag_errors: Vec<String> = [("--select", sel.select), ("--ignore", sel.ignore)]
        .into_iter()
        .flat_map(|(flag, list)| {
            list.iter().filter_map(move |p| {
                config::rule_pattern(p)
                    .err()
                    .map(|e| format!("{flag}: {e}"))
            })
        })
        .collect();
    if !flag_errors.is_empty() {
        for e in flag_errors {
            eprintln!("error: {}", shown(e));
        }
        if let Err(errors) = &loaded {
            for e in errors {
                eprintln!("error: {}", shown(e));
            }
        }
        return None;
    }
    match loaded {
        Ok(c) => Some(Config { origin, ..c }),
        Err(errors) => {
            for e in errors {
                eprintln!("error: {}", shown(e));
            }
            None
        }
    }
}

/// The flag, else the configuration, else `low`; `None` for `never`.
pub fn fail_threshold(cli: Option<FailOn>, cfg: Option<FailOn>) -> Option<Severity> {
    match cli.or(cfg).unwrap_or(FailOn::Low) {
        FailOn::Never => None,
        FailOn::Critical => Some(Severity::Critical),
        FailOn::High => Some(Severity::High),
        FailOn::Medium => Some(Severity::Medium),
        FailOn::Low => Some(Severity::Low),
        FailOn::Info => Some(Severity::Info),
    }
}

/// Runs `rules` (as the spec selects them) over `inv` and resolves the findings.
pub fn judge_objects(spec: &RunSpec, inv: &Inventory, rules: &[&dyn Rule]) -> Report<'static> {
    let engine = Engine::new(rules, spec.engine.clone());
    let result = engine.run(inv);
    let metas = engine.rules().iter().map(|r| r.meta()).collect();
    let mut report = resolve_objects(inv, result, metas);
    report.config = Some(spec.config_summary());
    report
}

/// Applies the baseline, writes the report, and says how the run ended.
pub fn finish(
    spec: &RunSpec,
    mut report: Report<'_>,
    sources: &SourceCache,
) -> anyhow::Result<Outcome> {
    Baseline::new(spec)?.apply(&mut report)?;
    let outcome = decide(
        !report.errors.is_empty(),
        report.findings.iter().map(|f| f.severity).max(),
        spec.threshold,
    );
    output::emit(spec.output()?, report, sources)?;
    Ok(outcome)
}

/// The exit status: input errors first, then the worst finding against the threshold.
pub fn decide(errors: bool, worst: Option<Severity>, threshold: Option<Severity>) -> Outcome {
    if errors {
        Outcome::Error
    } else if worst.is_some_and(|w| threshold.is_some_and(|t| w >= t)) {
        Outcome::Findings
    } else {
        Outcome::Clean
    }
}

/// Resolves findings to resources and file positions, sorted for output.
pub fn resolve_objects<'a>(
    inv: &Inventory,
    result: RunResult,
    rules: Vec<&'static eksguard_model::RuleMeta>,
) -> Report<'a> {
    let resolve = |f: eksguard_model::Finding| {
        let rule = f.rule;
        let obj = inv.get(f.object);
        let location = obj.locate_in_file(&f.path).map(|(file, pos)| Location {
            file: file.to_string(),
            line: pos.line,
            column: pos.col,
        });
        // A finding that rests on a module's default says which one.
        let message = match obj.iac.as_ref().and_then(|i| i.default_note(&f.path)) {
            Some(note) => format!("{} ({note})", f.message),
            None => f.message,
        };
        Some(ReportFinding {
            rule,
            severity: f.severity,
            message,
            resource: obj.resource(),
            location,
            field_path: obj.report_path(&f.path).to_string(),
            event: None,
            facts: f.facts,
        })
    };
    let order = |a: &ReportFinding, b: &ReportFinding| {
        (&a.location, a.rule.id, &a.resource, &a.field_path).cmp(&(
            &b.location,
            b.rule.id,
            &b.resource,
            &b.field_path,
        ))
    };
    // Locating each finding walks its object's tree: on all cores.
    let mut findings: Vec<ReportFinding> = result
        .findings
        .into_par_iter()
        .filter_map(resolve)
        .collect();
    findings.par_sort_by(order);
    let mut suppressed_findings: Vec<SuppressedReportFinding> = result
        .suppressed
        .into_iter()
        .filter_map(|s| {
            Some(SuppressedReportFinding {
                finding: resolve(s.finding)?,
                note: s.note,
            })
        })
        .collect();
    suppressed_findings.sort_by(|a, b| order(&a.finding, &b.finding));
    Report {
        tool_version: env!("CARGO_PKG_VERSION"),
        rules,
        findings,
        errors: inv.errors.clone(),
        warnings: inv
            .warnings
            .iter()
            .cloned()
            .chain(result.warnings)
            .collect(),
        resources_scanned: inv.objects.len(),
        files_scanned: inv.files_scanned,
        files_skipped: Some(inv.files_skipped),
        suppressed: suppressed_findings.len(),
        audit: None,
        suppressed_findings,
        config: None,
    }
}

/// A finding on an event of `batch` as the reports show it: its event, the file (or
/// `LOG_GROUP/STREAM`) and line.
pub fn resolve_event(batch: &Batch<'_>, f: EventFinding) -> Option<ReportFinding> {
    let parsed = &batch.events[f.index];
    Some(ReportFinding {
        rule: f.hit.rule,
        severity: f.hit.severity,
        message: f.hit.message,
        resource: parsed.event.target(),
        location: Some(Location {
            file: batch.file.to_string(),
            line: parsed.line,
            column: 1,
        }),
        field_path: f.hit.path.to_string(),
        event: Some(Box::new(parsed.event.summary())),
        facts: Default::default(),
    })
}

/// `--baseline` and `--write-baseline` of one run.
pub struct Baseline {
    read: Option<PathBuf>,
    write: Option<PathBuf>,
    known: Option<BTreeSet<String>>,
    entries: Vec<BaselineEntry>,
}

impl Baseline {
    /// The files of `spec`; nothing read yet.
    pub fn new(spec: &RunSpec) -> anyhow::Result<Baseline> {
        Ok(Baseline {
            read: spec.baseline.clone(),
            write: spec.write_baseline.clone(),
            known: None,
            entries: Vec::new(),
        })
    }

    /// Reads the known findings now (a run over a stream judges as it goes).
    pub fn load(mut self) -> anyhow::Result<Baseline> {
        self.known = self.read.as_deref().map(baseline::read).transpose()?;
        Ok(self)
    }

    /// Whether the loaded baseline holds the finding.
    pub fn knows(&self, f: &ReportFinding) -> bool {
        self.known
            .as_ref()
            .is_some_and(|k| k.contains(&f.fingerprint()))
    }

    pub fn writing(&self) -> bool {
        self.write.is_some()
    }

    /// Records the findings for `--write-baseline`.
    pub fn record(&mut self, entries: impl IntoIterator<Item = BaselineEntry>) {
        self.entries.extend(entries);
    }

    /// What a finding hidden by the baseline is suppressed by.
    pub fn note(&self) -> SuppressionNote {
        SuppressionNote {
            source: SuppressionSource::Baseline,
            reason: self
                .read
                .as_deref()
                .map(|p| format!("in baseline {}", p.display()))
                .unwrap_or_default(),
            until: None,
        }
    }

    /// Writes the recorded findings to `--write-baseline`, if given.
    pub fn save(&mut self) -> anyhow::Result<()> {
        if let Some(path) = &self.write {
            let n = baseline::write(path, std::mem::take(&mut self.entries))?;
            baseline::written(path, n);
        }
        Ok(())
    }

    /// A whole report: records its findings, then moves the known ones to the
    /// suppressed.
    pub fn apply(mut self, report: &mut Report<'_>) -> anyhow::Result<()> {
        if self.writing() {
            self.record(report.findings.iter().map(BaselineEntry::of));
            self.save()?;
        }
        if self.read.is_none() {
            return Ok(());
        }
        let this = self.load()?;
        let (old, new): (Vec<ReportFinding>, Vec<ReportFinding>) =
            std::mem::take(&mut report.findings)
                .into_iter()
                .partition(|f| this.knows(f));
        report.findings = new;
        report.suppressed += old.len();
        let note = this.note();
        report
            .suppressed_findings
            .extend(old.into_iter().map(|finding| SuppressedReportFinding {
                finding,
                note: note.clone(),
            }));
        Ok(())
    }
}
