//! Device registrations of an account's users.

use async_trait::async_trait;
use seats_types::Timestamp;

use crate::device::{RegistrationFilter, RegistrationRecord};
use crate::model::Actor;
use crate::StoreResult;

#[async_trait]
pub trait DeviceStore: Send + Sync {
    /// At most `limit` of the account's registrations matching `filter`, in its order, after
    /// the first `offset`.
    async fn registrations(
        &self,
        account_id: &str,
        filter: RegistrationFilter,
        offset: u64,
        limit: u64,
    ) -> StoreResult<Vec<RegistrationRecord>>;

    async fn registration(&self, account_id: &str, id: &str) -> StoreResult<Option<RegistrationRecord>>;

    /// Revokes (`revoked`) or unrevokes every registration of `ids`, each audited. If any is
    /// not the account's, [`crate::StoreError::NotFound`] names their places and nothing
    /// changes.
    async fn set_registrations_revoked(
        &self,
        account_id: &str,
        ids: Vec<String>,
        revoked: bool,
        actor: Actor,
        now: Timestamp,
    ) -> StoreResult<()>;

    /// Deletes every registration of `ids`, as [`Self::set_registrations_revoked`] changes them.
    async fn delete_registrations(
        &self,
        account_id: &str,
        ids: Vec<String>,
        actor: Actor,
        now: Timestamp,
    ) -> StoreResult<()>;
}
