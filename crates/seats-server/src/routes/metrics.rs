//! `GET /metrics`: Prometheus text exposition (see [`crate::metrics`]).

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use seats_store::secret::Secret;

use crate::AppState;

/// Prometheus metrics
#[utoipa::path(get, path = "/metrics", tag = "Operations",
    responses(
        (status = 200, description = "Prometheus text exposition format", content_type = "text/plain", body = String),
        (status = 401, description = "With --metrics-token: the token is missing or wrong", content_type = "text/plain", body = String),
    ))]
pub async fn metrics(State(state): State<AppState>, headers: HeaderMap) -> Response {
    // With --metrics-token, only its bearer reads the metrics; then they may name accounts.
    if let Some(expected) = state.config.metrics_token {
        let given = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(|t| Secret::new(t.trim()).hash());
        if given != Some(expected) {
            return (
                StatusCode::UNAUTHORIZED,
                [(header::WWW_AUTHENTICATE, "Bearer realm=\"metrics\"")],
                "send the metrics token as Authorization: Bearer\n",
            )
                .into_response();
        }
    }
    let per_account = state.config.metrics_account_labels || state.config.metrics_token.is_some();
    let Some(handle) = crate::metrics::handle() else {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "metrics are not exported by this process\n",
        )
            .into_response();
    };
    match state.store.accounts().await {
        Ok(accounts) => crate::metrics::accounts(&accounts, per_account),
        Err(e) => tracing::warn!(error = %e, "cannot read accounts for metrics"),
    }
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        handle.render(),
    )
        .into_response()
}
