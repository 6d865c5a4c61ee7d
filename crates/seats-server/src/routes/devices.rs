//! `/client/v4/accounts/{account_id}/devices/...`: the device registrations of an account's
//! users, the physical devices behind them, and the deprecated `revoke` / `unrevoke` that take
//! registration ids in the body (docs/api.md, "Device registrations").

use axum::extract::State;
use axum::Json;
use seats_store::device::{
    ActiveRegistrations, PhysicalDeviceFilter, PhysicalDeviceRecord, PhysicalDeviceSort, RegistrationFilter,
    RegistrationRecord, RegistrationSort, RegistrationStatus,
};
use seats_store::StoreError;
use seats_types::{
    CursorResultInfo, Envelope, PhysicalDevice, Registration, RegistrationDevice, RegistrationUser, Timestamp,
};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::auth::{Auth, Permission};
use crate::error::{ApiError, FailureEnvelope, Problem};
use crate::extract::query::QueryPairs;
use crate::extract::{path_param, AccountId, JsonBody};
use crate::AppState;

/// `per_page` when none is given, and the most accepted.
pub const DEFAULT_PER_PAGE: u64 = 20;
pub const MAX_PER_PAGE: u64 = 1000;
/// The most ids one request may name (`id=…` repeated).
pub const MAX_IDS: usize = 1000;
/// The longest id, search or device id accepted.
const MAX_TEXT: usize = 256;

fn view(r: RegistrationRecord) -> Registration {
    let key = hex::encode(Sha256::digest(format!("seats registration key {}", r.id)));
    let updated_at = [Some(r.registered_at), Some(r.last_seen_at), r.revoked_at]
        .into_iter()
        .flatten()
        .max()
        .unwrap_or(r.registered_at);
    Registration {
        id: r.id,
        created_at: r.registered_at,
        device: RegistrationDevice {
            id: r.device_id,
            name: r.name,
            client_version: r.client_version,
        },
        key,
        last_seen_at: r.last_seen_at,
        registration_type: "warp".into(),
        updated_at,
        deleted_at: None,
        revoked_at: r.revoked_at,
        user: RegistrationUser {
            id: Some(r.user_id),
            email: Some(r.user_email),
            name: Some(r.user_name),
        },
    }
}

/// The place a page starts at, as the opaque `cursor` the SDKs pass back.
fn cursor(offset: u64) -> String {
    hex::encode(format!("offset:{offset}"))
}

fn parse_cursor(raw: &str) -> Option<u64> {
    let text = String::from_utf8(hex::decode(raw).ok()?).ok()?;
    text.strip_prefix("offset:")?.parse().ok()
}

fn invalid(pointer: &str, message: String) -> ApiError {
    ApiError::Invalid(vec![Problem::new(pointer, message)])
}

/// A text parameter of at most [`MAX_TEXT`] characters.
fn text(query: &QueryPairs, names: &[&str]) -> Result<Option<String>, ApiError> {
    match query.all(names).last() {
        None => Ok(None),
        Some(v) if v.chars().count() > MAX_TEXT => Err(invalid(
            &format!("/{}", names[0]),
            format!("{} is longer than {MAX_TEXT} characters", names[0]),
        )),
        Some(v) => Ok(Some((*v).to_owned())),
    }
}

/// The ids named by `id` (repeated): at most [`MAX_IDS`], each once, each short.
fn ids(query: &QueryPairs, names: &[&str], required: bool) -> Result<Vec<String>, ApiError> {
    let pointer = format!("/{}", names[0]);
    let given = query.all(names);
    if given.is_empty() && required {
        return Err(invalid(
            &pointer,
            format!("{} is required: name at least one registration", names[0]),
        ));
    }
    if given.len() > MAX_IDS {
        return Err(invalid(
            &pointer,
            format!("at most {MAX_IDS} ids per request, got {}", given.len()),
        ));
    }
    let mut out: Vec<String> = Vec::with_capacity(given.len());
    for id in given {
        if id.is_empty() || id.chars().count() > MAX_TEXT {
            return Err(invalid(&pointer, format!("{id:?} is not a registration id")));
        }
        if out.iter().any(|seen| seen == id) {
            return Err(invalid(&pointer, format!("{id:?} is named twice")));
        }
        out.push(id.to_owned());
    }
    Ok(out)
}

