//! `--scan-interval`: the full `cluster` scan, run in the process on a timer with the same
//! rules and configuration. Each finished scan replaces the served report and the
//! `eksguard_findings` gauges; a failed one keeps both and is counted and logged.

use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use eksguard_report::{Format, RenderOptions, SourceCache};
use eksguard_rules::engine::Engine;
use eksguard_rules::registry;
use eksguard_rules::suppress::Date;

use super::metrics::Metrics;
use crate::cli::{AwsArgs, CheckArgs, KubeArgs};
use crate::commands::{cluster, scan};
use crate::config::Config;

/// The latest report, rendered once in each served format.
pub struct Latest {
    pub json: String,
    pub sarif: String,
    pub markdown: String,
}

#[derive(Default)]
pub struct Scans {
    latest: RwLock<Option<Arc<Latest>>>,
}

impl Scans {
    pub fn latest(&self) -> Option<Arc<Latest>> {
        self.latest.read().ok().and_then(|l| l.clone())
    }
}

/// What the scanner needs: where the cluster is and how to judge it.
pub struct Scanner {
    pub kube: KubeArgs,
    pub check: CheckArgs,
    pub config: Config,
    pub interval: Duration,
}

impl Scanner {
    /// Scans now and then every `interval`, on a thread of its own (the cluster read
    /// runs its own runtime, and a scan must not hold up admission requests).
    pub fn spawn(self, scans: Arc<Scans>, metrics: Arc<Metrics>) -> std::io::Result<()> {
        std::thread::Builder::new()
            .name("eksguard-scan".into())
            .spawn(move || loop {
                self.once(&scans, &metrics);
                std::thread::sleep(self.interval);
            })
            .map(|_| ())
    }

    /// One scan; updates `scans` and the metrics only when it succeeds.
    pub fn once(&self, scans: &Scans, metrics: &Metrics) {
        let started = std::time::Instant::now();
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.scan()));
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or(0.0);
        match outcome {
            Ok(Ok((latest, counts, findings))) => {
                if let Ok(mut l) = scans.latest.write() {
                    *l = Some(Arc::new(latest));
                }
                metrics.findings.clear();
                for ((rule, severity, namespace, kind), n) in counts {
                    metrics
                        .findings
                        .get_or_create(&[
                            ("rule", rule),
                            ("severity", severity),
                            ("namespace", namespace),
                            ("kind", kind),
                        ])
                        .set(n);
                }
                metrics.last_scan_timestamp.set(now);
                metrics.last_scan_success.set(1);
                metrics
                    .scans
                    .get_or_create(&[("result", "success".into())])
                    .inc();
                eprintln!(
                    "eksguard serve: scan finished in {:.1} s: {findings} findings",
                    started.elapsed().as_secs_f64()
                );
            }
            Ok(Err(e)) => self.failed(metrics, &format!("{e:#}")),
            Err(_) => self.failed(metrics, "the scan panicked"),
        }
    }

    fn failed(&self, metrics: &Metrics, why: &str) {
        metrics.last_scan_success.set(0);
        metrics
            .scans
            .get_or_create(&[("result", "failure".into())])
            .inc();
        metrics
            .internal_errors
            .get_or_create(&[("stage", "scan".into())])
            .inc();
        eprintln!(
            "eksguard serve: scan failed, the previous report is kept: {}",
            crate::commands::shown(why)
        );
    }

    #[allow(clippy::type_complexity)]
    fn scan(
        &self,
    ) -> anyhow::Result<(
        Latest,
        std::collections::BTreeMap<(String, String, String, String), i64>,
        usize,
    )> {
        let aws = AwsArgs {
            aws: false,
            aws_only: false,
            no_aws: false,
            cluster_name: None,
            conn: Default::default(),
        };
        let Some((inv, _)) = cluster::read_live(&self.kube, &aws)? else {
            anyhow::bail!("nothing could be read from the cluster");
        };
        if inv.objects.is_empty() && !inv.errors.is_empty() {
            let first = inv
                .errors
                .first()
                .map(|e| e.to_string())
                .unwrap_or_default();
            anyhow::bail!("nothing read from the cluster: {first}");
        }
        let engine = Engine::new(
            registry::all(),
            scan::engine_config(&self.check, &self.config),
        );
        let result = engine.run(&inv);
        let rules = engine.rules().iter().map(|r| r.meta()).collect();
        let mut report = scan::build_report(&inv, result, rules);
        report.config = Some(self.config.summary(Some(true), Date::today()));
        let mut counts = std::collections::BTreeMap::new();
        for f in &report.findings {
            *counts
                .entry((
                    f.rule.id.to_string(),
                    f.severity.as_str().to_string(),
                    f.resource.namespace.clone().unwrap_or_default(),
                    f.resource.kind.clone(),
                ))
                .or_insert(0) += 1;
        }
        let sources = SourceCache::new();
        let opts = RenderOptions {
            color: false,
            no_frames: true,
            show_suppressed: false,
            asff: None,
        };
        let render = |f| eksguard_report::render_to_string(f, &report, &sources, &opts);
        let latest = Latest {
            json: render(Format::Json),
            sarif: render(Format::Sarif),
            markdown: render(Format::Markdown),
        };
        Ok((latest, counts, report.findings.len()))
    }
}
