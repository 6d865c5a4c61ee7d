//! SCIM users and groups of an identity provider, and the deprovisioning a SCIM change causes.

use async_trait::async_trait;
use rusqlite::{params, params_from_iter, Connection, OptionalExtension};
use seats_types::{formats, Timestamp};
use serde_json::json;

use super::audit::audit;
use super::identity_providers::must_provider;
use super::seats::{end_devices, end_sessions};
use super::users::create_user;
use super::{is_unique_violation, json_text, select_all, select_opt, SqliteStore};
use crate::export::Cells;
use crate::identity_provider::*;
use crate::listing::{self, Dialect, Listing};
use crate::model::{Actor, AuditAction, AuditEvent};
use crate::rows::{self, check_version, Revision, SCIM_GROUP_COLUMNS, SCIM_USER_COLUMNS};
use crate::rules::seats_json;
use crate::{Conflict, ScimStore, StoreError, StoreResult};

/// `(rows, total)` of a listing (see [`crate::listing`]).
fn page<T>(
    conn: &Connection,
    mut listing: Listing,
    columns: &str,
    offset: u64,
    limit: u64,
    read: fn(&dyn Cells) -> StoreResult<T>,
) -> StoreResult<(Vec<T>, u64)> {
    let total: u64 = conn
        .prepare_cached(&listing.count_sql())?
        .query_row(params_from_iter(&listing.params), |r| r.get(0))?;
    let sql = listing.page_sql(columns, offset, limit);
    Ok((select_all(conn, &sql, params_from_iter(&listing.params), read)?, total))
}

pub(super) fn scim_users(
    conn: &Connection,
    provider_id: &str,
    filter: ScimUserFilter,
    offset: u64,
    limit: u64,
) -> StoreResult<(Vec<ScimUserRecord>, u64)> {
    let listing = listing::scim_users(Dialect::Sqlite, provider_id, filter);
    page(conn, listing, SCIM_USER_COLUMNS, offset, limit, rows::scim_user)
}

pub(super) fn scim_user(conn: &Connection, provider_id: &str, id: &str) -> StoreResult<Option<ScimUserRecord>> {
    let sql = format!("SELECT {SCIM_USER_COLUMNS} FROM scim_users WHERE provider_id = ?1 AND id = ?2");
    select_opt(conn, &sql, params![provider_id, id], rows::scim_user)
}

/// The account user of `email` (created, holding no seat, if there is none).
fn linked_user(
    conn: &Connection,
    provider: &IdentityProviderRecord,
    email: Option<&str>,
    name: Option<&str>,
    now: Timestamp,
) -> StoreResult<Option<String>> {
    let Some(email) = email else { return Ok(None) };
    let existing: Option<String> = conn
        .prepare_cached("SELECT id FROM users WHERE account_id = ?1 AND email_key = ?2")?
        .query_row(params![provider.account_id, formats::email_key(email)], |r| r.get(0))
        .optional()?;
    if existing.is_some() {
        return Ok(existing);
    }
    let actor = Actor::IdentityProvider(provider.id.clone());
    let user = create_user(conn, &provider.account_id, email, name.unwrap_or(""), &actor, now)?;
    Ok(Some(user.id))
}

