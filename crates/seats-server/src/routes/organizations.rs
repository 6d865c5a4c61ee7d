//! `/client/v4/accounts/{account_id}/access/organizations`: organization settings (docs/contract.md §7).

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use seats_store::{OrganizationChange, OrganizationRecord};
use seats_types::{Envelope, Organization};
use serde_json::{json, Value};

use crate::auth::{Auth, Permission};
use crate::error::FailureEnvelope;
use crate::error::{ApiError, Problem};
use crate::extract::body::ObjectBody;
use crate::extract::{AccountId, JsonBody};
use crate::AppState;

fn no_organization() -> ApiError {
    ApiError::NotFound(vec![Problem::new("", "this account has no Zero Trust organization")])
}

/// The stored fields, with the timestamps, and the expiry setting `null` when off.
fn view(org: OrganizationRecord) -> Value {
    let mut fields = org.fields;
    fields
        .entry("user_seat_expiration_inactive_time")
        .or_insert(Value::Null);
    fields.insert("created_at".into(), json!(org.created_at));
    fields.insert("updated_at".into(), json!(org.updated_at));
    Value::Object(fields)
}

async fn parse(body: JsonBody, state: &AppState, create: bool) -> Result<serde_json::Map<String, Value>, ApiError> {
    let fields = ObjectBody::new(body.read(&state.config).await?)?.into_map();
    seats_store::organization::normalize(&fields, create)
        .map_err(|problems| ApiError::Invalid(problems.into_iter().map(|(p, m)| Problem::new(p, m)).collect()))
}

/// Get your Zero Trust organization
#[utoipa::path(
    get,
    path = "/client/v4/accounts/{account_id}/access/organizations",
    operation_id = "zero-trust-organization-get-your-zero-trust-organization",
    tag = "Zero Trust organization",
    params(("account_id" = String, Path, description = "Identifier.", max_length = 32)),
    responses(
        (status = 200, description = "Get your Zero Trust organization response", body = Envelope<Organization>),
        (status = "4XX", description = "Get your Zero Trust organization response failure", body = FailureEnvelope),
    ),
    security(("api_token" = []), ("api_email" = [], "api_key" = [])),
)]
#[tracing::instrument(skip_all)]
pub async fn get(
    State(state): State<AppState>,
    account: AccountId,
    auth: Auth,
) -> Result<Json<Envelope<Value>>, ApiError> {
    let access = auth.require(Permission::OrganizationsRead, &account).await?;
    let org = state
        .store
        .organization(access.account_id())
        .await?
        .ok_or_else(no_organization)?;
    Ok(Json(Envelope::ok(view(org))))
}

/// Create your Zero Trust organization
#[utoipa::path(
    post,
    path = "/client/v4/accounts/{account_id}/access/organizations",
    operation_id = "zero-trust-organization-create-your-zero-trust-organization",
    tag = "Zero Trust organization",
    params(("account_id" = String, Path, description = "Identifier.", max_length = 32)),
    request_body(content = Organization, content_type = "application/json"),
    responses(
        (status = 201, description = "Create your Zero Trust organization response", body = Envelope<Organization>),
        (status = "4XX", description = "Create your Zero Trust organization response failure", body = FailureEnvelope),
    ),
    security(("api_token" = []), ("api_email" = [], "api_key" = [])),
    extensions(("x-api-token-group" = json!(["Access: Organizations, Identity Providers, and Groups Write"]))),
)]
#[tracing::instrument(skip_all)]
pub async fn create(
    State(state): State<AppState>,
    account: AccountId,
    auth: Auth,
    body: JsonBody,
) -> Result<(StatusCode, Json<Envelope<Value>>), ApiError> {
    let access = auth.require(Permission::OrganizationsWrite, &account).await?;
    let fields = parse(body, &state, true).await?;
    let org = state
        .store
        .put_organization(
            access.account_id(),
            fields,
            OrganizationChange::Create,
            auth.actor(),
            state.clock.now(),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(Envelope::ok(view(org)))))
}

/// Update your Zero Trust organization
///
/// Changes the fields given and keeps the others.
#[utoipa::path(
    put,
    path = "/client/v4/accounts/{account_id}/access/organizations",
    operation_id = "zero-trust-organization-update-your-zero-trust-organization",
    tag = "Zero Trust organization",
    params(("account_id" = String, Path, description = "Identifier.", max_length = 32)),
    request_body(content = Organization, content_type = "application/json"),
    responses(
        (status = 200, description = "Update your Zero Trust organization response", body = Envelope<Organization>),
        (status = "4XX", description = "Update your Zero Trust organization response failure", body = FailureEnvelope),
    ),
    security(("api_token" = []), ("api_email" = [], "api_key" = [])),
    extensions(("x-api-token-group" = json!(["Access: Organizations, Identity Providers, and Groups Write"]))),
)]
#[tracing::instrument(skip_all)]
pub async fn update(
    State(state): State<AppState>,
    account: AccountId,
    auth: Auth,
    body: JsonBody,
) -> Result<Json<Envelope<Value>>, ApiError> {
    let access = auth.require(Permission::OrganizationsWrite, &account).await?;
    let fields = parse(body, &state, false).await?;
    let org = state
        .store
        .put_organization(
            access.account_id(),
            fields,
            OrganizationChange::Update,
            auth.actor(),
            state.clock.now(),
        )
        .await
        .map_err(|e| ApiError::from_store(e, no_organization))?;
    Ok(Json(Envelope::ok(view(org))))
}
