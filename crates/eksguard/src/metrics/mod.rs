//! Metrics in the Prometheus text format: those of `serve` ([`Metrics`]) and those of the
//! audit follower ([`FollowerMetrics`]), one exposition for both, and the plain-HTTP
//! listener of the follower (the server's listener also answers its probes and limits
//! its peers; see `serve`).

mod serve;

pub use serve::Metrics;

use std::sync::atomic::{AtomicI64, Ordering};
#[cfg(feature = "aws")]
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

/// The content type of the follower's `/metrics`.
const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The text exposition of every metric of `registry`.
fn exposition(registry: &Registry) -> Result<String, std::fmt::Error> {
    let mut body = String::new();
    encode(&mut body, registry)?;
    Ok(body)
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// The follower's metrics, served on `--metrics-listen`.
pub struct FollowerMetrics {
    registry: Registry,
    pub events_read: Counter,
    pub events_repeated: Counter,
    pub findings: Family<Vec<(String, String)>, Counter>,
    pub polls: Counter,
    pub errors: Family<Vec<(String, String)>, Counter>,
    pub lag: Gauge<f64, std::sync::atomic::AtomicU64>,
    pub streams: Gauge,
    pub delay: Histogram,
    /// Seconds since the epoch at the end of the last poll, failed or not.
    pub last_poll: AtomicI64,
    /// A poll counts as late after this long.
    pub stale_after: Duration,
}

impl FollowerMetrics {
    pub fn new(poll_interval: Duration) -> Self {
        let mut registry = Registry::default();
        let events_read = Counter::default();
        let events_repeated = Counter::default();
        let findings = Family::<Vec<(String, String)>, Counter>::default();
        let polls = Counter::default();
        let errors = Family::<Vec<(String, String)>, Counter>::default();
        let lag = Gauge::<f64, std::sync::atomic::AtomicU64>::default();
        let streams = Gauge::default();
        let delay = Histogram::new(exponential_buckets(0.25, 2.0, 12));
        registry.register(
            "eksguard_audit_events_read",
            "Audit events read from CloudWatch Logs and judged",
            events_read.clone(),
        );
        registry.register(
            "eksguard_audit_events_repeated",
            "Events read again within the look-back and skipped as judged already",
            events_repeated.clone(),
        );
        registry.register(
            "eksguard_audit_findings",
            "Findings written, by rule",
            findings.clone(),
        );
        registry.register(
            "eksguard_audit_polls",
            "Polls of the log group",
            polls.clone(),
        );
        registry.register(
            "eksguard_audit_errors",
            "Errors: failed API calls (after retries), unreadable events, checkpoint writes",
            errors.clone(),
        );
        registry.register(
            "eksguard_audit_lag_seconds",
            "How far the newest event judged is behind the newest event ingested, over the streams",
            lag.clone(),
        );
        registry.register(
            "eksguard_audit_streams",
            "Audit streams followed",
            streams.clone(),
        );
        registry.register(
            "eksguard_audit_ingestion_delay_seconds",
            "Time from an event's ingestion by CloudWatch Logs to its judgement",
            delay.clone(),
        );
        FollowerMetrics {
            registry,
            events_read,
            events_repeated,
            findings,
            polls,
            errors,
            lag,
            streams,
            delay,
            last_poll: AtomicI64::new(now_ms() / 1000),
            stale_after: poll_interval * 3 + Duration::from_secs(60),
        }
    }

    pub fn error(&self, kind: &str) {
        self.errors
            .get_or_create(&vec![("kind".into(), kind.into())])
            .inc();
    }

    /// `/metrics`: the text exposition format; `/healthz`: 200 while polls keep coming.
    pub fn respond(&self, path: &str) -> (u16, &'static str, String) {
        match path {
            "/metrics" => match exposition(&self.registry) {
                Ok(body) => (200, OPENMETRICS, body),
                Err(_) => (500, "text/plain", "cannot encode the metrics\n".into()),
            },
            "/healthz" => {
                let age = (now_ms() / 1000).saturating_sub(self.last_poll.load(Ordering::Relaxed));
                if u64::try_from(age).unwrap_or(0) <= self.stale_after.as_secs() {
                    (200, "text/plain", "ok\n".into())
                } else {
                    (503, "text/plain", format!("no poll for {age}s\n"))
                }
            }
            _ => (404, "text/plain", "not found\n".into()),
        }
    }
}

#[cfg(feature = "aws")]
/// Serves the metrics over plain HTTP/1 until the process ends.
pub async fn serve_plain(listener: tokio::net::TcpListener, metrics: Arc<FollowerMetrics>) {
    use http_body_util::Full;
    use hyper::body::Bytes;
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            // Out of file descriptors, say: wait rather than spin.
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        let metrics = metrics.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req: hyper::Request<_>| {
                let (status, ctype, body) = match *req.method() {
                    hyper::Method::GET => metrics.respond(req.uri().path()),
                    _ => (405, "text/plain", "method not allowed\n".into()),
                };
                let resp = hyper::Response::builder()
                    .status(status)
                    .header("content-type", ctype)
                    .body(Full::new(Bytes::from(body)));
                async move { resp }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(Duration::from_secs(10))
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                .await;
        });
    }
}
