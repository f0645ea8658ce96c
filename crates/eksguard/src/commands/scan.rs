//! `eksguard scan`: load files, run the rules, report.

use std::collections::BTreeSet;

use rayon::prelude::*;

use eksguard_load::LoadOptions;
use eksguard_model::{Inventory, Severity, SuppressionNote, SuppressionSource};
use eksguard_report::{
    Format, Location, RenderOptions, Report, ReportFinding, SourceCache, SuppressedReportFinding,
};
use eksguard_rules::engine::{Engine, EngineConfig, RunResult};
use eksguard_rules::registry;
use eksguard_rules::suppress::Date;

use crate::baseline::{self, BaselineEntry};
use crate::cli::{
    AwsReportContext, CheckArgs, FailOn, FormatArg, InlineArgs, ReportArgs, ScanArgs,
};
use crate::config::{self, Config, Origin};
use crate::Outcome;

pub fn run(mut args: ScanArgs) -> anyhow::Result<Outcome> {
    let Some(cfg) = load_config(&args.check) else {
        return Ok(Outcome::Error);
    };
    args.report.aws = AwsReportContext {
        region: args.hub.region.clone(),
        profile: args.hub.profile.clone(),
        endpoint_url: args.hub.endpoint_url.clone(),
        scope: crate::security_hub::path_scope(&args.paths),
    };
    let sources = SourceCache::new();
    let inv = load_inputs(&args, &cfg, &sources)?;
    let outcome = check_and_report(
        &args.check,
        &args.inline,
        &args.report,
        &cfg,
        &inv,
        &sources,
    );
    // The run ends here: freeing every node of every tree, one by one on one thread, took
    // a sixth of a corpus scan; the process's exit returns the memory at once.
    std::mem::forget(inv);
    outcome
}

/// Runs the engine over `inv`, applies the baseline and writes the report: the part every
/// command that reports findings shares.
pub fn check_and_report(
    check: &CheckArgs,
    inline: &InlineArgs,
    report_args: &ReportArgs,
    cfg: &Config,
    inv: &Inventory,
    sources: &SourceCache,
) -> anyhow::Result<Outcome> {
    let mut config = engine_config(check, cfg);
    config.ignore_inline = inline.no_inline_suppressions;
    let engine = Engine::new(registry::all(), config);
    let result = engine.run(inv);
    let rules = engine.rules().iter().map(|r| r.meta()).collect();
    let mut report = build_report(inv, result, rules);
    report.config = Some(cfg.summary(Some(!inline.no_inline_suppressions), Date::today()));
    apply_baseline(check, &mut report)?;

    let threshold = run_threshold(check, report_args, cfg);
    emit(report_args, &report, sources)?;
    Ok(outcome(&report, threshold))
}

/// Rule selection, severities, parameters and suppressions from flags and configuration.
pub fn engine_config(check: &CheckArgs, cfg: &Config) -> EngineConfig {
    let mut select = if check.select.is_empty() {
        cfg.select.clone()
    } else {
        check.select.clone()
    };
    select.retain(|s| !s.is_empty());
    EngineConfig {
        select,
        ignore: cfg.ignore.iter().chain(&check.ignore).cloned().collect(),
        severity_overrides: cfg.severity_overrides.clone(),
        params: cfg.params.clone(),
        suppressions: cfg.suppressions.clone(),
        today: None,
        ignore_inline: false,
    }
}

/// `--write-baseline` and `--baseline`: records the findings, or drops the known ones.
pub fn apply_baseline(check: &CheckArgs, report: &mut Report<'_>) -> anyhow::Result<()> {
    if let Some(path) = &check.write_baseline {
        let entries = report.findings.iter().map(BaselineEntry::of).collect();
        let n = baseline::write(path, entries)?;
        baseline::written(path, n);
    }
    if let Some(path) = &check.baseline {
        let known: BTreeSet<String> = baseline::read(path)?;
        let (old, new): (Vec<ReportFinding>, Vec<ReportFinding>) =
            std::mem::take(&mut report.findings)
                .into_iter()
                .partition(|f| known.contains(&f.fingerprint()));
        report.findings = new;
        report.suppressed += old.len();
        let reason = format!("in baseline {}", path.display());
        report
            .suppressed_findings
            .extend(old.into_iter().map(|finding| SuppressedReportFinding {
                finding,
                note: SuppressionNote {
                    source: SuppressionSource::Baseline,
                    reason: reason.clone(),
                    until: None,
                },
            }));
    }
    Ok(())
}

