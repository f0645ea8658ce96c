//! `eksguard fleet`: every EKS cluster of the given accounts and regions.
//!
//! Three phases, each over a pool of `--concurrency` workers: enter each account (the
//! caller's own credentials in its own account, `--role-name` assumed elsewhere), list the
//! clusters of each region, then read each cluster — the AWS side through the EKS, IAM and
//! EC2 APIs, the Kubernetes API at the endpoint `DescribeCluster` gives, with an EKS token
//! signed from the account's credentials — and judge it. A cluster's objects are dropped
//! once judged, so memory follows the concurrency, not the size of the fleet.
//!
//! Nothing fails the run: an account not entered, a region not listed, a cluster not
//! described or whose API refused or could not be reached is a line of the report with
//! the reason, and the exit status is 2.
//!
//! For tests only, `EKSGUARD_TEST_EKS_API_ENDPOINTS` (`NAME=URL,…`, keyed by cluster name
//! or ARN) replaces the API server address of the clusters it names and drops their CA,
//! so a test can serve the Kubernetes API over plain HTTP on a local port.

use crate::cli::FleetArgs;
use crate::Outcome;

#[cfg(not(all(feature = "aws", feature = "cluster")))]
pub fn run(_args: FleetArgs) -> anyhow::Result<Outcome> {
    anyhow::bail!("this eksguard was built without AWS or Kubernetes support (cargo features `aws`, `cluster`)")
}

#[cfg(all(feature = "aws", feature = "cluster"))]
pub fn run(args: FleetArgs) -> anyhow::Result<Outcome> {
    live::run(args)
}

#[cfg(all(feature = "aws", feature = "cluster"))]
mod live {
    use std::sync::Mutex;

    use anyhow::{bail, Context};
    use eksguard_live::fleet_aws::{self, Credentials};
    use eksguard_report::asff::AsffTarget;
    use eksguard_report::fleet::{
        ClusterScope, FleetCluster, FleetProblem, FleetWriter, ReadStatus,
    };
    use eksguard_report::OutputFormat;
    use eksguard_report::{RenderOptions, SourceCache};
    use eksguard_rules::engine::Engine;
    use eksguard_rules::registry;

    use crate::cli::FleetArgs;
    use crate::live::eks::{principal_of, read_eks, ReadSettings};
    use crate::pipeline::{self, RunSpec};
    use crate::Outcome;

    /// An account entered: `None` credentials are the caller's own.
    struct Entered {
        account: String,
        credentials: Option<Credentials>,
        principal: Option<String>,
    }

