//! Credentials: the operator's members and API tokens, served to requests from memory.

use async_trait::async_trait;
use deadpool_postgres::GenericClient;
use seats_types::{formats, Timestamp, TokenStatus};
use serde_json::json;
use tokio_postgres::Row;

use super::accounts::account_exists;
use super::audit::audit;
use super::{execute, is_unique_violation, json_text, opt_ts, query, query_opt, read, ts, write_tx, PgStore};
use crate::model::*;
use crate::secret::SecretHash;
use crate::{Conflict, CredentialStore, StoreError, StoreResult};

pub(super) async fn credentials_version(db: &impl GenericClient) -> StoreResult<i64> {
    Ok(
        query_opt(db, "SELECT version FROM credentials_version WHERE id = 1", &[])
            .await?
            .map(|r| r.try_get(0))
            .transpose()?
            .unwrap_or(0),
    )
}

const MEMBER_SELECT: &str = "SELECT m.email, m.key_hash,
        COALESCE(array_agg(ma.account_id ORDER BY ma.account_id) FILTER (WHERE ma.account_id IS NOT NULL), '{}')
    FROM members m LEFT JOIN member_accounts ma ON ma.member_email_key = m.email_key";

fn member_from_row(r: &Row) -> StoreResult<MemberRecord> {
    let hash: Vec<u8> = r.try_get(1)?;
    Ok(MemberRecord {
        email: r.try_get(0)?,
        key_hash: SecretHash::from_slice(&hash).ok_or_else(|| StoreError::other("bad key hash"))?,
        accounts: r.try_get(2)?,
    })
}

pub(super) async fn member(db: &impl GenericClient, email: &str) -> StoreResult<Option<MemberRecord>> {
    query_opt(
        db,
        &format!("{MEMBER_SELECT} WHERE m.email_key = $1 GROUP BY m.email_key"),
        &[&formats::email_key(email)],
    )
    .await?
    .as_ref()
    .map(member_from_row)
    .transpose()
}

pub(super) async fn members(db: &impl GenericClient) -> StoreResult<Vec<MemberRecord>> {
    query(
        db,
        &format!("{MEMBER_SELECT} GROUP BY m.email_key ORDER BY m.created_at, m.email_key"),
        &[],
    )
    .await?
    .iter()
    .map(member_from_row)
    .collect()
}

pub(super) async fn create_member(
    db: &impl GenericClient,
    email: &str,
    key_hash: SecretHash,
    accounts: &[String],
    actor: &Actor,
    now: Timestamp,
) -> StoreResult<MemberRecord> {
    if member(db, email).await?.is_some() {
        return Err(StoreError::Conflict(Conflict::Member(email.to_owned())));
    }
    let mut missing = Vec::new();
    for (i, id) in accounts.iter().enumerate() {
        if !account_exists(db, id).await? {
            missing.push(i);
        }
    }
    if !missing.is_empty() {
        return Err(StoreError::NotFound { positions: missing });
    }
    let key = formats::email_key(email);
    execute(
        db,
        "INSERT INTO members (email_key, email, key_hash, created_at) VALUES ($1, $2, $3, $4)",
        &[&key, &email, &key_hash.as_bytes(), &now.unix_micros()],
    )
    .await
    .map_err(|e| conflict_if_taken(e, Conflict::Member(email.to_owned())))?;
    execute(
        db,
        "INSERT INTO member_accounts (member_email_key, account_id) SELECT $1, a FROM UNNEST($2::text[]) AS a
         ON CONFLICT DO NOTHING",
        &[&key, &accounts],
    )
    .await?;
    audit(
        db,
        &AuditEvent::new(now, None, actor, AuditAction::MemberCreate, email).after(&json!({"accounts": accounts})),
    )
    .await?;
    member(db, email)
        .await?
        .ok_or_else(|| StoreError::other("member vanished"))
}

