//! `/client/v4/accounts/{account_id}/access/identity_providers`: Access identity providers
//! and the SCIM resources their clients provisioned (Cloudflare's shapes; docs/deviations.md
//! says what is ours).
//!
//! `scim_config.secret` is generated when SCIM is first enabled (or refreshed), returned in
//! that one response, stored only as a hash and shown as [`REDACTED`] afterwards.
//! `scim_config.scim_base_url` is this server's SCIM endpoint for the provider, built from the
//! request's `Host` (and `X-Forwarded-Proto`). PUT replaces `name`, `type` and `config`, and
//! merges the `scim_config` fields given into the stored ones, so an update that leaves
//! `scim_config` out does not turn SCIM off.

use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use seats_store::identity_provider::{
    IdentityProviderRecord, IdentityProviderWrite, ScimFlags, ScimGroupFilter, ScimUserFilter,
};
use seats_store::secret::Secret;
use seats_types::{
    AccessUser, Envelope, IdentityProvider, IdentityProviderDeleted, ResultInfo, ScimConfig, ZeroTrustGroup,
    IDENTITY_PROVIDER_TYPES,
};
use serde_json::{Map, Value};

use crate::auth::generate_secret;
use crate::auth::{AccountAccess, Auth, Permission};
use crate::error::FailureEnvelope;
use crate::error::{ApiError, Problem};
use crate::extract::body::ObjectBody;
use crate::extract::query::{Pagination, QueryPairs};
use crate::extract::{path_param, AccountId, JsonBody};
use crate::scim::views;
use crate::AppState;

/// How a stored SCIM secret reads back.
pub const REDACTED: &str = "**********";
/// Letters and digits in a generated SCIM secret.
const SECRET_LEN: usize = 64;
/// `cf_resource_id` / `idp_resource_id` values one listing may name [CF].
const MAX_RESOURCE_IDS: usize = 50;

/// The `{identity_provider_id}` of the path, as given: checked at the lookup, after credentials.
#[derive(Debug, Clone)]
pub struct ProviderIdPath(String);

impl<S: Send + Sync> FromRequestParts<S> for ProviderIdPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let id = path_param(parts, state, "identity_provider_id").await;
        id.map(ProviderIdPath).ok_or(ApiError::NoRoute)
    }
}

fn provider_not_found(id: &str) -> ApiError {
    ApiError::NotFound(vec![Problem::new(
        "",
        format!("no identity provider with id {id:?} in this account"),
    )])
}

impl ProviderIdPath {
    async fn load(&self, state: &AppState, access: &AccountAccess) -> Result<IdentityProviderRecord, ApiError> {
        if uuid::Uuid::parse_str(&self.0).is_err() {
            return Err(provider_not_found(&self.0));
        }
        state
            .store
            .identity_provider(Some(access.account_id()), &self.0)
            .await?
            .ok_or_else(|| provider_not_found(&self.0))
    }
}

/// The API view; `secret` is the plain secret when this response generated it.
fn view(p: IdentityProviderRecord, base: &str, secret: Option<Secret>) -> IdentityProvider {
    let scim_config = ScimConfig {
        enabled: Some(p.scim.enabled()),
        identity_update_behavior: p.scim.flags.identity_update_behavior.clone(),
        scim_base_url: Some(format!("{base}/populations/{}/scim/v2", p.id)),
        seat_deprovision: Some(p.scim.flags.seat_deprovision == Some(true)),
        secret: match (secret, p.scim.secret_hash) {
            (Some(secret), _) => Some(secret.expose().into()),
            (None, Some(_)) => Some(REDACTED.into()),
            (None, None) => None,
        },
        user_deprovision: Some(p.scim.user_deprovision()),
    };
    IdentityProvider {
        id: Some(p.id),
        name: p.name,
        kind: p.kind,
        config: p.config,
        scim_config: Some(scim_config),
    }
}

