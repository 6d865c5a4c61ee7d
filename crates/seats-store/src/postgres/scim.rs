//! SCIM users and groups of an identity provider, and the deprovisioning a SCIM change causes.
//! Every SCIM write first locks its provider's row, so writes of one provider are serialized
//! across nodes; a deprovisioning then locks the user before the account, in the order every
//! other writer takes them.

use async_trait::async_trait;
use deadpool_postgres::GenericClient;
use seats_types::{formats, Timestamp};
use serde_json::json;

use super::accounts::lock_account;
use super::audit::audit;
use super::identity_providers::lock_provider;
use super::users::create_user;
use super::{bind, execute, json_text, query, query_opt, read, select_all, select_opt, write_tx, PgStore};
use crate::export::Cells;
use crate::identity_provider::*;
use crate::listing::{self, Dialect, Listing};
use crate::model::{Actor, AuditAction, AuditEvent};
use crate::rows::{self, check_version, Revision, SCIM_GROUP_COLUMNS, SCIM_USER_COLUMNS};
use crate::rules::seats_json;
use crate::{Conflict, ScimStore, StoreError, StoreResult};

/// `(rows, total)` of a listing (see [`crate::listing`]).
async fn page<T>(
    db: &impl GenericClient,
    mut listing: Listing,
    columns: &str,
    offset: u64,
    limit: u64,
    read: fn(&dyn Cells) -> StoreResult<T>,
) -> StoreResult<(Vec<T>, u64)> {
    let total: i64 = query(db, &listing.count_sql(), &bind(&listing.params)).await?[0].try_get(0)?;
    let sql = listing.page_sql(columns, offset, limit);
    Ok((select_all(db, &sql, &bind(&listing.params), read).await?, total as u64))
}

pub(super) async fn scim_users(
    db: &impl GenericClient,
    provider_id: &str,
    filter: ScimUserFilter,
    offset: u64,
    limit: u64,
) -> StoreResult<(Vec<ScimUserRecord>, u64)> {
    let listing = listing::scim_users(Dialect::Postgres, provider_id, filter);
    page(db, listing, SCIM_USER_COLUMNS, offset, limit, rows::scim_user).await
}

pub(super) async fn scim_user(
    db: &impl GenericClient,
    provider_id: &str,
    id: &str,
) -> StoreResult<Option<ScimUserRecord>> {
    let sql = format!("SELECT {SCIM_USER_COLUMNS} FROM scim_users WHERE provider_id = $1 AND id = $2");
    select_opt(db, &sql, &[&provider_id, &id], rows::scim_user).await
}

/// The account user of `email` (created, holding no seat, if there is none).
async fn linked_user(
    db: &impl GenericClient,
    provider: &IdentityProviderRecord,
    email: Option<&str>,
    name: Option<&str>,
    now: Timestamp,
) -> StoreResult<Option<String>> {
    let Some(email) = email else { return Ok(None) };
    let find = "SELECT id FROM users WHERE account_id = $1 AND email_key = $2";
    let key = formats::email_key(email);
    if let Some(row) = query_opt(db, find, &[&provider.account_id, &key]).await? {
        return Ok(Some(row.try_get(0)?));
    }
    let actor = Actor::IdentityProvider(provider.id.clone());
    match create_user(db, &provider.account_id, email, name.unwrap_or(""), &actor, now).await {
        Ok(user) => Ok(Some(user.id)),
        // A first login of the same email on another node won the race: link to that user.
        Err(StoreError::Conflict(_)) => Ok(query_opt(db, find, &[&provider.account_id, &key])
            .await?
            .map(|r| r.try_get(0))
            .transpose()?),
        Err(e) => Err(e),
    }
}