fn time(query: &QueryPairs, name: &str) -> Result<Option<Timestamp>, ApiError> {
    match query.get(name) {
        None => Ok(None),
        Some(raw) => raw.parse().map(Some).map_err(|_| {
            invalid(
                &format!("/{name}"),
                format!("{name} must be an RFC 3339 timestamp, got {raw:?}"),
            )
        }),
    }
}

/// `sort_order`: descending or not.
fn descending(query: &QueryPairs) -> Result<bool, ApiError> {
    match query.get("sort_order") {
        None | Some("asc") => Ok(false),
        Some("desc") => Ok(true),
        Some(other) => Err(invalid(
            "/sort_order",
            format!("sort_order must be asc or desc, got {other:?}"),
        )),
    }
}

/// `per_page` and `cursor`: how many, from where.
fn page(query: &QueryPairs) -> Result<(u64, u64), ApiError> {
    let per_page = match query.get("per_page") {
        None => DEFAULT_PER_PAGE,
        Some(raw) => raw
            .parse()
            .ok()
            .filter(|n| (1..=MAX_PER_PAGE).contains(n))
            .ok_or_else(|| {
                invalid(
                    "/per_page",
                    format!("per_page must be an integer between 1 and {MAX_PER_PAGE}, got {raw:?}"),
                )
            })?,
    };
    let offset = match query.get("cursor").filter(|c| !c.is_empty()) {
        None => 0,
        Some(raw) => {
            parse_cursor(raw).ok_or_else(|| invalid("/cursor", format!("{raw:?} is not a cursor this server gave")))?
        }
    };
    Ok((offset, per_page))
}

/// The filter, order and page of a listing.
fn listing(query: &QueryPairs) -> Result<(RegistrationFilter, u64, u64), ApiError> {
    let status = match query.get("status") {
        None | Some("active") => RegistrationStatus::Active,
        Some("revoked") => RegistrationStatus::Revoked,
        Some("all") => RegistrationStatus::All,
        Some(other) => {
            return Err(invalid(
                "/status",
                format!("status must be active, revoked or all, got {other:?}"),
            ));
        }
    };
    let sort = match query.get("sort_by") {
        None | Some("created_at") => RegistrationSort::CreatedAt,
        Some("id") => RegistrationSort::Id,
        Some("user.name") => RegistrationSort::UserName,
        Some("user.email") => RegistrationSort::UserEmail,
        Some("last_seen_at") => RegistrationSort::LastSeenAt,
        Some(other) => {
            return Err(invalid(
                "/sort_by",
                format!("sort_by must be id, user.name, user.email, last_seen_at or created_at, got {other:?}"),
            ));
        }
    };
    let descending = descending(query)?;
    let (offset, per_page) = page(query)?;
    let filter = RegistrationFilter {
        ids: ids(query, &["id", "id[]"], false)?,
        device_id: text(query, &["device.id", "device[id]"])?,
        user_ids: ids(query, &["user.id", "user.id[]", "user[id]", "user[id][]"], false)?,
        status,
        search: text(query, &["search"])?.filter(|s| !s.is_empty()),
        seen_after: time(query, "seen_after")?,
        seen_before: time(query, "seen_before")?,
        sort,
        descending,
    };
    Ok((filter, offset, per_page))
}

/// 404 naming every id the account does not have.
fn not_found(ids: &[String], e: StoreError) -> ApiError {
    match e {
        StoreError::NotFound { positions } => ApiError::NotFound(
            positions
                .iter()
                .filter_map(|&i| ids.get(i))
                .map(|id| Problem::new("/id", format!("no registration with id {id:?} in this account")))
                .collect(),
        ),
        other => other.into(),
    }
}

