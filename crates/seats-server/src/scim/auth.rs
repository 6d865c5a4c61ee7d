//! SCIM authentication: `Authorization: Bearer <secret>` of the provider the path names, and
//! only while SCIM is enabled on it. An unknown provider is 404; a missing or wrong secret,
//! or SCIM turned off, is 401 with `WWW-Authenticate: Bearer` (what SCIM clients expect).

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::StatusCode;
use seats_store::identity_provider::IdentityProviderRecord;
use seats_store::secret::Secret;

use super::error::ScimError;
use crate::extract::path_param;
use crate::routes::identity_providers::public_base;
use crate::AppState;

/// The provider a SCIM request authenticated as, and the base URL of its endpoint.
pub struct ScimProvider {
    pub provider: IdentityProviderRecord,
    pub base: String,
}

impl FromRequestParts<AppState> for ScimProvider {
    type Rejection = ScimError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let id = path_param(parts, state, "identity_provider_id")
            .await
            .unwrap_or_default();
        let not_found = || ScimError::new(StatusCode::NOT_FOUND, None, format!("no identity provider {id}"));
        if uuid::Uuid::parse_str(&id).is_err() {
            return Err(not_found());
        }
        let provider = state.store.identity_provider(None, &id).await?.ok_or_else(not_found)?;
        let mut values = parts.headers.get_all("authorization").iter();
        let secret = match (values.next(), values.next()) {
            (Some(v), None) => v
                .to_str()
                .ok()
                .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
                .map(|s| Secret::new(s.trim())),
            _ => None,
        }
        .ok_or_else(|| ScimError::unauthorized("send the provider's SCIM secret as Authorization: Bearer"))?;
        if !provider.scim.enabled() {
            return Err(ScimError::unauthorized("SCIM is not enabled on this identity provider"));
        }
        if provider.scim.secret_hash != Some(secret.hash()) {
            return Err(ScimError::unauthorized(
                "the SCIM secret is not valid for this identity provider",
            ));
        }
        if let Some(note) = parts.extensions.get::<crate::toolkit::CredentialNote>() {
            note.set(format!("identity_provider:{}", provider.id));
        }
        let base = format!("{}/populations/{}/scim/v2", public_base(&parts.headers), provider.id);
        Ok(ScimProvider { provider, base })
    }
}
