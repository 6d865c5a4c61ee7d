//! Storage for the seats service.
//!
//! Handlers talk to a [`Store`]; each backend (SQLite here, PostgreSQL later) implements it
//! with its own migrations. Every write is one transaction that either applies fully or not
//! at all, and every business rule that must hold across processes (the seat limit) is
//! checked inside that transaction.

pub mod conformance;
mod error;
mod model;
pub mod secret;
pub mod seed;
pub mod sqlite;
mod url;

use async_trait::async_trait;
use seats_types::{SeatEditItem, Timestamp};

pub use error::{StoreError, StoreResult};
pub use model::{
    AccountRecord, Actor, AuditRecord, MemberRecord, SeatRecord, TokenRecord, UserRecord,
};
pub use url::{DatabaseUrl, DatabaseUrlError};

/// How hard a commit must reach the disk before it is acknowledged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// Every commit is fsynced before it is acknowledged (SQLite `synchronous=FULL`).
    #[default]
    Full,
    /// Commits survive a process crash, not a power loss (SQLite `synchronous=NORMAL` in WAL mode).
    Relaxed,
}

/// The storage operations the service needs. Implementations must be safe to share between
/// tasks and, for the seat limit, between processes using the same database.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Checks that the database answers.
    async fn ping(&self) -> StoreResult<()>;

    /// True when the database holds no accounts, members or tokens (a seed may be loaded).
    async fn is_empty(&self) -> StoreResult<bool>;

    /// Loads a validated seed in one transaction. Fails with [`StoreError::Conflict`] if the
    /// database is not empty.
    async fn load_seed(&self, seed: seed::ValidSeed, now: Timestamp) -> StoreResult<()>;

    /// The token whose secret hashes to `hash`.
    async fn token_by_hash(&self, hash: secret::SecretHash) -> StoreResult<Option<TokenRecord>>;

    /// The member with this email (ASCII case-insensitive).
    async fn member_by_email(&self, email: &str) -> StoreResult<Option<MemberRecord>>;

    async fn account(&self, id: &str) -> StoreResult<Option<AccountRecord>>;

    /// Every account, ordered by creation then id.
    async fn accounts(&self) -> StoreResult<Vec<AccountRecord>>;

    /// The user holding `seat_uid` in the account, with live device and session counts at `now`.
    async fn user_by_seat_uid(
        &self,
        account_id: &str,
        seat_uid: &str,
        now: Timestamp,
    ) -> StoreResult<Option<UserRecord>>;

    /// Applies a batch of seat edits atomically (SPEC §5) and returns the seats in request
    /// order. Fails with [`StoreError::NotFound`] naming the positions of unknown seat uids,
    /// or [`StoreError::SeatLimit`] if the batch would raise seats in use above the limit.
    async fn edit_seats(
        &self,
        account_id: &str,
        items: Vec<SeatEditItem>,
        actor: Actor,
        now: Timestamp,
    ) -> StoreResult<Vec<SeatRecord>>;

    /// Audit events of an account, newest first, and their total count.
    async fn audit_events(
        &self,
        account_id: &str,
        page: u64,
        per_page: u64,
    ) -> StoreResult<(Vec<AuditRecord>, u64)>;
}
