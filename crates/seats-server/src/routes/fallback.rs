//! Answers for unknown routes (404 7000) and unsupported methods (405 7001) in the envelope.

use axum::http::Method;

use crate::error::ApiError;

pub async fn no_route() -> ApiError {
    ApiError::NoRoute
}

pub async fn method_not_allowed(method: Method) -> ApiError {
    ApiError::MethodNotAllowed { method }
}
