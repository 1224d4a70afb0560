//! What an operator sees of the running server: the metrics (served at `/metrics`, see
//! `operator.rs`), each request's span with its id (`http`), and the log's format (`logs`).
//!
//! `metrics` + `metrics-exporter-prometheus` rather than the `prometheus` crate: `metrics`'s
//! macros are free when no recorder is installed, so a shop without the token pays nothing,
//! and the names and labels live in one module (`record`), not in registry plumbing.

pub mod http;
pub mod logs;
pub mod record;

use std::sync::OnceLock;
use std::time::Duration;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::server::config::MetricsToken;

/// The process's recorder: `metrics` has one global recorder, so every server built in this
/// process (the tests build several) shares it.
static RECORDER: OnceLock<PrometheusHandle> = OnceLock::new();

/// `/metrics`'s exporter: the recorder's handle and the token that reads it.
#[derive(Clone)]
pub struct Exporter {
    handle: PrometheusHandle,
    token: MetricsToken,
}

impl Exporter {
    /// Installs the recorder (once per process) and describes the metrics.
    pub fn install(token: MetricsToken) -> Result<Exporter, String> {
        if let Some(handle) = RECORDER.get() {
            return Ok(Exporter {
                handle: handle.clone(),
                token,
            });
        }
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(
                Matcher::Suffix("_seconds".to_owned()),
                &record::SECONDS_BUCKETS,
            )
            .map_err(|err| err.to_string())?
            .build_recorder();
        let handle = recorder.handle();
        // Another thread may have installed one meanwhile: then that one serves.
        if metrics::set_global_recorder(recorder).is_ok() {
            let _ = RECORDER.set(handle);
            record::describe();
        }
        let handle = RECORDER
            .get()
            .cloned()
            .ok_or("another metrics recorder is installed in this process")?;
        Ok(Exporter { handle, token })
    }

    /// The token that reads the metrics.
    pub fn token(&self) -> &MetricsToken {
        &self.token
    }

    /// The metrics in Prometheus' text format.
    pub fn render(&self) -> String {
        self.handle.render()
    }

    /// Drains the histograms' samples now and then, so memory stays flat between scrapes.
    pub fn spawn_upkeep(&self, mut stop: tokio::sync::watch::Receiver<bool>) {
        let handle = self.handle.clone();
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(Duration::from_secs(5));
            loop {
                tokio::select! {
                    _ = ticks.tick() => handle.run_upkeep(),
                    _ = stop.wait_for(|stopping| *stopping) => break,
                }
            }
        });
    }
}
