//! Access identity providers, and the SCIM resources Cloudflare lists under them, as the
//! Cloudflare v4 API shows them.

use serde::{Deserialize, Serialize};

use crate::{SecretString, Timestamp};

/// The types of identity provider Cloudflare knows [CF].
pub const IDENTITY_PROVIDER_TYPES: &[&str] = &[
    "onetimepin",
    "azureAD",
    "saml",
    "centrify",
    "facebook",
    "github",
    "google-apps",
    "google",
    "linkedin",
    "oidc",
    "okta",
    "onelogin",
    "pingone",
    "yandex",
    "cloudflare",
];

/// An Access identity provider.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IdentityProvider {
    /// UUID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The name of the identity provider, shown to users on the login page.
    pub name: String,
    /// The type of identity provider (`okta`, `azureAD`, `saml`, ...).
    #[serde(rename = "type")]
    pub kind: String,
    /// The configuration parameters for the identity provider; secrets in it read back
    /// redacted.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub config: serde_json::Map<String, serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scim_config: Option<ScimConfig>,
}

/// SCIM settings of an identity provider.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ScimConfig {
    /// A flag to enable or disable SCIM for the identity provider.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// How a SCIM event updates a user identity: `automatic`, `reauth` or `no_action`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity_update_behavior: Option<String>,
    /// The base URL of this server's SCIM 2.0 endpoint for the provider (read-only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scim_base_url: Option<String>,
    /// Remove a user's seat when the identity provider deprovisions them; needs
    /// `user_deprovision`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seat_deprovision: Option<bool>,
    /// The SCIM bearer secret: in full only in the response that generated it, redacted
    /// afterwards (read-only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub secret: Option<SecretString>,
    /// End a user's sessions and device registrations when the identity provider
    /// deprovisions them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_deprovision: Option<bool>,
}

/// When a SCIM resource was created and last changed.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ScimMeta {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub created: Option<Timestamp>,
    #[serde(default, rename = "lastModified", skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub last_modified: Option<Timestamp>,
}

/// An email of a SCIM user.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ScimEmail {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary: Option<bool>,
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

/// A SCIM user resource as Cloudflare lists it under its identity provider.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AccessUser {
    /// The unique Cloudflare-generated id of the SCIM user resource.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active: Option<bool>,
    #[serde(default, rename = "displayName", skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    #[serde(default)]
    pub emails: Vec<ScimEmail>,
    /// The identity provider's id of the user.
    #[serde(default, rename = "externalId", skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<ScimMeta>,
    #[serde(default)]
    pub schemas: Vec<String>,
}

/// A SCIM group resource as Cloudflare lists it under its identity provider.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ZeroTrustGroup {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, rename = "displayName", skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    #[serde(default, rename = "externalId", skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<ScimMeta>,
    #[serde(default)]
    pub schemas: Vec<String>,
}

/// What deleting an identity provider answers.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IdentityProviderDeleted {
    pub id: String,
}
