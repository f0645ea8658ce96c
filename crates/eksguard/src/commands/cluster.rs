//! `eksguard cluster`: a live scan. The AWS part reads the EKS cluster and the IAM and EC2
//! resources around it; region and cluster name come from the flags or from the current
//! kubeconfig context when that is an EKS cluster ARN.

use eksguard_report::SourceCache;

use crate::cli::ClusterArgs;
use crate::live::read_live;
use crate::pipeline::{self, RunSpec};
use crate::Outcome;

pub fn run(args: ClusterArgs) -> anyhow::Result<Outcome> {
    let Some(mut spec) = RunSpec::from_flags(&args.check, Some(&args.inline), args.report.clone())
    else {
        return Ok(Outcome::Error);
    };
    let Some((inv, info)) = read_live(&args.kube, Some(&args.aws))? else {
        return Ok(Outcome::Error);
    };
    // Findings of one cluster in Security Hub: named by the EKS cluster when known.
    let name = info
        .cluster
        .or(info.context)
        .or(info.server)
        .unwrap_or_else(|| "in-cluster".into());
    spec.set_aws(crate::cli::AwsReportContext {
        region: args.aws.conn.region.clone(),
        profile: args.aws.conn.profile.clone(),
        endpoint_url: args.aws.conn.endpoint_url.clone(),
        scope: format!("cluster:{name}"),
    });
    let report = pipeline::judge_objects(&spec, &inv, eksguard_rules::registry::all());
    pipeline::finish(&spec, report, &SourceCache::new())
}
