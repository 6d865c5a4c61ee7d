//! Storage for the seats service.
//!
//! Handlers talk to a [`Store`]: one trait per resource (see [`store`]), each implemented by
//! each backend in a file of the same name (`sqlite/users.rs`, `postgres/users.rs`), with its
//! own migrations. Every write is one transaction that either applies fully or not
//! at all, and every business rule that must hold across processes (the seat limit) is
//! checked inside that transaction.

pub mod browse;
pub mod conformance;
pub mod credentials;
pub mod dashboard_session;
pub mod device;
mod error;
pub mod export;
pub mod identity_provider;
mod listing;
mod metrics;
mod model;
pub mod organization;
pub mod postgres;
mod rows;
mod rules;
pub mod secret;
pub mod seed;
pub mod sqlite;
pub mod store;
pub mod testing;
pub mod url;
mod value;

pub use error::{Conflict, StoreError, StoreResult};
pub use model::{
    AccountRecord, Actor, AuditRecord, DeviceRecord, LoginMethod, LoginOutcome, LoginRecord, LoginRequest, LoginResult,
    MemberRecord, NewAccount, NewToken, OrganizationChange, OrganizationRecord, Revocation, RevokeRequest, SeatRecord,
    SessionRecord, TokenRecord, UserActivity, UserFilter, UserRecord, Via,
};
pub use store::{
    AccountStore, AuditStore, BudgetLease, BudgetStore, CredentialStore, DashboardStore, DatabaseImage, DeviceStore,
    IdentityProviderStore, LoginStore, MaintenanceStore, OrganizationStore, PendingImage, ScimStore, SeatStore, Store,
    UserStore,
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
