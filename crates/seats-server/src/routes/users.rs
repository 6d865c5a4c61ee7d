//! `/client/v4/accounts/{account_id}/access/users`: users, and what they did (docs/contract.md §6).

use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::Json;
use seats_store::{LoginRecord, LoginResult, UserFilter, UserRecord, Via};
use seats_types::{ActiveSession, Envelope, FailedLogin, ResultInfo, User, UserCreateParams, UserUpdateParams};
use serde_json::json;

use crate::auth::{AccountAccess, Auth, Permission};
use crate::error::FailureEnvelope;
use crate::error::{ApiError, Problem};
use crate::extract::body::ObjectBody;
use crate::extract::query::{Pagination, QueryPairs};
use crate::extract::{path_param, AccountId, JsonBody};
use crate::AppState;

/// Lifetime of the record of a refused login, reported as its `expiration` [ours].
const FAILED_LOGIN_TTL_SECS: i64 = 24 * 3600;

/// The `{user_id}` of the path, as given: checked only at the lookup stage, after credentials.
#[derive(Debug, Clone)]
pub struct UserIdPath(String);

impl<S: Send + Sync> FromRequestParts<S> for UserIdPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let id = path_param(parts, state, "user_id").await;
        id.map(UserIdPath).ok_or(ApiError::NoRoute)
    }
}

/// 404 12130 for a user id the account does not have.
pub fn user_not_found(id: &str) -> ApiError {
    ApiError::NotFound(vec![Problem::new(
        "",
        format!("no user with id {id:?} in this account"),
    )])
}

impl UserIdPath {
    /// The user of `account_id`, or 404 12130 (a user id that is not a UUID included), for
    /// a caller whose access to the account is already checked.
    pub async fn load_in(&self, state: &AppState, account_id: &str) -> Result<UserRecord, ApiError> {
        if uuid::Uuid::parse_str(&self.0).is_err() {
            return Err(user_not_found(&self.0));
        }
        state
            .store
            .user(account_id, &self.0, state.clock.now())
            .await?
            .ok_or_else(|| user_not_found(&self.0))
    }

    /// The user, or 404 12130 (a user id that is not a UUID included).
    async fn load(&self, state: &AppState, access: &AccountAccess) -> Result<UserRecord, ApiError> {
        self.load_in(state, access.account_id()).await
    }
}

/// The API view of a stored user.
pub fn user_view(u: UserRecord) -> User {
    User {
        uid: Some(u.id.clone()),
        id: Some(u.id),
        email: Some(u.email),
        name: Some(u.name),
        seat_uid: Some(u.seat_uid),
        access_seat: Some(u.access_seat),
        gateway_seat: Some(u.gateway_seat),
        active_device_count: Some(u.active_device_count),
        last_successful_login: u.last_successful_login,
        created_at: Some(u.created_at),
        updated_at: Some(u.updated_at),
    }
}

/// Get users
#[utoipa::path(
    get,
    path = "/client/v4/accounts/{account_id}/access/users",
    operation_id = "zero-trust-users-get-users",
    tag = "Zero Trust users",
    params(
        ("account_id" = String, Path, description = "Identifier.", max_length = 32),
        ("name" = Option<String>, Query, description = "The name of the user."),
        ("email" = Option<String>, Query, description = "The email of the user."),
        ("search" = Option<String>, Query, description = "Search for users by other listed query parameters."),
        ("page" = Option<u64>, Query, description = "Page number, from 1.", minimum = 1, maximum = 9223372036854775807_i64),
        ("per_page" = Option<u64>, Query, description = "Results per page.", minimum = 1, maximum = 1000),
    ),
    responses(
        (status = 200, description = "Get users response", body = Envelope<Vec<User>>),
        (status = "4XX", description = "Get users response failure", body = FailureEnvelope),
    ),
    security(("api_token" = []), ("api_email" = [], "api_key" = [])),
    extensions(("x-api-token-group" = json!(["Access: Audit Logs Read"]))),
)]
pub async fn list(
    State(state): State<AppState>,
    account: AccountId,
    auth: Auth,
    query: QueryPairs,
) -> Result<Json<Envelope<Vec<User>>>, ApiError> {
    let access = auth.require(Permission::AuditLogsRead, &account).await?;
    let page = Pagination::parse(&query)?;
    // Filters follow the text rule of the fields they match (no value past it can match).
    let problems: Vec<Problem> = ["email", "name", "search"]
        .into_iter()
        .filter_map(|name| {
            let value = query.get(name)?;
            seats_types::formats::text_problem(name, value, seats_types::formats::MAX_NAME_CHARS)
                .map(|problem| Problem::new(format!("/{name}"), problem))
        })
        .collect();
    if !problems.is_empty() {
        return Err(ApiError::Invalid(problems));
    }
    let filter = UserFilter {
        email: query.get("email").map(str::to_owned),
        name: query.get("name").map(str::to_owned),
        search: query.get("search").filter(|s| !s.is_empty()).map(str::to_owned),
    };
    let (users, total) = state
        .store
        .list_users(access.account_id(), filter, page.page, page.per_page, state.clock.now())
        .await?;
    let info = ResultInfo::paged(page.page, page.per_page, users.len() as u64, total);
    Ok(Json(Envelope::page(users.into_iter().map(user_view).collect(), info)))
}

