//! An account's Zero Trust organization settings.

use serde::{Deserialize, Serialize};

use crate::Timestamp;

/// Organization settings. `user_seat_expiration_inactive_time` is a Go duration (`730h`,
/// minimum 730h) or `null` when seats never expire; other fields of Cloudflare's schema are
/// kept in `other` as the server returned them.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Organization {
    /// The name of your Zero Trust organization.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The unique subdomain assigned to your Zero Trust organization.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_domain: Option<String>,
    /// How long a seat may be inactive before it is freed; `None` when off.
    #[serde(default)]
    pub user_seat_expiration_inactive_time: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub created_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub updated_at: Option<Timestamp>,
    /// The other settings (`session_duration`, `login_design`, …), as given.
    #[serde(flatten)]
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub other: serde_json::Map<String, serde_json::Value>,
}