/// The body of a change: Cloudflare answers `{}`.
fn done() -> Json<Envelope<Map<String, Value>>> {
    Json(Envelope::ok(Map::new()))
}

/// A page of a cursor-paged listing: `result_info.cursor` is where the next one starts.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct CursorPage<T> {
    success: bool,
    errors: Vec<seats_types::Message>,
    messages: Vec<seats_types::Message>,
    result: Vec<T>,
    result_info: CursorResultInfo,
}

impl<T> CursorPage<T> {
    /// The page of `found` (read with one more than `per_page`, to know whether another
    /// follows) that starts at `offset`, each shown as `view` shows it.
    fn new<R>(mut found: Vec<R>, offset: u64, per_page: u64, view: impl Fn(R) -> T) -> Self {
        let more = found.len() as u64 > per_page;
        found.truncate(per_page as usize);
        CursorPage {
            success: true,
            errors: Vec::new(),
            messages: Vec::new(),
            result_info: CursorResultInfo {
                count: found.len() as u64,
                per_page,
                cursor: if more { cursor(offset + per_page) } else { String::new() },
            },
            result: found.into_iter().map(view).collect(),
        }
    }
}

/// List registrations
#[utoipa::path(
    get,
    path = "/client/v4/accounts/{account_id}/devices/registrations",
    operation_id = "zero-trust-devices-list-registrations",
    tag = "Devices",
    params(
        ("account_id" = String, Path, max_length = 32),
        ("per_page" = Option<u64>, Query, minimum = 1, maximum = 1000),
        ("cursor" = Option<String>, Query, description = "From `result_info.cursor` of the page before."),
        ("id" = Option<Vec<String>>, Query, description = "Filter by registration ID."),
        ("device.id" = Option<String>, Query, description = "Filter by WARP device ID."),
        ("user.id" = Option<Vec<String>>, Query, description = "Filter by user ID."),
        ("status" = Option<String>, Query, description = "`active` (the default), `revoked` or `all`."),
        ("search" = Option<String>, Query, description = "A substring of the user's email or name, or of the device name."),
        ("seen_after" = Option<String>, Query), ("seen_before" = Option<String>, Query),
        ("sort_by" = Option<String>, Query), ("sort_order" = Option<String>, Query),
    ),
    responses(
        (status = 200, description = "List of registrations response", body = CursorPage<Registration>),
        (status = "4XX", description = "List registrations response failure", body = FailureEnvelope),
    ),
    security(("api_token" = []), ("api_email" = [], "api_key" = [])),
    extensions(("x-api-token-group" = json!(["Zero Trust Read", "Zero Trust Write"]))),
)]
pub async fn list(
    State(state): State<AppState>,
    account: AccountId,
    auth: Auth,
    query: QueryPairs,
) -> Result<Json<CursorPage<Registration>>, ApiError> {
    let access = auth.require(Permission::DevicesRead, &account).await?;
    let (filter, offset, per_page) = listing(&query)?;
    let found = state
        .store
        .registrations(access.account_id(), filter, offset, per_page + 1)
        .await?;
    Ok(Json(CursorPage::new(found, offset, per_page, view)))
}

/// Get registration
#[utoipa::path(
    get,
    path = "/client/v4/accounts/{account_id}/devices/registrations/{registration_id}",
    operation_id = "zero-trust-devices-get-registration",
    tag = "Devices",
    params(("account_id" = String, Path, max_length = 32), ("registration_id" = String, Path, max_length = 256)),
    responses(
        (status = 200, description = "Returns a Registration.", body = Envelope<Registration>),
        (status = "4XX", description = "Get registration response failure", body = FailureEnvelope),
    ),
    security(("api_token" = []), ("api_email" = [], "api_key" = [])),
    extensions(("x-api-token-group" = json!(["Zero Trust Read", "Zero Trust Write"]))),
)]
pub async fn get(
    State(state): State<AppState>,
    account: AccountId,
    auth: Auth,
    RegistrationIdPath(id): RegistrationIdPath,
) -> Result<Json<Envelope<Registration>>, ApiError> {
    let access = auth.require(Permission::DevicesRead, &account).await?;
    let found = state.store.registration(access.account_id(), &id).await?;
    let found = found.ok_or_else(|| {
        ApiError::NotFound(vec![Problem::new(
            "",
            format!("no registration with id {id:?} in this account"),
        )])
    })?;
    Ok(Json(Envelope::ok(view(found))))
}