/// The configuration `--config`/`--no-config` name or discovery finds; `None` after
/// printing its errors.
pub fn load_config(check: &CheckArgs) -> Option<Config> {
    let (path, origin) = match (&check.config, check.no_config) {
        (Some(p), _) => (Some(p.clone()), Origin::Flag),
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
    let flag_errors: Vec<String> = [("--select", &check.select), ("--ignore", &check.ignore)]
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
            eprintln!("error: {}", super::shown(e));
        }
        if let Err(errors) = &loaded {
            for e in errors {
                eprintln!("error: {}", super::shown(e));
            }
        }
        return None;
    }
    match loaded {
        Ok(c) => Some(Config { origin, ..c }),
        Err(errors) => {
            for e in errors {
                eprintln!("error: {}", super::shown(e));
            }
            None
        }
    }
}

fn load_inputs(args: &ScanArgs, cfg: &Config, sources: &SourceCache) -> anyhow::Result<Inventory> {
    let mut opts = LoadOptions::default();
    if let Some(ns) = args
        .namespace
        .clone()
        .or_else(|| cfg.default_namespace.clone())
    {
        opts.default_namespace = ns;
    }
    if let Some(mb) = cfg.max_file_size_mb {
        opts.max_file_size = mb * 1024 * 1024;
    }
    opts.excludes = cfg.exclude.iter().chain(&args.exclude).cloned().collect();
    opts.var_files = args.var_file.clone();
    opts.helm.values = args.helm_values.clone();
    opts.helm.set = args.helm_set.clone();
    super::load_paths(&args.paths, &opts, Some(sources))
}

/// Resolves findings to resources and file positions, sorted for output.
pub fn build_report<'a>(
    inv: &Inventory,
    result: RunResult,
    rules: Vec<&'static eksguard_model::RuleMeta>,
) -> Report<'a> {
    let resolve = |f: eksguard_model::Finding| {
        let rule = registry::find(f.rule_id)?.meta();
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

/// The failure threshold of a run: none when it writes a baseline, whose findings are
/// what the run is for.
pub fn run_threshold(check: &CheckArgs, report: &ReportArgs, cfg: &Config) -> Option<Severity> {
    match check.write_baseline {
        Some(_) => None,
        None => fail_threshold(report.fail_on, cfg.fail_on),
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

pub fn outcome(report: &Report<'_>, threshold: Option<Severity>) -> Outcome {
    if !report.errors.is_empty() {
        Outcome::Error
    } else if threshold.is_some_and(|t| report.findings.iter().any(|f| f.severity >= t)) {
        Outcome::Findings
    } else {
        Outcome::Clean
    }
}

pub fn format_of(f: FormatArg) -> Format {
    match f {
        FormatArg::Text => Format::Text,
        FormatArg::Json => Format::Json,
        FormatArg::Sarif => Format::Sarif,
        FormatArg::Junit => Format::Junit,
        FormatArg::Markdown => Format::Markdown,
        FormatArg::Jsonl => Format::Jsonl,
        FormatArg::Html => Format::Html,
        FormatArg::Asff => Format::Asff,
        FormatArg::Concise => Format::Concise,
    }
}

/// Writes the report where `--output`/`--quiet` say, and sends it to Security Hub with
/// `--security-hub`.
pub fn emit(args: &ReportArgs, report: &Report<'_>, sources: &SourceCache) -> anyhow::Result<()> {
    let asff = match args.format == FormatArg::Asff || args.security_hub {
        true => Some(crate::security_hub::target(args)?),
        false => None,
    };
    if let (true, Some(t)) = (args.security_hub, &asff) {
        crate::security_hub::send(args, report, t)?;
    }
    errors_to_stderr(args, &report.errors);
    if args.quiet && args.output.is_none() {
        return Ok(());
    }
    let opts = RenderOptions {
        color: super::use_color(args.color, args.output.is_some()),
        no_frames: false,
        show_suppressed: args.show_suppressed,
        asff,
    };
    let mut out = super::open_output(args.output.as_deref())?;
    eksguard_report::render(format_of(args.format), report, sources, &opts, &mut out)?;
    out.flush()?;
    Ok(())
}

/// Input errors reach standard error whatever `--quiet`, `--output` and `--format` say:
/// `--quiet` hides findings, never errors. Only a text report on a terminal already
/// shows them there.
pub fn errors_to_stderr(args: &ReportArgs, errors: &[eksguard_model::InputError]) {
    use std::io::IsTerminal;
    let in_report = matches!(args.format, FormatArg::Text | FormatArg::Concise)
        && !args.quiet
        && args.output.is_none()
        && std::io::stdout().is_terminal();
    if in_report {
        return;
    }
    for e in errors {
        eprintln!("error: {}", super::shown(e));
    }
}

use std::io::Write as _;
