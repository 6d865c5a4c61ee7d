//! API token policies and the permission groups this service knows.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

/// One policy of an API token: allow or deny some permission groups on some accounts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Policy {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub effect: Effect,
    /// `com.cloudflare.api.account.<id>` or `com.cloudflare.api.account.*`, mapped to `"*"`.
    pub resources: BTreeMap<String, String>,
    pub permission_groups: Vec<PermissionGroupRef>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Effect {
    Allow,
    Deny,
}

/// A permission group named in a policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PermissionGroupRef {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub name: String,
}

/// The resource key that covers every account.
pub const ALL_ACCOUNTS_RESOURCE: &str = "com.cloudflare.api.account.*";
/// Prefix of a resource key naming one account.
pub const ACCOUNT_RESOURCE_PREFIX: &str = "com.cloudflare.api.account.";

/// The permission groups that guard the operations this service serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PermissionGroup {
    SeatsWrite,
    AuditLogsRead,
    OrganizationsRead,
    OrganizationsWrite,
    ZeroTrustRead,
    ZeroTrustWrite,
}

impl PermissionGroup {
    pub const ALL: [PermissionGroup; 6] = [
        PermissionGroup::SeatsWrite,
        PermissionGroup::AuditLogsRead,
        PermissionGroup::OrganizationsRead,
        PermissionGroup::OrganizationsWrite,
        PermissionGroup::ZeroTrustRead,
        PermissionGroup::ZeroTrustWrite,
    ];

    /// The name Cloudflare gives the group.
    pub fn name(self) -> &'static str {
        match self {
            PermissionGroup::SeatsWrite => "Zero Trust: Seats Write",
            PermissionGroup::AuditLogsRead => "Access: Audit Logs Read",
            PermissionGroup::OrganizationsRead => "Access: Organizations, Identity Providers, and Groups Read",
            PermissionGroup::OrganizationsWrite => "Access: Organizations, Identity Providers, and Groups Write",
            PermissionGroup::ZeroTrustRead => "Zero Trust Read",
            PermissionGroup::ZeroTrustWrite => "Zero Trust Write",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|g| g.name() == name)
    }
}

impl fmt::Display for PermissionGroup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The stored status of a token. `expired` is derived from `expires_on` when read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum TokenStatus {
    Active,
    Disabled,
    Expired,
}

impl TokenStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenStatus::Active => "active",
            TokenStatus::Disabled => "disabled",
            TokenStatus::Expired => "expired",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permission_group_names_round_trip() {
        for g in PermissionGroup::ALL {
            assert_eq!(PermissionGroup::from_name(g.name()), Some(g));
        }
        assert_eq!(PermissionGroup::from_name("Zero Trust: Seats write"), None);
    }

    #[test]
    fn policy_decodes_cloudflare_shape() {
        let p: Policy = serde_json::from_str(
            r#"{"effect":"deny","resources":{"com.cloudflare.api.account.*":"*"},
                "permission_groups":[{"id":"abc","name":"Zero Trust: Seats Write"}]}"#,
        )
        .unwrap();
        assert_eq!(p.effect, Effect::Deny);
        assert_eq!(p.permission_groups[0].name, "Zero Trust: Seats Write");
    }
}
