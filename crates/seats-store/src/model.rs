//! Database records: what the store hands to the server. Wire types live in `seats-types`.

use std::fmt;

use seats_types::{Policy, Timestamp, TokenStatus};

use crate::secret::SecretHash;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountRecord {
    pub id: String,
    pub name: String,
    pub seat_limit: u64,
    /// Users holding a seat, when the record was read.
    pub seats_in_use: u64,
    pub created_at: Timestamp,
}

/// A new account, as the operator creates it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAccount {
    pub id: String,
    pub name: String,
    pub seat_limit: u64,
}

/// Which users a listing returns (docs/contract.md §6).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserFilter {
    /// Exact email, ASCII case-insensitive.
    pub email: Option<String>,
    /// Exact name.
    pub name: Option<String>,
    /// Substring of email or name, case-insensitive; `%` and `_` are literal.
    pub search: Option<String>,
}

/// An account's Zero Trust organization: the fields as given, and when they were set.
#[derive(Debug, Clone, PartialEq)]
pub struct OrganizationRecord {
    pub fields: serde_json::Map<String, serde_json::Value>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// How a user authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Via {
    /// Cloudflare Access (a browser login): takes the Access seat and opens a session.
    Access,
    /// The WARP client (Gateway): takes the Gateway seat and registers a device.
    Gateway,
}

impl Via {
    pub fn as_str(self) -> &'static str {
        match self {
            Via::Access => "access",
            Via::Gateway => "gateway",
        }
    }
}

/// An authentication event to record (docs/contract.md §8).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginRequest {
    pub email: String,
    pub name: Option<String>,
    pub method: LoginMethod,
}

/// How a user logs in: through Access, or through the WARP client on a device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginMethod {
    /// Cloudflare Access (a browser login): takes the Access seat and opens a session.
    Access,
    /// The WARP client (Gateway) on `device_id`: takes the Gateway seat and registers the device.
    Gateway { device_id: String },
}

impl LoginMethod {
    pub fn via(&self) -> Via {
        match self {
            LoginMethod::Access => Via::Access,
            LoginMethod::Gateway { .. } => Via::Gateway,
        }
    }

    pub fn device_id(&self) -> Option<&str> {
        match self {
            LoginMethod::Access => None,
            LoginMethod::Gateway { device_id } => Some(device_id),
        }
    }

    /// The method as stored (`via` and a device id), read back.
    pub fn from_parts(via: &str, device_id: Option<String>) -> LoginMethod {
        match (via, device_id) {
            ("gateway", Some(device_id)) => LoginMethod::Gateway { device_id },
            ("gateway", None) => LoginMethod::Gateway {
                device_id: String::new(),
            },
            _ => LoginMethod::Access,
        }
    }
}

/// What `put_organization` does: create the organization, or update the one there is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrganizationChange {
    /// [`crate::StoreError::Conflict`] if the account has one.
    Create,
    /// Merges the fields given into it; [`crate::StoreError::NotFound`] if there is none.
    Update,
}

/// Whether a recorded login was accepted, or refused and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginResult {
    Accepted,
    /// Refused: `seat_limit_reached` when the account was full.
    Refused {
        reason: String,
    },
}

/// Whose access to revoke (`POST …/access/organizations/revoke_user`): the user with `email`,
/// and, if `user_uid` is given, only if it is that user's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevokeRequest {
    pub email: String,
    pub user_uid: Option<String>,
    /// Also end the user's device registrations.
    pub devices: bool,
}

/// What a revocation ended. The user keeps its seats.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revocation {
    pub user_id: String,
    pub sessions: u64,
    pub devices: u64,
}

impl Revocation {
    /// The audit event's `after`.
    pub fn audit_json(&self) -> serde_json::Value {
        serde_json::json!({"sessions_ended": self.sessions, "devices_revoked": self.devices})
    }
}

/// What a login did: the user afterwards, and whether it was refused for the seat limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginOutcome {
    pub user: UserRecord,
    /// `Some((used, limit))` when the account was full and the user held no seat.
    pub refused: Option<(u64, u64)>,
}

/// A recorded login, accepted or refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginRecord {
    pub at: Timestamp,
    pub method: LoginMethod,
    pub result: LoginResult,
}

/// An Access session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    pub id: String,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}

/// A registered WARP device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceRecord {
    pub id: String,
    pub registered_at: Timestamp,
    pub last_seen_at: Timestamp,
}

/// What a user did: live sessions, registered devices (most recently seen first), refused
/// logins (newest first), the last accepted login.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserActivity {
    pub sessions: Vec<SessionRecord>,
    pub devices: Vec<DeviceRecord>,
    pub failed_logins: Vec<LoginRecord>,
    pub last_login: Option<LoginRecord>,
}

