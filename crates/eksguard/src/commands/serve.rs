//! `eksguard serve`: the admission webhook and continuous scanning (see [`crate::serve`]).

use crate::cli::ServeArgs;
use crate::Outcome;

#[cfg(feature = "serve")]
pub fn run(args: ServeArgs) -> anyhow::Result<Outcome> {
    use crate::pipeline::{fail_threshold, RunSpec, Selection};
    use crate::serve::admission::{Judge, Policy};
    use crate::serve::scanner::Scanner;
    use eksguard_live::kube_live::KubeOptions;

    let Some(spec) = RunSpec::judging(&Selection::file_only(args.config.as_deref())) else {
        return Ok(Outcome::Error);
    };
    let cfg = &spec.config;
    let tls = crate::serve::tls::Tls::load(&args.tls_cert, &args.tls_key)?;
    let mut policy = Policy {
        deny_on: fail_threshold(Some(args.deny_on), None),
        warn_on: fail_threshold(Some(args.warn_on), None),
        dry_run: args.dry_run,
        exempt: cfg.admission_exempt.clone(),
        trust_annotations_in: args.trust_annotations_in.clone(),
        ..Policy::default()
    };
    if !args.controller_user.is_empty() {
        policy.controllers = args.controller_user.clone();
    }
    let report_access = match &args.report_access {
        Some(a) => Some(
            a.parse::<crate::serve::auth::ReportAccess>()
                .map_err(|e| anyhow::anyhow!("--report-access `{a}`: {e}"))?,
        ),
        None => None,
    };
    let judge = Judge::new(spec.engine.clone(), policy);
    let k = &args.kube;
    let kube_options = || KubeOptions {
        kubeconfig: k.kubeconfig.clone(),
        context: k.context.clone(),
        namespace: None,
        concurrency: k.concurrency,
        page_size: k.page_size.max(1),
        timeout: std::time::Duration::from_secs(k.request_timeout.max(1)),
        max_response_bytes: k.max_response_bytes,
        progress: false,
        rules_by_kind: Default::default(),
    };
    let watch = (!args.no_watch).then(kube_options);
    let report = report_access.map(|a| (kube_options(), a));
    let scanner = args.scan_interval.map(|interval| Scanner {
        kube: crate::cli::KubeArgs {
            no_progress: true,
            ..args.kube.clone()
        },
        spec: spec.clone(),
        interval,
    });
    crate::serve::run(crate::serve::Options {
        listen: args.listen,
        metrics_listen: args.metrics_listen,
        max_reviews: args.max_concurrent_reviews.into(),
        max_per_peer: args.max_connections_per_peer.into(),
        report,
        tls,
        judge,
        watch,
        watch_required: k.kubeconfig.is_some() || k.context.is_some(),
        scanner,
        shutdown_delay: args.shutdown_delay,
    })?;
    Ok(Outcome::Clean)
}

#[cfg(not(feature = "serve"))]
pub fn run(_args: ServeArgs) -> anyhow::Result<Outcome> {
    anyhow::bail!("this eksguard was built without the webhook (cargo feature `serve`)")
}