/// Delete registration
#[utoipa::path(
    delete,
    path = "/client/v4/accounts/{account_id}/devices/registrations/{registration_id}",
    operation_id = "zero-trust-devices-delete-registration",
    tag = "Devices",
    params(("account_id" = String, Path, max_length = 32), ("registration_id" = String, Path, max_length = 256)),
    responses(
        (status = 200, description = "Delete registration response", body = Envelope<serde_json::Value>),
        (status = "4XX", description = "Delete registration response failure", body = FailureEnvelope),
    ),
    security(("api_token" = []), ("api_email" = [], "api_key" = [])),
    extensions(("x-api-token-group" = json!(["Zero Trust Write"]))),
)]
pub async fn delete(
    State(state): State<AppState>,
    account: AccountId,
    auth: Auth,
    RegistrationIdPath(id): RegistrationIdPath,
) -> Result<Json<Envelope<Map<String, Value>>>, ApiError> {
    let access = auth.require(Permission::DevicesWrite, &account).await?;
    let ids = vec![id];
    state
        .store
        .delete_registrations(access.account_id(), ids.clone(), auth.actor(), state.clock.now())
        .await
        .map_err(|e| match not_found(&ids, e) {
            ApiError::NotFound(mut problems) => {
                problems.iter_mut().for_each(|p| p.pointer = String::new());
                ApiError::NotFound(problems)
            }
            other => other,
        })?;
    Ok(done())
}

/// Delete registrations
#[utoipa::path(
    delete,
    path = "/client/v4/accounts/{account_id}/devices/registrations",
    operation_id = "zero-trust-devices-delete-registrations",
    tag = "Devices",
    params(("account_id" = String, Path, max_length = 32),
           ("id" = Vec<String>, Query, description = "The registrations to delete (at most 1000).")),
    responses(
        (status = 200, description = "Delete registrations response", body = Envelope<serde_json::Value>),
        (status = "4XX", description = "Delete registrations response failure", body = FailureEnvelope),
    ),
    security(("api_token" = []), ("api_email" = [], "api_key" = [])),
    extensions(("x-api-token-group" = json!(["Zero Trust Write"]))),
)]
pub async fn bulk_delete(
    State(state): State<AppState>,
    account: AccountId,
    auth: Auth,
    query: QueryPairs,
) -> Result<Json<Envelope<Map<String, Value>>>, ApiError> {
    let access = auth.require(Permission::DevicesWrite, &account).await?;
    let ids = ids(&query, &["id", "id[]"], true)?;
    state
        .store
        .delete_registrations(access.account_id(), ids.clone(), auth.actor(), state.clock.now())
        .await
        .map_err(|e| not_found(&ids, e))?;
    Ok(done())
}

async fn set_revoked(
    state: AppState,
    account: AccountId,
    auth: Auth,
    query: QueryPairs,
    revoked: bool,
) -> Result<Json<Envelope<Map<String, Value>>>, ApiError> {
    let access = auth.require(Permission::DevicesWrite, &account).await?;
    let ids = ids(&query, &["id", "id[]"], true)?;
    state
        .store
        .set_registrations_revoked(
            access.account_id(),
            ids.clone(),
            revoked,
            auth.actor(),
            state.clock.now(),
        )
        .await
        .map_err(|e| not_found(&ids, e))?;
    Ok(done())
}

