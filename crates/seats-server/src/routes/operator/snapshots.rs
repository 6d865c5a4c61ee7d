//! Operator: reset the whole state to the start, and named snapshots (see
//! [`crate::toolkit::snapshots`]). Each reset or restore is one transaction of the store, so
//! requests arriving meanwhile see the state before or after it, never a mix.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use seats_store::export::Record;
use seats_types::{Envelope, NewSnapshot, Snapshot, StateRestored};
use serde_json::{json, Value};

use super::{unknown, Operator};
use crate::error::ApiError;
use crate::error::FailureEnvelope;
use crate::extract::body::ObjectBody;
use crate::extract::JsonBody;
use crate::toolkit::snapshots::{is_name, Content, ResetError};
use crate::AppState;

/// Reset to the start
///
/// Makes the state what it was right after the seed the server started with loaded
/// (`--seed`, `--demo`; none: empty), in one step; removes every fault rule, clears the
/// journal and puts a manual clock back to the real time. On SQLite a reset to the same seed
/// within an hour of the load that last read it puts back an image of that load's result.
/// Snapshots, the rate limit's windows and the operator key stay.
#[utoipa::path(post, path = "/_seats/v1/reset", tag = "Operator", operation_id = "seats-operator-snapshots-reset",
    responses((status = 200, body = Envelope<StateRestored>), (status = "4XX", body = FailureEnvelope)),
    security(("operator_key" = [])))]
pub async fn reset(State(state): State<AppState>, _op: Operator) -> Result<Json<Envelope<StateRestored>>, ApiError> {
    let now = || {
        if let Some(clock) = &state.manual_clock {
            clock.reset();
        }
        state.clock.now()
    };
    let restored = state
        .toolkit
        .seed_image
        .reset(&*state.store, state.start_seed.as_ref(), now)
        .await
        .map_err(|e| match e {
            ResetError::Seed(e) => ApiError::internal(format!("cannot read the start-up seed again: {e}")),
            ResetError::Store(e) => e.into(),
        })?;
    state.toolkit.faults.remove(None);
    state.toolkit.journal.clear();
    Ok(Json(Envelope::ok(restored)))
}

/// Take a snapshot
///
/// The whole state (accounts, users, seats, sessions, devices, logins, members, tokens by
/// hash, identity providers and SCIM resources, the audit log), kept in memory as `name`.
#[utoipa::path(post, path = "/_seats/v1/snapshots", tag = "Operator", operation_id = "seats-operator-snapshots-create",
    request_body = NewSnapshot,
    responses((status = 201, body = Envelope<Snapshot>), (status = "4XX", body = FailureEnvelope)),
    security(("operator_key" = [])))]
pub async fn create(
    State(state): State<AppState>,
    _op: Operator,
    body: JsonBody,
) -> Result<(StatusCode, Json<Envelope<Snapshot>>), ApiError> {
    let mut body = ObjectBody::new(body.read(&state.config).await?)?;
    let name = body.string("name", true);
    if let Some(name) = name.as_deref().filter(|n| !is_name(n)) {
        body.problem(
            "/name",
            format!("name must be 1 to 64 letters, digits, '.', '_' or '-', got {name:?}"),
        );
    }
    body.finish()?;
    let name = name.unwrap_or_default();
    if state.toolkit.snapshots.get(&name).is_some() {
        return Err(ApiError::Conflict(format!("a snapshot named {name} exists")));
    }
    let content = match state.store.image().await? {
        Some(image) => Content::Image(image),
        None => Content::Records(std::sync::Arc::new(state.store.export_records().await?)),
    };
    let taken = state
        .toolkit
        .snapshots
        .insert(&name, state.clock.now(), content)
        .ok_or_else(|| ApiError::Conflict(format!("a snapshot named {name} exists")))?;
    Ok((StatusCode::CREATED, Json(Envelope::ok(taken))))
}

/// Snapshots
#[utoipa::path(get, path = "/_seats/v1/snapshots", tag = "Operator", operation_id = "seats-operator-snapshots-list",
    responses((status = 200, body = Envelope<Vec<Snapshot>>), (status = "4XX", body = FailureEnvelope)),
    security(("operator_key" = [])))]
pub async fn list(State(state): State<AppState>, _op: Operator) -> Json<Envelope<Vec<Snapshot>>> {
    Json(Envelope::ok(state.toolkit.snapshots.list()))
}

/// Restore a snapshot
///
/// Replaces the whole state with the snapshot's, in one transaction. Fault rules, the journal
/// and the clock are left as they are.
#[utoipa::path(post, path = "/_seats/v1/snapshots/{name}/restore", tag = "Operator", operation_id = "seats-operator-snapshots-restore",
    params(("name" = String, Path, description = "The snapshot's name.", max_length = 64)),
    responses((status = 200, body = Envelope<StateRestored>), (status = "4XX", body = FailureEnvelope)),
    security(("operator_key" = [])))]
pub async fn restore(
    State(state): State<AppState>,
    _op: Operator,
    Path(name): Path<String>,
) -> Result<Json<Envelope<StateRestored>>, ApiError> {
    let content = state
        .toolkit
        .snapshots
        .get(&name)
        .ok_or_else(|| unknown("snapshot", &name))?;
    let summary = match content {
        Content::Image(image) => state.store.restore_image(&image).await?,
        Content::Records(records) => {
            let (tx, rx) = tokio::sync::mpsc::channel::<Record>(256);
            let feed = async move {
                for record in records.iter() {
                    if tx.send(record.clone()).await.is_err() {
                        break;
                    }
                }
            };
            let (summary, ()) = tokio::join!(state.store.restore(rx), feed);
            summary?
        }
    };
    Ok(Json(Envelope::ok(StateRestored {
        accounts: summary.accounts,
        users: summary.users,
    })))
}

/// Delete a snapshot
#[utoipa::path(delete, path = "/_seats/v1/snapshots/{name}", tag = "Operator", operation_id = "seats-operator-snapshots-delete",
    params(("name" = String, Path, description = "The snapshot's name.", max_length = 64)),
    responses((status = 200, description = "`{\"name\": ...}`", body = Envelope<Object>), (status = "4XX", body = FailureEnvelope)),
    security(("operator_key" = [])))]
pub async fn delete(
    State(state): State<AppState>,
    _op: Operator,
    Path(name): Path<String>,
) -> Result<Json<Envelope<Value>>, ApiError> {
    if !state.toolkit.snapshots.remove(&name) {
        return Err(unknown("snapshot", &name));
    }
    Ok(Json(Envelope::ok(json!({"name": name}))))
}
