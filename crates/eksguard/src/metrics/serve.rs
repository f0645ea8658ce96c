//! The metrics of `eksguard serve`, on `GET /metrics` of its plain-HTTP listener.

use std::sync::atomic::AtomicU64;

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

type Labels<const N: usize> = [(&'static str, String); N];

pub struct Metrics {
    registry: Registry,
    /// Admission requests by operation, kind and decision.
    pub requests: Family<Labels<3>, Counter>,
    /// Time from the request's arrival to its answer, by endpoint.
    pub latency: Family<Labels<1>, Histogram>,
    /// New findings of admission requests, by rule and severity.
    pub admission_findings: Family<Labels<2>, Counter>,
    /// Bad requests by the status they got (400, 408, 413).
    pub rejected: Family<Labels<1>, Counter>,
    /// Rule panics and other internal failures, by where they happened.
    pub internal_errors: Family<Labels<1>, Counter>,
    /// 1 when the watch cache of a kind has synced.
    pub cache_synced: Family<Labels<1>, Gauge>,
    /// Objects in the watch cache, by kind.
    pub cache_objects: Family<Labels<1>, Gauge>,
    /// Re-lists after a watch ended in 410 Gone or failed, by kind.
    pub cache_relists: Family<Labels<1>, Counter>,
    /// Reloads of the certificate and key, by result.
    pub tls_reloads: Family<Labels<1>, Counter>,
    /// Findings of the latest full scan.
    pub findings: Family<Labels<4>, Gauge>,
    /// Unix time the latest scan finished, and whether it succeeded.
    pub last_scan_timestamp: Gauge<f64, AtomicU64>,
    pub last_scan_success: Gauge,
    pub scans: Family<Labels<1>, Counter>,
    /// Findings an `eksguard.io/ignore` annotation suppressed in a trusted namespace.
    pub annotation_suppressions: Family<Labels<2>, Counter>,
    /// Reviews being judged now.
    pub in_flight: Gauge,
    /// Review slots taken, from a slot's grant (before the body is read) to its release.
    pub slots_held: Gauge,
    /// Connections closed unserved, by reason (`per-peer`).
    pub connections_refused: Family<Labels<1>, Counter>,
    /// `/report` requests refused, by HTTP status (401, 403, 503).
    pub report_refusals: Family<Labels<1>, Counter>,
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("eksguard");
        let requests = Family::<Labels<3>, Counter>::default();
        let latency = Family::<Labels<1>, Histogram>::new_with_constructor(|| {
            // 100 µs to about 3 s.
            Histogram::new(exponential_buckets(0.0001, 2.0, 16))
        });
        let m = Metrics {
            requests,
            latency,
            admission_findings: Family::default(),
            rejected: Family::default(),
            internal_errors: Family::default(),
            cache_synced: Family::default(),
            cache_objects: Family::default(),
            cache_relists: Family::default(),
            tls_reloads: Family::default(),
            findings: Family::default(),
            last_scan_timestamp: Gauge::default(),
            last_scan_success: Gauge::default(),
            scans: Family::default(),
            annotation_suppressions: Family::default(),
            in_flight: Gauge::default(),
            slots_held: Gauge::default(),
            connections_refused: Family::default(),
            report_refusals: Family::default(),
            registry: Registry::default(),
        };
        registry.register(
            "admission_requests",
            "Admission requests by operation, kind and decision",
            m.requests.clone(),
        );
        registry.register(
            "request_duration_seconds",
            "Time to answer a request, by endpoint",
            m.latency.clone(),
        );
        registry.register(
            "admission_findings",
            "New findings in admission requests, by rule and severity",
            m.admission_findings.clone(),
        );
        registry.register(
            "rejected_requests",
            "Requests refused before judging, by HTTP status",
            m.rejected.clone(),
        );
        registry.register(
            "internal_errors",
            "Internal failures (a rule that panicked, a scan that failed), by stage",
            m.internal_errors.clone(),
        );
        registry.register(
            "cache_synced",
            "1 when the watch cache of the kind has synced",
            m.cache_synced.clone(),
        );
        registry.register(
            "cache_objects",
            "Objects in the watch cache, by kind",
            m.cache_objects.clone(),
        );
        registry.register(
            "cache_relists",
            "Full re-lists of a kind after its watch expired or failed",
            m.cache_relists.clone(),
        );
        registry.register(
            "tls_reloads",
            "Reloads of the TLS certificate and key, by result",
            m.tls_reloads.clone(),
        );
        registry.register(
            "findings",
            "Findings of the latest full scan",
            m.findings.clone(),
        );
        registry.register(
            "last_scan_timestamp_seconds",
            "Unix time the latest full scan finished",
            m.last_scan_timestamp.clone(),
        );
        registry.register(
            "last_scan_success",
            "1 when the latest full scan succeeded",
            m.last_scan_success.clone(),
        );
        registry.register("scans", "Full scans by result", m.scans.clone());
        registry.register(
            "admission_annotation_suppressions",
            "Findings suppressed at admission by an eksguard.io/ignore annotation, in a namespace trusted for it",
            m.annotation_suppressions.clone(),
        );
        registry.register(
            "admission_in_flight",
            "Admission reviews being judged",
            m.in_flight.clone(),
        );
        registry.register(
            "admission_slots_held",
            "Review slots taken, the body being read or the review judged",
            m.slots_held.clone(),
        );
        registry.register(
            "connections_refused",
            "Connections closed before serving, by reason",
            m.connections_refused.clone(),
        );
        registry.register(
            "report_refusals",
            "Requests for /report refused, by HTTP status",
            m.report_refusals.clone(),
        );
        Metrics { registry, ..m }
    }

    /// The text exposition of every metric.
    pub fn render(&self) -> String {
        // Writing to a String cannot fail.
        super::exposition(&self.registry).unwrap_or_default()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exposition_names_and_labels() {
        let m = Metrics::new();
        m.requests
            .get_or_create(&[
                ("operation", "CREATE".into()),
                ("kind", "Deployment".into()),
                ("decision", "denied".into()),
            ])
            .inc();
        m.findings
            .get_or_create(&[
                ("rule", "POD001".into()),
                ("severity", "critical".into()),
                ("namespace", "shop".into()),
                ("kind", "Deployment".into()),
            ])
            .set(2);
        let text = m.render();
        assert!(
            text.contains(
                r#"eksguard_admission_requests_total{operation="CREATE",kind="Deployment",decision="denied"} 1"#
            ),
            "{text}"
        );
        assert!(
            text.contains(
                r#"eksguard_findings{rule="POD001",severity="critical",namespace="shop",kind="Deployment"} 2"#
            ),
            "{text}"
        );
    }
}
