//! What the store reports through the `metrics` facade (the server exports it for Prometheus;
//! without a recorder installed these are no-ops).

use std::time::Duration;

/// One write transaction committed: how many requests it carried (SQLite's group commit; one
/// on PostgreSQL) and how long it took from begin to commit.
pub(crate) fn committed(group_size: usize, took: Duration) {
    metrics::histogram!("seats_store_write_group_size").record(group_size as f64);
    metrics::histogram!("seats_store_commit_seconds").record(took.as_secs_f64());
}

/// The database failed a statement or a transaction.
pub(crate) fn storage_error() {
    metrics::counter!("seats_store_errors_total").increment(1);
}
