//! Accounts and the seat figures kept on them.

use async_trait::async_trait;
use seats_types::Timestamp;

use crate::model::{AccountRecord, Actor, NewAccount};
use crate::StoreResult;

#[async_trait]
pub trait AccountStore: Send + Sync {
    /// The account with its seats in use (counted, so not for every request).
    async fn account(&self, id: &str) -> StoreResult<Option<AccountRecord>>;

    /// Whether the account exists: the cheap check every authorized request makes.
    async fn account_exists(&self, id: &str) -> StoreResult<bool>;

    /// Every account, ordered by creation then id.
    async fn accounts(&self) -> StoreResult<Vec<AccountRecord>>;

    /// [`StoreError::Conflict`] if the id is taken.
    async fn create_account(&self, account: NewAccount, actor: Actor, now: Timestamp) -> StoreResult<AccountRecord>;

    /// Changes name and/or seat limit. A limit below usage removes nobody.
    async fn update_account(
        &self,
        id: &str,
        name: Option<String>,
        seat_limit: Option<u64>,
        actor: Actor,
        now: Timestamp,
    ) -> StoreResult<AccountRecord>;
}