/// Deprovisions the account user `user_id` as the provider's flags say: sessions and devices
/// end (`user_deprovision`), and the seat is freed (`seat_deprovision` as well). Audited with
/// the provider as actor.
async fn deprovision(
    db: &impl GenericClient,
    provider: &IdentityProviderRecord,
    user_id: &str,
    now: Timestamp,
) -> StoreResult<()> {
    if !provider.scim.user_deprovision() {
        return Ok(());
    }
    let Some(row) = query_opt(
        db,
        "SELECT seat_uid, access_seat, gateway_seat,
                (SELECT COUNT(*) FROM sessions s WHERE s.user_id = users.id),
                (SELECT COUNT(*) FROM devices d WHERE d.user_id = users.id AND d.revoked_at IS NULL)
         FROM users WHERE id = $1 FOR NO KEY UPDATE",
        &[&user_id],
    )
    .await?
    else {
        return Ok(());
    };
    let (seat_uid, access, gateway): (String, bool, bool) = (row.try_get(0)?, row.try_get(1)?, row.try_get(2)?);
    let (sessions, devices): (i64, i64) = (row.try_get(3)?, row.try_get(4)?);
    let actor = Actor::IdentityProvider(provider.id.clone());
    let account = Some(provider.account_id.as_str());
    let seat = provider.scim.seat_deprovision() && (access || gateway);
    if seat {
        lock_account(db, &provider.account_id).await?;
    }
    execute(db, "DELETE FROM sessions WHERE user_id = $1", &[&user_id]).await?;
    execute(db, "DELETE FROM devices WHERE user_id = $1", &[&user_id]).await?;
    let before = json!({"sessions": sessions, "devices": devices});
    let after = json!({"sessions": 0, "devices": 0});
    audit(
        db,
        &AuditEvent::new(now, account, &actor, AuditAction::UserDeprovision, &seat_uid)
            .before(&before)
            .after(&after),
    )
    .await?;
    if seat {
        execute(
            db,
            "UPDATE users SET access_seat = false, gateway_seat = false, seat_granted_at = NULL, updated_at = $2
             WHERE id = $1",
            &[&user_id, &now.unix_micros()],
        )
        .await?;
        let (before, after) = (seats_json(access, gateway), seats_json(false, false));
        audit(
            db,
            &AuditEvent::new(now, account, &actor, AuditAction::SeatDeprovision, &seat_uid)
                .before(&before)
                .after(&after),
        )
        .await?;
    }
    Ok(())
}

pub(super) async fn put_scim_user(
    db: &impl GenericClient,
    provider_id: &str,
    id: Option<&str>,
    write: ScimUserWrite,
    expected: ExpectedVersion,
    now: Timestamp,
) -> StoreResult<ScimUserRecord> {
    let provider = lock_provider(db, None, provider_id).await?;
    let before = match id {
        Some(id) => {
            let before = scim_user(db, provider_id, id)
                .await?
                .ok_or(StoreError::NotFound { positions: vec![] })?;
            check_version(before.version, expected)?;
            Some(before)
        }
        None => None,
    };
    let taken: Option<String> = query_opt(
        db,
        "SELECT id FROM scim_users WHERE provider_id = $1 AND user_name_key = $2",
        &[&provider_id, &write.user_name.to_lowercase()],
    )
    .await?
    .map(|r| r.try_get(0))
    .transpose()?;
    if taken.is_some_and(|t| before.as_ref().is_none_or(|b| b.id != t)) {
        return Err(StoreError::Conflict(Conflict::ScimUserName(write.user_name.clone())));
    }
    let user_id = linked_user(
        db,
        &provider,
        write.email.as_deref(),
        write.display_name.as_deref(),
        now,
    )
    .await?;
    let Revision {
        id,
        version,
        created_at: created,
    } = Revision::after(before.as_ref().map(|b| (b.id.as_str(), b.version, b.created_at)), now);
    execute(
        db,
        "INSERT INTO scim_users (id, provider_id, user_id, user_name_key, external_id, email_key, display_name,
                                 active, resource, version, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
         ON CONFLICT (id) DO UPDATE SET user_id = excluded.user_id, user_name_key = excluded.user_name_key,
             external_id = excluded.external_id, email_key = excluded.email_key,
             display_name = excluded.display_name, active = excluded.active, resource = excluded.resource,
             version = excluded.version, updated_at = excluded.updated_at",
        &[
            &id,
            &provider_id,
            &user_id,
            &write.user_name.to_lowercase(),
            &write.external_id,
            &write.email.as_deref().map(formats::email_key),
            &write.display_name,
            &write.active,
            &json_text(&write.resource)?,
            &version,
            &created,
            &now.unix_micros(),
        ],
    )
    .await?;
    let was_active = before.as_ref().is_none_or(|b| b.active);
    if was_active && !write.active {
        if let Some(user_id) = &user_id {
            deprovision(db, &provider, user_id, now).await?;
        }
    }
    scim_user(db, provider_id, &id)
        .await?
        .ok_or_else(|| StoreError::other("SCIM user vanished"))
}