/// Create a user
#[utoipa::path(
    post,
    path = "/client/v4/accounts/{account_id}/access/users",
    operation_id = "zero-trust-users-create-user",
    tag = "Zero Trust users",
    params(("account_id" = String, Path, description = "Identifier.", max_length = 32)),
    request_body(content = UserCreateParams, content_type = "application/json"),
    responses(
        (status = 201, description = "Create a user response", body = Envelope<User>),
        (status = "4XX", description = "Create a user response failure", body = FailureEnvelope),
    ),
    security(("api_token" = []), ("api_email" = [], "api_key" = [])),
)]
pub async fn create(
    State(state): State<AppState>,
    account: AccountId,
    auth: Auth,
    body: JsonBody,
) -> Result<(StatusCode, Json<Envelope<User>>), ApiError> {
    let access = auth.require(Permission::SeatsWrite, &account).await?;
    let mut body = ObjectBody::new(body.read(&state.config).await?)?;
    let email = body.email("email", true);
    let name = body
        .text("name", false, seats_types::formats::MAX_NAME_CHARS)
        .unwrap_or_default();
    body.finish()?;
    let email = email.unwrap_or_default();
    let user = state
        .store
        .create_user(access.account_id(), &email, &name, auth.actor(), state.clock.now())
        .await?;
    Ok((StatusCode::CREATED, Json(Envelope::ok(user_view(user)))))
}

/// Get a user
#[utoipa::path(
    get,
    path = "/client/v4/accounts/{account_id}/access/users/{user_id}",
    operation_id = "zero-trust-users-get-user",
    tag = "Zero Trust users",
    params(("account_id" = String, Path, max_length = 32), ("user_id" = String, Path, description = "UUID", max_length = 36)),
    responses(
        (status = 200, description = "Get a user response", body = Envelope<User>),
        (status = "4XX", description = "Get a user response failure", body = FailureEnvelope),
    ),
    security(("api_token" = []), ("api_email" = [], "api_key" = [])),
    extensions(("x-api-token-group" = json!(["Access: Audit Logs Read"]))),
)]
pub async fn get(
    State(state): State<AppState>,
    account: AccountId,
    user_id: UserIdPath,
    auth: Auth,
) -> Result<Json<Envelope<User>>, ApiError> {
    let access = auth.require(Permission::AuditLogsRead, &account).await?;
    Ok(Json(Envelope::ok(user_view(user_id.load(&state, &access).await?))))
}