/// Deprovisions the account user `user_id` as the provider's flags say: sessions and devices
/// end (`user_deprovision`), and the seat is freed (`seat_deprovision` as well). Audited with
/// the provider as actor.
fn deprovision(conn: &Connection, provider: &IdentityProviderRecord, user_id: &str, now: Timestamp) -> StoreResult<()> {
    if !provider.scim.user_deprovision() {
        return Ok(());
    }
    let Some((seat_uid, access, gateway)) = conn
        .prepare_cached("SELECT seat_uid, access_seat, gateway_seat FROM users WHERE id = ?1")?
        .query_row([user_id], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, bool>(1)?, r.get::<_, bool>(2)?))
        })
        .optional()?
    else {
        return Ok(());
    };
    let actor = Actor::IdentityProvider(provider.id.clone());
    let account = Some(provider.account_id.as_str());
    let sessions: u64 = conn
        .prepare_cached("SELECT COUNT(*) FROM sessions WHERE user_id = ?1")?
        .query_row([user_id], |r| r.get(0))?;
    let devices: u64 = conn
        .prepare_cached("SELECT COUNT(*) FROM devices WHERE user_id = ?1 AND revoked_at IS NULL")?
        .query_row([user_id], |r| r.get(0))?;
    end_sessions(conn, user_id)?;
    end_devices(conn, user_id)?;
    let before = json!({"sessions": sessions, "devices": devices});
    let after = json!({"sessions": 0, "devices": 0});
    audit(
        conn,
        &AuditEvent::new(now, account, &actor, AuditAction::UserDeprovision, &seat_uid)
            .before(&before)
            .after(&after),
    )?;
    if provider.scim.seat_deprovision() && (access || gateway) {
        conn.prepare_cached(
            "UPDATE users SET access_seat = 0, gateway_seat = 0, holds_seat = 0, seat_granted_at = NULL, updated_at = ?2
             WHERE id = ?1",
        )?
        .execute(params![user_id, now.unix_micros()])?;
        let (before, after) = (seats_json(access, gateway), seats_json(false, false));
        audit(
            conn,
            &AuditEvent::new(now, account, &actor, AuditAction::SeatDeprovision, &seat_uid)
                .before(&before)
                .after(&after),
        )?;
    }
    Ok(())
}

pub(super) fn put_scim_user(
    conn: &Connection,
    provider_id: &str,
    id: Option<&str>,
    write: ScimUserWrite,
    expected: ExpectedVersion,
    now: Timestamp,
) -> StoreResult<ScimUserRecord> {
    let provider = must_provider(conn, None, provider_id)?;
    let before = match id {
        Some(id) => {
            let before = scim_user(conn, provider_id, id)?.ok_or(StoreError::NotFound { positions: vec![] })?;
            check_version(before.version, expected)?;
            Some(before)
        }
        None => None,
    };
    let user_id = linked_user(
        conn,
        &provider,
        write.email.as_deref(),
        write.display_name.as_deref(),
        now,
    )?;
    let Revision {
        id,
        version,
        created_at: created,
    } = Revision::after(before.as_ref().map(|b| (b.id.as_str(), b.version, b.created_at)), now);
    let written = conn
        .prepare_cached(
            "INSERT INTO scim_users (id, provider_id, user_id, user_name_key, external_id, email_key, display_name,
                                     active, resource, version, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)
             ON CONFLICT (id) DO UPDATE SET user_id = excluded.user_id, user_name_key = excluded.user_name_key,
                 external_id = excluded.external_id, email_key = excluded.email_key,
                 display_name = excluded.display_name, active = excluded.active, resource = excluded.resource,
                 version = excluded.version, updated_at = excluded.updated_at",
        )?
        .execute(params![
            id,
            provider_id,
            user_id,
            write.user_name.to_lowercase(),
            write.external_id,
            write.email.as_deref().map(formats::email_key),
            write.display_name,
            write.active,
            json_text(&write.resource)?,
            version,
            created,
            now.unix_micros()
        ]);
    match written {
        Err(e) if is_unique_violation(&e) => {
            return Err(StoreError::Conflict(Conflict::ScimUserName(write.user_name.clone())))
        }
        other => other?,
    };
    let was_active = before.as_ref().is_none_or(|b| b.active);
    if was_active && !write.active {
        if let Some(user_id) = &user_id {
            deprovision(conn, &provider, user_id, now)?;
        }
    }
    scim_user(conn, provider_id, &id)?.ok_or_else(|| StoreError::other("SCIM user vanished"))
}