/// Revoke registrations
///
/// A revoked registration stays listed (`status=revoked`) and stops counting as a device of
/// its user.
#[utoipa::path(
    post,
    path = "/client/v4/accounts/{account_id}/devices/registrations/revoke",
    operation_id = "zero-trust-devices-revoke-registrations",
    tag = "Devices",
    params(("account_id" = String, Path, max_length = 32),
           ("id" = Vec<String>, Query, description = "The registrations to revoke (at most 1000).")),
    responses(
        (status = 200, description = "Revoke registrations response", body = Envelope<serde_json::Value>),
        (status = "4XX", description = "Revoke registrations response failure", body = FailureEnvelope),
    ),
    security(("api_token" = []), ("api_email" = [], "api_key" = [])),
    extensions(("x-api-token-group" = json!(["Zero Trust Write"]))),
)]
pub async fn revoke(
    State(state): State<AppState>,
    account: AccountId,
    auth: Auth,
    query: QueryPairs,
) -> Result<Json<Envelope<Map<String, Value>>>, ApiError> {
    set_revoked(state, account, auth, query, true).await
}

/// Unrevoke registrations
#[utoipa::path(
    post,
    path = "/client/v4/accounts/{account_id}/devices/registrations/unrevoke",
    operation_id = "zero-trust-devices-unrevoke-registrations",
    tag = "Devices",
    params(("account_id" = String, Path, max_length = 32),
           ("id" = Vec<String>, Query, description = "The registrations to unrevoke (at most 1000).")),
    responses(
        (status = 200, description = "Unrevoke registrations response", body = Envelope<serde_json::Value>),
        (status = "4XX", description = "Unrevoke registrations response failure", body = FailureEnvelope),
    ),
    security(("api_token" = []), ("api_email" = [], "api_key" = [])),
    extensions(("x-api-token-group" = json!(["Zero Trust Write"]))),
)]
pub async fn unrevoke(
    State(state): State<AppState>,
    account: AccountId,
    auth: Auth,
    query: QueryPairs,
) -> Result<Json<Envelope<Map<String, Value>>>, ApiError> {
    set_revoked(state, account, auth, query, false).await
}

/// The `{registration_id}` of the path, as given: looked up after the credential checks.
#[derive(Debug, Clone)]
pub struct RegistrationIdPath(String);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for RegistrationIdPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, state: &S) -> Result<Self, Self::Rejection> {
        let id = path_param(parts, state, "registration_id").await;
        id.map(RegistrationIdPath).ok_or(ApiError::NoRoute)
    }
}

fn physical_view(d: PhysicalDeviceRecord) -> PhysicalDevice {
    PhysicalDevice {
        id: d.id,
        active_registrations: d.active_registrations,
        created_at: d.created_at,
        last_seen_at: Some(d.last_seen_at),
        name: d.name,
        tags: Default::default(),
        updated_at: d.last_seen_at.max(d.created_at),
        client_version: d.client_version,
        deleted_at: None,
        last_seen_user: Some(RegistrationUser {
            id: Some(d.last_seen_user_id),
            email: Some(d.last_seen_user_email),
            name: Some(d.last_seen_user_name),
        }),
    }
}

/// The filter, order and page of a physical-device listing.
fn physical_listing(query: &QueryPairs) -> Result<(PhysicalDeviceFilter, u64, u64), ApiError> {
    let active_registrations = match query.get("active_registrations") {
        None | Some("include") => ActiveRegistrations::Include,
        Some("only") => ActiveRegistrations::Only,
        Some("exclude") => ActiveRegistrations::Exclude,
        Some(other) => {
            return Err(invalid(
                "/active_registrations",
                format!("active_registrations must be include, only or exclude, got {other:?}"),
            ));
        }
    };
    let sort = match query.get("sort_by") {
        None | Some("created_at") => PhysicalDeviceSort::CreatedAt,
        Some("id") => PhysicalDeviceSort::Id,
        Some("name") => PhysicalDeviceSort::Name,
        Some("client_version") => PhysicalDeviceSort::ClientVersion,
        Some("last_seen_at") => PhysicalDeviceSort::LastSeenAt,
        Some("active_registrations") => PhysicalDeviceSort::ActiveRegistrations,
        Some(other) => {
            return Err(invalid(
                "/sort_by",
                format!(
                    "sort_by must be id, name, client_version, last_seen_at, active_registrations or created_at, got {other:?}"
                ),
            ));
        }
    };
    let (offset, per_page) = page(query)?;
    let filter = PhysicalDeviceFilter {
        ids: ids(query, &["id", "id[]"], false)?,
        active_registrations,
        search: text(query, &["search"])?.filter(|s| !s.is_empty()),
        seen_after: time(query, "seen_after")?,
        seen_before: time(query, "seen_before")?,
        last_seen_user_email: text(query, &["last_seen_user.email", "last_seen_user[email]"])?,
        sort,
        descending: descending(query)?,
    };
    Ok((filter, offset, per_page))
}

