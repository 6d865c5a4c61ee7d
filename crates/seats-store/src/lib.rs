//! Storage for the seats service.
//!
//! Handlers talk to a [`Store`]; each backend (SQLite here, PostgreSQL later) implements it
//! with its own migrations. Every write is one transaction that either applies fully or not
//! at all, and every business rule that must hold across processes (the seat limit) is
//! checked inside that transaction.

pub mod browse;
pub mod conformance;
pub mod credentials;
pub mod dashboard_session;
mod error;
pub mod export;
pub mod identity_provider;
mod metrics;
mod model;
pub mod organization;
pub mod postgres;
mod rules;
pub mod secret;
pub mod seed;
pub mod sqlite;
pub mod testing;
mod url;

use async_trait::async_trait;
use identity_provider::{
    ExpectedVersion, IdentityProviderRecord, IdentityProviderWrite, ScimGroupFilter, ScimGroupRecord, ScimGroupWrite,
    ScimUserFilter, ScimUserRecord, ScimUserWrite,
};
use seats_types::{SeatEditItem, Timestamp};

pub use error::{StoreError, StoreResult};
pub use model::{
    AccountRecord, Actor, AuditRecord, DeviceRecord, LoginOutcome, LoginRecord, LoginRequest, MemberRecord, NewAccount,
    NewToken, OrganizationRecord, SeatRecord, SessionRecord, TokenRecord, UserActivity, UserFilter, UserRecord, Via,
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

    /// Loads a seed in one transaction, checking it as it streams in. Fails with
    /// [`StoreError::Conflict`] if the database is not empty and with
    /// [`StoreError::InvalidSeed`] (every problem, nothing stored) if the seed is not valid.
    async fn load_seed(&self, seed: seed::SeedDocument, now: Timestamp) -> StoreResult<seed::SeedSummary>;

    /// Empties the database and, with `seed`, loads it: one transaction, so every other
    /// request sees the state before or after (the test toolkit's reset).
    async fn reset(&self, seed: Option<seed::SeedDocument>, now: Timestamp) -> StoreResult<seed::SeedSummary>;

    /// Empties the database and loads an export, in one transaction (a snapshot's restore).
    async fn restore(&self, records: tokio::sync::mpsc::Receiver<export::Record>)
        -> StoreResult<export::ImportSummary>;

    /// The token whose secret hashes to `hash`.
    async fn token_by_hash(&self, hash: secret::SecretHash) -> StoreResult<Option<TokenRecord>>;

    /// The member with this email (ASCII case-insensitive).
    async fn member_by_email(&self, email: &str) -> StoreResult<Option<MemberRecord>>;

    /// The account with its seats in use (counted, so not for every request).
    async fn account(&self, id: &str) -> StoreResult<Option<AccountRecord>>;

    /// Whether the account exists: the cheap check every authorized request makes.
    async fn account_exists(&self, id: &str) -> StoreResult<bool>;

    /// Every account, ordered by creation then id.
    async fn accounts(&self) -> StoreResult<Vec<AccountRecord>>;

    /// The user holding `seat_uid` in the account, with live device and session counts at `now`.
    async fn user_by_seat_uid(
        &self,
        account_id: &str,
        seat_uid: &str,
        now: Timestamp,
    ) -> StoreResult<Option<UserRecord>>;

    /// Applies a batch of seat edits atomically (docs/contract.md §5) and returns the seats in request
    /// order. Fails with [`StoreError::NotFound`] naming the positions of unknown seat uids,
    /// or [`StoreError::SeatLimit`] if the batch would raise seats in use above the limit.
    async fn edit_seats(
        &self,
        account_id: &str,
        items: Vec<SeatEditItem>,
        actor: Actor,
        now: Timestamp,
    ) -> StoreResult<Vec<SeatRecord>>;

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

    /// Sessions live at `now`, refused logins and the last accepted login of a user.
    async fn user_activity(&self, account_id: &str, user_id: &str, now: Timestamp)
        -> StoreResult<Option<UserActivity>>;

    async fn organization(&self, account_id: &str) -> StoreResult<Option<OrganizationRecord>>;

    /// Creates the organization ([`StoreError::Conflict`] if there is one) or, with
    /// `create` false, merges `fields` into it ([`StoreError::NotFound`] if there is none).
    async fn put_organization(
        &self,
        account_id: &str,
        fields: serde_json::Map<String, serde_json::Value>,
        create: bool,
        actor: Actor,
        now: Timestamp,
    ) -> StoreResult<OrganizationRecord>;

    /// Frees the seats of users inactive for longer than their account's
    /// `user_seat_expiration_inactive_time` (one account, or all), auditing each as `system`.
    /// Returns `(account_id, seat_uid)` of each removal.
    async fn expire_seats(&self, account_id: Option<&str>, now: Timestamp) -> StoreResult<Vec<(String, String)>>;

    /// Claims the periodic sweep due at `now` for this process: true (and the next one is
    /// then due at `next`) if no process sharing the database claimed it yet. Clocks of
    /// servers that differ by less than a period agree on whose it is; a schedule more than a
    /// period ahead of `next` (a clock moved back, e.g. after a manual clock) is claimable.
    async fn claim_sweep(&self, now: Timestamp, next: Timestamp) -> StoreResult<bool>;

    /// Keeps a new dashboard session. Sessions that ended (`expires_at` or a `last_seen_at`
    /// before `idle_before`) go first, and so do the oldest of the same credential past
    /// [`dashboard_session::MAX_SESSIONS_PER_CREDENTIAL`].
    async fn create_dashboard_session(
        &self,
        session: dashboard_session::DashboardSession,
        idle_before: Timestamp,
    ) -> StoreResult<()>;

    /// The session whose id hashes to `id_hash`, ended or not.
    async fn dashboard_session(
        &self,
        id_hash: secret::SecretHash,
    ) -> StoreResult<Option<dashboard_session::DashboardSession>>;

    /// Records a request of the session at `now`.
    async fn touch_dashboard_session(&self, id_hash: secret::SecretHash, now: Timestamp) -> StoreResult<()>;

    /// Ends the session (signed out, or found ended); nothing when there is none.
    async fn delete_dashboard_session(&self, id_hash: secret::SecretHash) -> StoreResult<()>;

    /// The key named `name` that every server on the database shares: `candidate` (a random
    /// key of the caller's) if none is stored yet, else the one stored first. A reset keeps it.
    async fn server_key(&self, name: &str, candidate: [u8; 32]) -> StoreResult<[u8; 32]>;

    /// Records an authentication (docs/contract.md §8): creates the user if new, takes a seat unless the
    /// account is full (then the user and a refused login are committed, nothing else).
    async fn login(
        &self,
        account_id: &str,
        login: LoginRequest,
        actor: Actor,
        now: Timestamp,
    ) -> StoreResult<LoginOutcome>;

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

    /// Sends the whole state, header first, to `out` as it is read from one consistent
    /// snapshot (see [`export`]); returns how many records were sent.
    async fn export(&self, out: tokio::sync::mpsc::Sender<export::Record>) -> StoreResult<u64>;

    /// Loads an export into an empty database in one transaction: all of it or nothing.
    /// [`StoreError::Conflict`] if the database holds data or the stream is not an export.
    async fn import(&self, records: tokio::sync::mpsc::Receiver<export::Record>) -> StoreResult<export::ImportSummary>;

    /// Audit events of an account, newest first, and their total count.
    async fn audit_events(&self, account_id: &str, page: u64, per_page: u64) -> StoreResult<(Vec<AuditRecord>, u64)>;

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
