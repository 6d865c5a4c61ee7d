//! The storage error: small on purpose, so every backend can map to it.

/// What a storage operation can fail with.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Something named by the request does not exist. `positions` are the indices of the
    /// request items that named nothing (empty for a single lookup).
    #[error("not found")]
    NotFound { positions: Vec<usize> },
    /// The change would raise seats in use above the account's limit. `used` is the number
    /// of seats in use before the change.
    #[error("seat limit reached: {used}/{limit} seats in use")]
    SeatLimit { used: u64, limit: u64 },
    /// A uniqueness rule would be broken, or the operation does not fit the current state.
    #[error("conflict: {0}")]
    Conflict(Conflict),
    /// The record is not at the version the write expected (a SCIM `If-Match`).
    #[error("the resource changed since that version")]
    Stale,
    /// A seed document with problems; nothing of it was stored.
    #[error("invalid seed:\n{0}")]
    InvalidSeed(crate::seed::SeedError),
    /// The database cannot take the operation now: it is unreachable, did not answer in
    /// time, or is read-only (a standby, a demoted primary). Retrying later may succeed; the
    /// operation was not applied, or (a lost COMMIT) its outcome is unknown. Never shown.
    #[error("database unavailable: {0}")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// Anything else: the database failed. Never shown to API clients.
    #[error("storage failure: {0}")]
    Other(#[source] Box<dyn std::error::Error + Send + Sync>),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// What a change conflicted with. Each backend names the kind; its text, written here once,
/// is what API clients read after `access.api.error.conflict: ` (and the CLI prints).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Conflict {
    #[error("a user with email {0} already exists")]
    UserEmail(String),
    #[error("account {0} already exists")]
    Account(String),
    #[error("member {0} already exists")]
    Member(String),
    #[error("token {0} already exists")]
    TokenId(String),
    #[error("a token with this value already exists")]
    TokenValue,
    #[error("the account already has an organization")]
    Organization,
    #[error("userName {0} is taken")]
    ScimUserName(String),
    #[error("displayName {0} is taken")]
    ScimGroupName(String),
    /// A seed or an import needs an empty database.
    #[error("the database already holds data")]
    NotEmpty,
    /// The stream given to an import is not a whole export (what is wrong, in words).
    #[error("{0}")]
    NotAnExport(String),
}

impl From<Conflict> for StoreError {
    fn from(c: Conflict) -> Self {
        StoreError::Conflict(c)
    }
}

impl StoreError {
    pub fn other(e: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        StoreError::Other(e.into())
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError::Other(Box::new(e))
    }
}
