//! A SCIM 2.0 service provider (RFC 7643, RFC 7644) per identity provider, at
//! `/populations/{identity_provider_id}/scim/v2`, as Cloudflare serves it at
//! `https://<team>.cloudflareaccess.com/populations/<id>/scim/v2`.
//!
//! Users and Groups are kept as the client sent them (less `id`, `meta` and `password`, which
//! is never stored), so what a client writes reads back. A SCIM user is linked to the account's
//! user of its email and takes no seat; deactivating or deleting it deprovisions that user as
//! the provider's `scim_config` says (see `seats_store::identity_provider`). Every resource
//! has a version: `meta.version` and the `ETag` header, checked against `If-Match` on PUT,
//! PATCH and DELETE (412 when it differs).

mod auth;
mod discovery;
pub mod error;
pub mod filter;
mod groups;
pub mod patch;
mod resource;
mod users;
pub mod views;

use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use axum::Router;
use serde_json::{json, Value};

use crate::extract::query::QueryPairs;
use crate::AppState;
use error::ScimError;

/// The media type of SCIM bodies.
pub const CONTENT_TYPE: &str = "application/scim+json";
/// Most resources one list answers ([`discovery`] says so in `filter.maxResults`).
pub const MAX_RESULTS: u64 = 1000;
/// `count` when a list does not give one.
const DEFAULT_COUNT: u64 = 100;

/// The SCIM routes of every provider. Unknown paths under a provider's base and methods a
/// route does not serve answer with SCIM errors (404, 405), not Cloudflare's envelope.
pub fn router() -> Router<AppState> {
    let base = "/populations/{identity_provider_id}/scim/v2";
    let at = |path: &str| format!("{base}{path}");
    Router::new()
        .route(
            &at("/ServiceProviderConfig"),
            get(discovery::service_provider_config).fallback(no_method),
        )
        .route(
            &at("/ResourceTypes"),
            get(discovery::resource_types).fallback(no_method),
        )
        .route(
            &at("/ResourceTypes/{name}"),
            get(discovery::resource_type).fallback(no_method),
        )
        .route(&at("/Schemas"), get(discovery::schemas).fallback(no_method))
        .route(&at("/Schemas/{urn}"), get(discovery::schema).fallback(no_method))
        .route(&at("/Users"), get(users::list).post(users::create).fallback(no_method))
        .route(
            &at("/Users/{id}"),
            get(users::get)
                .put(users::replace)
                .patch(users::patch)
                .delete(users::delete)
                .fallback(no_method),
        )
        .route(
            &at("/Groups"),
            get(groups::list).post(groups::create).fallback(no_method),
        )
        .route(
            &at("/Groups/{id}"),
            get(groups::get)
                .put(groups::replace)
                .patch(groups::patch)
                .delete(groups::delete)
                .fallback(no_method),
        )
        .route(&at("/.search"), post(search_all).fallback(no_method))
        .route(&at("/{*rest}"), any(no_route))
}

async fn no_method() -> ScimError {
    ScimError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        None,
        "this endpoint does not serve that method",
    )
}

async fn no_route() -> ScimError {
    ScimError::new(StatusCode::NOT_FOUND, None, "no such SCIM endpoint")
}

/// A search across resource types (RFC 7644 §3.4.3) is not offered: 501, as the RFC says.
async fn search_all() -> ScimError {
    ScimError::new(
        StatusCode::NOT_IMPLEMENTED,
        None,
        "searching several resource types at once is not supported; query /Users or /Groups",
    )
}

/// A SCIM response: `application/scim+json`, with `ETag` and `Location` when given.
pub struct Scim {
    status: StatusCode,
    body: Value,
    etag: Option<String>,
    location: Option<String>,
}

impl Scim {
    pub fn ok(body: Value) -> Self {
        Scim {
            status: StatusCode::OK,
            body,
            etag: None,
            location: None,
        }
    }

    /// A resource: its `meta.version` becomes the `ETag`; with `created`, 201 and `Location`.
    pub fn resource(body: Value, created: bool) -> Self {
        let etag = body["meta"]["version"].as_str().map(str::to_owned);
        let location = created
            .then(|| body["meta"]["location"].as_str().map(str::to_owned))
            .flatten();
        Scim {
            status: if created { StatusCode::CREATED } else { StatusCode::OK },
            body,
            etag,
            location,
        }
    }
}

impl IntoResponse for Scim {
    fn into_response(self) -> Response {
        let mut response = (self.status, self.body.to_string()).into_response();
        let headers = response.headers_mut();
        headers.insert("content-type", HeaderValue::from_static(CONTENT_TYPE));
        for (name, value) in [("etag", self.etag), ("location", self.location)] {
            if let Some(value) = value.and_then(|v| HeaderValue::from_str(&v).ok()) {
                headers.insert(name, value);
            }
        }
        response
    }
}

/// `startIndex` (1-based; below 1 means 1) and `count` (0 to [`MAX_RESULTS`]; negative
/// means 0) as RFC 7644 §3.4.2.4 reads them, as `(start_index, count)`.
pub fn paging(query: &QueryPairs) -> Result<(u64, u64), ScimError> {
    let number = |name: &str, default: i64| -> Result<i64, ScimError> {
        match query.get(name) {
            None => Ok(default),
            Some(raw) => raw
                .parse::<i64>()
                .map_err(|_| ScimError::invalid_value(format!("{name} must be an integer, got {raw:?}"))),
        }
    };
    let start = number("startIndex", 1)?.max(1) as u64;
    let count = (number("count", DEFAULT_COUNT as i64)?.max(0) as u64).min(MAX_RESULTS);
    Ok((start, count))
}

/// A ListResponse of `resources` from `start_index`.
pub fn list_response(resources: Vec<Value>, total: u64, start_index: u64) -> Scim {
    Scim::ok(json!({
        "schemas": [views::LIST_SCHEMA],
        "totalResults": total,
        "startIndex": start_index,
        "itemsPerPage": resources.len(),
        "Resources": resources,
    }))
}

/// The version `If-Match` requires, if the request has one. A value that names no version
/// of ours matches nothing: 412.
pub fn if_match(headers: &HeaderMap) -> Result<Option<u64>, ScimError> {
    let Some(value) = headers.get("if-match") else {
        return Ok(None);
    };
    value.to_str().ok().and_then(views::version_of).ok_or_else(|| {
        ScimError::new(
            StatusCode::PRECONDITION_FAILED,
            None,
            "If-Match names no version of this resource",
        )
    })
}
