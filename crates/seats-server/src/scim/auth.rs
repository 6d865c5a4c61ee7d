//! SCIM authentication: `Authorization: Bearer <secret>` of the provider the path names, and
//! only while SCIM is enabled on it. A missing secret, a wrong one, or an unknown provider
//! id are all 401 with `WWW-Authenticate: Bearer` (what SCIM clients expect), the last two
//! with the same detail, so that a path does not tell whether its provider exists; only the
//! right secret learns that SCIM is turned off. A wrong secret counts against the client
//! address ([`crate::rate_limit::failed_auth`]), refused with 429 once it has sent too many.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use seats_store::identity_provider::IdentityProviderRecord;
use seats_store::secret::Secret;

use super::error::ScimError;
use crate::extract::path_param;
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
        // Errors paired with whether they answer a guessed secret.
        let check = async {
            let wrong = || {
                (
                    ScimError::unauthorized("the SCIM secret is not valid for this identity provider"),
                    true,
                )
            };
            if uuid::Uuid::parse_str(&id).is_err() {
                return Err(wrong());
            }
            let provider = state
                .store
                .identity_provider(None, &id)
                .await
                .map_err(|e| (e.into(), false))?
                .ok_or_else(wrong)?;
            if provider.scim.secret_hash != Some(secret.hash()) {
                return Err(wrong());
            }
            if !provider.scim.enabled() {
                let off = ScimError::unauthorized("SCIM is not enabled on this identity provider");
                return Err((off, false));
            }
            Ok(provider)
        };
        let provider = crate::rate_limit::failed_auth::guarded(
            state,
            parts,
            Some(format!("scim:{id}")),
            check,
            |(_, guessed)| *guessed,
            |wait| (ScimError::too_many_failures(wait), false),
        )
        .await
        .map_err(|(e, _)| e)?;
        if let Some(note) = parts.extensions.get::<crate::toolkit::CredentialNote>() {
            note.set(format!("identity_provider:{}", provider.id));
        }
        let base = format!(
            "{}/populations/{}/scim/v2",
            state.config.public_base(&parts.headers),
            provider.id
        );
        Ok(ScimProvider { provider, base })
    }
}
