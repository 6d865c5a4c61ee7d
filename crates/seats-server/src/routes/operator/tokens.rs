//! Operator: API tokens. The value is shown once, at creation; only its hash is stored.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use seats_store::secret::Secret;
use seats_store::{NewToken, TokenRecord};
use seats_types::{formats, Envelope, OperatorToken, Policy, ResultInfo, TokenStatus};

use super::{plausible, unknown, Operator};
use crate::auth::generate_secret;
use crate::error::ApiError;
use crate::error::FailureEnvelope;
use crate::extract::body::ObjectBody;
use crate::extract::JsonBody;
use crate::AppState;

fn view(t: TokenRecord, state: &AppState) -> OperatorToken {
    OperatorToken {
        status: t.status_at(state.clock.now()),
        id: t.id,
        name: t.name,
        policies: t.policies,
        not_before: t.not_before,
        expires_on: t.expires_on,
        created_at: t.created_at,
        value: None,
    }
}

/// Create an API token; the value is shown once
#[utoipa::path(post, path = "/_seats/v1/tokens", tag = "Operator", operation_id = "seats-operator-tokens-create", request_body = seats_types::NewTokenRequest,
    responses((status = 201, body = Envelope<OperatorToken>), (status = "4XX", body = FailureEnvelope)),
    security(("operator_key" = [])))]
pub async fn create(
    State(state): State<AppState>,
    _op: Operator,
    body: JsonBody,
) -> Result<(StatusCode, Json<Envelope<OperatorToken>>), ApiError> {
    let mut body = ObjectBody::new(body.read(&state.config).await?)?;
    let name = body.text("name", true, seats_types::formats::MAX_NAME_CHARS);
    let value = body.string("value", false);
    if value.as_deref().is_some_and(|v| !formats::is_api_token(v)) {
        body.problem("/value", "value must be 1-255 characters of [A-Za-z0-9._~+/=-]");
    }
    let id = body.string("id", false);
    if id
        .as_deref()
        .is_some_and(|id| id.is_empty() || id.len() > 64 || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
    {
        body.problem("/id", "id must be 1-64 letters, digits or '-'");
    }
    let not_before = body.timestamp("not_before");
    let expires_on = body.timestamp("expires_on");
    let policies: Option<Vec<Policy>> = match body.raw("policies").cloned() {
        None => {
            body.problem("/policies", "policies is required");
            None
        }
        Some(raw) => match serde_json::from_value::<Vec<Policy>>(raw) {
            Ok(policies) => {
                for (i, policy) in policies.iter().enumerate() {
                    for p in seats_store::seed::policy_problems(policy) {
                        body.problem(format!("/policies/{i}{}", p.pointer), p.problem);
                    }
                }
                Some(policies)
            }
            Err(e) => {
                body.problem(
                    "/policies",
                    format!("policies must be a list of {{effect, resources, permission_groups}}: {e}"),
                );
                None
            }
        },
    };
    body.finish()?;
    let value = Secret::new(value.unwrap_or_else(|| generate_secret(40)));
    let token = NewToken {
        id: id.unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string()),
        name: name.unwrap_or_default(),
        value_hash: value.hash(),
        policies: policies.unwrap_or_default(),
        not_before,
        expires_on,
    };
    let created = state
        .store
        .create_token(token, seats_store::Actor::Operator, state.clock.now())
        .await?;
    let mut shown = view(created, &state);
    shown.value = Some(value.expose().into());
    Ok((StatusCode::CREATED, Json(Envelope::ok(shown))))
}

/// List API tokens (never their values)
#[utoipa::path(get, path = "/_seats/v1/tokens", tag = "Operator", operation_id = "seats-operator-tokens-list",
    responses((status = 200, body = Envelope<Vec<OperatorToken>>), (status = "4XX", body = FailureEnvelope)),
    security(("operator_key" = [])))]
pub async fn list(
    State(state): State<AppState>,
    _op: Operator,
) -> Result<Json<Envelope<Vec<OperatorToken>>>, ApiError> {
    let tokens: Vec<OperatorToken> = state
        .store
        .tokens()
        .await?
        .into_iter()
        .map(|t| view(t, &state))
        .collect();
    let info = ResultInfo::single_page(tokens.len() as u64);
    Ok(Json(Envelope::page(tokens, info)))
}

/// Enable or disable a token; takes effect on the next request
#[utoipa::path(patch, path = "/_seats/v1/tokens/{token_id}", tag = "Operator", operation_id = "seats-operator-tokens-update", request_body = seats_types::TokenStatusRequest,
    params(("token_id" = String, Path)),
    responses((status = 200, body = Envelope<OperatorToken>), (status = "4XX", body = FailureEnvelope)),
    security(("operator_key" = [])))]
pub async fn update(
    State(state): State<AppState>,
    _op: Operator,
    Path(id): Path<String>,
    body: JsonBody,
) -> Result<Json<Envelope<OperatorToken>>, ApiError> {
    let mut body = ObjectBody::new(body.read(&state.config).await?)?;
    let status = match body.string("status", true).as_deref() {
        Some("active") => Some(TokenStatus::Active),
        Some("disabled") => Some(TokenStatus::Disabled),
        Some(other) => {
            body.problem("/status", format!("status must be active or disabled, got {other:?}"));
            None
        }
        None => None,
    };
    body.finish()?;
    let status = status.unwrap_or(TokenStatus::Active);
    plausible("token", &id)?;
    let token = state
        .store
        .set_token_status(&id, status, seats_store::Actor::Operator, state.clock.now())
        .await
        .map_err(|e| ApiError::from_store(e, || unknown("token", &id)))?;
    Ok(Json(Envelope::ok(view(token, &state))))
}

/// Delete a token; takes effect on the next request
#[utoipa::path(delete, path = "/_seats/v1/tokens/{token_id}", tag = "Operator", operation_id = "seats-operator-tokens-delete",
    params(("token_id" = String, Path)),
    responses((status = 200, body = Envelope<OperatorToken>), (status = "4XX", body = FailureEnvelope)),
    security(("operator_key" = [])))]
pub async fn delete(
    State(state): State<AppState>,
    _op: Operator,
    Path(id): Path<String>,
) -> Result<Json<Envelope<OperatorToken>>, ApiError> {
    plausible("token", &id)?;
    let tokens = state.store.tokens().await?;
    let token = tokens
        .into_iter()
        .find(|t| t.id == id)
        .ok_or_else(|| unknown("token", &id))?;
    let shown = view(token, &state);
    state
        .store
        .delete_token(&id, seats_store::Actor::Operator, state.clock.now())
        .await
        .map_err(|e| ApiError::from_store(e, || unknown("token", &id)))?;
    Ok(Json(Envelope::ok(shown)))
}
