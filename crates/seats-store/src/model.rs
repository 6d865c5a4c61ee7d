//! Database records: what the store hands to the server. Wire types live in `seats-types`.

use std::fmt;

use seats_types::{Policy, Timestamp, TokenStatus};

use crate::secret::SecretHash;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountRecord {
    pub id: String,
    pub name: String,
    pub seat_limit: u64,
    pub created_at: Timestamp,
}

/// An API token. Its secret is only ever held as a hash.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenRecord {
    pub id: String,
    pub name: String,
    pub value_hash: SecretHash,
    pub policies: Vec<Policy>,
    /// The stored status: `Active` or `Disabled`. Expiry is judged against the clock.
    pub status: TokenStatus,
    pub not_before: Option<Timestamp>,
    pub expires_on: Option<Timestamp>,
    pub created_at: Timestamp,
}

impl TokenRecord {
    /// The status as `GET /user/tokens/verify` reports it at `now`.
    pub fn status_at(&self, now: Timestamp) -> TokenStatus {
        match self.status {
            TokenStatus::Disabled => TokenStatus::Disabled,
            _ if self.expires_on.is_some_and(|e| e <= now) => TokenStatus::Expired,
            s => s,
        }
    }

    /// Whether the token may authenticate a request at `now`.
    pub fn usable_at(&self, now: Timestamp) -> bool {
        self.status_at(now) == TokenStatus::Active && self.not_before.is_none_or(|nb| nb <= now)
    }
}

/// A member: an email with a global API key, belonging to some accounts.
#[derive(Debug, Clone, PartialEq)]
pub struct MemberRecord {
    pub email: String,
    pub key_hash: SecretHash,
    pub accounts: Vec<String>,
}

/// A user as stored, with the live counts derived from its devices and sessions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRecord {
    pub id: String,
    pub account_id: String,
    pub email: String,
    pub name: String,
    pub seat_uid: String,
    pub access_seat: bool,
    pub gateway_seat: bool,
    pub active_device_count: u64,
    pub active_session_count: u64,
    pub last_successful_login: Option<Timestamp>,
    /// When the user last came to hold a seat; `None` while holding none.
    pub seat_granted_at: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// The seat view of a user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeatRecord {
    pub seat_uid: String,
    pub access_seat: bool,
    pub gateway_seat: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// Who made a change, as the audit log records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// An API token, by id.
    Token(String),
    /// A member, by email.
    Member(String),
    Operator,
    System,
}

impl Actor {
    pub fn kind(&self) -> &'static str {
        match self {
            Actor::Token(_) => "token",
            Actor::Member(_) => "member",
            Actor::Operator => "operator",
            Actor::System => "system",
        }
    }

    pub fn from_parts(kind: &str, id: &str) -> Option<Self> {
        Some(match kind {
            "token" => Actor::Token(id.to_owned()),
            "member" => Actor::Member(id.to_owned()),
            "operator" => Actor::Operator,
            "system" => Actor::System,
            _ => return None,
        })
    }

    /// The token id or email; the kind itself for operator and system.
    pub fn id(&self) -> &str {
        match self {
            Actor::Token(id) | Actor::Member(id) => id,
            other => other.kind(),
        }
    }
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Actor::Token(id) => write!(f, "token:{id}"),
            Actor::Member(email) => write!(f, "member:{email}"),
            other => f.write_str(other.kind()),
        }
    }
}

/// One audit event: a real change, who made it, and the state before and after.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditRecord {
    pub seq: u64,
    pub at: Timestamp,
    pub account_id: Option<String>,
    pub actor: Actor,
    pub action: String,
    pub subject: String,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
}
