//! `eksguard serve`: the admission webhook and continuous scanning (see [`crate::serve`]).

use crate::cli::ServeArgs;
use crate::Outcome;

#[cfg(feature = "serve")]
pub fn run(args: ServeArgs) -> anyhow::Result<Outcome> {
    use crate::cli::CheckArgs;
    use crate::serve::admission::{Judge, Policy};
    use crate::serve::scanner::Scanner;
    use eksguard_sources::kube_live::KubeOptions;

    use super::scan;

    // Only the file named: a server's working directory is no place to look for one.
    let check = CheckArgs {
        select: Vec::new(),
        ignore: Vec::new(),
        config: args.config.clone(),
        no_config: args.config.is_none(),
        baseline: None,
        write_baseline: None,
    };
    let Some(cfg) = scan::load_config(&check) else {
        return Ok(Outcome::Error);
    };
    let tls = crate::serve::tls::Tls::load(&args.tls_cert, &args.tls_key)?;
    let policy = Policy {
        deny_on: scan::fail_threshold(Some(args.deny_on), None),
        warn_on: scan::fail_threshold(Some(args.warn_on), None),
        dry_run: args.dry_run,
        exempt: cfg.admission_exempt.clone(),
    };
    let judge = Judge::new(scan::engine_config(&check, &cfg), policy);
    let k = &args.kube;
    let watch = (!args.no_watch).then(|| KubeOptions {
        kubeconfig: k.kubeconfig.clone(),
        context: k.context.clone(),
        namespace: None,
        concurrency: k.concurrency,
        page_size: k.page_size.max(1),
        timeout: std::time::Duration::from_secs(k.request_timeout.max(1)),
        max_response_bytes: k.max_response_bytes,
        progress: false,
        rules_by_kind: Default::default(),
    });
    let scanner = args.scan_interval.map(|interval| Scanner {
        kube: crate::cli::KubeArgs {
            no_progress: true,
            ..args.kube.clone()
        },
        check: check.clone(),
        config: cfg.clone(),
        interval,
    });
    crate::serve::run(crate::serve::Options {
        listen: args.listen,
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
