//! Device registrations of an account's users.

use async_trait::async_trait;
use seats_types::Timestamp;

use crate::device::{PhysicalDeviceFilter, PhysicalDeviceRecord, RegistrationFilter, RegistrationRecord};
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

    /// At most `limit` of the account's physical devices matching `filter`, in its order,
    /// after the first `offset`.
    async fn physical_devices(
        &self,
        account_id: &str,
        filter: PhysicalDeviceFilter,
        offset: u64,
        limit: u64,
    ) -> StoreResult<Vec<PhysicalDeviceRecord>>;

    async fn physical_device(&self, account_id: &str, device_id: &str) -> StoreResult<Option<PhysicalDeviceRecord>>;

    /// Revokes (`delete` false) or deletes every registration of the physical device.
    /// [`crate::StoreError::NotFound`] if the account has none.
    async fn end_physical_device(
        &self,
        account_id: &str,
        device_id: &str,
        delete: bool,
        actor: Actor,
        now: Timestamp,
    ) -> StoreResult<()>;
}
