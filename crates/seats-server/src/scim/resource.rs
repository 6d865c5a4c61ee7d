//! What Users and Groups share: reading a resource body, and PATCH as read, apply, write back.

use std::future::Future;
use std::pin::Pin;

use axum::http::StatusCode;
use serde_json::{Map, Value};

use super::error::ScimError;
use super::patch;

/// The body as a resource: without the attributes in `dropped` (the server's own, or never
/// stored), with the core attribute names in `canonical` spelled as the RFC does (names are
/// case-insensitive), and `schemas` required to list `schema`.
pub fn read(
    body: Value,
    kind: &str,
    schema: &str,
    dropped: &[&str],
    canonical: &[&str],
) -> Result<Map<String, Value>, ScimError> {
    let Value::Object(given) = body else {
        return Err(ScimError::invalid_syntax(format!("a {kind} must be a JSON object")));
    };
    let mut resource = Map::new();
    for (key, value) in given {
        if dropped.iter().any(|d| d.eq_ignore_ascii_case(&key)) {
            continue;
        }
        let key = canonical
            .iter()
            .find(|c| c.eq_ignore_ascii_case(&key))
            .map_or(key, |c| (*c).to_owned());
        resource.insert(key, value);
    }
    // An extension object holds its attributes; clients sometimes repeat `schemas` inside it.
    for (_, ext) in resource.iter_mut().filter(|(k, _)| k.starts_with("urn:")) {
        if let Some(ext) = ext.as_object_mut() {
            ext.retain(|k, _| !k.eq_ignore_ascii_case("schemas"));
        }
    }
    let schemas = resource.get("schemas").and_then(Value::as_array);
    if !schemas.is_some_and(|s| {
        s.iter()
            .any(|v| v.as_str().is_some_and(|v| v.eq_ignore_ascii_case(schema)))
    }) {
        return Err(ScimError::invalid_syntax(format!("schemas must list {schema}")));
    }
    Ok(resource)
}

/// Applies a PATCH on a blocking thread: its cost follows the stored resource (a group's
/// members) as well as the body, so it never holds an async worker.
async fn apply_off_the_runtime(
    mut resource: Map<String, Value>,
    body: std::sync::Arc<Value>,
) -> Result<Map<String, Value>, ScimError> {
    tokio::task::spawn_blocking(move || patch::apply(&mut resource, &body).map(|()| resource))
        .await
        .map_err(|e| {
            ScimError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                None,
                format!("the PATCH failed: {e}"),
            )
        })?
}

/// Most elements of one multi-valued attribute of a User (`emails`, `phoneNumbers`, ...).
pub const MAX_USER_VALUES: usize = 100;

/// Refuses a User whose multi-valued attributes (at the top or in an extension) hold more
/// than [`MAX_USER_VALUES`] elements.
pub fn bounded_values(resource: &Map<String, Value>) -> Result<(), ScimError> {
    let top = resource.iter();
    let nested = resource
        .iter()
        .filter(|(k, _)| k.starts_with("urn:"))
        .filter_map(|(_, v)| v.as_object())
        .flat_map(|ext| ext.iter());
    for (key, value) in top.chain(nested) {
        if let Value::Array(items) = value {
            if items.len() > MAX_USER_VALUES {
                return Err(ScimError::invalid_value(format!(
                    "{key}: at most {MAX_USER_VALUES} values ({} given)",
                    items.len()
                )));
            }
        }
    }
    Ok(())
}

/// A required, non-empty `displayName`-like string under the text rule.
pub fn required_text(resource: &Map<String, Value>, key: &str) -> Result<String, ScimError> {
    match resource.get(key) {
        Some(Value::String(s)) if !s.trim().is_empty() => {
            match seats_types::formats::text_problem(key, s, seats_types::formats::MAX_NAME_CHARS) {
                Some(problem) => Err(ScimError::invalid_value(problem)),
                None => Ok(s.clone()),
            }
        }
        _ => Err(ScimError::invalid_value(format!(
            "{key} is required and must be a non-empty string"
        ))),
    }
}

/// One step of [`patch_with_retries`]: a boxed future, so handlers stay `Send`.
pub type Step<'a, T> = Pin<Box<dyn Future<Output = Result<T, ScimError>> + Send + 'a>>;

/// Times a PATCH without `If-Match` is tried when other writes land between its read and
/// its write.
const PATCH_ATTEMPTS: usize = 3;

/// A PATCH: `load` reads the current `(version, resource)`, the operations of `body` apply
/// to it, and `put` writes the result if the version is still current. With `expected` (the
/// client's `If-Match`) a stale version is 412; without, the PATCH starts over.
pub async fn patch_with_retries<'a, T>(
    expected: Option<u64>,
    body: &Value,
    load: impl Fn() -> Step<'a, (u64, Map<String, Value>)>,
    put: impl Fn(Map<String, Value>, u64) -> Step<'a, T>,
) -> Result<T, ScimError> {
    patch::operations(body)?;
    let body = std::sync::Arc::new(body.clone());
    for _ in 0..PATCH_ATTEMPTS {
        let (version, resource) = load().await?;
        if expected.is_some_and(|v| v != version) {
            return Err(seats_store::StoreError::Stale.into());
        }
        let resource = apply_off_the_runtime(resource, body.clone()).await?;
        match put(resource, version).await {
            Err(e) if e.status == StatusCode::PRECONDITION_FAILED && expected.is_none() => continue,
            other => return other,
        }
    }
    Err(ScimError::new(
        StatusCode::CONFLICT,
        None,
        "the resource kept changing; try again",
    ))
}