/// The body of a create or an update, checked; `stored` is the provider's current SCIM flags
/// (an update merges the fields given into them). The secret is the caller's to set.
fn parse(body: Value, stored: Option<&ScimFlags>) -> Result<IdentityProviderWrite, ApiError> {
    let mut body = ObjectBody::new(body)?;
    let name = body.text("name", true, seats_types::formats::MAX_NAME_CHARS);
    let kind = body.string("type", true);
    if let Some(kind) = &kind {
        if !IDENTITY_PROVIDER_TYPES.contains(&kind.as_str()) {
            body.problem(
                "/type",
                format!("type must be one of {}", IDENTITY_PROVIDER_TYPES.join(", ")),
            );
        }
    }
    let config = match body.raw("config") {
        Some(Value::Object(config)) => Some(
            config
                .iter()
                .map(|(k, v)| {
                    let v = if crate::secret_fields::is_secret_field(k) && !v.is_null() {
                        Value::from(REDACTED)
                    } else {
                        v.clone()
                    };
                    (k.clone(), v)
                })
                .collect::<Map<String, Value>>(),
        ),
        None | Some(Value::Null) => {
            body.problem("/config", "config is required");
            None
        }
        Some(_) => {
            body.problem("/config", "config must be an object");
            None
        }
    };
    let mut flags = stored.cloned().unwrap_or_default();
    match body.raw("scim_config").cloned() {
        None | Some(Value::Null) => {}
        Some(Value::Object(given)) => {
            for (key, value) in given {
                let pointer = format!("/scim_config/{key}");
                let flag = match key.as_str() {
                    "enabled" => Some(&mut flags.enabled),
                    "user_deprovision" => Some(&mut flags.user_deprovision),
                    "seat_deprovision" => Some(&mut flags.seat_deprovision),
                    "group_member_deprovision" => Some(&mut flags.group_member_deprovision),
                    _ => None,
                };
                if let Some(flag) = flag {
                    match value {
                        Value::Bool(on) => *flag = Some(on),
                        _ => body.problem(pointer, format!("{key} must be a boolean")),
                    }
                    continue;
                }
                match key.as_str() {
                    "identity_update_behavior" => match value.as_str() {
                        Some(behavior @ ("automatic" | "reauth" | "no_action")) => {
                            flags.identity_update_behavior = Some(behavior.to_owned());
                        }
                        _ => body.problem(
                            pointer,
                            "identity_update_behavior must be automatic, reauth or no_action",
                        ),
                    },
                    // Read-only: what the server generates is not taken from a client.
                    "secret" | "scim_base_url" => {}
                    _ => body.problem(pointer, format!("unknown SCIM setting {key:?}")),
                }
            }
        }
        Some(_) => body.problem("/scim_config", "scim_config must be an object"),
    }
    if flags.seat_deprovision == Some(true) && flags.user_deprovision != Some(true) {
        body.problem(
            "/scim_config/seat_deprovision",
            "seat_deprovision cannot be enabled unless user_deprovision is also enabled",
        );
    }
    body.finish()?;
    match (name, kind, config) {
        (Some(name), Some(kind), Some(config)) => Ok(IdentityProviderWrite {
            name,
            kind,
            config,
            scim_flags: flags,
            new_secret_hash: None,
        }),
        _ => Err(ApiError::internal("a checked body lacks a required field")),
    }
}

/// A new secret when SCIM is on and none exists yet.
fn first_secret(flags: &ScimFlags, existing: Option<&IdentityProviderRecord>) -> Option<Secret> {
    let enabled = flags.enabled == Some(true);
    let has = existing.is_some_and(|p| p.scim.secret_hash.is_some());
    (enabled && !has).then(|| Secret::new(generate_secret(SECRET_LEN)))
}