    struct Found<'a> {
        entered: &'a Entered,
        region: String,
        name: String,
    }

    pub fn run(args: FleetArgs) -> anyhow::Result<Outcome> {
        if !matches!(
            args.report.format,
            OutputFormat::Text
                | OutputFormat::Json
                | OutputFormat::Sarif
                | OutputFormat::Asff
                | OutputFormat::Html
        ) {
            bail!("a fleet report is text, json, sarif, asff or html");
        }
        if args.check.baseline.is_some() || args.check.write_baseline.is_some() {
            bail!("baselines are per cluster: use `eksguard cluster` for --baseline and --write-baseline");
        }
        let Some(spec) = RunSpec::from_flags(&args.check, Some(&args.inline), args.report.clone())
        else {
            return Ok(Outcome::Error);
        };
        let workers = args.concurrency.max(1);
        let rt = runtime()?;
        let base = rt
            .block_on(fleet_aws::base_config(
                args.conn.region.as_deref(),
                args.conn.profile.as_deref(),
                args.conn.endpoint_url.as_deref(),
            ))
            .context("AWS configuration")?;
        let home = base.region().map(|r| r.to_string()).unwrap_or_default();
        let (caller_account, caller_arn) = rt
            .block_on(fleet_aws::caller_identity(&base))
            .context("who the AWS credentials are")?;
        let partition = eksguard_model::arn::partition_of(&home);

        let mut problems: Vec<FleetProblem> = Vec::new();
        let accounts: Vec<String> = if args.org {
            let listed = rt
                .block_on(fleet_aws::list_accounts(&base))
                .context("the organization's accounts")?;
            listed
                .into_iter()
                .filter(|a| a.status == "ACTIVE")
                .map(|a| a.id)
                .collect()
        } else if args.accounts.is_empty() {
            vec![caller_account.clone()]
        } else {
            let mut v = args.accounts.clone();
            v.retain(|a| !a.is_empty());
            v.dedup();
            v
        };
        drop(rt);

        // Phase 1: enter every account.
        let bar = Bar::new("accounts", accounts.len(), !args.no_progress);
        let entered = pool(accounts, workers, &bar, |rt, account| {
            if !(account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit())) {
                return Err((
                    account,
                    None,
                    "not an AWS account ID (12 digits)".to_string(),
                ));
            }
            if account == caller_account {
                return Ok(Entered {
                    account,
                    credentials: None,
                    principal: Some(principal_of(&caller_arn)),
                });
            }
            let Some(role) = &args.role_name else {
                return Err((
                    account,
                    None,
                    "not the caller's account, and no --role-name to assume in it".into(),
                ));
            };
            let role_arn = format!("arn:{partition}:iam::{account}:role/{role}");
            match rt.block_on(fleet_aws::assume_role(
                &base,
                &role_arn,
                args.external_id.as_deref(),
            )) {
                Ok(c) => Ok(Entered {
                    account,
                    credentials: Some(c),
                    principal: Some(role_arn),
                }),
                Err(e) => Err((account, None, e.to_string())),
            }
        })?;
        bar.finish();
        let entered: Vec<Entered> = keep_ok(entered, &mut problems);

        // Phase 2: the regions of each account, and the clusters of each region.
        let mut per_account: Vec<(&Entered, String)> = Vec::new();
        if args.all_regions {
            let bar = Bar::new("regions enabled", entered.len(), !args.no_progress);
            let listed = pool(
                entered.iter().collect(),
                workers,
                &bar,
                |rt, e: &Entered| {
                    let conf = fleet_aws::scoped_config(&base, &home, e.credentials.as_ref());
                    rt.block_on(fleet_aws::enabled_regions(&conf))
                        .map(|regions| (e, regions))
                        .map_err(|err| (e.account.clone(), None, err.to_string()))
                },
            )?;
            bar.finish();
            for (e, regions) in keep_ok(listed, &mut problems) {
                per_account.extend(regions.into_iter().map(|r| (e, r)));
            }
        } else {
            let regions = if args.regions.is_empty() {
                vec![home.clone()]
            } else {
                args.regions.clone()
            };
            for e in &entered {
                per_account.extend(regions.iter().map(|r| (e, r.clone())));
            }
        }
        let bar = Bar::new("listing clusters", per_account.len(), !args.no_progress);
        let listed = pool(per_account, workers, &bar, |rt, (e, region)| {
            let conf = fleet_aws::scoped_config(&base, &region, e.credentials.as_ref());
            match rt.block_on(fleet_aws::list_clusters(&conf)) {
                Ok(names) => Ok(names
                    .into_iter()
                    .map(|name| Found {
                        entered: e,
                        region: region.clone(),
                        name,
                    })
                    .collect::<Vec<_>>()),
                Err(err) => Err((e.account.clone(), Some(region), err.to_string())),
            }
        })?;
        bar.finish();
        let found: Vec<Found<'_>> = keep_ok(listed, &mut problems)
            .into_iter()
            .flatten()
            .collect();

        // Phase 3: read and judge each cluster.
        let settings = ReadSettings {
            aws_only: args.aws_only,
            concurrency: workers,
            request_timeout: std::time::Duration::from_secs(args.request_timeout.max(1)),
            max_response_bytes: args.max_response_bytes,
            progress: false,
            namespace: None,
        };
        let engine = Engine::new(registry::all(), spec.engine.clone());
        let config_summary = spec.config_summary();
        let now = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
        let to_file = args.report.output.is_some();
        let opts = RenderOptions {
            color: super::super::use_color(args.report.color, to_file),
            no_frames: true,
            show_suppressed: args.report.show_suppressed,
            asff: None,
        };
        let sources = SourceCache::new();
        // Each cluster's part of the report is written out once judged, and only its line
        // of the summary stays: memory follows the concurrency, not the fleet.
        let writer = FleetWriter::new(
            (!args.report.quiet).then_some(args.report.format),
            &sources,
            &opts,
        )?;
        let bar = Bar::new("reading clusters", found.len(), !args.no_progress);
        let found: Vec<(usize, Found<'_>)> = found.into_iter().enumerate().collect();
        let hub = pool(found, workers, &bar, |rt, (index, f)| {
            let conf = fleet_aws::scoped_config(&base, &f.region, f.entered.credentials.as_ref());
            let read = rt.block_on(read_eks(
                &conf,
                &f.name,
                &f.region,
                f.entered.principal.as_deref(),
                &settings,
            ));
            let result = engine.run(&read.inv);
            let rules = engine.rules().iter().map(|r| r.meta()).collect();
            let mut report = pipeline::resolve_objects(&read.inv, result, rules);
            drop(read.inv);
            report.config = Some(config_summary.clone());
            let scope = ClusterScope {
                account: f.entered.account.clone(),
                region: f.region.clone(),
                cluster: f.name.clone(),
            };
            let asff = AsffTarget {
                account: scope.account.clone(),
                region: scope.region.clone(),
                partition: eksguard_model::arn::partition_of(&scope.region).into(),
                scope: format!(
                    "cluster:{}",
                    read.arn.clone().unwrap_or_else(|| scope.label())
                ),
                now: now.clone(),
            };
            let cluster = FleetCluster {
                scope,
                status: read.status,
                reason: read.reason,
                report,
                asff: Some(asff),
            };
            writer.add(index, &cluster)?;
            Ok::<_, anyhow::Error>(if args.report.security_hub {
                send_to_hub(&args, &cluster, f.entered.credentials.clone())
            } else {
                None
            })
        })?;
        bar.finish();
        let mut hub_failed = false;
        for answer in hub {
            if let Some((line, failed)) = answer? {
                eprintln!("{line}");
                hub_failed |= failed;
            }
        }
        let lines = writer.lines()?;
        if !args.report.quiet {
            let mut out = super::super::open_output(args.report.output.as_deref())?;
            writer.finish(env!("CARGO_PKG_VERSION"), &problems, &mut out)?;
            out.flush()?;
        }
        let threshold = spec.threshold;
        let not_read = eksguard_report::fleet::not_read_lines(
            &problems,
            lines
                .iter()
                .map(|l| (&l.scope, l.status, l.reason.as_deref())),
        );
        Ok(if !not_read.is_empty() || hub_failed {
            Outcome::Error
        } else if lines
            .iter()
            .any(|l| threshold.is_some_and(|t| l.reaches(t)))
        {
            Outcome::Findings
        } else {
            Outcome::Clean
        })
    }

    use std::io::Write as _;

    /// A cluster's findings into Security Hub in its own account and region, archiving
    /// the gone findings of its scope: the line to show, and whether the import failed;
    /// `None` for a cluster with nothing to send.
    fn send_to_hub(
        args: &FleetArgs,
        c: &FleetCluster<'_>,
        credentials: Option<Credentials>,
    ) -> Option<(String, bool)> {
        use eksguard_live::security_hub::{sync, HubOptions, Import};
        let (Some(t), ReadStatus::Full | ReadStatus::AwsOnly) = (&c.asff, c.status) else {
            return None;
        };
        let opts = HubOptions {
            region: Some(c.scope.region.clone()),
            profile: args.conn.profile.clone(),
            endpoint_url: args.conn.endpoint_url.clone(),
            credentials,
        };
        let import = Import {
            findings: eksguard_report::asff::findings(&c.report, t),
            product_arn: t.product_arn(),
            scope_key: eksguard_report::asff::SCOPE_KEY.to_string(),
            scope: t.scope_value(),
            now: t.now.clone(),
            // Only a cluster read whole, without an error, may retire earlier
            // findings: an AWS-side-only read never saw the Kubernetes side.
            complete: matches!(c.status, ReadStatus::Full) && c.report.errors.is_empty(),
        };
        let label = super::super::shown(c.scope.label());
        Some(match sync(&opts, import) {
            Ok(r) => (
                format!(
                    "security hub: {label}: {} findings imported, {} archived, {} refused",
                    r.imported,
                    r.archived,
                    r.failed.len()
                ),
                !r.failed.is_empty(),
            ),
            Err(e) => (
                format!("security hub: {label}: {}", super::super::shown(e)),
                true,
            ),
        })
    }

    type Failed = (String, Option<String>, String);

    /// The successes; each failure becomes a line of the report.
    fn keep_ok<T>(results: Vec<Result<T, Failed>>, problems: &mut Vec<FleetProblem>) -> Vec<T> {
        results
            .into_iter()
            .filter_map(|r| match r {
                Ok(v) => Some(v),
                Err((account, region, reason)) => {
                    problems.push(FleetProblem {
                        account,
                        region,
                        reason,
                    });
                    None
                }
            })
            .collect()
    }

    fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("cannot start the async runtime")
    }

    /// Runs `f` over `items` on `workers` threads, each with its own runtime; results in
    /// the order of `items`.
    fn pool<T: Send, R: Send>(
        items: Vec<T>,
        workers: usize,
        bar: &Bar,
        f: impl Fn(&tokio::runtime::Runtime, T) -> R + Sync,
    ) -> anyhow::Result<Vec<R>> {
        let n = items.len();
        let queue = Mutex::new(items.into_iter().enumerate());
        let results: Mutex<Vec<Option<R>>> = Mutex::new((0..n).map(|_| None).collect());
        let threads = workers.min(n).max(1);
        std::thread::scope(|s| -> anyhow::Result<()> {
            let handles: Vec<_> = (0..threads)
                .map(|_| {
                    s.spawn(|| -> anyhow::Result<()> {
                        let rt = runtime()?;
                        loop {
                            let next = queue.lock().ok().and_then(|mut q| q.next());
                            let Some((i, item)) = next else {
                                return Ok(());
                            };
                            let r = f(&rt, item);
                            bar.inc();
                            if let Ok(mut all) = results.lock() {
                                all[i] = Some(r);
                            }
                        }
                    })
                })
                .collect();
            for h in handles {
                match h.join() {
                    Ok(r) => r?,
                    Err(_) => bail!("a worker thread failed"),
                }
            }
            Ok(())
        })?;
        let results = results
            .into_inner()
            .map_err(|_| anyhow::anyhow!("a worker thread failed"))?;
        results
            .into_iter()
            .map(|r| r.ok_or_else(|| anyhow::anyhow!("a worker left an item undone")))
            .collect()
    }

    /// A progress bar for one phase, drawn on standard error when it is a terminal.
    struct Bar(Option<indicatif::ProgressBar>);

    impl Bar {
        fn new(phase: &str, len: usize, wanted: bool) -> Bar {
            use std::io::IsTerminal;
            if !wanted || !std::io::stderr().is_terminal() || len == 0 {
                return Bar(None);
            }
            let bar = indicatif::ProgressBar::with_draw_target(
                Some(len as u64),
                indicatif::ProgressDrawTarget::stderr(),
            );
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{prefix:>17} [{bar:30}] {pos}/{len} {elapsed}",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
            bar.set_prefix(phase.to_string());
            Bar(Some(bar))
        }

        fn inc(&self) {
            if let Some(b) = &self.0 {
                b.inc(1);
            }
        }

        fn finish(&self) {
            if let Some(b) = &self.0 {
                b.finish();
            }
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn principals_of_sessions() {
            assert_eq!(
                principal_of("arn:aws:sts::111122223333:assumed-role/Scanner/eksguard"),
                "arn:aws:iam::111122223333:role/Scanner"
            );
            assert_eq!(
                principal_of("arn:aws:iam::111122223333:user/alice"),
                "arn:aws:iam::111122223333:user/alice"
            );
        }
    }
}
