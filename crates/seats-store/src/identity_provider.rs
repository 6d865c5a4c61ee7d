//! Access identity providers and the SCIM resources their clients provision: the records the
//! store hands out, the writes it takes, and the rules both backends share.
//!
//! A provider's `scim_config` flags are kept as given (a JSON object); its SCIM secret is
//! kept only as a hash. A SCIM user is the provider's record of a person, stored as the
//! resource the client sent (without `id` and `meta`) beside the keys it is looked up by; it
//! is linked to the account's user of the same email.

use seats_types::Timestamp;
use serde_json::{Map, Value};

use crate::secret::SecretHash;

/// An Access identity provider of an account.
#[derive(Debug, Clone, PartialEq)]
pub struct IdentityProviderRecord {
    pub id: String,
    pub account_id: String,
    pub name: String,
    /// Cloudflare's `type` (`okta`, `azureAD`, `saml`, ...).
    pub kind: String,
    pub config: Map<String, Value>,
    pub scim: ScimSettings,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// The `scim_config` of a provider, but for the secret, which is only a hash here.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ScimSettings {
    pub flags: ScimFlags,
    pub secret_hash: Option<SecretHash>,
}

/// The SCIM settings a client sets, as stored (JSON, only those set). Unset reads as off.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct ScimFlags {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_deprovision: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seat_deprovision: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_member_deprovision: Option<bool>,
    /// `automatic`, `reauth` or `no_action`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity_update_behavior: Option<String>,
}

impl ScimSettings {
    pub fn enabled(&self) -> bool {
        self.flags.enabled == Some(true)
    }

    /// Deprovisioning ends the user's sessions and device registrations.
    pub fn user_deprovision(&self) -> bool {
        self.flags.user_deprovision == Some(true)
    }

    /// Deprovisioning also frees the user's seat (only together with `user_deprovision`).
    pub fn seat_deprovision(&self) -> bool {
        self.flags.seat_deprovision == Some(true) && self.user_deprovision()
    }
}

/// A provider to create or the whole new state of one to update.
#[derive(Debug, Clone, PartialEq)]
pub struct IdentityProviderWrite {
    pub name: String,
    pub kind: String,
    pub config: Map<String, Value>,
    pub scim_flags: ScimFlags,
    /// `Some` to set the SCIM secret (first enabled, or refreshed); `None` keeps it.
    pub new_secret_hash: Option<SecretHash>,
}

/// Which SCIM users a listing returns: every condition given must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScimUserFilter {
    /// Any of these ids (Cloudflare's `cf_resource_id`, SCIM's `id eq`).
    pub ids: Vec<String>,
    /// Any of these external ids (`idp_resource_id`, `externalId eq`).
    pub external_ids: Vec<String>,
    /// `userName`, case-insensitive.
    pub user_name: Option<String>,
    /// The linked email, case-insensitive.
    pub email: Option<String>,
    /// `displayName`, exact.
    pub display_name: Option<String>,
}

/// Which SCIM groups a listing returns.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScimGroupFilter {
    pub ids: Vec<String>,
    pub external_ids: Vec<String>,
    pub display_name: Option<String>,
}

/// A SCIM user as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct ScimUserRecord {
    pub id: String,
    pub provider_id: String,
    /// The account's user this one is linked to (by email), if any.
    pub user_id: Option<String>,
    pub active: bool,
    /// The resource as the client last sent it, without `id` and `meta`.
    pub resource: Map<String, Value>,
    pub version: u64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// A SCIM user to create or the whole new state of one to replace.
#[derive(Debug, Clone, PartialEq)]
pub struct ScimUserWrite {
    pub resource: Map<String, Value>,
    pub user_name: String,
    pub external_id: Option<String>,
    /// The email the account's user is linked by ([`link_email`]).
    pub email: Option<String>,
    pub display_name: Option<String>,
    pub active: bool,
}

impl ScimUserWrite {
    /// Reads the keys out of a checked resource (`userName` must be a non-empty string).
    pub fn from_resource(resource: Map<String, Value>) -> Self {
        let text = |k: &str| resource.get(k).and_then(Value::as_str).map(str::to_owned);
        ScimUserWrite {
            user_name: text("userName").unwrap_or_default(),
            external_id: text("externalId"),
            email: link_email(&resource),
            display_name: text("displayName"),
            active: resource.get("active").and_then(Value::as_bool).unwrap_or(true),
            resource,
        }
    }
}

/// The email a SCIM user is linked to the account's user by: the primary email, else the
/// `work` one, else the first; without emails, `userName` when it is an email address.
pub fn link_email(resource: &Map<String, Value>) -> Option<String> {
    let emails: Vec<&Map<String, Value>> = resource
        .get("emails")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_object).collect())
        .unwrap_or_default();
    let value = |e: &&Map<String, Value>| e.get("value").and_then(Value::as_str).map(str::to_owned);
    emails
        .iter()
        .find(|e| e.get("primary") == Some(&Value::Bool(true)))
        .or_else(|| {
            emails
                .iter()
                .find(|e| e.get("type").and_then(Value::as_str) == Some("work"))
        })
        .or(emails.first())
        .and_then(value)
        .or_else(|| {
            resource
                .get("userName")
                .and_then(Value::as_str)
                .filter(|u| seats_types::formats::is_email(u))
                .map(str::to_owned)
        })
        .filter(|e| seats_types::formats::is_email(e))
}

/// A SCIM group as stored, with its members' ids.
#[derive(Debug, Clone, PartialEq)]
pub struct ScimGroupRecord {
    pub id: String,
    pub provider_id: String,
    pub display_name: String,
    /// The resource as last sent, without `id`, `meta` and `members`.
    pub resource: Map<String, Value>,
    /// Ids of the SCIM users in the group, in id order.
    pub members: Vec<String>,
    pub version: u64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// A SCIM group to create or the whole new state of one to replace.
#[derive(Debug, Clone, PartialEq)]
pub struct ScimGroupWrite {
    pub resource: Map<String, Value>,
    pub display_name: String,
    pub external_id: Option<String>,
    pub members: Vec<String>,
}

/// The version a write must find, when the client sent `If-Match`.
pub type ExpectedVersion = Option<u64>;

/// The audit `after` of a provider: never the secret.
pub fn provider_json(p: &IdentityProviderRecord) -> Value {
    serde_json::json!({
        "id": p.id, "name": p.name, "type": p.kind, "config": p.config,
        "scim_config": p.scim.flags,
    })
}