pub(super) async fn delete_scim_user(
    db: &impl GenericClient,
    provider_id: &str,
    id: &str,
    expected: ExpectedVersion,
    now: Timestamp,
) -> StoreResult<()> {
    let provider = lock_provider(db, None, provider_id).await?;
    let before = scim_user(db, provider_id, id)
        .await?
        .ok_or(StoreError::NotFound { positions: vec![] })?;
    check_version(before.version, expected)?;
    execute(db, "DELETE FROM scim_users WHERE id = $1", &[&id]).await?;
    if let (true, Some(user_id)) = (before.active, &before.user_id) {
        deprovision(db, &provider, user_id, now).await?;
    }
    Ok(())
}

async fn with_members(db: &impl GenericClient, mut group: ScimGroupRecord) -> StoreResult<ScimGroupRecord> {
    group.members = query(
        db,
        "SELECT user_id FROM scim_group_members WHERE group_id = $1 ORDER BY user_id",
        &[&group.id],
    )
    .await?
    .iter()
    .map(|m| Ok(m.try_get(0)?))
    .collect::<StoreResult<Vec<String>>>()?;
    Ok(group)
}

pub(super) async fn scim_groups(
    db: &impl GenericClient,
    provider_id: &str,
    filter: ScimGroupFilter,
    offset: u64,
    limit: u64,
) -> StoreResult<(Vec<ScimGroupRecord>, u64)> {
    let listing = listing::scim_groups(Dialect::Postgres, provider_id, filter);
    let (found, total) = page(db, listing, SCIM_GROUP_COLUMNS, offset, limit, rows::scim_group).await?;
    let mut groups = Vec::with_capacity(found.len());
    for group in found {
        groups.push(with_members(db, group).await?);
    }
    Ok((groups, total))
}

pub(super) async fn scim_group(
    db: &impl GenericClient,
    provider_id: &str,
    id: &str,
) -> StoreResult<Option<ScimGroupRecord>> {
    let sql = format!("SELECT {SCIM_GROUP_COLUMNS} FROM scim_groups WHERE provider_id = $1 AND id = $2");
    match select_opt(db, &sql, &[&provider_id, &id], rows::scim_group).await? {
        Some(group) => Ok(Some(with_members(db, group).await?)),
        None => Ok(None),
    }
}

pub(super) async fn put_scim_group(
    db: &impl GenericClient,
    provider_id: &str,
    id: Option<&str>,
    write: ScimGroupWrite,
    expected: ExpectedVersion,
    now: Timestamp,
) -> StoreResult<ScimGroupRecord> {
    lock_provider(db, None, provider_id).await?;
    let before = match id {
        Some(id) => {
            let before = scim_group(db, provider_id, id)
                .await?
                .ok_or(StoreError::NotFound { positions: vec![] })?;
            check_version(before.version, expected)?;
            Some(before)
        }
        None => None,
    };
    let known: Vec<String> = query(
        db,
        "SELECT id FROM scim_users WHERE provider_id = $1 AND id = ANY($2)",
        &[&provider_id, &write.members],
    )
    .await?
    .iter()
    .map(|r| r.try_get(0))
    .collect::<Result<_, _>>()?;
    let unknown: Vec<usize> = write
        .members
        .iter()
        .enumerate()
        .filter(|(_, m)| !known.contains(m))
        .map(|(i, _)| i)
        .collect();
    if !unknown.is_empty() {
        return Err(StoreError::NotFound { positions: unknown });
    }
    let taken: Option<String> = query_opt(
        db,
        "SELECT id FROM scim_groups WHERE provider_id = $1 AND display_name = $2",
        &[&provider_id, &write.display_name],
    )
    .await?
    .map(|r| r.try_get(0))
    .transpose()?;
    if taken.is_some_and(|t| before.as_ref().is_none_or(|b| b.id != t)) {
        return Err(StoreError::Conflict(Conflict::ScimGroupName(
            write.display_name.clone(),
        )));
    }
    let Revision {
        id,
        version,
        created_at: created,
    } = Revision::after(before.as_ref().map(|b| (b.id.as_str(), b.version, b.created_at)), now);
    execute(
        db,
        "INSERT INTO scim_groups (id, provider_id, display_name, external_id, resource, version, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (id) DO UPDATE SET display_name = excluded.display_name, external_id = excluded.external_id,
             resource = excluded.resource, version = excluded.version, updated_at = excluded.updated_at",
        &[
            &id,
            &provider_id,
            &write.display_name,
            &write.external_id,
            &json_text(&write.resource)?,
            &version,
            &created,
            &now.unix_micros(),
        ],
    )
    .await?;
    execute(db, "DELETE FROM scim_group_members WHERE group_id = $1", &[&id]).await?;
    execute(
        db,
        "INSERT INTO scim_group_members (group_id, user_id) SELECT $1, m FROM UNNEST($2::text[]) AS m
         ON CONFLICT DO NOTHING",
        &[&id, &write.members],
    )
    .await?;
    scim_group(db, provider_id, &id)
        .await?
        .ok_or_else(|| StoreError::other("SCIM group vanished"))
}

