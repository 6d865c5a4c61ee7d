//! Users of an account.

use async_trait::async_trait;
use seats_types::Timestamp;

use crate::model::{Actor, UserFilter, UserRecord};
use crate::{browse, StoreResult};

#[async_trait]
pub trait UserStore: Send + Sync {
    /// The user holding `seat_uid` in the account, with live device and session counts at `now`.
    async fn user_by_seat_uid(
        &self,
        account_id: &str,
        seat_uid: &str,
        now: Timestamp,
    ) -> StoreResult<Option<UserRecord>>;

    /// Users of an account matching `filter`, ordered by creation then id, one page of them,
    /// and how many match in all.
    async fn list_users(
        &self,
        account_id: &str,
        filter: UserFilter,
        page: u64,
        per_page: u64,
        now: Timestamp,
    ) -> StoreResult<(Vec<UserRecord>, u64)>;

    /// A page of the account's users in creation order, by key set (see [`browse`]): reads
    /// at most `browse.scan` rows beyond the search's own index work, however large the
    /// account and however deep the page.
    async fn browse_users(
        &self,
        account_id: &str,
        browse: browse::UserBrowse,
        now: Timestamp,
    ) -> StoreResult<browse::UserBrowsePage>;

    async fn user(&self, account_id: &str, user_id: &str, now: Timestamp) -> StoreResult<Option<UserRecord>>;

    /// Creates a user holding no seat. [`StoreError::Conflict`] if the email is taken.
    async fn create_user(
        &self,
        account_id: &str,
        email: &str,
        name: &str,
        actor: Actor,
        now: Timestamp,
    ) -> StoreResult<UserRecord>;

    /// Renames a user. [`StoreError::NotFound`] if there is no such user.
    async fn rename_user(
        &self,
        account_id: &str,
        user_id: &str,
        name: &str,
        actor: Actor,
        now: Timestamp,
    ) -> StoreResult<UserRecord>;

    /// Removes a user: frees the seat, ends sessions and devices.
    async fn delete_user(&self, account_id: &str, user_id: &str, actor: Actor, now: Timestamp) -> StoreResult<()>;
}
