//! `--format asff` and `--security-hub`: the account, region and scope of the findings,
//! and their import into AWS Security Hub.

use anyhow::bail;
#[cfg(feature = "aws")]
use anyhow::Context;
use eksguard_report::asff::AsffTarget;
use eksguard_report::Report;

use crate::cli::ReportArgs;

/// The scope of a file scan: `path:` and the paths as given, made absolute, so two
/// checkouts of one repository are two scopes only when they are in two places.
pub fn path_scope(paths: &[std::path::PathBuf]) -> String {
    let shown: Vec<String> = paths
        .iter()
        .map(|p| {
            if p.as_os_str() == "-" {
                "-".to_string()
            } else {
                std::path::absolute(p)
                    .unwrap_or_else(|_| p.clone())
                    .display()
                    .to_string()
            }
        })
        .collect();
    format!("path:{}", shown.join(","))
}

fn now() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
}

/// Account and region from the flags, else from the AWS configuration and credentials
/// (STS `GetCallerIdentity` for the account).
pub fn target(args: &ReportArgs) -> anyhow::Result<AsffTarget> {
    let scope = args
        .security_hub_scope
        .clone()
        .unwrap_or_else(|| args.aws.scope.clone());
    #[cfg(feature = "aws")]
    {
        let t =
            eksguard_live::security_hub::target(&hub_options(args), args.aws_account.as_deref())
                .context("the AWS account and region of the findings")?;
        Ok(AsffTarget {
            account: t.account,
            region: t.region,
            partition: t.partition.to_string(),
            scope,
            now: now(),
        })
    }
    #[cfg(not(feature = "aws"))]
    {
        let region = args
            .aws
            .region
            .clone()
            .or_else(|| std::env::var("AWS_REGION").ok())
            .or_else(|| std::env::var("AWS_DEFAULT_REGION").ok());
        let (Some(account), Some(region)) = (args.aws_account.clone(), region) else {
            bail!("ASFF needs --aws-account and --region (or AWS_REGION) in a build without the `aws` feature");
        };
        let partition = eksguard_model::arn::partition_of(&region);
        Ok(AsffTarget {
            account,
            region,
            partition: partition.into(),
            scope,
            now: now(),
        })
    }
}

#[cfg(feature = "aws")]
pub fn hub_options(args: &ReportArgs) -> eksguard_live::security_hub::HubOptions {
    eksguard_live::security_hub::HubOptions {
        region: args.aws.region.clone(),
        profile: args.aws.profile.clone(),
        endpoint_url: args.aws.endpoint_url.clone(),
        credentials: None,
    }
}

/// Imports the report's findings and archives the gone ones of the same scope; a line on
/// standard error says what happened, and one line per finding Security Hub refused.
#[cfg(feature = "aws")]
pub fn send(args: &ReportArgs, report: &Report<'_>, target: &AsffTarget) -> anyhow::Result<()> {
    use eksguard_live::security_hub::{sync, Import};
    let import = Import {
        findings: eksguard_report::asff::findings(report, target),
        product_arn: target.product_arn(),
        scope_key: eksguard_report::asff::SCOPE_KEY.to_string(),
        scope: target.scope_value(),
        now: target.now.clone(),
        // What a run with input errors no longer finds is not known to be fixed.
        complete: report.errors.is_empty(),
    };
    let result = sync(&hub_options(args), import).context("Security Hub")?;
    eprintln!(
        "security hub: {} findings imported, {} archived, {} refused ({} in {}, scope {})",
        result.imported,
        result.archived,
        result.failed.len(),
        target.account,
        target.region,
        crate::term::shown(&target.scope)
    );
    if result.kept > 0 {
        eprintln!(
            "security hub: {} earlier findings kept: not found again, but this run could not read all its inputs",
            result.kept
        );
    }
    for f in &result.failed {
        eprintln!(
            "security hub: refused {}: {}: {}",
            crate::term::shown(&f.id),
            crate::term::shown(&f.code),
            crate::term::shown(&f.message)
        );
    }
    if !result.failed.is_empty() {
        bail!(
            "Security Hub refused {} of the findings",
            result.failed.len()
        );
    }
    Ok(())
}

#[cfg(not(feature = "aws"))]
pub fn send(_: &ReportArgs, _: &Report<'_>, _: &AsffTarget) -> anyhow::Result<()> {
    bail!("--security-hub needs a build with the `aws` feature")
}