/// List Access identity providers
#[utoipa::path(
    get,
    path = "/client/v4/accounts/{account_id}/access/identity_providers",
    operation_id = "access-identity-providers-list-access-identity-providers",
    tag = "Access identity providers",
    params(
        ("account_id" = String, Path, description = "Identifier.", max_length = 32),
        ("scim_enabled" = Option<String>, Query, description = "Only providers with SCIM enabled (`true`)."),
        ("page" = Option<u64>, Query, description = "Page number, from 1.", minimum = 1, maximum = 9223372036854775807_i64),
        ("per_page" = Option<u64>, Query, description = "Results per page.", minimum = 1, maximum = 1000),
    ),
    responses(
        (status = 200, description = "List Access identity providers response", body = Envelope<Vec<IdentityProvider>>),
        (status = "4XX", description = "List Access identity providers response failure", body = FailureEnvelope),
    ),
    security(("api_token" = []), ("api_email" = [], "api_key" = [])),
    extensions(("x-api-token-group" = json!(["Access: Organizations, Identity Providers, and Groups Write", "Access: Organizations, Identity Providers, and Groups Read"]))),
)]
pub async fn list(
    State(state): State<AppState>,
    account: AccountId,
    auth: Auth,
    headers: HeaderMap,
    query: QueryPairs,
) -> Result<Json<Envelope<Vec<IdentityProvider>>>, ApiError> {
    let access = auth.require(Permission::OrganizationsRead, &account).await?;
    let page = Pagination::parse(&query)?;
    let scim_enabled = match query.get("scim_enabled") {
        None | Some("false") => false,
        Some("true") => true,
        Some(other) => {
            return Err(ApiError::Invalid(vec![Problem::new(
                "/scim_enabled",
                format!("scim_enabled must be true or false, got {other:?}"),
            )]))
        }
    };
    let (providers, total) = state
        .store
        .identity_providers(access.account_id(), scim_enabled, page.offset(), page.per_page)
        .await?;
    let base = state.config.public_base(&headers);
    let info = ResultInfo::paged(page.page, page.per_page, providers.len() as u64, total);
    let result = providers.into_iter().map(|p| view(p, &base, None)).collect();
    Ok(Json(Envelope::page(result, info)))
}

/// Add an Access identity provider
#[utoipa::path(
    post,
    path = "/client/v4/accounts/{account_id}/access/identity_providers",
    operation_id = "access-identity-providers-add-an-access-identity-provider",
    tag = "Access identity providers",
    params(("account_id" = String, Path, description = "Identifier.", max_length = 32)),
    request_body(content = IdentityProvider, content_type = "application/json"),
    responses(
        (status = 201, description = "Add an Access identity provider response", body = Envelope<IdentityProvider>),
        (status = "4XX", description = "Add an Access identity provider response failure", body = FailureEnvelope),
    ),
    security(("api_token" = []), ("api_email" = [], "api_key" = [])),
    extensions(("x-api-token-group" = json!(["Access: Organizations, Identity Providers, and Groups Write"]))),
)]
pub async fn create(
    State(state): State<AppState>,
    account: AccountId,
    auth: Auth,
    headers: HeaderMap,
    body: JsonBody,
) -> Result<(StatusCode, Json<Envelope<IdentityProvider>>), ApiError> {
    let access = auth.require(Permission::OrganizationsWrite, &account).await?;
    let mut write = parse(body.read(&state.config).await?, None)?;
    let secret = first_secret(&write.scim_flags, None);
    write.new_secret_hash = secret.as_ref().map(Secret::hash);
    let created = state
        .store
        .create_identity_provider(access.account_id(), write, auth.actor(), state.clock.now())
        .await?;
    let view = view(created, &state.config.public_base(&headers), secret);
    Ok((StatusCode::CREATED, Json(Envelope::ok(view))))
}

