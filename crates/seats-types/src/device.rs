//! Device registrations on the wire (`/accounts/{account_id}/devices/registrations`), as the
//! official SDKs type them.

use serde::{Deserialize, Serialize};

use crate::Timestamp;

/// A WARP configuration tied to a single user: one device a user enrolled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Registration {
    /// The ID of the registration.
    pub id: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: Timestamp,
    pub device: RegistrationDevice,
    /// The public key used to connect to the Cloudflare network (here a stand-in derived
    /// from the registration's id).
    pub key: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub last_seen_at: Timestamp,
    /// `warp`: registrations come from WARP (Gateway) logins.
    pub registration_type: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub updated_at: Timestamp,
    /// Always `null`: a deleted registration is gone.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub deleted_at: Option<Timestamp>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub revoked_at: Option<Timestamp>,
    pub user: RegistrationUser,
}

/// The device of a registration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RegistrationDevice {
    /// The WARP device's ID.
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub client_version: Option<String>,
}

/// The user a registration belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RegistrationUser {
    pub id: Option<String>,
    pub email: Option<String>,
    pub name: Option<String>,
}

/// The `result_info` of a cursor-paged listing: `cursor` is empty after the last page.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CursorResultInfo {
    pub count: u64,
    pub per_page: u64,
    pub cursor: String,
}

/// A physical device: the WARP device behind one or more registrations.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PhysicalDevice {
    /// The WARP device's ID (the `device.id` of its registrations).
    pub id: String,
    /// Its registrations that are not revoked.
    pub active_registrations: u64,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: Timestamp,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub last_seen_at: Option<Timestamp>,
    pub name: String,
    /// Always empty: there are no device tags here.
    pub tags: std::collections::BTreeMap<String, String>,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub updated_at: Timestamp,
    #[serde(default)]
    pub client_version: Option<String>,
    /// Always `null`: a deleted device is gone.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub deleted_at: Option<Timestamp>,
    pub last_seen_user: Option<RegistrationUser>,
}
