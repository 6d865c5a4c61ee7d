//! Prometheus metrics at `/metrics`, recorded through the `metrics` facade and exported by
//! `metrics-exporter-prometheus` (the process-wide recorder, installed by the first router
//! built).
//!
//! Series and their labels (cardinality bounded):
//! - `seats_http_requests_total{operation, status}` and
//!   `seats_http_request_duration_seconds{operation}` (a histogram): `operation` is the
//!   OpenAPI operation id (a fixed set), `scim` for SCIM endpoints, `none` for unrouted paths;
//! - `seats_accounts` counts the accounts, and `seats_seats_in_use` the seats in use of all
//!   of them, read at each scrape;
//! - only with `--metrics-account-labels`, or `--metrics-token` (which makes `/metrics` ask
//!   for that bearer token): `seats_account_seats_in_use{account}`,
//!   `seats_account_seat_limit{account}`, gauges for the first [`MAX_ACCOUNT_SERIES`] accounts
//!   (creation order). Off by default: `/metrics` asks for no credential, and an account id
//!   is what the API takes care not to reveal (403 10000 whether it exists or not);
//! - `seats_store_write_group_size`, `seats_store_commit_seconds` (histograms) and
//!   `seats_store_errors_total`, reported by the store.

use std::sync::OnceLock;
use std::time::Duration;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// Accounts that get gauges of their own.
pub const MAX_ACCOUNT_SERIES: usize = 100;

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// The exporter's handle; `None` when another recorder was installed in this process first.
pub fn handle() -> Option<&'static PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let seconds = [
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
            ];
            let sizes = [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0];
            let built = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &seconds)
                .and_then(|b| b.set_buckets_for_metric(Matcher::Full("seats_store_write_group_size".into()), &sizes))
                .and_then(|b| b.install_recorder());
            match built {
                Ok(handle) => Some(handle),
                Err(e) => {
                    tracing::warn!(error = %e, "metrics are not exported");
                    None
                }
            }
        })
        .as_ref()
}

/// One answered request.
pub fn request(operation: &str, status: u16, took: Duration) {
    let operation = operation.to_owned();
    metrics::counter!("seats_http_requests_total", "operation" => operation.clone(), "status" => status.to_string())
        .increment(1);
    metrics::histogram!("seats_http_request_duration_seconds", "operation" => operation).record(took.as_secs_f64());
}

/// The accounts and their seats in use; with `per_account`, seats in use and limits of (at
/// most [`MAX_ACCOUNT_SERIES`]) accounts by id.
pub fn accounts(accounts: &[seats_store::AccountRecord], per_account: bool) {
    metrics::gauge!("seats_accounts").set(accounts.len() as f64);
    let in_use: u64 = accounts.iter().map(|a| a.seats_in_use).sum();
    metrics::gauge!("seats_seats_in_use").set(in_use as f64);
    if !per_account {
        return;
    }
    for a in accounts.iter().take(MAX_ACCOUNT_SERIES) {
        metrics::gauge!("seats_account_seats_in_use", "account" => a.id.clone()).set(a.seats_in_use as f64);
        metrics::gauge!("seats_account_seat_limit", "account" => a.id.clone()).set(a.seat_limit as f64);
    }
}
