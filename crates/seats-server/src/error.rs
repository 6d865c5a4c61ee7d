//! The one error type of the HTTP layer. Each variant knows its status and Cloudflare code
//! (docs/contract.md §3) and renders the v4 envelope.

use axum::http::{HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use seats_store::StoreError;
use seats_types::Message;

/// A problem in a request body or query, located by a JSON pointer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub pointer: String,
    pub message: String,
}

impl Problem {
    pub fn new(pointer: impl Into<String>, message: impl Into<String>) -> Self {
        Problem {
            pointer: pointer.into(),
            message: message.into(),
        }
    }
}

pub const MISSING_CREDENTIALS: &str = "Missing X-Auth-Key, X-Auth-Email or Authorization headers";

/// Everything a request can fail with.
#[derive(Debug)]
pub enum ApiError {
    /// 400 9106: no credentials, or only one of email and key.
    MissingCredentials,
    /// 400 6003 with the underlying format errors (6111, 6102, 6103) in `error_chain`.
    InvalidHeaders(Vec<Message>),
    /// 403 10001: a user service key alone.
    ServiceKeyRefused,
    /// 403 9109: unknown, disabled, expired or not-yet-valid token.
    InvalidToken,
    /// 403 9103: unknown email and key pair.
    UnknownKey,
    /// 403 10000: the credential lacks the permission (or the account does not exist).
    Forbidden,
    /// 401 1000 on `/user/tokens/verify` for a token that does not exist.
    InvalidApiToken,
    /// 400 7003 + 7000: the account id in the path is not 32 lowercase hex characters.
    BadAccountId { path: String },
    /// 404 7000.
    NoRoute,
    /// 405 7001; axum adds the `Allow` header.
    MethodNotAllowed { method: Method },
    /// 400 6007.
    MalformedJson,
    /// 400 12006, one error per problem.
    Invalid(Vec<Problem>),
    /// 413 12007.
    PayloadTooLarge { limit: usize },
    /// 408 12008: the body stalled or took too long (`--body-timeout`).
    BodyTimeout,
    /// 429 971 (with `Retry-After`): the caller's budget is spent (`--rate-limit`).
    RateLimited { retry_after: std::time::Duration },
    /// 431 6003: more request headers than the server reads (100), or a head too large; the
    /// connection layer sends it in place of hyper's bare 431.
    HeadersTooLarge,
    /// 503 10003: every connection slot is taken (`--max-connections`); with `Retry-After`.
    TooManyConnections,
    /// 404 12130, one error per missing item.
    NotFound(Vec<Problem>),
    /// 409 12009.
    SeatLimit { used: u64, limit: u64 },
    /// 409 12010.
    Conflict(String),
    /// 503 10003 with `Retry-After`: the database cannot take the request now (unreachable,
    /// or read-only during a failover); the cause is logged, never shown.
    Unavailable(Box<dyn std::error::Error + Send + Sync>),
    /// 500 10002; the cause is logged, never shown.
    Internal(Box<dyn std::error::Error + Send + Sync>),
}

/// A wait as `Retry-After` states it: whole seconds, rounded up (a client that waits this long
/// is served), at least 1.
pub fn retry_after_seconds(wait: std::time::Duration) -> u64 {
    (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1)
}

