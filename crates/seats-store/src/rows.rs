//! Records read from rows, written once for both backends: each reader names its columns
//! (the order the `SELECT` lists them in) and reads them through [`Cells`], which each
//! backend implements over its driver's row (`sqlite/export.rs`, `postgres/export.rs`).

use seats_types::Timestamp;

use crate::export::Cells;
use crate::identity_provider::{
    ExpectedVersion, IdentityProviderRecord, ScimGroupRecord, ScimSettings, ScimUserRecord,
};
use crate::model::{DeviceRecord, LoginMethod, LoginRecord, LoginResult, OrganizationRecord, SessionRecord};
use crate::secret::SecretHash;
use crate::{StoreError, StoreResult};

/// A stored time (unix microseconds) as a [`Timestamp`].
pub(crate) fn ts(micros: i64) -> StoreResult<Timestamp> {
    Timestamp::from_unix_micros(micros).ok_or_else(|| StoreError::other(format!("timestamp out of range: {micros}")))
}

/// A JSON column's text as `T`.
pub(crate) fn object<T: serde::de::DeserializeOwned>(text: &str) -> StoreResult<T> {
    serde_json::from_str(text).map_err(StoreError::other)
}

fn version(c: &dyn Cells, i: usize) -> StoreResult<u64> {
    let v = c.int(i)?;
    u64::try_from(v).map_err(|_| StoreError::other(format!("version out of range: {v}")))
}

pub(crate) const PROVIDER_COLUMNS: &str =
    "id, account_id, name, type, config, scim_config, scim_secret_hash, created_at, updated_at";

pub(crate) fn provider(c: &dyn Cells) -> StoreResult<IdentityProviderRecord> {
    Ok(IdentityProviderRecord {
        id: c.text(0)?,
        account_id: c.text(1)?,
        name: c.text(2)?,
        kind: c.text(3)?,
        config: object(&c.text(4)?)?,
        scim: ScimSettings {
            flags: object(&c.text(5)?)?,
            secret_hash: c.opt_bytes(6)?.as_deref().and_then(SecretHash::from_slice),
        },
        created_at: ts(c.int(7)?)?,
        updated_at: ts(c.int(8)?)?,
    })
}

pub(crate) const SCIM_USER_COLUMNS: &str =
    "id, provider_id, user_id, active, resource, version, created_at, updated_at";

pub(crate) fn scim_user(c: &dyn Cells) -> StoreResult<ScimUserRecord> {
    Ok(ScimUserRecord {
        id: c.text(0)?,
        provider_id: c.text(1)?,
        user_id: c.opt_text(2)?,
        active: c.flag(3)?,
        resource: object(&c.text(4)?)?,
        version: version(c, 5)?,
        created_at: ts(c.int(6)?)?,
        updated_at: ts(c.int(7)?)?,
    })
}

pub(crate) const SCIM_GROUP_COLUMNS: &str = "id, provider_id, display_name, resource, version, created_at, updated_at";

/// A group without its members (read apart, from `scim_group_members`).
pub(crate) fn scim_group(c: &dyn Cells) -> StoreResult<ScimGroupRecord> {
    Ok(ScimGroupRecord {
        id: c.text(0)?,
        provider_id: c.text(1)?,
        display_name: c.text(2)?,
        resource: object(&c.text(3)?)?,
        members: Vec::new(),
        version: version(c, 4)?,
        created_at: ts(c.int(5)?)?,
        updated_at: ts(c.int(6)?)?,
    })
}

/// A SCIM resource's next revision, as stored: a new one (a fresh id, version 1, created now)
/// or the one after `before`.
pub(crate) struct Revision {
    pub id: String,
    pub version: i64,
    pub created_at: i64,
}

impl Revision {
    pub(crate) fn after(before: Option<(&str, u64, Timestamp)>, now: Timestamp) -> Revision {
        match before {
            Some((id, version, created_at)) => Revision {
                id: id.to_owned(),
                version: i64::try_from(version).unwrap_or(i64::MAX - 1) + 1,
                created_at: created_at.unix_micros(),
            },
            None => Revision {
                id: uuid::Uuid::new_v4().to_string(),
                version: 1,
                created_at: now.unix_micros(),
            },
        }
    }
}

