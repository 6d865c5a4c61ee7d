//! Operator: accounts and their seat limits.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use seats_store::NewAccount;
use seats_types::{formats, Envelope, OperatorAccount, ResultInfo};

use super::{account_id_shape, account_view, existing_account, unknown, Operator};
use crate::error::ApiError;
use crate::error::FailureEnvelope;
use crate::extract::body::ObjectBody;
use crate::extract::query::Pagination;
use crate::extract::JsonBody;
use crate::AppState;

/// Create an account
#[utoipa::path(post, path = "/_seats/v1/accounts", tag = "Operator", operation_id = "seats-operator-accounts-create", request_body = seats_types::NewAccountRequest,
    responses((status = 201, body = Envelope<OperatorAccount>), (status = "4XX", body = FailureEnvelope)),
    security(("operator_key" = [])))]
pub async fn create(
    State(state): State<AppState>,
    _op: Operator,
    body: JsonBody,
) -> Result<(StatusCode, Json<Envelope<OperatorAccount>>), ApiError> {
    let mut body = ObjectBody::new(body.read(&state.config).await?)?;
    let id = body.string("id", false);
    if id.as_deref().is_some_and(|id| !formats::is_account_id(id)) {
        body.problem("/id", "id must be 32 lowercase hex characters");
    }
    let name = body.text("name", true, seats_types::formats::MAX_NAME_CHARS);
    let seat_limit = body.unsigned("seat_limit");
    body.finish()?;
    let account = NewAccount {
        id: id.unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string()),
        name: name.unwrap_or_default(),
        seat_limit: seat_limit.unwrap_or(seats_store::seed::DEFAULT_SEAT_LIMIT),
    };
    let created = state
        .store
        .create_account(account, seats_store::Actor::Operator, state.clock.now())
        .await?;
    Ok((StatusCode::CREATED, Json(Envelope::ok(account_view(created)))))
}

/// List accounts
#[utoipa::path(get, path = "/_seats/v1/accounts", tag = "Operator", operation_id = "seats-operator-accounts-list",
    params(("page" = Option<u64>, Query, minimum = 1, maximum = 9223372036854775807_i64), ("per_page" = Option<u64>, Query, minimum = 1, maximum = 1000)),
    responses((status = 200, body = Envelope<Vec<OperatorAccount>>), (status = "4XX", body = FailureEnvelope)),
    security(("operator_key" = [])))]
pub async fn list(
    State(state): State<AppState>,
    _op: Operator,
    page: Pagination,
) -> Result<Json<Envelope<Vec<OperatorAccount>>>, ApiError> {
    let all = state.store.accounts().await?;
    let result: Vec<OperatorAccount> = page.slice(&all).iter().cloned().map(account_view).collect();
    let info = ResultInfo::paged(page.page, page.per_page, result.len() as u64, all.len() as u64);
    Ok(Json(Envelope::page(result, info)))
}

/// Get an account, with its seats in use
#[utoipa::path(get, path = "/_seats/v1/accounts/{account_id}", tag = "Operator", operation_id = "seats-operator-accounts-get",
    params(("account_id" = String, Path)),
    responses((status = 200, body = Envelope<OperatorAccount>), (status = "4XX", body = FailureEnvelope)),
    security(("operator_key" = [])))]
pub async fn get(
    State(state): State<AppState>,
    _op: Operator,
    Path(id): Path<String>,
) -> Result<Json<Envelope<OperatorAccount>>, ApiError> {
    Ok(Json(Envelope::ok(account_view(existing_account(&state, &id).await?))))
}

/// Change an account's name or seat limit
///
/// Lowering the limit below the seats in use refuses new seats but removes nobody.
#[utoipa::path(patch, path = "/_seats/v1/accounts/{account_id}", tag = "Operator", operation_id = "seats-operator-accounts-update", request_body = seats_types::AccountUpdateRequest,
    params(("account_id" = String, Path)),
    responses((status = 200, body = Envelope<OperatorAccount>), (status = "4XX", body = FailureEnvelope)),
    security(("operator_key" = [])))]
pub async fn update(
    State(state): State<AppState>,
    _op: Operator,
    Path(id): Path<String>,
    body: JsonBody,
) -> Result<Json<Envelope<OperatorAccount>>, ApiError> {
    let mut body = ObjectBody::new(body.read(&state.config).await?)?;
    let name = body.text("name", false, seats_types::formats::MAX_NAME_CHARS);
    let seat_limit = body.unsigned("seat_limit");
    body.finish()?;
    account_id_shape(&id)?;
    let updated = state
        .store
        .update_account(&id, name, seat_limit, seats_store::Actor::Operator, state.clock.now())
        .await
        .map_err(|e| ApiError::from_store(e, || unknown("account", &id)))?;
    Ok(Json(Envelope::ok(account_view(updated))))
}
