//! `/client/v4/accounts/{account_id}/access/organizations`: organization settings (docs/contract.md §7),
//! and `…/revoke_user`, which ends a user's sessions.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use seats_store::{OrganizationChange, OrganizationRecord, RevokeRequest};
use seats_types::{Envelope, Organization};
use serde_json::{json, Value};

use crate::auth::{Auth, Permission};
use crate::error::FailureEnvelope;
use crate::error::{ApiError, Problem};
use crate::extract::body::ObjectBody;
use crate::extract::query::QueryPairs;
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

/// The body of `revoke_user`, as the OpenAPI document describes it.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct RevokeUserBody {
    /// The email of the user to revoke.
    email: String,
    /// When `true`, the user's device registrations are revoked too.
    devices: Option<bool>,
    /// The id of the user to revoke; refused unless it is the id of the user with `email`.
    user_uid: Option<String>,
    /// Accepted; `seats` keeps no WARP session durations, so it changes nothing.
    warp_session_reauth: Option<bool>,
}

/// Revoke all Access tokens for a user
///
/// Ends the user's sessions (and, with `devices`, its device registrations); the user keeps
/// its seats. Answers `{"result": true, "success": true}`, as Cloudflare documents it.
#[utoipa::path(
    post,
    path = "/client/v4/accounts/{account_id}/access/organizations/revoke_user",
    operation_id = "zero-trust-organization-revoke-all-access-tokens-for-a-user",
    tag = "Zero Trust organization",
    params(
        ("account_id" = String, Path, description = "Identifier.", max_length = 32),
        ("devices" = Option<bool>, Query, description = "When `true`, all devices associated with the user will be revoked."),
    ),
    request_body(content = RevokeUserBody, content_type = "application/json"),
    responses(
        (status = 200, description = "Revoke all Access tokens for a user response", body = RevokeUserResponse),
        (status = "4XX", description = "Revoke all Access tokens for a user response failure", body = FailureEnvelope),
    ),
    security(("api_token" = []), ("api_email" = [], "api_key" = [])),
    extensions(("x-api-token-group" = json!(["Access: Organizations, Identity Providers, and Groups Write"]))),
)]
pub async fn revoke_user(
    State(state): State<AppState>,
    account: AccountId,
    auth: Auth,
    query: QueryPairs,
    body: JsonBody,
) -> Result<Json<RevokeUserResponse>, ApiError> {
    let access = auth.require(Permission::OrganizationsWrite, &account).await?;
    let query_devices = query.boolean("devices")?;
    let mut body = ObjectBody::new(body.read(&state.config).await?)?;
    let email = body.email("email", true);
    let user_uid = body.text("user_uid", false, seats_types::formats::MAX_NAME_CHARS);
    let body_devices = body.boolean("devices");
    body.boolean("warp_session_reauth");
    body.finish()?;
    let email = email.unwrap_or_default();
    let revoke = RevokeRequest {
        devices: body_devices.or(query_devices).unwrap_or(false),
        email,
        user_uid,
    };
    let not_found = || {
        let (pointer, what) = match &revoke.user_uid {
            Some(uid) => ("/user_uid", format!("email {:?} and user_uid {uid:?}", revoke.email)),
            None => ("/email", format!("email {:?}", revoke.email)),
        };
        ApiError::NotFound(vec![Problem::new(
            pointer,
            format!("no user with {what} in this account"),
        )])
    };
    state
        .store
        .revoke_user(access.account_id(), revoke.clone(), auth.actor(), state.clock.now())
        .await
        .map_err(|e| ApiError::from_store(e, not_found))?;
    Ok(Json(RevokeUserResponse {
        result: true,
        success: true,
    }))
}

/// What `revoke_user` answers: Cloudflare documents exactly these two fields.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct RevokeUserResponse {
    result: bool,
    success: bool,
}
