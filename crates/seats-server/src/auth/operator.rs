//! The operator: the one holder of `--operator-key`, who may use the operator API and see
//! every account in the dashboard. This is the one place the key is compared.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use seats_store::secret::{Secret, SecretHash};

use crate::error::ApiError;
use crate::{AppState, ServerConfig};

/// Whether `hash` is the operator key's: 403 10000 when it is not, 404 7000 when no operator
/// key is configured (the operator API is then not served at all).
pub fn check(config: &ServerConfig, hash: &SecretHash) -> Result<(), ApiError> {
    match &config.operator_key {
        Some(expected) if expected == hash => Ok(()),
        Some(_) => Err(ApiError::Forbidden),
        None => Err(ApiError::NoRoute),
    }
}

/// Proof that the request carries the operator key.
#[derive(Debug, Clone, Copy)]
pub struct Operator;

impl FromRequestParts<AppState> for Operator {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        if state.config.operator_key.is_none() {
            return Err(ApiError::NoRoute);
        }
        super::refuse_repeated(&parts.headers)?;
        let given = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, key)| Secret::new(key.trim()).hash());
        // A wrong key counts against the address (see `crate::rate_limit::failed_auth`); none guesses nothing.
        let check = async {
            match given {
                Some(hash) => check(&state.config, &hash).map(|()| Operator).map_err(Some),
                None => Err(None),
            }
        };
        let target = Some(crate::rate_limit::failed_auth::OPERATOR_TARGET.to_owned());
        crate::rate_limit::failed_auth::guarded(state, parts, target, check, Option::is_some, |retry_after| {
            Some(ApiError::RateLimited { retry_after })
        })
        .await
        .map_err(|e| e.unwrap_or(ApiError::Forbidden))
    }
}