pub(super) async fn delete_scim_group(
    db: &impl GenericClient,
    provider_id: &str,
    id: &str,
    expected: ExpectedVersion,
) -> StoreResult<()> {
    lock_provider(db, None, provider_id).await?;
    let before = scim_group(db, provider_id, id)
        .await?
        .ok_or(StoreError::NotFound { positions: vec![] })?;
    check_version(before.version, expected)?;
    execute(db, "DELETE FROM scim_groups WHERE id = $1", &[&id]).await?;
    Ok(())
}

#[async_trait]
impl ScimStore for PgStore {
    async fn scim_users(
        &self,
        provider_id: &str,
        filter: ScimUserFilter,
        offset: u64,
        limit: u64,
    ) -> StoreResult<(Vec<ScimUserRecord>, u64)> {
        read!(self, |db| scim_users(db, provider_id, filter, offset, limit))
    }

    async fn scim_user(&self, provider_id: &str, id: &str) -> StoreResult<Option<ScimUserRecord>> {
        read!(self, |db| scim_user(db, provider_id, id))
    }

    async fn put_scim_user(
        &self,
        provider_id: &str,
        id: Option<&str>,
        user: ScimUserWrite,
        expected: ExpectedVersion,
        now: Timestamp,
    ) -> StoreResult<ScimUserRecord> {
        write_tx!(self, |tx| put_scim_user(&tx, provider_id, id, user, expected, now))
    }

    async fn delete_scim_user(
        &self,
        provider_id: &str,
        id: &str,
        expected: ExpectedVersion,
        now: Timestamp,
    ) -> StoreResult<()> {
        write_tx!(self, |tx| delete_scim_user(&tx, provider_id, id, expected, now))
    }

    async fn scim_groups(
        &self,
        provider_id: &str,
        filter: ScimGroupFilter,
        offset: u64,
        limit: u64,
    ) -> StoreResult<(Vec<ScimGroupRecord>, u64)> {
        read!(self, |db| scim_groups(db, provider_id, filter, offset, limit))
    }

    async fn scim_group(&self, provider_id: &str, id: &str) -> StoreResult<Option<ScimGroupRecord>> {
        read!(self, |db| scim_group(db, provider_id, id))
    }

    async fn put_scim_group(
        &self,
        provider_id: &str,
        id: Option<&str>,
        group: ScimGroupWrite,
        expected: ExpectedVersion,
        now: Timestamp,
    ) -> StoreResult<ScimGroupRecord> {
        write_tx!(self, |tx| put_scim_group(&tx, provider_id, id, group, expected, now))
    }

    async fn delete_scim_group(
        &self,
        provider_id: &str,
        id: &str,
        expected: ExpectedVersion,
        _now: Timestamp,
    ) -> StoreResult<()> {
        write_tx!(self, |tx| delete_scim_group(&tx, provider_id, id, expected))
    }
}
