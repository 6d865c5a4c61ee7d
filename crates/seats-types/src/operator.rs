//! Wire types of the operator API (`/_seats/v1`), ours rather than Cloudflare's.

use serde::{Deserialize, Serialize};

use crate::{Policy, SecretString, Timestamp, TokenStatus};

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
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub api_key: Option<SecretString>,
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
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub value: Option<SecretString>,
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

// Request bodies of the operator API, for its OpenAPI document. The server reads bodies
// field by field (every problem reported with its pointer); these state the same rules.

/// `POST /_seats/v1/accounts`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewAccountRequest {
    /// 32 lowercase hex characters; generated when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(pattern = "^[0-9a-f]{32}$"))]
    pub id: Option<String>,
    #[cfg_attr(feature = "openapi", schema(max_length = 255))]
    pub name: String,
    /// 50 when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(minimum = 0, maximum = 9223372036854775807_i64))]
    pub seat_limit: Option<u64>,
}

/// `PATCH /_seats/v1/accounts/{account_id}`: the fields given change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AccountUpdateRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(max_length = 255))]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(minimum = 0, maximum = 9223372036854775807_i64))]
    pub seat_limit: Option<u64>,
}

/// `POST /_seats/v1/members`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewMemberRequest {
    #[cfg_attr(feature = "openapi", schema(format = Email, max_length = 254))]
    pub email: String,
    /// 32–64 ASCII letters and digits; generated when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, pattern = "^[A-Za-z0-9]{32,64}$"))]
    pub api_key: Option<SecretString>,
    /// Account ids the member belongs to.
    #[serde(default)]
    pub accounts: Vec<String>,
}

/// `POST /_seats/v1/tokens`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewTokenRequest {
    /// 1–64 letters, digits or `-`; generated when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(pattern = "^[A-Za-z0-9-]{1,64}$"))]
    pub id: Option<String>,
    #[cfg_attr(feature = "openapi", schema(max_length = 255))]
    pub name: String,
    /// The secret, 1–255 characters of `[A-Za-z0-9._~+/=-]`; generated when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, pattern = "^[A-Za-z0-9._~+/=-]{1,255}$"))]
    pub value: Option<SecretString>,
    pub policies: Vec<Policy>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub not_before: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub expires_on: Option<Timestamp>,
}

/// `PATCH /_seats/v1/tokens/{token_id}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TokenStatusRequest {
    /// `active` or `disabled`.
    #[cfg_attr(feature = "openapi", schema(pattern = "^(active|disabled)$"))]
    pub status: String,
}

/// `POST /_seats/v1/accounts/{account_id}/logins`: a login through Access or Gateway.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LoginRequestBody {
    #[cfg_attr(feature = "openapi", schema(format = Email, max_length = 254))]
    pub email: String,
    /// The user's name, for a user created by this login.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(max_length = 255))]
    pub name: Option<String>,
    /// `access` or `gateway`.
    #[cfg_attr(feature = "openapi", schema(pattern = "^(access|gateway)$"))]
    pub via: String,
    /// Required with `gateway`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(max_length = 128))]
    pub device_id: Option<String>,
}

/// `POST /_seats/v1/clock`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ClockAdvanceRequest {
    /// A positive Go duration such as `800h`; the clock stops at 9999-01-01T00:00:00Z.
    pub advance: String,
}

#[cfg(test)]
mod secret_debug_tests {
    use super::*;

    #[test]
    fn secrets_never_show_in_debug_output() {
        let member = OperatorMember {
            email: "a@example.com".into(),
            accounts: vec![],
            api_key: Some("144c9defac04969c7bfad8efaa8ea194".into()),
        };
        let token = NewTokenRequest {
            id: None,
            name: "t".into(),
            value: Some("Sn3lZJTBX6kkg7OdcBUAxOO963GEIyGQqnFTOFYY".into()),
            policies: vec![],
            not_before: None,
            expires_on: None,
        };
        let new_member = NewMemberRequest {
            email: "a@example.com".into(),
            api_key: Some("144c9defac04969c7bfad8efaa8ea194".into()),
            accounts: vec![],
        };
        for shown in [format!("{member:?}"), format!("{token:?}"), format!("{new_member:?}")] {
            assert!(!shown.contains("144c9def") && !shown.contains("Sn3lZJ"), "{shown}");
            assert!(shown.contains("Some(\"***\")"), "{shown}");
        }
    }
}