/// Refuses a write to a resource whose version moved since the client read it.
pub(crate) fn check_version(found: u64, expected: ExpectedVersion) -> StoreResult<()> {
    match expected {
        Some(v) if v != found => Err(StoreError::Stale),
        _ => Ok(()),
    }
}

/// What [`crate::UserActivity`] is read from, in PostgreSQL's placeholders (`$1` the user's id,
/// `$2` now): live sessions, devices not revoked (most recently seen first), refused logins
/// (newest first), the last accepted login.
pub(crate) const ACTIVE_SESSIONS: &str =
    "SELECT id, created_at, expires_at FROM sessions WHERE user_id = $1 AND expires_at > $2 ORDER BY created_at, id";
pub(crate) const ACTIVE_DEVICES: &str = "SELECT device_id, registered_at, last_seen_at FROM devices
     WHERE user_id = $1 AND revoked_at IS NULL ORDER BY last_seen_at DESC, device_id";
pub(crate) const FAILED_LOGINS: &str =
    "SELECT at, via, device_id, succeeded, reason FROM logins WHERE user_id = $1 AND succeeded = false ORDER BY id DESC";
pub(crate) const LAST_LOGIN: &str = "SELECT at, via, device_id, succeeded, reason FROM logins
     WHERE user_id = $1 AND succeeded = true ORDER BY id DESC LIMIT 1";

/// A row of [`FAILED_LOGINS`] or [`LAST_LOGIN`].
pub(crate) fn login(c: &dyn Cells) -> StoreResult<LoginRecord> {
    Ok(LoginRecord {
        at: ts(c.int(0)?)?,
        method: LoginMethod::from_parts(&c.text(1)?, c.opt_text(2)?),
        result: match c.flag(3)? {
            true => LoginResult::Accepted,
            false => LoginResult::Refused {
                reason: c.opt_text(4)?.unwrap_or_default(),
            },
        },
    })
}

/// A row of [`ACTIVE_SESSIONS`].
pub(crate) fn session(c: &dyn Cells) -> StoreResult<SessionRecord> {
    Ok(SessionRecord {
        id: c.text(0)?,
        created_at: ts(c.int(1)?)?,
        expires_at: ts(c.int(2)?)?,
    })
}

/// A row of [`ACTIVE_DEVICES`].
pub(crate) fn device(c: &dyn Cells) -> StoreResult<DeviceRecord> {
    Ok(DeviceRecord {
        id: c.text(0)?,
        registered_at: ts(c.int(1)?)?,
        last_seen_at: ts(c.int(2)?)?,
    })
}

/// An account's organization, in PostgreSQL's placeholders (`$1` the account).
pub(crate) const ORGANIZATION: &str =
    "SELECT organization, organization_created_at, organization_updated_at FROM accounts WHERE id = $1";

/// A row of [`ORGANIZATION`]: `None` inside when the account has no organization.
pub(crate) fn organization(c: &dyn Cells) -> StoreResult<Option<OrganizationRecord>> {
    let Some(text) = c.opt_text(0)? else {
        return Ok(None);
    };
    // Both timestamps are set whenever an organization is (seed and put_organization).
    let created_at = ts(c
        .opt_int(1)?
        .ok_or_else(|| StoreError::other("organization without a creation time"))?)?;
    Ok(Some(OrganizationRecord {
        fields: object(&text)?,
        created_at,
        updated_at: c.opt_int(2)?.map(ts).transpose()?.unwrap_or(created_at),
    }))
}

/// A row of the dashboard's users walk (`created_at`, `id`, whether the seat filter holds).
pub(crate) fn browse_key(c: &dyn Cells) -> StoreResult<(crate::browse::UserKey, bool)> {
    Ok((
        crate::browse::UserKey {
            created_at: ts(c.int(0)?)?,
            id: c.text(1)?,
        },
        c.flag(2)?,
    ))
}
