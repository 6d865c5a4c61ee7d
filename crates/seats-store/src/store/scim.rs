//! SCIM users and groups of an identity provider.

use async_trait::async_trait;
use seats_types::Timestamp;

use crate::identity_provider::{
    ExpectedVersion, ScimGroupFilter, ScimGroupRecord, ScimGroupWrite, ScimUserFilter, ScimUserRecord, ScimUserWrite,
};
use crate::StoreResult;

#[async_trait]
pub trait ScimStore: Send + Sync {
    /// SCIM users of a provider matching `filter`, in creation order, one page, and the count.
    async fn scim_users(
        &self,
        provider_id: &str,
        filter: ScimUserFilter,
        offset: u64,
        limit: u64,
    ) -> StoreResult<(Vec<ScimUserRecord>, u64)>;

    async fn scim_user(&self, provider_id: &str, id: &str) -> StoreResult<Option<ScimUserRecord>>;

    /// Creates (`id` `None`) or replaces a SCIM user, linking it to the account's user of its
    /// email (created holding no seat if there is none). A user turning inactive is
    /// deprovisioned as the provider's flags say, in the same transaction.
    /// [`StoreError::Conflict`] if the `userName` is taken, [`StoreError::Stale`] if
    /// `expected` is not the stored version, [`StoreError::NotFound`] if there is no such user.
    async fn put_scim_user(
        &self,
        provider_id: &str,
        id: Option<&str>,
        user: ScimUserWrite,
        expected: ExpectedVersion,
        now: Timestamp,
    ) -> StoreResult<ScimUserRecord>;

    /// Deletes a SCIM user, deprovisioning the linked user as the provider's flags say.
    async fn delete_scim_user(
        &self,
        provider_id: &str,
        id: &str,
        expected: ExpectedVersion,
        now: Timestamp,
    ) -> StoreResult<()>;

    async fn scim_groups(
        &self,
        provider_id: &str,
        filter: ScimGroupFilter,
        offset: u64,
        limit: u64,
    ) -> StoreResult<(Vec<ScimGroupRecord>, u64)>;

    async fn scim_group(&self, provider_id: &str, id: &str) -> StoreResult<Option<ScimGroupRecord>>;

    /// Creates or replaces a group. [`StoreError::NotFound`] with the positions of members
    /// that are not users of this provider; [`StoreError::Conflict`] if the name is taken.
    async fn put_scim_group(
        &self,
        provider_id: &str,
        id: Option<&str>,
        group: ScimGroupWrite,
        expected: ExpectedVersion,
        now: Timestamp,
    ) -> StoreResult<ScimGroupRecord>;

    async fn delete_scim_group(
        &self,
        provider_id: &str,
        id: &str,
        expected: ExpectedVersion,
        now: Timestamp,
    ) -> StoreResult<()>;
}