/// Whether a filter asks for something no device here has: a tag (there are none), or
/// browser-extension registrations (every registration comes from WARP).
fn matches_nothing(query: &QueryPairs) -> Result<bool, ApiError> {
    let tagged = !ids(query, &["tag", "tag[]"], false)?.is_empty();
    let extension = match query.get("has_registration_type") {
        None | Some("warp") => false,
        Some("browser_extension") => true,
        Some(other) => {
            return Err(invalid(
                "/has_registration_type",
                format!("has_registration_type must be warp or browser_extension, got {other:?}"),
            ));
        }
    };
    Ok(tagged || extension)
}

/// List devices
#[utoipa::path(
    get,
    path = "/client/v4/accounts/{account_id}/devices/physical-devices",
    operation_id = "zero-trust-devices-list-devices",
    tag = "Devices",
    params(
        ("account_id" = String, Path, max_length = 32),
        ("per_page" = Option<u64>, Query, minimum = 1, maximum = 1000),
        ("cursor" = Option<String>, Query, description = "From `result_info.cursor` of the page before."),
        ("id" = Option<Vec<String>>, Query, description = "Filter by WARP device ID."),
        ("active_registrations" = Option<String>, Query, description = "`include` (the default), `only` or `exclude`."),
        ("search" = Option<String>, Query, description = "A substring of a registration's device name or user email."),
        ("last_seen_user.email" = Option<String>, Query, description = "The email of the user seen last on the device."),
        ("has_registration_type" = Option<String>, Query, description = "`warp` (every device here) or `browser_extension` (none)."),
        ("tag" = Option<Vec<String>>, Query, description = "Devices carrying these tags: none here carries a tag."),
        ("seen_after" = Option<String>, Query), ("seen_before" = Option<String>, Query),
        ("sort_by" = Option<String>, Query), ("sort_order" = Option<String>, Query),
    ),
    responses(
        (status = 200, description = "List devices response", body = CursorPage<PhysicalDevice>),
        (status = "4XX", description = "List devices response failure", body = FailureEnvelope),
    ),
    security(("api_token" = []), ("api_email" = [], "api_key" = [])),
    extensions(("x-api-token-group" = json!(["Zero Trust Read", "Zero Trust Write"]))),
)]
pub async fn list_physical(
    State(state): State<AppState>,
    account: AccountId,
    auth: Auth,
    query: QueryPairs,
) -> Result<Json<CursorPage<PhysicalDevice>>, ApiError> {
    let access = auth.require(Permission::DevicesRead, &account).await?;
    let (filter, offset, per_page) = physical_listing(&query)?;
    let found = match matches_nothing(&query)? {
        true => Vec::new(),
        false => {
            state
                .store
                .physical_devices(access.account_id(), filter, offset, per_page + 1)
                .await?
        }
    };
    Ok(Json(CursorPage::new(found, offset, per_page, physical_view)))
}

fn no_device(id: &str) -> ApiError {
    ApiError::NotFound(vec![Problem::new(
        "",
        format!("no device with id {id:?} in this account"),
    )])
}