/// Get an Access identity provider
#[utoipa::path(
    get,
    path = "/client/v4/accounts/{account_id}/access/identity_providers/{identity_provider_id}",
    operation_id = "access-identity-providers-get-an-access-identity-provider",
    tag = "Access identity providers",
    params(
        ("account_id" = String, Path, description = "Identifier.", max_length = 32),
        ("identity_provider_id" = String, Path, description = "UUID.", max_length = 36),
    ),
    responses(
        (status = 200, description = "Get an Access identity provider response", body = Envelope<IdentityProvider>),
        (status = "4XX", description = "Get an Access identity provider response failure", body = FailureEnvelope),
    ),
    security(("api_token" = []), ("api_email" = [], "api_key" = [])),
    extensions(("x-api-token-group" = json!(["Access: Organizations, Identity Providers, and Groups Write", "Access: Organizations, Identity Providers, and Groups Read"]))),
)]
pub async fn get(
    State(state): State<AppState>,
    account: AccountId,
    id: ProviderIdPath,
    auth: Auth,
    headers: HeaderMap,
) -> Result<Json<Envelope<IdentityProvider>>, ApiError> {
    let access = auth.require(Permission::OrganizationsRead, &account).await?;
    let provider = id.load(&state, &access).await?;
    Ok(Json(Envelope::ok(view(
        provider,
        &state.config.public_base(&headers),
        None,
    ))))
}

/// Update an Access identity provider
#[utoipa::path(
    put,
    path = "/client/v4/accounts/{account_id}/access/identity_providers/{identity_provider_id}",
    operation_id = "access-identity-providers-update-an-access-identity-provider",
    tag = "Access identity providers",
    params(
        ("account_id" = String, Path, description = "Identifier.", max_length = 32),
        ("identity_provider_id" = String, Path, description = "UUID.", max_length = 36),
    ),
    request_body(content = IdentityProvider, content_type = "application/json"),
    responses(
        (status = 200, description = "Update an Access identity provider response", body = Envelope<IdentityProvider>),
        (status = "4XX", description = "Update an Access identity provider response failure", body = FailureEnvelope),
    ),
    security(("api_token" = []), ("api_email" = [], "api_key" = [])),
    extensions(("x-api-token-group" = json!(["Access: Organizations, Identity Providers, and Groups Write"]))),
)]
pub async fn update(
    State(state): State<AppState>,
    account: AccountId,
    id: ProviderIdPath,
    auth: Auth,
    headers: HeaderMap,
    body: JsonBody,
) -> Result<Json<Envelope<IdentityProvider>>, ApiError> {
    let access = auth.require(Permission::OrganizationsWrite, &account).await?;
    let before = id.load(&state, &access).await?;
    let mut write = parse(body.read(&state.config).await?, Some(&before.scim.flags))?;
    let secret = first_secret(&write.scim_flags, Some(&before));
    write.new_secret_hash = secret.as_ref().map(Secret::hash);
    let updated = state
        .store
        .update_identity_provider(access.account_id(), &before.id, write, auth.actor(), state.clock.now())
        .await
        .map_err(|e| ApiError::from_store(e, || provider_not_found(&id.0)))?;
    Ok(Json(Envelope::ok(view(
        updated,
        &state.config.public_base(&headers),
        secret,
    ))))
}

/// Delete an Access identity provider
#[utoipa::path(
    delete,
    path = "/client/v4/accounts/{account_id}/access/identity_providers/{identity_provider_id}",
    operation_id = "access-identity-providers-delete-an-access-identity-provider",
    tag = "Access identity providers",
    params(
        ("account_id" = String, Path, description = "Identifier.", max_length = 32),
        ("identity_provider_id" = String, Path, description = "UUID.", max_length = 36),
    ),
    responses(
        (status = 200, description = "Delete an Access identity provider response", body = Envelope<IdentityProviderDeleted>),
        (status = "4XX", description = "Delete an Access identity provider response failure", body = FailureEnvelope),
    ),
    security(("api_token" = []), ("api_email" = [], "api_key" = [])),
    extensions(("x-api-token-group" = json!(["Access: Organizations, Identity Providers, and Groups Write"]))),
)]
pub async fn delete(
    State(state): State<AppState>,
    account: AccountId,
    id: ProviderIdPath,
    auth: Auth,
) -> Result<Json<Envelope<IdentityProviderDeleted>>, ApiError> {
    let access = auth.require(Permission::OrganizationsWrite, &account).await?;
    let provider = id.load(&state, &access).await?;
    state
        .store
        .delete_identity_provider(access.account_id(), &provider.id, auth.actor(), state.clock.now())
        .await
        .map_err(|e| ApiError::from_store(e, || provider_not_found(&id.0)))?;
    Ok(Json(Envelope::ok(IdentityProviderDeleted { id: provider.id })))
}

