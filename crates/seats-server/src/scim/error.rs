//! SCIM errors (RFC 7644 §3.12): `urn:ietf:params:scim:api:messages:2.0:Error` bodies with the
//! status as a string and a `scimType` where the RFC names one.

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use seats_store::StoreError;
use serde_json::json;

use super::CONTENT_TYPE;
use crate::error::ApiError;

pub const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

#[derive(Debug)]
pub struct ScimError {
    pub status: StatusCode,
    pub scim_type: Option<&'static str>,
    pub detail: String,
    /// Whole seconds for `Retry-After` (on a 429).
    pub retry_after: Option<u64>,
}

impl ScimError {
    pub fn new(status: StatusCode, scim_type: Option<&'static str>, detail: impl Into<String>) -> Self {
        ScimError {
            status,
            scim_type,
            detail: detail.into(),
            retry_after: None,
        }
    }

    /// 429: the client address sent too many wrong secrets (see [`crate::rate_limit::failed_auth`]).
    pub fn too_many_failures(retry_after: std::time::Duration) -> Self {
        let seconds = crate::error::retry_after_seconds(retry_after);
        ScimError {
            retry_after: Some(seconds),
            ..Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                None,
                format!("too many failed authentications from this address; retry in {seconds} s"),
            )
        }
    }

    /// 400 `invalidValue`: a required attribute is missing or a value does not fit.
    pub fn invalid_value(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, Some("invalidValue"), detail)
    }

    /// 400 `invalidSyntax`: the body is not a SCIM request of this kind.
    pub fn invalid_syntax(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, Some("invalidSyntax"), detail)
    }

    pub fn invalid_filter(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, Some("invalidFilter"), detail)
    }

    pub fn invalid_path(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, Some("invalidPath"), detail)
    }

    pub fn no_target(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, Some("noTarget"), detail)
    }

    pub fn mutability(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, Some("mutability"), detail)
    }

    pub fn not_found(what: &str, id: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, None, format!("{what} {id} not found"))
    }

    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, None, detail)
    }
}

impl IntoResponse for ScimError {
    fn into_response(self) -> Response {
        let mut body = json!({
            "schemas": [ERROR_SCHEMA],
            "status": self.status.as_u16().to_string(),
            "detail": self.detail,
        });
        if let Some(scim_type) = self.scim_type {
            body["scimType"] = json!(scim_type);
        }
        let mut response = (self.status, body.to_string()).into_response();
        let headers = response.headers_mut();
        headers.insert("content-type", HeaderValue::from_static(CONTENT_TYPE));
        if let Some(seconds) = self.retry_after {
            headers.insert("retry-after", HeaderValue::from(seconds));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            headers.insert("www-authenticate", HeaderValue::from_static("Bearer realm=\"SCIM\""));
        }
        response
    }
}

impl From<StoreError> for ScimError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(what) => ScimError::new(StatusCode::CONFLICT, Some("uniqueness"), what.to_string()),
            StoreError::Stale => ScimError::new(
                StatusCode::PRECONDITION_FAILED,
                None,
                "the resource changed since the version in If-Match",
            ),
            StoreError::NotFound { .. } => ScimError::new(StatusCode::NOT_FOUND, None, "not found"),
            other => {
                tracing::error!(error = %other, "internal error");
                ScimError::new(StatusCode::INTERNAL_SERVER_ERROR, None, "Internal error")
            }
        }
    }
}

/// Errors of reading the body, said the SCIM way.
impl From<ApiError> for ScimError {
    fn from(e: ApiError) -> Self {
        let status = e.status();
        match e {
            ApiError::MalformedJson => ScimError::invalid_syntax("the body is not a JSON document"),
            ApiError::Internal(cause) => {
                tracing::error!(error = %cause, "internal error");
                ScimError::new(status, None, "Internal error")
            }
            other => {
                let detail = other.messages().first().map(|m| m.message.clone()).unwrap_or_default();
                ScimError::new(status, None, detail)
            }
        }
    }
}
