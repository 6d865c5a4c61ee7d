//! `GET /client/v4/user/tokens/verify`: what a token is, even when disabled or expired.

use axum::extract::State;
use axum::http::request::Parts;
use axum::Json;
use seats_types::{Envelope, Timestamp, TokenStatus};
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::Credential;
use crate::error::ApiError;
use crate::error::FailureEnvelope;
use crate::rate_limit::Subject;
use crate::AppState;

/// The verification result of a token.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenVerification {
    pub id: String,
    pub status: TokenStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub not_before: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub expires_on: Option<Timestamp>,
}

/// Verify Token
///
/// Tells whether the Bearer token is valid. The one route that answers for a disabled or
/// expired token instead of refusing it.
#[utoipa::path(
    get,
    path = "/client/v4/user/tokens/verify",
    operation_id = "user-api-tokens-verify-token",
    tag = "User API Tokens",
    responses(
        (status = 200, description = "The token", body = Envelope<TokenVerification>),
        (status = "4XX", description = "Failure", body = FailureEnvelope),
    ),
    security(("api_token" = [])),
)]
pub async fn verify(
    State(state): State<AppState>,
    parts: Parts,
) -> Result<Json<Envelope<TokenVerification>>, ApiError> {
    let found = async {
        let secret = match Credential::from_headers(&parts.headers)? {
            Credential::Token(secret) => secret,
            Credential::Key { .. } => return Err(ApiError::Forbidden),
        };
        state
            .store
            .token_by_hash(secret.hash())
            .await?
            .ok_or(ApiError::InvalidApiToken)
    };
    let token = crate::rate_limit::rate_limited(&parts, &state, None, found, |t| Subject::Token(t.id.clone())).await?;
    Ok(Json(Envelope::ok(TokenVerification {
        status: token.status_at(state.clock.now()),
        id: token.id,
        not_before: token.not_before,
        expires_on: token.expires_on,
    })))
}
