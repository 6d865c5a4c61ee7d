//! The operator's members and API tokens, which authenticate requests.

use async_trait::async_trait;
use seats_types::Timestamp;

use crate::model::{Actor, MemberRecord, NewToken, TokenRecord};
use crate::{secret, StoreResult};

#[async_trait]
pub trait CredentialStore: Send + Sync {
    /// The token whose secret hashes to `hash`.
    async fn token_by_hash(&self, hash: secret::SecretHash) -> StoreResult<Option<TokenRecord>>;

    /// The member with this email (ASCII case-insensitive).
    async fn member_by_email(&self, email: &str) -> StoreResult<Option<MemberRecord>>;

    /// [`StoreError::Conflict`] if the email is taken; [`StoreError::NotFound`] with the
    /// positions of unknown accounts.
    async fn create_member(
        &self,
        email: &str,
        key_hash: secret::SecretHash,
        accounts: Vec<String>,
        actor: Actor,
        now: Timestamp,
    ) -> StoreResult<MemberRecord>;

    async fn members(&self) -> StoreResult<Vec<MemberRecord>>;

    async fn delete_member(&self, email: &str, actor: Actor, now: Timestamp) -> StoreResult<()>;

    /// [`StoreError::Conflict`] if the id or value is taken.
    async fn create_token(&self, token: NewToken, actor: Actor, now: Timestamp) -> StoreResult<TokenRecord>;

    async fn tokens(&self) -> StoreResult<Vec<TokenRecord>>;

    async fn set_token_status(
        &self,
        id: &str,
        status: seats_types::TokenStatus,
        actor: Actor,
        now: Timestamp,
    ) -> StoreResult<TokenRecord>;

    async fn delete_token(&self, id: &str, actor: Actor, now: Timestamp) -> StoreResult<()>;
}
