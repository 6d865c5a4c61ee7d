//! Identity providers of an account.

use async_trait::async_trait;
use deadpool_postgres::GenericClient;
use seats_types::Timestamp;

use super::audit::audit;
use super::{big, execute, json_text, query, query_opt, read, select_all, select_opt, write_tx, PgStore};
use crate::identity_provider::*;
use crate::model::{Actor, AuditAction, AuditEvent};
use crate::rows::{self, PROVIDER_COLUMNS};
use crate::secret::SecretHash;
use crate::{IdentityProviderStore, StoreError, StoreResult};

pub(super) async fn identity_provider(
    db: &impl GenericClient,
    account_id: Option<&str>,
    id: &str,
) -> StoreResult<Option<IdentityProviderRecord>> {
    let sql = format!(
        "SELECT {PROVIDER_COLUMNS} FROM identity_providers WHERE id = $1 AND ($2::text IS NULL OR account_id = $2)"
    );
    select_opt(db, &sql, &[&id, &account_id], rows::provider).await
}

/// The provider, its row locked until the transaction ends.
pub(super) async fn lock_provider(
    db: &impl GenericClient,
    account_id: Option<&str>,
    id: &str,
) -> StoreResult<IdentityProviderRecord> {
    let sql = format!(
        "SELECT {PROVIDER_COLUMNS} FROM identity_providers WHERE id = $1 AND ($2::text IS NULL OR account_id = $2)
         FOR UPDATE"
    );
    select_opt(db, &sql, &[&id, &account_id], rows::provider)
        .await?
        .ok_or(StoreError::NotFound { positions: vec![] })
}

pub(super) async fn identity_providers(
    db: &impl GenericClient,
    account_id: &str,
    scim_enabled: bool,
    offset: u64,
    limit: u64,
) -> StoreResult<(Vec<IdentityProviderRecord>, u64)> {
    let only = "(NOT $2 OR (scim_config::jsonb -> 'enabled') = 'true'::jsonb)";
    let total: i64 = query(
        db,
        &format!("SELECT COUNT(*) FROM identity_providers WHERE account_id = $1 AND {only}"),
        &[&account_id, &scim_enabled],
    )
    .await?[0]
        .try_get(0)?;
    let sql = format!(
        "SELECT {PROVIDER_COLUMNS} FROM identity_providers WHERE account_id = $1 AND {only}
         ORDER BY created_at, id LIMIT $3 OFFSET $4"
    );
    let limit = big(limit.min(i64::MAX as u64))?;
    let offset = big(offset.min(i64::MAX as u64))?;
    let providers = select_all(db, &sql, &[&account_id, &scim_enabled, &limit, &offset], rows::provider).await?;
    Ok((providers, total as u64))
}

fn secret_bytes(hash: &Option<SecretHash>) -> Option<Vec<u8>> {
    hash.map(|h| h.as_bytes().to_vec())
}

pub(super) async fn create_identity_provider(
    db: &impl GenericClient,
    account_id: &str,
    write: IdentityProviderWrite,
    actor: &Actor,
    now: Timestamp,
) -> StoreResult<IdentityProviderRecord> {
    if query_opt(db, "SELECT 1 FROM accounts WHERE id = $1", &[&account_id])
        .await?
        .is_none()
    {
        return Err(StoreError::NotFound { positions: vec![] });
    }
    let id = uuid::Uuid::new_v4().to_string();
    execute(
        db,
        "INSERT INTO identity_providers (id, account_id, name, type, config, scim_config, scim_secret_hash, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)",
        &[
            &id,
            &account_id,
            &write.name,
            &write.kind,
            &json_text(&write.config)?,
            &json_text(&write.scim_flags)?,
            &secret_bytes(&write.new_secret_hash),
            &now.unix_micros(),
        ],
    )
    .await?;
    let created = lock_provider(db, Some(account_id), &id).await?;
    audit(
        db,
        &AuditEvent::new(now, Some(account_id), actor, AuditAction::IdentityProviderCreate, &id)
            .after(&provider_json(&created)),
    )
    .await?;
    Ok(created)
}

pub(super) async fn update_identity_provider(
    db: &impl GenericClient,
    account_id: &str,
    id: &str,
    write: IdentityProviderWrite,
    actor: &Actor,
    now: Timestamp,
) -> StoreResult<IdentityProviderRecord> {
    let before = lock_provider(db, Some(account_id), id).await?;
    execute(
        db,
        "UPDATE identity_providers SET name = $2, type = $3, config = $4, scim_config = $5,
                scim_secret_hash = COALESCE($6, scim_secret_hash), updated_at = $7 WHERE id = $1",
        &[
            &id,
            &write.name,
            &write.kind,
            &json_text(&write.config)?,
            &json_text(&write.scim_flags)?,
            &secret_bytes(&write.new_secret_hash),
            &now.unix_micros(),
        ],
    )
    .await?;
    let after = lock_provider(db, Some(account_id), id).await?;
    let (b, a) = (provider_json(&before), provider_json(&after));
    if b != a || write.new_secret_hash.is_some() {
        audit(
            db,
            &AuditEvent::new(now, Some(account_id), actor, AuditAction::IdentityProviderUpdate, id)
                .before(&b)
                .after(&a),
        )
        .await?;
    }
    Ok(after)
}

pub(super) async fn delete_identity_provider(
    db: &impl GenericClient,
    account_id: &str,
    id: &str,
    actor: &Actor,
    now: Timestamp,
) -> StoreResult<()> {
    let before = lock_provider(db, Some(account_id), id).await?;
    // SCIM users and groups go with it (ON DELETE CASCADE); the account's users stay.
    execute(db, "DELETE FROM identity_providers WHERE id = $1", &[&id]).await?;
    audit(
        db,
        &AuditEvent::new(now, Some(account_id), actor, AuditAction::IdentityProviderDelete, id)
            .before(&provider_json(&before)),
    )
    .await?;
    Ok(())
}

#[async_trait]
impl IdentityProviderStore for PgStore {
    async fn create_identity_provider(
        &self,
        account_id: &str,
        provider: IdentityProviderWrite,
        actor: Actor,
        now: Timestamp,
    ) -> StoreResult<IdentityProviderRecord> {
        write_tx!(self, |tx| create_identity_provider(
            &tx, account_id, provider, &actor, now
        ))
    }

    async fn identity_providers(
        &self,
        account_id: &str,
        scim_enabled: bool,
        offset: u64,
        limit: u64,
    ) -> StoreResult<(Vec<IdentityProviderRecord>, u64)> {
        read!(self, |db| identity_providers(
            db,
            account_id,
            scim_enabled,
            offset,
            limit
        ))
    }

    async fn identity_provider(
        &self,
        account_id: Option<&str>,
        id: &str,
    ) -> StoreResult<Option<IdentityProviderRecord>> {
        read!(self, |db| identity_provider(db, account_id, id))
    }

    async fn update_identity_provider(
        &self,
        account_id: &str,
        id: &str,
        provider: IdentityProviderWrite,
        actor: Actor,
        now: Timestamp,
    ) -> StoreResult<IdentityProviderRecord> {
        write_tx!(self, |tx| update_identity_provider(
            &tx, account_id, id, provider, &actor, now
        ))
    }

    async fn delete_identity_provider(
        &self,
        account_id: &str,
        id: &str,
        actor: Actor,
        now: Timestamp,
    ) -> StoreResult<()> {
        write_tx!(self, |tx| delete_identity_provider(&tx, account_id, id, &actor, now))
    }
}
