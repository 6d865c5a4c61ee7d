//! Operator: members (an email with a global API key, on some accounts).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use seats_store::secret::Secret;
use seats_store::{MemberRecord, StoreError};
use seats_types::{formats, Envelope, OperatorMember, ResultInfo};
use serde_json::Value;

use super::{plausible, unknown, Operator};
use crate::auth::generate_secret;
use crate::error::FailureEnvelope;
use crate::error::{ApiError, Problem};
use crate::extract::body::ObjectBody;
use crate::extract::JsonBody;
use crate::AppState;

fn view(m: MemberRecord) -> OperatorMember {
    OperatorMember {
        email: m.email,
        accounts: m.accounts,
        api_key: None,
    }
}

/// Create a member; the key is shown once
#[utoipa::path(post, path = "/_seats/v1/members", tag = "Operator", operation_id = "seats-operator-members-create", request_body = seats_types::NewMemberRequest,
    responses((status = 201, body = Envelope<OperatorMember>), (status = "4XX", body = FailureEnvelope)),
    security(("operator_key" = [])))]
pub async fn create(
    State(state): State<AppState>,
    _op: Operator,
    body: JsonBody,
) -> Result<(StatusCode, Json<Envelope<OperatorMember>>), ApiError> {
    let mut body = ObjectBody::new(body.read(&state.config).await?)?;
    let email = body.email("email", true);
    let key = body.string("api_key", false);
    if key.as_deref().is_some_and(|k| !formats::is_api_key(k)) {
        body.problem("/api_key", "api_key must be 32-64 ASCII letters and digits");
    }
    let accounts: Vec<String> = match body.raw("accounts") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) if items.iter().all(Value::is_string) => {
            items.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect()
        }
        Some(_) => {
            body.problem("/accounts", "accounts must be an array of account ids");
            Vec::new()
        }
    };
    body.finish()?;
    let key = Secret::new(key.unwrap_or_else(|| generate_secret(40)));
    let email = email.unwrap_or_default();
    let created = state
        .store
        .create_member(
            &email,
            key.hash(),
            accounts.clone(),
            seats_store::Actor::Operator,
            state.clock.now(),
        )
        .await
        .map_err(|e| match e {
            StoreError::NotFound { positions } => ApiError::NotFound(
                positions
                    .into_iter()
                    .map(|i| Problem::new(format!("/accounts/{i}"), format!("no account {:?}", accounts[i])))
                    .collect(),
            ),
            other => other.into(),
        })?;
    let mut member = view(created);
    member.api_key = Some(key.expose().into());
    Ok((StatusCode::CREATED, Json(Envelope::ok(member))))
}

/// List members (never their keys)
#[utoipa::path(get, path = "/_seats/v1/members", tag = "Operator", operation_id = "seats-operator-members-list",
    responses((status = 200, body = Envelope<Vec<OperatorMember>>), (status = "4XX", body = FailureEnvelope)),
    security(("operator_key" = [])))]
pub async fn list(
    State(state): State<AppState>,
    _op: Operator,
) -> Result<Json<Envelope<Vec<OperatorMember>>>, ApiError> {
    let members: Vec<OperatorMember> = state.store.members().await?.into_iter().map(view).collect();
    let info = ResultInfo::single_page(members.len() as u64);
    Ok(Json(Envelope::page(members, info)))
}

/// Delete a member
#[utoipa::path(delete, path = "/_seats/v1/members/{email}", tag = "Operator", operation_id = "seats-operator-members-delete",
    params(("email" = String, Path)),
    responses((status = 200, body = Envelope<OperatorMember>), (status = "4XX", body = FailureEnvelope)),
    security(("operator_key" = [])))]
pub async fn delete(
    State(state): State<AppState>,
    _op: Operator,
    Path(email): Path<String>,
) -> Result<Json<Envelope<OperatorMember>>, ApiError> {
    plausible("member", &email)?;
    let member = state
        .store
        .member_by_email(&email)
        .await?
        .ok_or_else(|| unknown("member", &email))?;
    state
        .store
        .delete_member(&email, seats_store::Actor::Operator, state.clock.now())
        .await
        .map_err(|e| ApiError::from_store(e, || unknown("member", &email)))?;
    Ok(Json(Envelope::ok(view(member))))
}
