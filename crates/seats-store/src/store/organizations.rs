//! An account's organization settings.

use async_trait::async_trait;
use seats_types::Timestamp;

use crate::model::{Actor, OrganizationChange, OrganizationRecord};
use crate::StoreResult;

#[async_trait]
pub trait OrganizationStore: Send + Sync {
    async fn organization(&self, account_id: &str) -> StoreResult<Option<OrganizationRecord>>;

    /// Creates the organization ([`StoreError::Conflict`] if there is one) or, with
    /// `OrganizationChange::Update`, merges `fields` into it ([`StoreError::NotFound`] if there is none).
    async fn put_organization(
        &self,
        account_id: &str,
        fields: serde_json::Map<String, serde_json::Value>,
        change: OrganizationChange,
        actor: Actor,
        now: Timestamp,
    ) -> StoreResult<OrganizationRecord>;
}
