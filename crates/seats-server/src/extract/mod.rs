//! Extractors that answer in the envelope: the account id of the path, and the body, read
//! only after authentication (docs/contract.md §3 check order).

pub mod body;
pub mod query;

use axum::body::Body;
use axum::extract::{FromRequest, FromRequestParts, RawPathParams, Request};
use axum::http::request::Parts;
use http_body_util::{BodyExt, LengthLimitError};

use crate::config::ServerConfig;
use crate::error::ApiError;

/// The value of the path parameter `name`, as given; `None` when the route has none.
pub async fn path_param<S: Send + Sync>(parts: &mut Parts, state: &S, name: &str) -> Option<String> {
    let params = RawPathParams::from_request_parts(parts, state).await.ok()?;
    params.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_owned())
}

/// The `{account_id}` of the path, checked to be 32 lowercase hex characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountId(String);

impl AccountId {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<S: Send + Sync> FromRequestParts<S> for AccountId {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match path_param(parts, state, "account_id").await {
            Some(id) if seats_types::formats::is_account_id(&id) => {
                tracing::Span::current().record("account_id", id.as_str());
                Ok(AccountId(id))
            }
            _ => Err(ApiError::BadAccountId {
                path: parts.uri.path().to_owned(),
            }),
        }
    }
}

/// The request body, not yet read. Taking it as the last extractor lets the handler check
/// credentials and permissions before the body is looked at.
#[derive(Debug)]
pub struct JsonBody(Body);

impl<S: Send + Sync> FromRequest<S> for JsonBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(JsonBody(req.into_body()))
    }
}

impl JsonBody {
    /// Reads at most `config.max_body_bytes` (413 past that) within the body timeouts (408
    /// when a piece takes longer than `body_chunk_timeout` or the whole longer than
    /// `body_timeout`) and parses it as JSON (6007 if it is empty or not JSON), whatever the
    /// `Content-Type` says.
    pub async fn read(self, config: &ServerConfig) -> Result<serde_json::Value, ApiError> {
        let bytes = read_bytes(self.0, config).await?;
        serde_json::from_slice(&bytes).map_err(|_| ApiError::MalformedJson)
    }
}

/// A request body's bytes under the configured bounds: at most `max_body_bytes` (413 past
/// that), each piece within `body_chunk_timeout` and the whole within `body_timeout` (408),
/// 6007 when the client stops mid-body. Handlers read through [`JsonBody::read`]; the
/// journal reads through this too, so a body it keeps meets the same bounds.
pub async fn read_bytes(body: Body, config: &ServerConfig) -> Result<Vec<u8>, ApiError> {
    let limit = config.max_body_bytes;
    let limited = http_body_util::Limited::new(body, limit);
    tokio::time::timeout(config.body_timeout, collect(limited, limit, config.body_chunk_timeout))
        .await
        .map_err(|_| ApiError::BodyTimeout)?
}

/// The body's bytes (at most `limit`), each frame awaited at most `chunk_timeout`.
async fn collect(
    mut body: http_body_util::Limited<Body>,
    limit: usize,
    chunk_timeout: std::time::Duration,
) -> Result<Vec<u8>, ApiError> {
    let mut bytes = Vec::new();
    loop {
        let frame = match tokio::time::timeout(chunk_timeout, body.frame()).await {
            Err(_) => return Err(ApiError::BodyTimeout),
            Ok(None) => return Ok(bytes),
            Ok(Some(frame)) => frame.map_err(|e| {
                if is_length_limit(e.as_ref()) {
                    ApiError::PayloadTooLarge { limit }
                } else {
                    // The client stopped sending mid-body: what arrived is not a JSON document.
                    ApiError::MalformedJson
                }
            })?,
        };
        if let Some(data) = frame.data_ref() {
            bytes.extend_from_slice(data);
        }
    }
}

fn is_length_limit(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut source = Some(e);
    while let Some(err) = source {
        if err.is::<LengthLimitError>() {
            return true;
        }
        source = err.source();
    }
    false
}