/// A new API token; its value arrives hashed.
#[derive(Debug, Clone, PartialEq)]
pub struct NewToken {
    pub id: String,
    pub name: String,
    pub value_hash: SecretHash,
    pub policies: Vec<Policy>,
    pub not_before: Option<Timestamp>,
    pub expires_on: Option<Timestamp>,
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
    /// An identity provider's SCIM client, by provider id.
    IdentityProvider(String),
}

impl Actor {
    pub fn kind(&self) -> &'static str {
        match self {
            Actor::Token(_) => "token",
            Actor::Member(_) => "member",
            Actor::Operator => "operator",
            Actor::System => "system",
            Actor::IdentityProvider(_) => "identity_provider",
        }
    }

    pub fn from_parts(kind: &str, id: &str) -> Option<Self> {
        Some(match kind {
            "token" => Actor::Token(id.to_owned()),
            "member" => Actor::Member(id.to_owned()),
            "operator" => Actor::Operator,
            "system" => Actor::System,
            "identity_provider" => Actor::IdentityProvider(id.to_owned()),
            _ => return None,
        })
    }

    /// The token id or email; the kind itself for operator and system.
    pub fn id(&self) -> &str {
        match self {
            Actor::Token(id) | Actor::Member(id) | Actor::IdentityProvider(id) => id,
            other => other.kind(),
        }
    }
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Actor::Token(id) => write!(f, "token:{id}"),
            Actor::Member(email) => write!(f, "member:{email}"),
            Actor::IdentityProvider(id) => write!(f, "identity_provider:{id}"),
            other => f.write_str(other.kind()),
        }
    }
}

/// What an audit event records. Its text (`user.create`, `seat.remove`, …) is what the audit
/// log stores and shows, written here once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditAction {
    AccountCreate,
    AccountUpdate,
    MemberCreate,
    MemberDelete,
    TokenCreate,
    TokenUpdate,
    TokenDelete,
    UserCreate,
    UserUpdate,
    UserDelete,
    UserDeprovision,
    SeatGrant,
    SeatUpdate,
    SeatRemove,
    SeatExpire,
    SeatDeprovision,
    LoginRefused,
    UserRevoke,
    DeviceRevoke,
    DeviceUnrevoke,
    DeviceDelete,
    OrganizationCreate,
    OrganizationUpdate,
    IdentityProviderCreate,
    IdentityProviderUpdate,
    IdentityProviderDelete,
}

impl AuditAction {
    pub fn as_str(self) -> &'static str {
        match self {
            AuditAction::AccountCreate => "account.create",
            AuditAction::AccountUpdate => "account.update",
            AuditAction::MemberCreate => "member.create",
            AuditAction::MemberDelete => "member.delete",
            AuditAction::TokenCreate => "token.create",
            AuditAction::TokenUpdate => "token.update",
            AuditAction::TokenDelete => "token.delete",
            AuditAction::UserCreate => "user.create",
            AuditAction::UserUpdate => "user.update",
            AuditAction::UserDelete => "user.delete",
            AuditAction::UserDeprovision => "user.deprovision",
            AuditAction::SeatGrant => "seat.grant",
            AuditAction::SeatUpdate => "seat.update",
            AuditAction::SeatRemove => "seat.remove",
            AuditAction::SeatExpire => "seat.expire",
            AuditAction::SeatDeprovision => "seat.deprovision",
            AuditAction::LoginRefused => "login.refused",
            AuditAction::UserRevoke => "user.revoke",
            AuditAction::DeviceRevoke => "device.revoke",
            AuditAction::DeviceUnrevoke => "device.unrevoke",
            AuditAction::DeviceDelete => "device.delete",
            AuditAction::OrganizationCreate => "organization.create",
            AuditAction::OrganizationUpdate => "organization.update",
            AuditAction::IdentityProviderCreate => "identity_provider.create",
            AuditAction::IdentityProviderUpdate => "identity_provider.update",
            AuditAction::IdentityProviderDelete => "identity_provider.delete",
        }
    }
}

/// An audit event to write, in the transaction of the change it records.
pub struct AuditEvent<'a> {
    pub at: Timestamp,
    pub account_id: Option<&'a str>,
    pub actor: &'a Actor,
    pub action: AuditAction,
    pub subject: &'a str,
    pub before: Option<&'a serde_json::Value>,
    pub after: Option<&'a serde_json::Value>,
}

impl<'a> AuditEvent<'a> {
    /// An event with neither a before nor an after state; add them with [`Self::before`]
    /// and [`Self::after`].
    pub fn new(
        at: Timestamp,
        account_id: Option<&'a str>,
        actor: &'a Actor,
        action: AuditAction,
        subject: &'a str,
    ) -> Self {
        AuditEvent {
            at,
            account_id,
            actor,
            action,
            subject,
            before: None,
            after: None,
        }
    }

    pub fn before(mut self, before: &'a serde_json::Value) -> Self {
        self.before = Some(before);
        self
    }

    pub fn after(mut self, after: &'a serde_json::Value) -> Self {
        self.after = Some(after);
        self
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
