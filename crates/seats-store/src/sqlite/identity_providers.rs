//! Identity providers of an account.

use async_trait::async_trait;
use rusqlite::{params, Connection};
use seats_types::Timestamp;

use super::accounts::account_exists;
use super::audit::audit;
use super::{json_text, select_all, select_opt, SqliteStore};
use crate::identity_provider::*;
use crate::model::{Actor, AuditAction, AuditEvent};
use crate::rows::{self, PROVIDER_COLUMNS};
use crate::secret::SecretHash;
use crate::{IdentityProviderStore, StoreError, StoreResult};

pub(super) fn identity_provider(
    conn: &Connection,
    account_id: Option<&str>,
    id: &str,
) -> StoreResult<Option<IdentityProviderRecord>> {
    let sql =
        format!("SELECT {PROVIDER_COLUMNS} FROM identity_providers WHERE id = ?1 AND (?2 IS NULL OR account_id = ?2)");
    select_opt(conn, &sql, params![id, account_id], rows::provider)
}

pub(super) fn must_provider(
    conn: &Connection,
    account_id: Option<&str>,
    id: &str,
) -> StoreResult<IdentityProviderRecord> {
    identity_provider(conn, account_id, id)?.ok_or(StoreError::NotFound { positions: vec![] })
}

pub(super) fn identity_providers(
    conn: &Connection,
    account_id: &str,
    scim_enabled: bool,
    offset: u64,
    limit: u64,
) -> StoreResult<(Vec<IdentityProviderRecord>, u64)> {
    let only = "(?2 = 0 OR json_extract(scim_config, '$.enabled') = 1)";
    let total: u64 = conn
        .prepare_cached(&format!(
            "SELECT COUNT(*) FROM identity_providers WHERE account_id = ?1 AND {only}"
        ))?
        .query_row(params![account_id, scim_enabled], |r| r.get(0))?;
    let sql = format!(
        "SELECT {PROVIDER_COLUMNS} FROM identity_providers WHERE account_id = ?1 AND {only}
         ORDER BY created_at, id LIMIT ?3 OFFSET ?4"
    );
    let providers = select_all(
        conn,
        &sql,
        params![account_id, scim_enabled, clamp(limit), clamp(offset)],
        rows::provider,
    )?;
    Ok((providers, total))
}

/// SQLite integers are signed: a page past `i64::MAX` is simply empty.
fn clamp(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn secret_blob(hash: &Option<SecretHash>) -> Option<Vec<u8>> {
    hash.map(|h| h.as_bytes().to_vec())
}

pub(super) fn create_identity_provider(
    conn: &Connection,
    account_id: &str,
    write: IdentityProviderWrite,
    actor: &Actor,
    now: Timestamp,
) -> StoreResult<IdentityProviderRecord> {
    if !account_exists(conn, account_id)? {
        return Err(StoreError::NotFound { positions: vec![] });
    }
    let id = uuid::Uuid::new_v4().to_string();
    conn.prepare_cached(
        "INSERT INTO identity_providers (id, account_id, name, type, config, scim_config, scim_secret_hash, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8)",
    )?
    .execute(params![
        id,
        account_id,
        write.name,
        write.kind,
        json_text(&write.config)?,
        json_text(&write.scim_flags)?,
        secret_blob(&write.new_secret_hash),
        now.unix_micros()
    ])?;
    let created = must_provider(conn, Some(account_id), &id)?;
    audit(
        conn,
        &AuditEvent::new(now, Some(account_id), actor, AuditAction::IdentityProviderCreate, &id)
            .after(&provider_json(&created)),
    )?;
    Ok(created)
}

pub(super) fn update_identity_provider(
    conn: &Connection,
    account_id: &str,
    id: &str,
    write: IdentityProviderWrite,
    actor: &Actor,
    now: Timestamp,
) -> StoreResult<IdentityProviderRecord> {
    let before = must_provider(conn, Some(account_id), id)?;
    conn.prepare_cached(
        "UPDATE identity_providers SET name = ?2, type = ?3, config = ?4, scim_config = ?5,
                scim_secret_hash = COALESCE(?6, scim_secret_hash), updated_at = ?7 WHERE id = ?1",
    )?
    .execute(params![
        id,
        write.name,
        write.kind,
        json_text(&write.config)?,
        json_text(&write.scim_flags)?,
        secret_blob(&write.new_secret_hash),
        now.unix_micros()
    ])?;
    let after = must_provider(conn, Some(account_id), id)?;
    let (b, a) = (provider_json(&before), provider_json(&after));
    if b != a || write.new_secret_hash.is_some() {
        audit(
            conn,
            &AuditEvent::new(now, Some(account_id), actor, AuditAction::IdentityProviderUpdate, id)
                .before(&b)
                .after(&a),
        )?;
    }
    Ok(after)
}

pub(super) fn delete_identity_provider(
    conn: &Connection,
    account_id: &str,
    id: &str,
    actor: &Actor,
    now: Timestamp,
) -> StoreResult<()> {
    let before = must_provider(conn, Some(account_id), id)?;
    // SCIM users and groups go with it (ON DELETE CASCADE); the account's users stay.
    conn.prepare_cached("DELETE FROM identity_providers WHERE id = ?1")?
        .execute([id])?;
    audit(
        conn,
        &AuditEvent::new(now, Some(account_id), actor, AuditAction::IdentityProviderDelete, id)
            .before(&provider_json(&before)),
    )?;
    Ok(())
}

#[async_trait]
impl IdentityProviderStore for SqliteStore {
    async fn create_identity_provider(
        &self,
        account_id: &str,
        provider: IdentityProviderWrite,
        actor: Actor,
        now: Timestamp,
    ) -> StoreResult<IdentityProviderRecord> {
        let account_id = account_id.to_owned();
        self.writer
            .write(move |c| create_identity_provider(c, &account_id, provider, &actor, now))
            .await
    }

    async fn identity_providers(
        &self,
        account_id: &str,
        scim_enabled: bool,
        offset: u64,
        limit: u64,
    ) -> StoreResult<(Vec<IdentityProviderRecord>, u64)> {
        let account_id = account_id.to_owned();
        self.readers
            .read(move |c| identity_providers(c, &account_id, scim_enabled, offset, limit))
            .await
    }

    async fn identity_provider(
        &self,
        account_id: Option<&str>,
        id: &str,
    ) -> StoreResult<Option<IdentityProviderRecord>> {
        let (account_id, id) = (account_id.map(str::to_owned), id.to_owned());
        self.readers
            .read(move |c| identity_provider(c, account_id.as_deref(), &id))
            .await
    }

    async fn update_identity_provider(
        &self,
        account_id: &str,
        id: &str,
        provider: IdentityProviderWrite,
        actor: Actor,
        now: Timestamp,
    ) -> StoreResult<IdentityProviderRecord> {
        let (account_id, id) = (account_id.to_owned(), id.to_owned());
        self.writer
            .write(move |c| update_identity_provider(c, &account_id, &id, provider, &actor, now))
            .await
    }

    async fn delete_identity_provider(
        &self,
        account_id: &str,
        id: &str,
        actor: Actor,
        now: Timestamp,
    ) -> StoreResult<()> {
        let (account_id, id) = (account_id.to_owned(), id.to_owned());
        self.writer
            .write(move |c| delete_identity_provider(c, &account_id, &id, &actor, now))
            .await
    }
}