impl ApiError {
    pub fn internal(e: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        ApiError::Internal(e.into())
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::MissingCredentials
            | ApiError::InvalidHeaders(_)
            | ApiError::BadAccountId { .. }
            | ApiError::MalformedJson
            | ApiError::Invalid(_) => StatusCode::BAD_REQUEST,
            ApiError::InvalidApiToken => StatusCode::UNAUTHORIZED,
            ApiError::ServiceKeyRefused | ApiError::InvalidToken | ApiError::UnknownKey | ApiError::Forbidden => {
                StatusCode::FORBIDDEN
            }
            ApiError::NoRoute | ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::BodyTimeout => StatusCode::REQUEST_TIMEOUT,
            ApiError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::TooManyConnections | ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::HeadersTooLarge => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            ApiError::SeatLimit { .. } | ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The `errors` array of the envelope.
    pub fn messages(&self) -> Vec<Message> {
        let one = |code, msg: &str| vec![Message::new(code, msg)];
        let located = |code, prefix: &str, problems: &[Problem]| {
            problems
                .iter()
                .map(|p| Message::new(code, format!("{prefix}: {}", p.message)).with_pointer(p.pointer.clone()))
                .collect()
        };
        match self {
            ApiError::MissingCredentials => one(9106, MISSING_CREDENTIALS),
            ApiError::InvalidHeaders(chain) => {
                vec![Message::new(6003, "Invalid request headers").with_chain(chain.clone())]
            }
            ApiError::ServiceKeyRefused => one(10001, "Unable to authenticate request"),
            ApiError::InvalidToken => one(9109, "Invalid access token"),
            ApiError::UnknownKey => one(9103, "Unknown X-Auth-Key or X-Auth-Email"),
            ApiError::Forbidden => one(10000, "Authentication error"),
            ApiError::InvalidApiToken => one(1000, "Invalid API Token"),
            ApiError::BadAccountId { path } => vec![
                Message::new(
                    7003,
                    format!("Could not route to {path}, perhaps your object identifier is invalid?"),
                ),
                Message::new(7000, "No route for that URI"),
            ],
            ApiError::NoRoute => one(7000, "No route for that URI"),
            ApiError::MethodNotAllowed { method, .. } => {
                one(7001, &format!("Method {method} not available for that URI."))
            }
            ApiError::MalformedJson => one(6007, "Malformed JSON in request body"),
            ApiError::Invalid(problems) => located(12006, "access.api.error.invalid_request", problems),
            ApiError::PayloadTooLarge { limit } => vec![Message::new(
                12007,
                format!("access.api.error.payload_too_large: request body is larger than {limit} bytes"),
            )
            .with_pointer("")],
            ApiError::BodyTimeout => one(
                12008,
                "access.api.error.request_timeout: the request body did not arrive in time",
            ),
            ApiError::RateLimited { .. } => one(971, "Please wait and consider throttling your request speed"),
            ApiError::HeadersTooLarge => one(
                6003,
                "Invalid request headers: more than 100 headers, or headers too large",
            ),
            ApiError::TooManyConnections => one(
                10003,
                "Service temporarily unavailable: too many open connections, retry shortly",
            ),
            ApiError::NotFound(problems) => located(12130, "access.api.error.not_found", problems),
            ApiError::SeatLimit { used, limit } => one(
                12009,
                &format!("access.api.error.seat_limit_reached: {used}/{limit} seats in use"),
            ),
            ApiError::Conflict(what) => one(12010, &format!("access.api.error.conflict: {what}")),
            ApiError::Unavailable(_) => one(
                10003,
                "Service temporarily unavailable: the database cannot take requests now, retry shortly",
            ),
            ApiError::Internal(_) => one(10002, "Internal error"),
        }
    }
}

impl From<StoreError> for ApiError {
    /// Only for errors without request context; handlers map `NotFound` positions themselves.
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::SeatLimit { used, limit } => ApiError::SeatLimit { used, limit },
            StoreError::Conflict(what) => ApiError::Conflict(what.to_string()),
            StoreError::NotFound { .. } => ApiError::NotFound(vec![Problem::new("", "not found")]),
            StoreError::Stale => ApiError::Conflict("the record changed meanwhile; try again".into()),
            StoreError::Unavailable(e) => ApiError::Unavailable(e),
            StoreError::Other(e) => ApiError::Internal(e),
            // Seeds are loaded at start-up, never through a request.
            e @ StoreError::InvalidSeed(_) => ApiError::Internal(Box::new(e)),
        }
    }
}

impl ApiError {
    /// Maps a storage error, answering [`StoreError::NotFound`] with `not_found()` (the
    /// handler knows what was missing) and everything else as `From` does.
    pub fn from_store(e: StoreError, not_found: impl FnOnce() -> ApiError) -> ApiError {
        match e {
            StoreError::NotFound { .. } => not_found(),
            other => other.into(),
        }
    }
}

/// The failure envelope every error renders: `success: false`, `result: null`.
/// It is what [`ApiError`] writes, and the schema the OpenAPI document gives for every error.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct FailureEnvelope {
    /// Whether the API call was successful
    success: bool,
    errors: Vec<Message>,
    messages: Vec<Message>,
    #[schema(value_type = Option<Object>, required = true)]
    result: Option<()>,
}

impl FailureEnvelope {
    pub fn new(errors: Vec<Message>) -> Self {
        FailureEnvelope {
            success: false,
            errors,
            messages: Vec::new(),
            result: None,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match &self {
            ApiError::Internal(cause) => tracing::error!(error = %cause, "internal error"),
            ApiError::Unavailable(cause) => tracing::warn!(error = %cause, "database unavailable"),
            _ => {}
        }
        let status = self.status();
        let body = FailureEnvelope::new(self.messages());
        let mut response = (status, Json(body)).into_response();
        match self {
            // Retrying cannot help: the state that refused the request has to change first.
            ApiError::SeatLimit { .. } | ApiError::Conflict(_) => {
                response
                    .headers_mut()
                    .insert("x-should-retry", HeaderValue::from_static("false"));
            }
            ApiError::RateLimited { retry_after } => {
                response
                    .headers_mut()
                    .insert("retry-after", HeaderValue::from(retry_after_seconds(retry_after)));
            }
            ApiError::TooManyConnections | ApiError::Unavailable(_) => {
                response
                    .headers_mut()
                    .insert("retry-after", HeaderValue::from_static("1"));
            }
            _ => {}
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_errors_hide_their_cause() {
        let e = ApiError::internal("no such table: users at /var/lib/seats.db");
        assert_eq!(e.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(e.messages(), vec![Message::new(10002, "Internal error")]);
    }

    #[test]
    fn located_problems_carry_pointers() {
        let e = ApiError::Invalid(vec![Problem::new("/0/seat_uid", "seat_uid is required")]);
        let m = &e.messages()[0];
        assert_eq!(m.code, 12006);
        assert_eq!(m.message, "access.api.error.invalid_request: seat_uid is required");
        assert_eq!(m.pointer(), Some("/0/seat_uid"));
    }
}
