//! `eksguard node`: the kubelet configuration of a node as the kubelet sees it (file,
//! drop-ins, command-line flags) and the permissions of its files, through the NODE rules.

use eksguard_load::kubelet::{self, CommandLine, Origin};
use eksguard_load::node::{host_name, open_root, read_node, NodeError, NodeInput, NodeRead};
use eksguard_load::LoadOptions;
use eksguard_report::{Location, SourceCache};
use eksguard_rules::{registry, Rule};

use crate::cli::NodeArgs;
use crate::pipeline::{self, RunSpec};
use crate::Outcome;

pub fn run(args: NodeArgs) -> anyhow::Result<Outcome> {
    let Some(mut spec) = RunSpec::from_flags(&args.check, Some(&args.inline), args.report.clone())
    else {
        return Ok(Outcome::Error);
    };
    let node_fs = open_root(&args.root)?;
    // A node is known by its host name, read from the root given.
    let host = host_name(&node_fs).unwrap_or_else(|| args.root.display().to_string());
    spec.set_aws(crate::cli::AwsReportContext {
        region: args.hub.region.clone(),
        profile: args.hub.profile.clone(),
        endpoint_url: args.hub.endpoint_url.clone(),
        scope: format!("node:{host}"),
    });
    let input = NodeInput {
        kubelet_config: args.kubelet_config.as_deref(),
        kubeconfig: args.kubeconfig.as_deref(),
    };
    let NodeRead {
        inventory: inv,
        config: config_id,
        origins,
        cmdline,
    } = match read_node(&node_fs, input, &LoadOptions::default()) {
        Ok(read) => read,
        Err(NodeError::Config(errors)) => {
            for e in &errors {
                eprintln!("error: {}", super::shown(e));
            }
            return Ok(Outcome::Error);
        }
        Err(e) => return Err(e.into()),
    };

    let rules: Vec<&dyn Rule> = registry::all()
        .iter()
        .copied()
        // The rules that judge what this command gathers: those fed by node data.
        .filter(|r| r.meta().data.is_only(eksguard_model::Data::Node))
        .collect();
    // Selection, severities, parameters and suppressions as in `scan`, within the NODE
    // rules this command can feed.
    let mut report = pipeline::judge_objects(&spec, &inv, &rules);
    let config_ref = inv.get(config_id).resource();
    relocate(&mut report, &config_ref, &origins, cmdline.as_ref());
    pipeline::finish(&spec, report, &SourceCache::new())
}

/// Points findings on fields that a drop-in or a flag set at that drop-in or flag.
fn relocate(
    report: &mut eksguard_report::Report<'_>,
    config: &eksguard_model::ResourceRef,
    origins: &[Origin],
    cmdline: Option<&CommandLine>,
) {
    let suppressed = report
        .suppressed_findings
        .iter_mut()
        .map(|s| &mut s.finding);
    for f in report
        .findings
        .iter_mut()
        .chain(suppressed)
        .filter(|f| &f.resource == config)
    {
        let path = eksguard_model::FieldPath::parse(&f.field_path);
        let Some(o) = kubelet::origin_of(origins, &path) else {
            continue;
        };
        f.location = o.pos.map(|p| Location {
            file: o.file.clone(),
            line: p.line,
            column: p.col,
        });
        if let (Some(flag), Some(c)) = (&o.flag, cmdline) {
            f.message = format!("{} (set by `{flag}` in the {})", f.message, c.source);
        }
    }
    report.findings.sort_by(|a, b| {
        (&a.location, a.rule.id, &a.field_path).cmp(&(&b.location, b.rule.id, &b.field_path))
    });
}
