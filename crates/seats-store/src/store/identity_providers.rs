//! Identity providers of an account.

use async_trait::async_trait;
use seats_types::Timestamp;

use crate::identity_provider::{IdentityProviderRecord, IdentityProviderWrite};
use crate::model::Actor;
use crate::StoreResult;

#[async_trait]
pub trait IdentityProviderStore: Send + Sync {
    /// Creates an identity provider of the account with a new id.
    async fn create_identity_provider(
        &self,
        account_id: &str,
        provider: IdentityProviderWrite,
        actor: Actor,
        now: Timestamp,
    ) -> StoreResult<IdentityProviderRecord>;

    /// The account's providers in creation order, one page (`offset`, `limit`), and how many
    /// there are; with `scim_enabled`, only those with SCIM on.
    async fn identity_providers(
        &self,
        account_id: &str,
        scim_enabled: bool,
        offset: u64,
        limit: u64,
    ) -> StoreResult<(Vec<IdentityProviderRecord>, u64)>;

    /// A provider by id; with `account_id`, only if it is that account's.
    async fn identity_provider(
        &self,
        account_id: Option<&str>,
        id: &str,
    ) -> StoreResult<Option<IdentityProviderRecord>>;

    /// Replaces a provider's settings. [`StoreError::NotFound`] if the account has no such one.
    async fn update_identity_provider(
        &self,
        account_id: &str,
        id: &str,
        provider: IdentityProviderWrite,
        actor: Actor,
        now: Timestamp,
    ) -> StoreResult<IdentityProviderRecord>;

    /// Removes a provider with its SCIM users and groups; the account's users stay.
    async fn delete_identity_provider(
        &self,
        account_id: &str,
        id: &str,
        actor: Actor,
        now: Timestamp,
    ) -> StoreResult<()>;
}