/// Refresh the SCIM secret of an Access identity provider
#[utoipa::path(
    post,
    path = "/client/v4/accounts/{account_id}/access/identity_providers/{identity_provider_id}/refresh_scim_secret",
    operation_id = "access-identity-providers-refresh-scim-secret",
    tag = "Access identity providers",
    params(
        ("account_id" = String, Path, description = "Identifier.", max_length = 32),
        ("identity_provider_id" = String, Path, description = "UUID.", max_length = 36),
    ),
    responses(
        (status = 200, description = "The provider, with its new secret shown once", body = Envelope<IdentityProvider>),
        (status = "4XX", description = "Refresh SCIM secret response failure", body = FailureEnvelope),
    ),
    security(("api_token" = []), ("api_email" = [], "api_key" = [])),
    extensions(("x-api-token-group" = json!(["Access: Organizations, Identity Providers, and Groups Write"]))),
)]
pub async fn refresh_scim_secret(
    State(state): State<AppState>,
    account: AccountId,
    id: ProviderIdPath,
    auth: Auth,
    headers: HeaderMap,
) -> Result<Json<Envelope<IdentityProvider>>, ApiError> {
    let access = auth.require(Permission::OrganizationsWrite, &account).await?;
    let before = id.load(&state, &access).await?;
    if !before.scim.enabled() {
        return Err(ApiError::Invalid(vec![Problem::new(
            "",
            "SCIM is not enabled on this identity provider",
        )]));
    }
    let secret = Secret::new(generate_secret(SECRET_LEN));
    let write = IdentityProviderWrite {
        name: before.name.clone(),
        kind: before.kind.clone(),
        config: before.config.clone(),
        scim_flags: before.scim.flags.clone(),
        new_secret_hash: Some(secret.hash()),
    };
    let updated = state
        .store
        .update_identity_provider(access.account_id(), &before.id, write, auth.actor(), state.clock.now())
        .await
        .map_err(|e| ApiError::from_store(e, || provider_not_found(&id.0)))?;
    Ok(Json(Envelope::ok(view(
        updated,
        &state.config.public_base(&headers),
        Some(secret),
    ))))
}

/// Repeated values of `name` (`?a=1&a=2`), at most [`MAX_RESOURCE_IDS`].
fn many(query: &QueryPairs, name: &str) -> Result<Vec<String>, ApiError> {
    let values: Vec<String> = query
        .0
        .iter()
        .filter(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
        .collect();
    if values.len() > MAX_RESOURCE_IDS {
        return Err(ApiError::Invalid(vec![Problem::new(
            format!("/{name}"),
            format!("{name} may be given at most {MAX_RESOURCE_IDS} times"),
        )]));
    }
    Ok(values)
}

/// List SCIM User resources
#[utoipa::path(
    get,
    path = "/client/v4/accounts/{account_id}/access/identity_providers/{identity_provider_id}/scim/users",
    operation_id = "access-identity-providers-list-scim-user-resources",
    tag = "Access identity providers",
    params(
        ("account_id" = String, Path, description = "Identifier.", max_length = 32),
        ("identity_provider_id" = String, Path, description = "UUID.", max_length = 36),
        ("cf_resource_id" = Option<Vec<String>>, Query, description = "Ids of SCIM users (repeat for several, up to 50)."),
        ("idp_resource_id" = Option<Vec<String>>, Query, description = "External ids of SCIM users (repeat for several, up to 50)."),
        ("username" = Option<String>, Query, description = "The userName, case-insensitive."),
        ("email" = Option<String>, Query, description = "The email, case-insensitive."),
        ("name" = Option<String>, Query, description = "The displayName."),
        ("page" = Option<u64>, Query, description = "Page number, from 1.", minimum = 1, maximum = 9223372036854775807_i64),
        ("per_page" = Option<u64>, Query, description = "Results per page.", minimum = 1, maximum = 1000),
    ),
    responses(
        (status = 200, description = "List SCIM User resources response", body = Envelope<Vec<AccessUser>>),
        (status = "4XX", description = "List SCIM User resources response failure", body = FailureEnvelope),
    ),
    security(("api_token" = []), ("api_email" = [], "api_key" = [])),
    extensions(("x-api-token-group" = json!(["Access: Organizations, Identity Providers, and Groups Write", "Access: Organizations, Identity Providers, and Groups Read"]))),
)]
pub async fn scim_users(
    State(state): State<AppState>,
    account: AccountId,
    id: ProviderIdPath,
    auth: Auth,
    query: QueryPairs,
) -> Result<Json<Envelope<Vec<AccessUser>>>, ApiError> {
    let access = auth.require(Permission::OrganizationsRead, &account).await?;
    let page = Pagination::parse(&query)?;
    let filter = ScimUserFilter {
        ids: many(&query, "cf_resource_id")?,
        external_ids: many(&query, "idp_resource_id")?,
        user_name: query.get("username").map(str::to_owned),
        email: query.get("email").map(str::to_owned),
        display_name: query.get("name").map(str::to_owned),
    };
    let provider = id.load(&state, &access).await?;
    let (users, total) = state
        .store
        .scim_users(&provider.id, filter, page.offset(), page.per_page)
        .await?;
    let info = ResultInfo::paged(page.page, page.per_page, users.len() as u64, total);
    Ok(Json(Envelope::page(
        users.into_iter().map(views::access_user).collect(),
        info,
    )))
}