/// Update a user
///
/// Changes the name; the email cannot change.
#[utoipa::path(
    put,
    path = "/client/v4/accounts/{account_id}/access/users/{user_id}",
    operation_id = "zero-trust-users-update-user",
    tag = "Zero Trust users",
    params(("account_id" = String, Path, max_length = 32), ("user_id" = String, Path, description = "UUID", max_length = 36)),
    request_body(content = UserUpdateParams, content_type = "application/json"),
    responses(
        (status = 200, description = "Update a user response", body = Envelope<User>),
        (status = "4XX", description = "Update a user response failure", body = FailureEnvelope),
    ),
    security(("api_token" = []), ("api_email" = [], "api_key" = [])),
    extensions(("x-api-token-group" = json!(["Zero Trust: Seats Write"]))),
)]
pub async fn update(
    State(state): State<AppState>,
    account: AccountId,
    user_id: UserIdPath,
    auth: Auth,
    body: JsonBody,
) -> Result<Json<Envelope<User>>, ApiError> {
    let access = auth.require(Permission::SeatsWrite, &account).await?;
    let mut body = ObjectBody::new(body.read(&state.config).await?)?;
    let email = body.email("email", true);
    let name = body.text("name", true, seats_types::formats::MAX_NAME_CHARS);
    body.finish()?;
    let user = user_id.load(&state, &access).await?;
    let (email, name) = (email.unwrap_or_default(), name.unwrap_or_default());
    if !email.eq_ignore_ascii_case(&user.email) {
        return Err(ApiError::Invalid(vec![Problem::new(
            "/email",
            format!("email cannot be changed (the user's email is {})", user.email),
        )]));
    }
    let user = state
        .store
        .rename_user(access.account_id(), &user.id, &name, auth.actor(), state.clock.now())
        .await
        .map_err(|e| ApiError::from_store(e, || user_not_found(&user_id.0)))?;
    Ok(Json(Envelope::ok(user_view(user))))
}

/// Delete a user
///
/// Frees the user's seat, ends their sessions and device registrations, and removes them.
#[utoipa::path(
    delete,
    path = "/client/v4/accounts/{account_id}/access/users/{user_id}",
    operation_id = "zero-trust-users-delete-user",
    tag = "Zero Trust users",
    params(("account_id" = String, Path, max_length = 32), ("user_id" = String, Path, description = "UUID", max_length = 36)),
    responses(
        (status = 202, description = "Delete a user response (`result` is null)", body = Envelope<serde_json::Value>),
        (status = "4XX", description = "Delete a user response failure", body = FailureEnvelope),
    ),
    security(("api_token" = []), ("api_email" = [], "api_key" = [])),
)]
pub async fn delete(
    State(state): State<AppState>,
    account: AccountId,
    user_id: UserIdPath,
    auth: Auth,
) -> Result<(StatusCode, Json<Envelope<()>>), ApiError> {
    let access = auth.require(Permission::SeatsWrite, &account).await?;
    let user = user_id.load(&state, &access).await?;
    state
        .store
        .delete_user(access.account_id(), &user.id, auth.actor(), state.clock.now())
        .await
        .map_err(|e| ApiError::from_store(e, || user_not_found(&user_id.0)))?;
    let envelope = Envelope {
        success: true,
        errors: vec![],
        messages: vec![],
        result: None,
        result_info: None,
    };
    Ok((StatusCode::ACCEPTED, Json(envelope)))
}

/// Get active sessions
#[utoipa::path(
    get,
    path = "/client/v4/accounts/{account_id}/access/users/{user_id}/active_sessions",
    operation_id = "zero-trust-users-get-active-sessions",
    tag = "Zero Trust users",
    params(("account_id" = String, Path, max_length = 32), ("user_id" = String, Path, description = "UUID", max_length = 36)),
    responses(
        (status = 200, description = "Get active sessions response", body = Envelope<Vec<ActiveSession>>),
        (status = "4XX", description = "Get active sessions response failure", body = FailureEnvelope),
    ),
    security(("api_token" = []), ("api_email" = [], "api_key" = [])),
    extensions(("x-api-token-group" = json!(["Access: Audit Logs Read"]))),
)]
pub async fn active_sessions(
    State(state): State<AppState>,
    account: AccountId,
    user_id: UserIdPath,
    auth: Auth,
) -> Result<Json<Envelope<Vec<ActiveSession>>>, ApiError> {
    let access = auth.require(Permission::AuditLogsRead, &account).await?;
    let user = user_id.load(&state, &access).await?;
    let activity = activity(&state, &access, &user).await?;
    let sessions: Vec<ActiveSession> = activity
        .sessions
        .into_iter()
        .map(|s| {
            let (iat, exp) = (secs(s.created_at), secs(s.expires_at));
            ActiveSession {
                expiration: Some(exp),
                metadata: Some(json!({"apps": {}, "expires": exp, "iat": iat, "nonce": s.id, "ttl": exp - iat})),
                name: Some(user.name.clone()),
            }
        })
        .collect();
    Ok(Json(Envelope::page(
        sessions.clone(),
        ResultInfo::single_page(sessions.len() as u64),
    )))
}

