//! Operator: the request journal (see [`crate::toolkit`]).

use axum::extract::State;
use axum::Json;
use seats_types::{Envelope, JournalEntry};
use serde_json::{json, Value};

use super::Operator;
use crate::error::FailureEnvelope;
use crate::error::{ApiError, Problem};
use crate::extract::query::QueryPairs;
use crate::toolkit::journal::JournalFilter;
use crate::AppState;

/// Most entries one query returns, and the default.
const MAX_LIMIT: usize = 10_000;

/// The request journal
///
/// Requests the server answered, oldest first (the newest `limit` that match). Filters:
/// `operation_id`, `account_id`, `method`, `status`, `since` (RFC 3339).
#[utoipa::path(get, path = "/_seats/v1/journal", tag = "Operator", operation_id = "seats-operator-journal-list",
    params(
        ("operation_id" = Option<String>, Query, description = "Only this OpenAPI operation."),
        ("account_id" = Option<String>, Query, description = "Only requests naming this account."),
        ("method" = Option<String>, Query, description = "Only this HTTP method."),
        ("status" = Option<u16>, Query, description = "Only answers with this status.", minimum = 100, maximum = 599),
        ("since" = Option<String>, Query, description = "Only requests that arrived at or after this time (RFC 3339)."),
        ("limit" = Option<u64>, Query, description = "At most this many (the newest).", minimum = 1, maximum = 10000),
    ),
    responses((status = 200, body = Envelope<Vec<JournalEntry>>), (status = "4XX", body = FailureEnvelope)),
    security(("operator_key" = [])))]
pub async fn list(
    State(state): State<AppState>,
    _op: Operator,
    query: QueryPairs,
) -> Result<Json<Envelope<Vec<JournalEntry>>>, ApiError> {
    let mut problems = Vec::new();
    let status = query.get("status").and_then(|raw| match raw.parse::<u16>() {
        Ok(s) if (100..=599).contains(&s) => Some(s),
        _ => {
            problems.push(Problem::new(
                "/status",
                format!("status must be an HTTP status, got {raw:?}"),
            ));
            None
        }
    });
    let since = query.get("since").and_then(|raw| match raw.parse() {
        Ok(t) => Some(t),
        Err(_) => {
            problems.push(Problem::new(
                "/since",
                format!("since must be an RFC 3339 time, got {raw:?}"),
            ));
            None
        }
    });
    let limit = match query.get("limit") {
        None => MAX_LIMIT,
        Some(raw) => match raw.parse::<usize>() {
            Ok(n) if (1..=MAX_LIMIT).contains(&n) => n,
            _ => {
                problems.push(Problem::new(
                    "/limit",
                    format!("limit must be an integer between 1 and {MAX_LIMIT}, got {raw:?}"),
                ));
                MAX_LIMIT
            }
        },
    };
    if !problems.is_empty() {
        return Err(ApiError::Invalid(problems));
    }
    let filter = JournalFilter {
        operation_id: query.get("operation_id").map(str::to_owned),
        account_id: query.get("account_id").map(str::to_owned),
        method: query.get("method").map(str::to_owned),
        status,
        since,
    };
    Ok(Json(Envelope::ok(state.toolkit.journal.query(&filter, limit))))
}

/// Clear the request journal
#[utoipa::path(delete, path = "/_seats/v1/journal", tag = "Operator", operation_id = "seats-operator-journal-clear",
    responses((status = 200, description = "`{\"cleared\": n}`", body = Envelope<Object>), (status = "4XX", body = FailureEnvelope)),
    security(("operator_key" = [])))]
pub async fn clear(State(state): State<AppState>, _op: Operator) -> Json<Envelope<Value>> {
    Json(Envelope::ok(json!({"cleared": state.toolkit.journal.clear()})))
}
