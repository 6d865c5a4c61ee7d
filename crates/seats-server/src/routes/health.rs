//! Liveness and readiness probes.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use seats_types::{Envelope, Message};
use serde::Serialize;
use utoipa::ToSchema;

use crate::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    pub status: &'static str,
}

/// Liveness: the process answers.
#[utoipa::path(get, path = "/healthz", tag = "Operations",
    responses((status = 200, description = "Alive", body = Envelope<Health>)))]
pub async fn healthz() -> Json<Envelope<Health>> {
    Json(Envelope::ok(Health { status: "ok" }))
}

/// Readiness: the storage answers.
#[utoipa::path(get, path = "/readyz", tag = "Operations",
    responses((status = 200, description = "Ready", body = Envelope<Health>),
              (status = 503, description = "Storage unreachable", body = crate::error::FailureEnvelope)))]
pub async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Envelope<Health>>) {
    match state.store.ping().await {
        Ok(()) => (StatusCode::OK, Json(Envelope::ok(Health { status: "ok" }))),
        Err(e) => {
            tracing::error!(error = %e, "readiness check failed");
            let msg = match e {
                seats_store::StoreError::Unavailable(_) => Message::new(10003, "storage unavailable"),
                _ => Message::new(10002, "storage unavailable"),
            };
            (StatusCode::SERVICE_UNAVAILABLE, Json(Envelope::failure(vec![msg])))
        }
    }
}