/// Get device
#[utoipa::path(
    get,
    path = "/client/v4/accounts/{account_id}/devices/physical-devices/{device_id}",
    operation_id = "zero-trust-devices-get-device",
    tag = "Devices",
    params(("account_id" = String, Path, max_length = 32), ("device_id" = String, Path, max_length = 256)),
    responses(
        (status = 200, description = "Get device response", body = Envelope<PhysicalDevice>),
        (status = "4XX", description = "Get device response failure", body = FailureEnvelope),
    ),
    security(("api_token" = []), ("api_email" = [], "api_key" = [])),
    extensions(("x-api-token-group" = json!(["Zero Trust Read", "Zero Trust Write"]))),
)]
pub async fn get_physical(
    State(state): State<AppState>,
    account: AccountId,
    auth: Auth,
    DeviceIdPath(id): DeviceIdPath,
) -> Result<Json<Envelope<PhysicalDevice>>, ApiError> {
    let access = auth.require(Permission::DevicesRead, &account).await?;
    let found = state.store.physical_device(access.account_id(), &id).await?;
    Ok(Json(Envelope::ok(physical_view(found.ok_or_else(|| no_device(&id))?))))
}

async fn end_physical(
    state: AppState,
    account: AccountId,
    auth: Auth,
    id: String,
    delete: bool,
) -> Result<Json<Envelope<Map<String, Value>>>, ApiError> {
    let access = auth.require(Permission::DevicesWrite, &account).await?;
    state
        .store
        .end_physical_device(access.account_id(), &id, delete, auth.actor(), state.clock.now())
        .await
        .map_err(|e| ApiError::from_store(e, || no_device(&id)))?;
    Ok(done())
}

/// Delete device
///
/// Deletes every registration of the device.
#[utoipa::path(
    delete,
    path = "/client/v4/accounts/{account_id}/devices/physical-devices/{device_id}",
    operation_id = "zero-trust-devices-delete-device",
    tag = "Devices",
    params(("account_id" = String, Path, max_length = 32), ("device_id" = String, Path, max_length = 256)),
    responses(
        (status = 200, description = "Delete device response", body = Envelope<serde_json::Value>),
        (status = "4XX", description = "Delete device response failure", body = FailureEnvelope),
    ),
    security(("api_token" = []), ("api_email" = [], "api_key" = [])),
    extensions(("x-api-token-group" = json!(["Zero Trust Write"]))),
)]
pub async fn delete_physical(
    State(state): State<AppState>,
    account: AccountId,
    auth: Auth,
    DeviceIdPath(id): DeviceIdPath,
) -> Result<Json<Envelope<Map<String, Value>>>, ApiError> {
    end_physical(state, account, auth, id, true).await
}

/// Revoke device
///
/// Revokes every registration of the device.
#[utoipa::path(
    post,
    path = "/client/v4/accounts/{account_id}/devices/physical-devices/{device_id}/revoke",
    operation_id = "zero-trust-devices-revoke-device",
    tag = "Devices",
    params(("account_id" = String, Path, max_length = 32), ("device_id" = String, Path, max_length = 256)),
    responses(
        (status = 200, description = "Revoke device response", body = Envelope<serde_json::Value>),
        (status = "4XX", description = "Revoke device response failure", body = FailureEnvelope),
    ),
    security(("api_token" = []), ("api_email" = [], "api_key" = [])),
    extensions(("x-api-token-group" = json!(["Zero Trust Write"]))),
)]
pub async fn revoke_physical(
    State(state): State<AppState>,
    account: AccountId,
    auth: Auth,
    DeviceIdPath(id): DeviceIdPath,
) -> Result<Json<Envelope<Map<String, Value>>>, ApiError> {
    end_physical(state, account, auth, id, false).await
}

/// The registration ids of a deprecated `revoke` / `unrevoke` body: a JSON array of strings,
/// at most [`MAX_IDS`], each once.
fn body_ids(body: Value) -> Result<Vec<String>, ApiError> {
    let Value::Array(items) = body else {
        return Err(invalid("", "the body must be a JSON array of registration ids".into()));
    };
    if items.is_empty() {
        return Err(invalid("", "name at least one registration".into()));
    }
    if items.len() > MAX_IDS {
        return Err(invalid(
            "",
            format!("at most {MAX_IDS} ids per request, got {}", items.len()),
        ));
    }
    let mut out: Vec<String> = Vec::with_capacity(items.len());
    let mut problems = Vec::new();
    for (i, item) in items.into_iter().enumerate() {
        match item {
            Value::String(id) if !id.is_empty() && id.chars().count() <= MAX_TEXT => {
                if out.contains(&id) {
                    problems.push(Problem::new(format!("/{i}"), format!("{id:?} is named twice")));
                }
                out.push(id);
            }
            _ => problems.push(Problem::new(format!("/{i}"), "a registration id is a non-empty string")),
        }
    }
    match problems.is_empty() {
        true => Ok(out),
        false => Err(ApiError::Invalid(problems)),
    }
}

