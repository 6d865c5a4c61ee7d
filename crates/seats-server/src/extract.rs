//! Extractors that answer in the envelope: the account id of the path, and the body, read
//! only after authentication (SPEC §3 check order).

use axum::body::Body;
use axum::extract::{FromRequest, FromRequestParts, RawPathParams, Request};
use axum::http::request::Parts;
use http_body_util::LengthLimitError;

use crate::error::ApiError;

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
        let params = RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::NoRoute)?;
        let id = params
            .iter()
            .find(|(k, _)| *k == "account_id")
            .map(|(_, v)| v.to_owned());
        match id {
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
    /// Reads at most `limit` bytes (413 past that) and parses them as JSON (6007 if they are
    /// empty or not JSON), whatever the `Content-Type` says.
    pub async fn read(self, limit: usize) -> Result<serde_json::Value, ApiError> {
        let bytes = axum::body::to_bytes(self.0, limit).await.map_err(|e| {
            if is_length_limit(&e) {
                ApiError::PayloadTooLarge { limit }
            } else {
                // The client stopped sending mid-body: what arrived is not a JSON document.
                ApiError::MalformedJson
            }
        })?;
        serde_json::from_slice(&bytes).map_err(|_| ApiError::MalformedJson)
    }
}

fn is_length_limit(e: &axum::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = source {
        if err.is::<LengthLimitError>() {
            return true;
        }
        source = err.source();
    }
    false
}