/// A unique violation (another node inserted the same key first) as a conflict.
fn conflict_if_taken(e: StoreError, conflict: Conflict) -> StoreError {
    match &e {
        StoreError::Other(inner) => match inner.downcast_ref::<super::PgError>() {
            Some(pg) if is_unique_violation(&pg.0) => StoreError::Conflict(conflict),
            _ => e,
        },
        _ => e,
    }
}

pub(super) async fn delete_member(
    db: &impl GenericClient,
    email: &str,
    actor: &Actor,
    now: Timestamp,
) -> StoreResult<()> {
    let before = member(db, email)
        .await?
        .ok_or(StoreError::NotFound { positions: vec![] })?;
    let deleted = execute(
        db,
        "DELETE FROM members WHERE email_key = $1",
        &[&formats::email_key(email)],
    )
    .await?;
    if deleted == 0 {
        return Err(StoreError::NotFound { positions: vec![] });
    }
    audit(
        db,
        &AuditEvent::new(now, None, actor, AuditAction::MemberDelete, &before.email)
            .before(&json!({"accounts": before.accounts})),
    )
    .await?;
    Ok(())
}

const TOKEN_COLUMNS: &str = "id, name, value_hash, policies, status, not_before, expires_on, created_at";

fn token_from_row(r: &Row) -> StoreResult<TokenRecord> {
    let hash: Vec<u8> = r.try_get(2)?;
    let policies: String = r.try_get(3)?;
    let status: String = r.try_get(4)?;
    Ok(TokenRecord {
        id: r.try_get(0)?,
        name: r.try_get(1)?,
        value_hash: SecretHash::from_slice(&hash).unwrap_or(SecretHash([0; 32])),
        policies: serde_json::from_str(&policies).map_err(StoreError::other)?,
        status: if status == "disabled" {
            TokenStatus::Disabled
        } else {
            TokenStatus::Active
        },
        not_before: opt_ts(r.try_get(5)?)?,
        expires_on: opt_ts(r.try_get(6)?)?,
        created_at: ts(r.try_get(7)?)?,
    })
}

pub(super) async fn token(db: &impl GenericClient, id: &str) -> StoreResult<Option<TokenRecord>> {
    query_opt(db, &format!("SELECT {TOKEN_COLUMNS} FROM tokens WHERE id = $1"), &[&id])
        .await?
        .as_ref()
        .map(token_from_row)
        .transpose()
}

pub(super) async fn tokens(db: &impl GenericClient) -> StoreResult<Vec<TokenRecord>> {
    query(
        db,
        &format!("SELECT {TOKEN_COLUMNS} FROM tokens ORDER BY created_at, id"),
        &[],
    )
    .await?
    .iter()
    .map(token_from_row)
    .collect()
}

pub(super) async fn create_token(
    db: &impl GenericClient,
    new: &NewToken,
    actor: &Actor,
    now: Timestamp,
) -> StoreResult<TokenRecord> {
    if token(db, &new.id).await?.is_some() {
        return Err(StoreError::Conflict(Conflict::TokenId(new.id.clone())));
    }
    let hash = new.value_hash.as_bytes();
    if query_opt(db, "SELECT 1 FROM tokens WHERE value_hash = $1", &[&hash])
        .await?
        .is_some()
    {
        return Err(StoreError::Conflict(Conflict::TokenValue));
    }
    execute(
        db,
        "INSERT INTO tokens (id, name, value_hash, policies, status, not_before, expires_on, created_at, modified_at)
         VALUES ($1, $2, $3, $4, 'active', $5, $6, $7, $7)",
        &[
            &new.id,
            &new.name,
            &hash,
            &json_text(&new.policies)?,
            &new.not_before.map(|t| t.unix_micros()),
            &new.expires_on.map(|t| t.unix_micros()),
            &now.unix_micros(),
        ],
    )
    .await
    .map_err(|e| conflict_if_taken(e, Conflict::TokenId(new.id.clone())))?;
    audit(
        db,
        &AuditEvent::new(now, None, actor, AuditAction::TokenCreate, &new.id).after(&json!({"name": new.name})),
    )
    .await?;
    token(db, &new.id)
        .await?
        .ok_or_else(|| StoreError::other("token vanished"))
}

