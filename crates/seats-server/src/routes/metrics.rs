//! `GET /metrics`: Prometheus text exposition (see [`crate::metrics`]).

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::AppState;

/// Prometheus metrics
#[utoipa::path(get, path = "/metrics", tag = "Operations",
    responses((status = 200, description = "Prometheus text exposition format", content_type = "text/plain", body = String)))]
pub async fn metrics(State(state): State<AppState>) -> Response {
    let Some(handle) = crate::metrics::handle() else {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "metrics are not exported by this process\n",
        )
            .into_response();
    };
    match state.store.accounts().await {
        Ok(accounts) => crate::metrics::accounts(&accounts, state.config.metrics_account_labels),
        Err(e) => tracing::warn!(error = %e, "cannot read accounts for metrics"),
    }
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        handle.render(),
    )
        .into_response()
}
