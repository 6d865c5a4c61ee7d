//! `/populations/{identity_provider_id}/scim/v2/Users`.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use seats_store::identity_provider::{ScimUserRecord, ScimUserWrite};
use seats_store::StoreError;
use serde_json::{Map, Value};

use super::auth::ScimProvider;
use super::error::ScimError;
use super::views::{project, user_resource, USER_SCHEMA};
use super::{filter, if_match, list_response, paging, resource, Scim};
use crate::extract::query::QueryPairs;
use crate::extract::JsonBody;
use crate::AppState;

/// Attributes a client cannot set: the server's own, and `password`, which is never stored.
const DROPPED: &[&str] = &["id", "meta", "groups", "password"];
/// Core attributes whose spelling is made canonical (names are case-insensitive).
const CANONICAL: &[&str] = &[
    "schemas",
    "userName",
    "externalId",
    "displayName",
    "active",
    "emails",
    "name",
];

/// Checks a User resource and reads the keys it is stored by.
pub fn check(body: Value) -> Result<ScimUserWrite, ScimError> {
    let mut resource = resource::read(body, "User", USER_SCHEMA, DROPPED, CANONICAL)?;
    resource::required_text(&resource, "userName")?;
    resource::bounded_values(&resource)?;
    for key in ["externalId", "displayName"] {
        match resource.get(key) {
            None | Some(Value::Null) => {
                resource.remove(key);
            }
            Some(Value::String(s)) => {
                if let Some(problem) = seats_types::formats::text_problem(key, s, seats_types::formats::MAX_NAME_CHARS)
                {
                    return Err(ScimError::invalid_value(problem));
                }
            }
            Some(_) => return Err(ScimError::invalid_value(format!("{key} must be a string"))),
        }
    }
    // Some clients send `"active": "False"`: a boolean in a string. Absent, the user is
    // active (and the attribute stays absent).
    let active = match resource.get("active") {
        None => None,
        Some(Value::Null) => {
            resource.remove("active");
            None
        }
        Some(Value::Bool(b)) => Some(*b),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("true") => Some(true),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("false") => Some(false),
        Some(_) => return Err(ScimError::invalid_value("active must be a boolean")),
    };
    if let Some(active) = active {
        resource.insert("active".into(), Value::Bool(active));
    }
    match resource.get("emails") {
        None | Some(Value::Null) => {}
        Some(Value::Array(emails)) if emails.iter().all(Value::is_object) => {}
        Some(_) => return Err(ScimError::invalid_value("emails must be an array of objects")),
    }
    Ok(ScimUserWrite::from_resource(resource))
}

async fn load(state: &AppState, scim: &ScimProvider, id: &str) -> Result<ScimUserRecord, ScimError> {
    state
        .store
        .scim_user(&scim.provider.id, id)
        .await?
        .ok_or_else(|| ScimError::not_found("User", id))
}

fn not_found_as(id: &str) -> impl Fn(StoreError) -> ScimError + '_ {
    move |e| match e {
        StoreError::NotFound { .. } => ScimError::not_found("User", id),
        other => other.into(),
    }
}

pub async fn list(State(state): State<AppState>, scim: ScimProvider, query: QueryPairs) -> Result<Scim, ScimError> {
    let (start, count) = paging(&query)?;
    let filter = match query.get("filter") {
        Some(f) if !f.trim().is_empty() => filter::users(f)?,
        _ => Default::default(),
    };
    let (users, total) = state
        .store
        .scim_users(&scim.provider.id, filter, start - 1, count)
        .await?;
    let resources = users
        .iter()
        .map(|u| {
            project(
                user_resource(u, &scim.base),
                query.get("attributes"),
                query.get("excludedAttributes"),
            )
        })
        .collect();
    Ok(list_response(resources, total, start))
}

pub async fn create(State(state): State<AppState>, scim: ScimProvider, body: JsonBody) -> Result<Scim, ScimError> {
    let user = check(body.read(&state.config).await?)?;
    let created = state
        .store
        .put_scim_user(&scim.provider.id, None, user, None, state.clock.now())
        .await?;
    Ok(Scim::resource(user_resource(&created, &scim.base), true))
}

pub async fn get(
    State(state): State<AppState>,
    scim: ScimProvider,
    Path((_, id)): Path<(String, String)>,
    query: QueryPairs,
) -> Result<Scim, ScimError> {
    let user = load(&state, &scim, &id).await?;
    let view = user_resource(&user, &scim.base);
    let view = project(view, query.get("attributes"), query.get("excludedAttributes"));
    Ok(Scim::resource(view, false))
}

pub async fn replace(
    State(state): State<AppState>,
    scim: ScimProvider,
    Path((_, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: JsonBody,
) -> Result<Scim, ScimError> {
    let expected = if_match(&headers)?;
    let user = check(body.read(&state.config).await?)?;
    let replaced = state
        .store
        .put_scim_user(&scim.provider.id, Some(&id), user, expected, state.clock.now())
        .await
        .map_err(not_found_as(&id))?;
    Ok(Scim::resource(user_resource(&replaced, &scim.base), false))
}

pub async fn patch(
    State(state): State<AppState>,
    scim: ScimProvider,
    Path((_, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: JsonBody,
) -> Result<Scim, ScimError> {
    let expected = if_match(&headers)?;
    let body = body.read(&state.config).await?;
    let (state, scim, id) = (&state, &scim, &id);
    let load = || -> resource::Step<'_, _> {
        Box::pin(async move {
            let current = load(state, scim, id).await?;
            Ok((current.version, current.resource))
        })
    };
    let put = |edited: Map<String, Value>, version: u64| -> resource::Step<'_, Scim> {
        Box::pin(async move {
            let user = check(Value::Object(edited))?;
            let provider = &scim.provider.id;
            let patched = state
                .store
                .put_scim_user(provider, Some(id), user, Some(version), state.clock.now())
                .await
                .map_err(not_found_as(id))?;
            Ok(Scim::resource(user_resource(&patched, &scim.base), false))
        })
    };
    resource::patch_with_retries(expected, &body, load, put).await
}

pub async fn delete(
    State(state): State<AppState>,
    scim: ScimProvider,
    Path((_, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<impl IntoResponse, ScimError> {
    let expected = if_match(&headers)?;
    state
        .store
        .delete_scim_user(&scim.provider.id, &id, expected, state.clock.now())
        .await
        .map_err(not_found_as(&id))?;
    Ok(StatusCode::NO_CONTENT)
}