async fn deprecated_set_revoked(
    state: AppState,
    account: AccountId,
    auth: Auth,
    body: JsonBody,
    revoked: bool,
) -> Result<Json<Envelope<Value>>, ApiError> {
    let access = auth.require(Permission::DevicesWrite, &account).await?;
    let ids = body_ids(body.read(&state.config).await?)?;
    state
        .store
        .set_registrations_revoked(
            access.account_id(),
            ids.clone(),
            revoked,
            auth.actor(),
            state.clock.now(),
        )
        .await
        .map_err(|e| match e {
            StoreError::NotFound { positions } => ApiError::NotFound(
                positions
                    .iter()
                    .filter_map(|&i| ids.get(i).map(|id| (i, id)))
                    .map(|(i, id)| {
                        Problem::new(
                            format!("/{i}"),
                            format!("no registration with id {id:?} in this account"),
                        )
                    })
                    .collect(),
            ),
            other => other.into(),
        })?;
    Ok(Json(Envelope::ok(Value::Null)))
}

/// Revoke devices (deprecated)
///
/// The registrations named in the body (a JSON array of ids) are revoked, as
/// `…/registrations/revoke` does.
#[utoipa::path(
    post,
    path = "/client/v4/accounts/{account_id}/devices/revoke",
    operation_id = "devices-revoke-devices",
    tag = "Devices",
    params(("account_id" = String, Path, max_length = 32)),
    request_body(content = Vec<String>, content_type = "application/json"),
    responses(
        (status = 200, description = "Revoke devices response", body = Envelope<serde_json::Value>),
        (status = "4XX", description = "Revoke devices response failure", body = FailureEnvelope),
    ),
    security(("api_token" = []), ("api_email" = [], "api_key" = [])),
    extensions(("x-api-token-group" = json!(["Zero Trust Write"]))),
)]
pub async fn deprecated_revoke(
    State(state): State<AppState>,
    account: AccountId,
    auth: Auth,
    body: JsonBody,
) -> Result<Json<Envelope<Value>>, ApiError> {
    deprecated_set_revoked(state, account, auth, body, true).await
}

/// Unrevoke devices (deprecated)
#[utoipa::path(
    post,
    path = "/client/v4/accounts/{account_id}/devices/unrevoke",
    operation_id = "devices-unrevoke-devices",
    tag = "Devices",
    params(("account_id" = String, Path, max_length = 32)),
    request_body(content = Vec<String>, content_type = "application/json"),
    responses(
        (status = 200, description = "Unrevoke devices response", body = Envelope<serde_json::Value>),
        (status = "4XX", description = "Unrevoke devices response failure", body = FailureEnvelope),
    ),
    security(("api_token" = []), ("api_email" = [], "api_key" = [])),
    extensions(("x-api-token-group" = json!(["Zero Trust Write"]))),
)]
pub async fn deprecated_unrevoke(
    State(state): State<AppState>,
    account: AccountId,
    auth: Auth,
    body: JsonBody,
) -> Result<Json<Envelope<Value>>, ApiError> {
    deprecated_set_revoked(state, account, auth, body, false).await
}

/// The `{device_id}` of a physical device's path, as given.
#[derive(Debug, Clone)]
pub struct DeviceIdPath(String);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for DeviceIdPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, state: &S) -> Result<Self, Self::Rejection> {
        let id = path_param(parts, state, "device_id").await;
        id.map(DeviceIdPath).ok_or(ApiError::NoRoute)
    }
}
