//! `/populations/{identity_provider_id}/scim/v2/Groups`. Members are users of the same
//! provider, named by their SCIM id (`members[].value`).

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use seats_store::identity_provider::{ScimGroupRecord, ScimGroupWrite};
use seats_store::StoreError;
use serde_json::{json, Map, Value};

use super::auth::ScimProvider;
use super::error::ScimError;
use super::views::{group_resource, project, GROUP_SCHEMA};
use super::{filter, if_match, list_response, paging, resource, Scim};
use crate::extract::query::QueryPairs;
use crate::extract::JsonBody;
use crate::AppState;

const DROPPED: &[&str] = &["id", "meta"];
const CANONICAL: &[&str] = &["schemas", "displayName", "externalId", "members"];

/// Checks a Group resource and reads the keys it is stored by.
fn check(body: Value) -> Result<ScimGroupWrite, ScimError> {
    let mut resource = resource::read(body, "Group", GROUP_SCHEMA, DROPPED, CANONICAL)?;
    let display_name = resource::required_text(&resource, "displayName")?;
    let external_id = match resource.get("externalId") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return Err(ScimError::invalid_value("externalId must be a string")),
    };
    let members = match resource.remove("members") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(members)) => members
            .iter()
            .map(|m| {
                m.get("value")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
                    .ok_or_else(|| ScimError::invalid_value("each member needs a string value (a User id)"))
            })
            .collect::<Result<Vec<_>, _>>()?,
        Some(_) => return Err(ScimError::invalid_value("members must be an array")),
    };
    Ok(ScimGroupWrite {
        resource,
        display_name,
        external_id,
        members,
    })
}

/// The store's answer, said the SCIM way: unknown members are 400, an unknown group 404.
fn refused<'a>(id: Option<&'a str>, members: &'a [String]) -> impl Fn(StoreError) -> ScimError + 'a {
    move |e| match e {
        StoreError::NotFound { positions } if !positions.is_empty() => {
            let unknown: Vec<&str> = positions
                .iter()
                .filter_map(|p| members.get(*p))
                .map(String::as_str)
                .collect();
            ScimError::invalid_value(format!(
                "members are not users of this identity provider: {}",
                unknown.join(", ")
            ))
        }
        StoreError::NotFound { .. } => ScimError::not_found("Group", id.unwrap_or_default()),
        other => other.into(),
    }
}

async fn load(state: &AppState, scim: &ScimProvider, id: &str) -> Result<ScimGroupRecord, ScimError> {
    state
        .store
        .scim_group(&scim.provider.id, id)
        .await?
        .ok_or_else(|| ScimError::not_found("Group", id))
}

pub async fn list(State(state): State<AppState>, scim: ScimProvider, query: QueryPairs) -> Result<Scim, ScimError> {
    let (start, count) = paging(&query)?;
    let filter = match query.get("filter") {
        Some(f) if !f.trim().is_empty() => filter::groups(f)?,
        _ => Default::default(),
    };
    let (groups, total) = state
        .store
        .scim_groups(&scim.provider.id, filter, start - 1, count)
        .await?;
    // Entra asks for `excludedAttributes=members`: member lists can be long.
    let resources = groups
        .iter()
        .map(|g| {
            project(
                group_resource(g, &scim.base),
                query.get("attributes"),
                query.get("excludedAttributes"),
            )
        })
        .collect();
    Ok(list_response(resources, total, start))
}

pub async fn create(State(state): State<AppState>, scim: ScimProvider, body: JsonBody) -> Result<Scim, ScimError> {
    let group = check(body.read(&state.config).await?)?;
    let members = group.members.clone();
    let created = state
        .store
        .put_scim_group(&scim.provider.id, None, group, None, state.clock.now())
        .await
        .map_err(refused(None, &members))?;
    Ok(Scim::resource(group_resource(&created, &scim.base), true))
}

pub async fn get(
    State(state): State<AppState>,
    scim: ScimProvider,
    Path((_, id)): Path<(String, String)>,
    query: QueryPairs,
) -> Result<Scim, ScimError> {
    let group = load(&state, &scim, &id).await?;
    let view = group_resource(&group, &scim.base);
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
    let group = check(body.read(&state.config).await?)?;
    let members = group.members.clone();
    let replaced = state
        .store
        .put_scim_group(&scim.provider.id, Some(&id), group, expected, state.clock.now())
        .await
        .map_err(refused(Some(&id), &members))?;
    Ok(Scim::resource(group_resource(&replaced, &scim.base), false))
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
            let mut resource = current.resource;
            resource.insert("displayName".into(), json!(current.display_name));
            let members: Vec<Value> = current.members.iter().map(|m| json!({"value": m})).collect();
            resource.insert("members".into(), Value::Array(members));
            Ok((current.version, resource))
        })
    };
    let put = |edited: Map<String, Value>, version: u64| -> resource::Step<'_, Scim> {
        Box::pin(async move {
            let group = check(Value::Object(edited))?;
            let members = group.members.clone();
            let provider = &scim.provider.id;
            let patched = state
                .store
                .put_scim_group(provider, Some(id), group, Some(version), state.clock.now())
                .await
                .map_err(refused(Some(id), &members))?;
            Ok(Scim::resource(group_resource(&patched, &scim.base), false))
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
        .delete_scim_group(&scim.provider.id, &id, expected, state.clock.now())
        .await
        .map_err(refused(Some(&id), &[]))?;
    Ok(StatusCode::NO_CONTENT)
}
