//! Wire types of the operator API (`/_seats/v1`), ours rather than Cloudflare's.

use serde::{Deserialize, Serialize};

use crate::{Policy, Timestamp, TokenStatus};

/// An account as the operator sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OperatorAccount {
    pub id: String,
    pub name: String,
    pub seat_limit: u64,
    /// Users holding a seat.
    pub seats_in_use: u64,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: Timestamp,
}

/// A member: an email with a global API key, on some accounts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OperatorMember {
    pub email: String,
    pub accounts: Vec<String>,
    /// Only in the response that created the member: the key is not stored in the clear.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key: Option<String>,
}

/// An API token. Its value appears only in the response that created it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OperatorToken {
    pub id: String,
    pub name: String,
    /// `active`, `disabled`, or `expired` (past `expires_on`).
    pub status: TokenStatus,
    pub policies: Vec<Policy>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub not_before: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub expires_on: Option<Timestamp>,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

/// One audit event: a real change, who made it, the state before and after.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditEvent {
    /// Increases with every event.
    pub id: u64,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub at: Timestamp,
    #[serde(default)]
    pub account_id: Option<String>,
    /// `token`, `member`, `operator` or `system`.
    pub actor_type: String,
    /// The token id or member email; `operator` or `system` for those.
    pub actor: String,
    /// E.g. `seat.update`, `seat.remove`, `seat.grant`, `seat.expire`, `login.refused`.
    pub action: String,
    /// The seat uid, user id, account id, email or token id changed.
    pub subject: String,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub before: Option<serde_json::Value>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub after: Option<serde_json::Value>,
}

/// The result of an expiry sweep.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ExpiredSeats {
    /// Seat uids whose seats were freed.
    pub removed: Vec<String>,
}

/// The server's time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ClockReading {
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub now: Timestamp,
}