pub(super) fn delete_scim_user(
    conn: &Connection,
    provider_id: &str,
    id: &str,
    expected: ExpectedVersion,
    now: Timestamp,
) -> StoreResult<()> {
    let provider = must_provider(conn, None, provider_id)?;
    let before = scim_user(conn, provider_id, id)?.ok_or(StoreError::NotFound { positions: vec![] })?;
    check_version(before.version, expected)?;
    conn.prepare_cached("DELETE FROM scim_users WHERE id = ?1")?
        .execute([id])?;
    if let (true, Some(user_id)) = (before.active, &before.user_id) {
        deprovision(conn, &provider, user_id, now)?;
    }
    Ok(())
}

fn with_members(conn: &Connection, mut group: ScimGroupRecord) -> StoreResult<ScimGroupRecord> {
    group.members = conn
        .prepare_cached("SELECT user_id FROM scim_group_members WHERE group_id = ?1 ORDER BY user_id")?
        .query_map([&group.id], |r| r.get(0))?
        .collect::<rusqlite::Result<Vec<String>>>()?;
    Ok(group)
}

pub(super) fn scim_groups(
    conn: &Connection,
    provider_id: &str,
    filter: ScimGroupFilter,
    offset: u64,
    limit: u64,
) -> StoreResult<(Vec<ScimGroupRecord>, u64)> {
    let listing = listing::scim_groups(Dialect::Sqlite, provider_id, filter);
    let (groups, total) = page(conn, listing, SCIM_GROUP_COLUMNS, offset, limit, rows::scim_group)?;
    let groups = groups
        .into_iter()
        .map(|g| with_members(conn, g))
        .collect::<StoreResult<Vec<_>>>()?;
    Ok((groups, total))
}

pub(super) fn scim_group(conn: &Connection, provider_id: &str, id: &str) -> StoreResult<Option<ScimGroupRecord>> {
    let sql = format!("SELECT {SCIM_GROUP_COLUMNS} FROM scim_groups WHERE provider_id = ?1 AND id = ?2");
    select_opt(conn, &sql, params![provider_id, id], rows::scim_group)?
        .map(|g| with_members(conn, g))
        .transpose()
}

pub(super) fn put_scim_group(
    conn: &Connection,
    provider_id: &str,
    id: Option<&str>,
    write: ScimGroupWrite,
    expected: ExpectedVersion,
    now: Timestamp,
) -> StoreResult<ScimGroupRecord> {
    must_provider(conn, None, provider_id)?;
    let before = match id {
        Some(id) => {
            let before = scim_group(conn, provider_id, id)?.ok_or(StoreError::NotFound { positions: vec![] })?;
            check_version(before.version, expected)?;
            Some(before)
        }
        None => None,
    };
    let unknown: Vec<usize> = write
        .members
        .iter()
        .enumerate()
        .filter_map(|(i, m)| match scim_user(conn, provider_id, m) {
            Ok(Some(_)) => None,
            _ => Some(i),
        })
        .collect();
    if !unknown.is_empty() {
        return Err(StoreError::NotFound { positions: unknown });
    }
    let Revision {
        id,
        version,
        created_at: created,
    } = Revision::after(before.as_ref().map(|b| (b.id.as_str(), b.version, b.created_at)), now);
    let written = conn
        .prepare_cached(
            "INSERT INTO scim_groups (id, provider_id, display_name, external_id, resource, version, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
             ON CONFLICT (id) DO UPDATE SET display_name = excluded.display_name, external_id = excluded.external_id,
                 resource = excluded.resource, version = excluded.version, updated_at = excluded.updated_at",
        )?
        .execute(params![
            id,
            provider_id,
            write.display_name,
            write.external_id,
            json_text(&write.resource)?,
            version,
            created,
            now.unix_micros()
        ]);
    match written {
        Err(e) if is_unique_violation(&e) => {
            return Err(StoreError::Conflict(Conflict::ScimGroupName(
                write.display_name.clone(),
            )))
        }
        other => other?,
    };
    conn.prepare_cached("DELETE FROM scim_group_members WHERE group_id = ?1")?
        .execute([&id])?;
    let mut insert =
        conn.prepare_cached("INSERT OR IGNORE INTO scim_group_members (group_id, user_id) VALUES (?1, ?2)")?;
    for member in &write.members {
        insert.execute(params![id, member])?;
    }
    scim_group(conn, provider_id, &id)?.ok_or_else(|| StoreError::other("SCIM group vanished"))
}

