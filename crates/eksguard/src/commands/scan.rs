//! `eksguard scan`: load files, run the rules, report.

use eksguard_load::LoadOptions;
use eksguard_model::Inventory;
use eksguard_report::SourceCache;

use crate::cli::{AwsReportContext, ScanArgs};
use crate::config::Config;
use crate::pipeline::{self, RunSpec};
use crate::Outcome;

pub fn run(args: ScanArgs) -> anyhow::Result<Outcome> {
    let Some(mut spec) = RunSpec::from_flags(&args.check, Some(&args.inline), args.report.clone())
    else {
        return Ok(Outcome::Error);
    };
    spec.set_aws(AwsReportContext {
        region: args.hub.region.clone(),
        profile: args.hub.profile.clone(),
        endpoint_url: args.hub.endpoint_url.clone(),
        scope: crate::security_hub::path_scope(&args.paths),
    });
    let sources = SourceCache::new();
    let inv = load_inputs(&args, &spec.config, &sources)?;
    let report = pipeline::judge_objects(&spec, &inv, eksguard_rules::registry::all());
    let outcome = pipeline::finish(&spec, report, &sources);
    // The run ends here: freeing every node of every tree, one by one on one thread, took
    // a sixth of a corpus scan; the process's exit returns the memory at once.
    std::mem::forget(inv);
    outcome
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