/// List SCIM Group resources
#[utoipa::path(
    get,
    path = "/client/v4/accounts/{account_id}/access/identity_providers/{identity_provider_id}/scim/groups",
    operation_id = "access-identity-providers-list-scim-group-resources",
    tag = "Access identity providers",
    params(
        ("account_id" = String, Path, description = "Identifier.", max_length = 32),
        ("identity_provider_id" = String, Path, description = "UUID.", max_length = 36),
        ("cf_resource_id" = Option<Vec<String>>, Query, description = "Ids of SCIM groups (repeat for several, up to 50)."),
        ("idp_resource_id" = Option<Vec<String>>, Query, description = "External ids of SCIM groups (repeat for several, up to 50)."),
        ("name" = Option<String>, Query, description = "The displayName."),
        ("page" = Option<u64>, Query, description = "Page number, from 1.", minimum = 1, maximum = 9223372036854775807_i64),
        ("per_page" = Option<u64>, Query, description = "Results per page.", minimum = 1, maximum = 1000),
    ),
    responses(
        (status = 200, description = "List SCIM Group resources response", body = Envelope<Vec<ZeroTrustGroup>>),
        (status = "4XX", description = "List SCIM Group resources response failure", body = FailureEnvelope),
    ),
    security(("api_token" = []), ("api_email" = [], "api_key" = [])),
    extensions(("x-api-token-group" = json!(["Access: Organizations, Identity Providers, and Groups Write", "Access: Organizations, Identity Providers, and Groups Read"]))),
)]
pub async fn scim_groups(
    State(state): State<AppState>,
    account: AccountId,
    id: ProviderIdPath,
    auth: Auth,
    query: QueryPairs,
) -> Result<Json<Envelope<Vec<ZeroTrustGroup>>>, ApiError> {
    let access = auth.require(Permission::OrganizationsRead, &account).await?;
    let page = Pagination::parse(&query)?;
    let filter = ScimGroupFilter {
        ids: many(&query, "cf_resource_id")?,
        external_ids: many(&query, "idp_resource_id")?,
        display_name: query.get("name").map(str::to_owned),
    };
    let provider = id.load(&state, &access).await?;
    let (groups, total) = state
        .store
        .scim_groups(&provider.id, filter, page.offset(), page.per_page)
        .await?;
    let info = ResultInfo::paged(page.page, page.per_page, groups.len() as u64, total);
    Ok(Json(Envelope::page(
        groups.into_iter().map(views::zero_trust_group).collect(),
        info,
    )))
}
