//! Prometheus metrics, served on their own listener (`metrics_listen`) so that the public
//! port never exposes them.

use prometheus::{
    Encoder, Histogram, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry, TextEncoder,
};

/// The metrics of one process.
pub struct Metrics {
    registry: Registry,
    /// HTTP responses by status class (`2xx`, `4xx`...).
    pub http_requests: IntCounterVec,
    /// HTTP handling time by status class.
    pub http_duration: HistogramVec,
    /// Completed login steps by tenant, SP entity ID, source and outcome (`success`, `failure`).
    pub logins: IntCounterVec,
    /// Time from the SP's request to the signed response, for logins through the provider.
    pub login_duration: Histogram,
    /// Calls to upstream providers by step (`start_login`: discovery; `finish_login`: token
    /// exchange, JWKS, userinfo).
    pub upstream_duration: HistogramVec,
    /// Session-store operations by operation.
    pub store_duration: HistogramVec,
    /// Failed session-store operations by operation.
    pub store_errors: IntCounterVec,
    /// Logins waiting for the provider's callback, across all replicas (set at scrape time).
    pub pending_logins: IntGauge,
    /// Provisioning pushes waiting, across all replicas (set by each replica's worker).
    pub provisioning_queue_depth: IntGauge,
    /// Age in seconds of the oldest waiting provisioning push (0 when none waits).
    pub provisioning_oldest_pending_seconds: IntGauge,
    /// Provisioning pushes ended, by outcome (`create`, `update`, `deactivate`, `reactivate`,
    /// `unchanged`, `absent`, `retry`, `paused`, `failed`).
    pub provisioning_pushes: IntCounterVec,
    /// Seconds until each published signing certificate expires, by tenant and key state
    /// (`active`, `next`); read from the database at scrape time, so every replica agrees.
    pub signing_certificate_expiry_seconds: IntGaugeVec,
}

impl Metrics {
    /// A fresh registry with every Rosetta metric.
    pub fn new() -> Result<Self, prometheus::Error> {
        let registry = Registry::new();
        let http_requests = IntCounterVec::new(
            Opts::new("rosetta_http_requests_total", "HTTP responses by status class"),
            &["class"],
        )?;
        let http_duration = HistogramVec::new(
            HistogramOpts::new(
                "rosetta_http_request_duration_seconds",
                "HTTP handling time by status class",
            )
            .buckets(vec![0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5]),
            &["class"],
        )?;
        let logins = IntCounterVec::new(
            Opts::new(
                "rosetta_logins_total",
                "Brokered logins answered (success) or refused (failure)",
            ),
            &["tenant", "sp", "source", "outcome"],
        )?;
        let seconds = |name: &str, help: &str| {
            HistogramOpts::new(name, help).buckets(vec![
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
            ])
        };
        let login_duration = Histogram::with_opts(seconds(
            "rosetta_login_duration_seconds",
            "From the SP's request to the signed response",
        ))?;
        let upstream_duration = HistogramVec::new(
            seconds("rosetta_upstream_duration_seconds", "Calls to upstream providers"),
            &["step"],
        )?;
        let store_duration = HistogramVec::new(
            seconds("rosetta_store_duration_seconds", "Session-store operations"),
            &["op"],
        )?;
        let store_errors = IntCounterVec::new(
            Opts::new("rosetta_store_errors_total", "Failed session-store operations"),
            &["op"],
        )?;
        let pending_logins = IntGauge::new(
            "rosetta_pending_logins",
            "Logins waiting for the provider's callback (all replicas sharing the store)",
        )?;
        let provisioning_queue_depth = IntGauge::new(
            "rosetta_provisioning_queue_depth",
            "Provisioning pushes waiting (all replicas sharing the database)",
        )?;
        let provisioning_oldest_pending_seconds = IntGauge::new(
            "rosetta_provisioning_oldest_pending_seconds",
            "Age of the oldest waiting provisioning push",
        )?;
        let provisioning_pushes = IntCounterVec::new(
            Opts::new("rosetta_provisioning_pushes_total", "Provisioning pushes by outcome"),
            &["outcome"],
        )?;
        let signing_certificate_expiry_seconds = IntGaugeVec::new(
            Opts::new(
                "rosetta_signing_certificate_expiry_seconds",
                "Seconds until each published signing certificate expires (negative once it has)",
            ),
            &["tenant", "state"],
        )?;
        registry.register(Box::new(signing_certificate_expiry_seconds.clone()))?;
        registry.register(Box::new(provisioning_queue_depth.clone()))?;
        registry.register(Box::new(provisioning_oldest_pending_seconds.clone()))?;
        registry.register(Box::new(provisioning_pushes.clone()))?;
        registry.register(Box::new(pending_logins.clone()))?;
        registry.register(Box::new(login_duration.clone()))?;
        registry.register(Box::new(upstream_duration.clone()))?;
        registry.register(Box::new(store_duration.clone()))?;
        registry.register(Box::new(store_errors.clone()))?;
        registry.register(Box::new(http_requests.clone()))?;
        registry.register(Box::new(http_duration.clone()))?;
        registry.register(Box::new(logins.clone()))?;
        Ok(Self {
            registry,
            http_requests,
            http_duration,
            logins,
            login_duration,
            upstream_duration,
            store_duration,
            store_errors,
            pending_logins,
            provisioning_queue_depth,
            provisioning_oldest_pending_seconds,
            provisioning_pushes,
            signing_certificate_expiry_seconds,
        })
    }

    /// Records one HTTP response.
    pub fn observe_http(&self, status: u16, seconds: f64) {
        let class = match status {
            100..=199 => "1xx",
            200..=299 => "2xx",
            300..=399 => "3xx",
            400..=499 => "4xx",
            _ => "5xx",
        };
        self.http_requests.with_label_values(&[class]).inc();
        self.http_duration.with_label_values(&[class]).observe(seconds);
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        let mut out = Vec::new();
        if let Err(e) = TextEncoder::new().encode(&self.registry.gather(), &mut out) {
            tracing::error!(error = %e, "encoding metrics failed");
        }
        String::from_utf8(out).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_show_in_the_exposition() {
        let m = Metrics::new().unwrap();
        m.observe_http(204, 0.002);
        m.observe_http(404, 0.001);
        m.logins
            .with_label_values(&["acme", "https://sp", "corp", "success"])
            .inc();
        let text = m.render();
        assert!(text.contains("rosetta_http_requests_total{class=\"2xx\"} 1"), "{text}");
        assert!(text.contains("rosetta_http_requests_total{class=\"4xx\"} 1"), "{text}");
        assert!(
            text.contains(
                "rosetta_logins_total{outcome=\"success\",source=\"corp\",sp=\"https://sp\",tenant=\"acme\"} 1"
            ),
            "{text}"
        );
        assert!(text.contains("rosetta_http_request_duration_seconds_bucket"), "{text}");
    }
}
