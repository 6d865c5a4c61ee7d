//! Dashboard sessions, kept by the server: the browser's cookie holds a random id, the
//! database only the id's hash and what the session was opened with (the hash of its
//! credential, never the credential). Every node of a cluster reads the same rows, so a
//! sign-out on one ends the session on all.

use seats_types::Timestamp;

use crate::secret::SecretHash;

/// What a session was opened with, as hashes: enough to check on every request that the
/// credential still works (a revoked token, a changed key or operator key ends the session),
/// nothing that could be replayed as the credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionCredential {
    /// An API token, by its hash.
    Token(SecretHash),
    /// A member's global API key, by the member's email and the key's hash.
    Key { email: String, key: SecretHash },
    /// The operator key, by its hash.
    Operator(SecretHash),
}

impl SessionCredential {
    /// `(kind, email, credential hash)` as the tables hold them.
    pub fn columns(&self) -> (&'static str, Option<&str>, &[u8]) {
        match self {
            SessionCredential::Token(hash) => ("token", None, hash.as_bytes()),
            SessionCredential::Key { email, key } => ("key", Some(email), key.as_bytes()),
            SessionCredential::Operator(hash) => ("operator", None, hash.as_bytes()),
        }
    }

    /// The credential of a row's columns; `None` for a row no version of the server wrote.
    pub fn from_columns(kind: &str, email: Option<String>, hash: &[u8]) -> Option<Self> {
        let hash = SecretHash::from_slice(hash)?;
        Some(match (kind, email) {
            ("token", None) => SessionCredential::Token(hash),
            ("key", Some(email)) => SessionCredential::Key { email, key: hash },
            ("operator", None) => SessionCredential::Operator(hash),
            _ => return None,
        })
    }
}

/// One session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DashboardSession {
    /// The hash of the id in the browser's cookie.
    pub id_hash: SecretHash,
    pub credential: SessionCredential,
    pub created_at: Timestamp,
    /// The last request seen (written at most once a minute).
    pub last_seen_at: Timestamp,
    /// When it ends, whatever its use.
    pub expires_at: Timestamp,
}

/// Most sessions one credential holds; signing in once more ends its oldest.
pub const MAX_SESSIONS_PER_CREDENTIAL: usize = 50;
