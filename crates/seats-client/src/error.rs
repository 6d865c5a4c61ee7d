//! The one error type of the client.

use std::fmt;

use reqwest::StatusCode;
use seats_types::Message;

/// An error response from the API: its status and the envelope's `errors` and `messages`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// The request, as `METHOD /path` relative to the base URL.
    pub request: String,
    /// The HTTP status.
    pub status: StatusCode,
    /// The envelope's `errors`: code, message, `source.pointer`, `error_chain`.
    pub errors: Vec<Message>,
    /// The envelope's `messages`.
    pub messages: Vec<Message>,
}

impl ApiError {
    /// The first error's code, if the body had one.
    pub fn code(&self) -> Option<i64> {
        self.errors.first().map(|e| e.code)
    }
}

impl fmt::Display for ApiError {
    /// `PATCH /accounts/…/access/seats: 403 Forbidden: 10000 Authentication error`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.request, self.status)?;
        for (i, e) in self.errors.iter().enumerate() {
            f.write_str(if i == 0 { ": " } else { "; " })?;
            write!(f, "{} {}", e.code, e.message)?;
            if let Some(p) = e.pointer() {
                write!(f, " (at {p:?})")?;
            }
            for c in e.error_chain.iter().flatten() {
                write!(f, " [{} {}]", c.code, c.message)?;
            }
        }
        Ok(())
    }
}

/// Everything a call can fail with. API errors are told apart by status, as the official
/// SDKs do (`BadRequestError`, `AuthenticationError`, …).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The client is not configured to make requests (no credentials, a bad base URL, …).
    /// Raised before anything is sent.
    #[error("client configuration: {0}")]
    Config(String),
    /// The call's parameters cannot form a request (an empty `account_id`, …). Nothing was sent.
    #[error("invalid parameters: {0}")]
    InvalidParams(String),
    /// 400.
    #[error("{0}")]
    BadRequest(ApiError),
    /// 401.
    #[error("{0}")]
    Authentication(ApiError),
    /// 403.
    #[error("{0}")]
    PermissionDenied(ApiError),
    /// 404.
    #[error("{0}")]
    NotFound(ApiError),
    /// 409.
    #[error("{0}")]
    Conflict(ApiError),
    /// 422.
    #[error("{0}")]
    UnprocessableEntity(ApiError),
    /// 429.
    #[error("{0}")]
    RateLimited(ApiError),
    /// 5xx.
    #[error("{0}")]
    InternalServer(ApiError),
    /// Any other non-success status.
    #[error("{0}")]
    Status(ApiError),
    /// The server could not be reached, or the connection broke.
    #[error("{request}: connection error: {source}")]
    Connection {
        /// `METHOD /path`.
        request: String,
        /// What broke.
        #[source]
        source: reqwest::Error,
    },
    /// No response within the timeout.
    #[error("{request}: timed out")]
    Timeout {
        /// `METHOD /path`.
        request: String,
    },
    /// A response that is not the envelope we expect; `body` is what came.
    #[error("{request}: {status}: undecodable response ({reason}): {body}")]
    Decode {
        /// `METHOD /path`.
        request: String,
        /// The HTTP status.
        status: StatusCode,
        /// Why it could not be decoded.
        reason: String,
        /// The raw body, as text.
        body: String,
    },
}

impl Error {
    /// Sorts an error response by its status.
    pub(crate) fn from_api(e: ApiError) -> Self {
        match e.status.as_u16() {
            400 => Error::BadRequest(e),
            401 => Error::Authentication(e),
            403 => Error::PermissionDenied(e),
            404 => Error::NotFound(e),
            409 => Error::Conflict(e),
            422 => Error::UnprocessableEntity(e),
            429 => Error::RateLimited(e),
            500..=599 => Error::InternalServer(e),
            _ => Error::Status(e),
        }
    }

    /// The API error, for any status variant.
    pub fn api(&self) -> Option<&ApiError> {
        match self {
            Error::BadRequest(e)
            | Error::Authentication(e)
            | Error::PermissionDenied(e)
            | Error::NotFound(e)
            | Error::Conflict(e)
            | Error::UnprocessableEntity(e)
            | Error::RateLimited(e)
            | Error::InternalServer(e)
            | Error::Status(e) => Some(e),
            _ => None,
        }
    }

    /// The HTTP status, when the server answered.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Error::Decode { status, .. } => Some(*status),
            other => other.api().map(|e| e.status),
        }
    }

    /// True for connection errors and timeouts: the request may not have reached the server.
    pub fn is_transport(&self) -> bool {
        matches!(self, Error::Connection { .. } | Error::Timeout { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_reads_like_the_request_and_the_envelope() {
        let e = Error::from_api(ApiError {
            request: "PATCH /accounts/699d98642c564d2e855e9661899b7252/access/seats".into(),
            status: StatusCode::FORBIDDEN,
            errors: vec![Message::new(10000, "Authentication error")],
            messages: vec![],
        });
        assert!(matches!(e, Error::PermissionDenied(_)));
        assert_eq!(
            e.to_string(),
            "PATCH /accounts/699d98642c564d2e855e9661899b7252/access/seats: 403 Forbidden: 10000 Authentication error"
        );
    }

    #[test]
    fn display_lists_every_error_with_pointer_and_chain() {
        let e = ApiError {
            request: "PATCH /x".into(),
            status: StatusCode::BAD_REQUEST,
            errors: vec![
                Message::new(6003, "Invalid request headers").with_chain(vec![Message::new(6111, "Invalid format")]),
                Message::new(12006, "bad").with_pointer("/0/seat_uid"),
            ],
            messages: vec![],
        };
        assert_eq!(
            e.to_string(),
            "PATCH /x: 400 Bad Request: 6003 Invalid request headers [6111 Invalid format]; 12006 bad (at \"/0/seat_uid\")"
        );
    }

    #[test]
    fn statuses_map_to_variants() {
        let of = |s: u16| {
            Error::from_api(ApiError {
                request: String::new(),
                status: StatusCode::from_u16(s).unwrap(),
                errors: vec![],
                messages: vec![],
            })
        };
        assert!(matches!(of(400), Error::BadRequest(_)));
        assert!(matches!(of(401), Error::Authentication(_)));
        assert!(matches!(of(404), Error::NotFound(_)));
        assert!(matches!(of(409), Error::Conflict(_)));
        assert!(matches!(of(422), Error::UnprocessableEntity(_)));
        assert!(matches!(of(429), Error::RateLimited(_)));
        assert!(matches!(of(503), Error::InternalServer(_)));
        assert!(matches!(of(418), Error::Status(_)));
        assert_eq!(of(418).status(), Some(StatusCode::IM_A_TEAPOT));
    }
}