/// Get failed logins
#[utoipa::path(
    get,
    path = "/client/v4/accounts/{account_id}/access/users/{user_id}/failed_logins",
    operation_id = "zero-trust-users-get-failed-logins",
    tag = "Zero Trust users",
    params(("account_id" = String, Path, max_length = 32), ("user_id" = String, Path, description = "UUID", max_length = 36)),
    responses(
        (status = 200, description = "Get failed logins response", body = Envelope<Vec<FailedLogin>>),
        (status = "4XX", description = "Get failed logins response failure", body = FailureEnvelope),
    ),
    security(("api_token" = []), ("api_email" = [], "api_key" = [])),
    extensions(("x-api-token-group" = json!(["Access: Audit Logs Read"]))),
)]
pub async fn failed_logins(
    State(state): State<AppState>,
    account: AccountId,
    user_id: UserIdPath,
    auth: Auth,
) -> Result<Json<Envelope<Vec<FailedLogin>>>, ApiError> {
    let access = auth.require(Permission::AuditLogsRead, &account).await?;
    let user = user_id.load(&state, &access).await?;
    let failed: Vec<FailedLogin> = activity(&state, &access, &user)
        .await?
        .failed_logins
        .into_iter()
        .map(|l| FailedLogin {
            expiration: Some(secs(l.at) + FAILED_LOGIN_TTL_SECS),
            metadata: Some(login_metadata(&l, &user)),
        })
        .collect();
    let info = ResultInfo::single_page(failed.len() as u64);
    Ok(Json(Envelope::page(failed, info)))
}

/// Get last seen identity
#[utoipa::path(
    get,
    path = "/client/v4/accounts/{account_id}/access/users/{user_id}/last_seen_identity",
    operation_id = "zero-trust-users-get-last-seen-identity",
    tag = "Zero Trust users",
    params(("account_id" = String, Path, max_length = 32), ("user_id" = String, Path, description = "UUID", max_length = 36)),
    responses(
        (status = 200, description = "Get last seen identity response", body = Envelope<serde_json::Value>),
        (status = "4XX", description = "Get last seen identity response failure", body = FailureEnvelope),
    ),
    security(("api_token" = []), ("api_email" = [], "api_key" = [])),
    extensions(("x-api-token-group" = json!(["Access: Audit Logs Read"]))),
)]
pub async fn last_seen_identity(
    State(state): State<AppState>,
    account: AccountId,
    user_id: UserIdPath,
    auth: Auth,
) -> Result<Json<Envelope<serde_json::Value>>, ApiError> {
    let access = auth.require(Permission::AuditLogsRead, &account).await?;
    let user = user_id.load(&state, &access).await?;
    let last = activity(&state, &access, &user).await?.last_login.ok_or_else(|| {
        ApiError::NotFound(vec![Problem::new(
            "",
            format!("no login recorded for user {}", user.id),
        )])
    })?;
    let gateway = last.method.via() == Via::Gateway;
    Ok(Json(Envelope::ok(json!({
        "account_id": access.account_id(),
        "auth_status": "NONE",
        "common_name": "",
        "device_id": last.method.device_id().unwrap_or_default(),
        "device_sessions": {},
        "devicePosture": {},
        "email": user.email,
        "iat": secs(last.at),
        "idp": {"id": "", "type": "seats"},
        "is_gateway": gateway,
        "is_warp": gateway,
        "service_token_id": "",
        "service_token_status": false,
        "user_uuid": user.id,
        "version": 2,
    }))))
}

async fn activity(
    state: &AppState,
    access: &AccountAccess,
    user: &UserRecord,
) -> Result<seats_store::UserActivity, ApiError> {
    state
        .store
        .user_activity(access.account_id(), &user.id, state.clock.now())
        .await?
        .ok_or_else(|| user_not_found(&user.id))
}

fn secs(t: seats_types::Timestamp) -> i64 {
    t.unix_micros().div_euclid(1_000_000)
}

fn login_metadata(l: &LoginRecord, user: &UserRecord) -> serde_json::Value {
    let mut m = json!({
        "reason": match &l.result {
            LoginResult::Accepted => "",
            LoginResult::Refused { reason } => reason,
        },
        "via": l.method.via().as_str(),
        "datetime": l.at.to_string(),
        "user_email": user.email,
        "user_uuid": user.id,
    });
    if let Some(device) = l.method.device_id() {
        m["device_id"] = json!(device);
    }
    m
}
