//! Operator: fault rules (see [`crate::toolkit`]).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use seats_types::{Envelope, FaultRule, NewFaultRule};
use serde_json::{json, Value};

use super::{unknown, Operator};
use crate::error::FailureEnvelope;
use crate::error::{ApiError, Problem};
use crate::extract::JsonBody;
use crate::toolkit::faults;
use crate::AppState;

/// Add a fault rule
///
/// `{"match": {...}, "action": {...}, "times"?, "probability"?, "seed"?}`: see docs/testing.md,
/// "Fault rules". Never applies to the operator API.
#[utoipa::path(post, path = "/_seats/v1/faults", tag = "Operator", operation_id = "seats-operator-faults-create",
    request_body = NewFaultRule,
    responses((status = 201, body = Envelope<FaultRule>), (status = "4XX", body = FailureEnvelope)),
    security(("operator_key" = [])))]
pub async fn create(
    State(state): State<AppState>,
    _op: Operator,
    body: JsonBody,
) -> Result<(StatusCode, Json<Envelope<FaultRule>>), ApiError> {
    let value = body.read(&state.config).await?;
    let rule: NewFaultRule = serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let pointer = if path == "." {
            String::new()
        } else {
            format!("/{}", path.replace('.', "/"))
        };
        ApiError::Invalid(vec![Problem::new(pointer, e.inner().to_string())])
    })?;
    let problems = faults::check(&rule);
    if !problems.is_empty() {
        return Err(ApiError::Invalid(
            problems.into_iter().map(|(p, m)| Problem::new(p, m)).collect(),
        ));
    }
    Ok((StatusCode::CREATED, Json(Envelope::ok(state.toolkit.faults.add(rule)))))
}

/// Fault rules
#[utoipa::path(get, path = "/_seats/v1/faults", tag = "Operator", operation_id = "seats-operator-faults-list",
    responses((status = 200, body = Envelope<Vec<FaultRule>>), (status = "4XX", body = FailureEnvelope)),
    security(("operator_key" = [])))]
pub async fn list(State(state): State<AppState>, _op: Operator) -> Json<Envelope<Vec<FaultRule>>> {
    Json(Envelope::ok(state.toolkit.faults.list()))
}

/// Remove every fault rule
#[utoipa::path(delete, path = "/_seats/v1/faults", tag = "Operator", operation_id = "seats-operator-faults-clear",
    responses((status = 200, description = "`{\"removed\": n}`", body = Envelope<Object>), (status = "4XX", body = FailureEnvelope)),
    security(("operator_key" = [])))]
pub async fn clear(State(state): State<AppState>, _op: Operator) -> Json<Envelope<Value>> {
    Json(Envelope::ok(json!({"removed": state.toolkit.faults.remove(None)})))
}

/// Remove a fault rule
#[utoipa::path(delete, path = "/_seats/v1/faults/{fault_id}", tag = "Operator", operation_id = "seats-operator-faults-delete",
    params(("fault_id" = String, Path, description = "The rule's id (`fault-1`, ...).", max_length = 255)),
    responses((status = 200, description = "`{\"id\": ...}`", body = Envelope<Object>), (status = "4XX", body = FailureEnvelope)),
    security(("operator_key" = [])))]
pub async fn delete(
    State(state): State<AppState>,
    _op: Operator,
    Path(id): Path<String>,
) -> Result<Json<Envelope<Value>>, ApiError> {
    match state.toolkit.faults.remove(Some(&id)) {
        0 => Err(unknown("fault rule", &id)),
        _ => Ok(Json(Envelope::ok(json!({"id": id})))),
    }
}