pub(super) async fn set_token_status(
    db: &impl GenericClient,
    id: &str,
    status: TokenStatus,
    actor: &Actor,
    now: Timestamp,
) -> StoreResult<TokenRecord> {
    let before = query_opt(
        db,
        &format!("SELECT {TOKEN_COLUMNS} FROM tokens WHERE id = $1 FOR NO KEY UPDATE"),
        &[&id],
    )
    .await?
    .as_ref()
    .map(token_from_row)
    .transpose()?
    .ok_or(StoreError::NotFound { positions: vec![] })?;
    if before.status == status {
        return Ok(before);
    }
    execute(
        db,
        "UPDATE tokens SET status = $2, modified_at = $3 WHERE id = $1",
        &[&id, &status.as_str(), &now.unix_micros()],
    )
    .await?;
    audit(
        db,
        &AuditEvent::new(now, None, actor, AuditAction::TokenUpdate, id)
            .before(&json!({"status": before.status}))
            .after(&json!({"status": status})),
    )
    .await?;
    token(db, id).await?.ok_or_else(|| StoreError::other("token vanished"))
}

pub(super) async fn delete_token(db: &impl GenericClient, id: &str, actor: &Actor, now: Timestamp) -> StoreResult<()> {
    let before = query_opt(db, "DELETE FROM tokens WHERE id = $1 RETURNING name", &[&id])
        .await?
        .ok_or(StoreError::NotFound { positions: vec![] })?;
    let name: String = before.try_get(0)?;
    audit(
        db,
        &AuditEvent::new(now, None, actor, AuditAction::TokenDelete, id).before(&json!({"name": name})),
    )
    .await?;
    Ok(())
}

#[async_trait]
impl CredentialStore for PgStore {
    async fn token_by_hash(&self, hash: SecretHash) -> StoreResult<Option<TokenRecord>> {
        Ok(self.credentials().await?.token(&hash).cloned())
    }

    async fn member_by_email(&self, email: &str) -> StoreResult<Option<MemberRecord>> {
        Ok(self.credentials().await?.member(email).cloned())
    }

    async fn create_member(
        &self,
        email: &str,
        key_hash: SecretHash,
        accounts: Vec<String>,
        actor: Actor,
        now: Timestamp,
    ) -> StoreResult<MemberRecord> {
        let result = write_tx!(self, |tx| create_member(&tx, email, key_hash, &accounts, &actor, now));
        self.credentials.invalidate();
        result
    }

    async fn members(&self) -> StoreResult<Vec<MemberRecord>> {
        read!(self, |db| members(db))
    }

    async fn delete_member(&self, email: &str, actor: Actor, now: Timestamp) -> StoreResult<()> {
        let result = write_tx!(self, |tx| delete_member(&tx, email, &actor, now));
        self.credentials.invalidate();
        result
    }

    async fn create_token(&self, token: NewToken, actor: Actor, now: Timestamp) -> StoreResult<TokenRecord> {
        let result = write_tx!(self, |tx| create_token(&tx, &token, &actor, now));
        self.credentials.invalidate();
        result
    }

    async fn tokens(&self) -> StoreResult<Vec<TokenRecord>> {
        read!(self, |db| tokens(db))
    }

    async fn set_token_status(
        &self,
        id: &str,
        status: TokenStatus,
        actor: Actor,
        now: Timestamp,
    ) -> StoreResult<TokenRecord> {
        let result = write_tx!(self, |tx| set_token_status(&tx, id, status, &actor, now));
        self.credentials.invalidate();
        result
    }

    async fn delete_token(&self, id: &str, actor: Actor, now: Timestamp) -> StoreResult<()> {
        let result = write_tx!(self, |tx| delete_token(&tx, id, &actor, now));
        self.credentials.invalidate();
        result
    }
}