pub(super) fn delete_scim_group(
    conn: &Connection,
    provider_id: &str,
    id: &str,
    expected: ExpectedVersion,
) -> StoreResult<()> {
    let before = scim_group(conn, provider_id, id)?.ok_or(StoreError::NotFound { positions: vec![] })?;
    check_version(before.version, expected)?;
    conn.prepare_cached("DELETE FROM scim_groups WHERE id = ?1")?
        .execute([id])?;
    Ok(())
}

#[async_trait]
impl ScimStore for SqliteStore {
    async fn scim_users(
        &self,
        provider_id: &str,
        filter: ScimUserFilter,
        offset: u64,
        limit: u64,
    ) -> StoreResult<(Vec<ScimUserRecord>, u64)> {
        let provider_id = provider_id.to_owned();
        self.readers
            .read(move |c| scim_users(c, &provider_id, filter, offset, limit))
            .await
    }

    async fn scim_user(&self, provider_id: &str, id: &str) -> StoreResult<Option<ScimUserRecord>> {
        let (provider_id, id) = (provider_id.to_owned(), id.to_owned());
        self.readers.read(move |c| scim_user(c, &provider_id, &id)).await
    }

    async fn put_scim_user(
        &self,
        provider_id: &str,
        id: Option<&str>,
        user: ScimUserWrite,
        expected: ExpectedVersion,
        now: Timestamp,
    ) -> StoreResult<ScimUserRecord> {
        let (provider_id, id) = (provider_id.to_owned(), id.map(str::to_owned));
        self.writer
            .write(move |c| put_scim_user(c, &provider_id, id.as_deref(), user, expected, now))
            .await
    }

    async fn delete_scim_user(
        &self,
        provider_id: &str,
        id: &str,
        expected: ExpectedVersion,
        now: Timestamp,
    ) -> StoreResult<()> {
        let (provider_id, id) = (provider_id.to_owned(), id.to_owned());
        self.writer
            .write(move |c| delete_scim_user(c, &provider_id, &id, expected, now))
            .await
    }

    async fn scim_groups(
        &self,
        provider_id: &str,
        filter: ScimGroupFilter,
        offset: u64,
        limit: u64,
    ) -> StoreResult<(Vec<ScimGroupRecord>, u64)> {
        let provider_id = provider_id.to_owned();
        self.readers
            .read(move |c| scim_groups(c, &provider_id, filter, offset, limit))
            .await
    }

    async fn scim_group(&self, provider_id: &str, id: &str) -> StoreResult<Option<ScimGroupRecord>> {
        let (provider_id, id) = (provider_id.to_owned(), id.to_owned());
        self.readers.read(move |c| scim_group(c, &provider_id, &id)).await
    }

    async fn put_scim_group(
        &self,
        provider_id: &str,
        id: Option<&str>,
        group: ScimGroupWrite,
        expected: ExpectedVersion,
        now: Timestamp,
    ) -> StoreResult<ScimGroupRecord> {
        let (provider_id, id) = (provider_id.to_owned(), id.map(str::to_owned));
        self.writer
            .write(move |c| put_scim_group(c, &provider_id, id.as_deref(), group, expected, now))
            .await
    }

    async fn delete_scim_group(
        &self,
        provider_id: &str,
        id: &str,
        expected: ExpectedVersion,
        _now: Timestamp,
    ) -> StoreResult<()> {
        let (provider_id, id) = (provider_id.to_owned(), id.to_owned());
        self.writer
            .write(move |c| delete_scim_group(c, &provider_id, &id, expected))
            .await
    }
}
