//! Credentials: the operator's members and API tokens, served to requests from memory.

use async_trait::async_trait;
use rusqlite::{params, Connection, OptionalExtension};
use seats_types::{formats, Timestamp, TokenStatus};
use serde_json::json;

use super::accounts::account_exists;
use super::audit::audit;
use super::{json_text, opt_ts, ts, SqliteStore};
use crate::credentials::Credentials;
use crate::model::*;
use crate::secret::SecretHash;
use crate::{Conflict, CredentialStore, StoreError, StoreResult};

pub(super) fn credentials_version(conn: &Connection) -> rusqlite::Result<i64> {
    conn.prepare_cached("SELECT version FROM credentials_version WHERE id = 1")?
        .query_row([], |r| r.get(0))
}

/// Reads every token, member and account id in one read transaction, so they agree.
pub(super) fn load_credentials(conn: &Connection) -> StoreResult<Credentials> {
    conn.execute_batch("BEGIN")?;
    let read = (|| {
        let version = credentials_version(conn)?;
        let accounts = conn
            .prepare_cached("SELECT id FROM accounts")?
            .query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<Vec<String>>>()?;
        Ok(Credentials::from_parts(
            version,
            tokens(conn)?,
            members(conn)?,
            accounts,
        ))
    })();
    conn.execute_batch("COMMIT")?;
    read
}

fn token_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(TokenRecord, String)> {
    let hash: Vec<u8> = r.get(2)?;
    let status: String = r.get(4)?;
    Ok((
        TokenRecord {
            id: r.get(0)?,
            name: r.get(1)?,
            value_hash: SecretHash::from_slice(&hash).unwrap_or(SecretHash([0; 32])),
            policies: Vec::new(),
            status: if status == "disabled" {
                TokenStatus::Disabled
            } else {
                TokenStatus::Active
            },
            not_before: opt_ts(r.get(5)?)?,
            expires_on: opt_ts(r.get(6)?)?,
            created_at: ts(r.get(7)?)?,
        },
        r.get(3)?,
    ))
}

/// Adds the policies, stored as JSON, to a token read by [`token_from_row`].
fn with_policies((mut token, policies): (TokenRecord, String)) -> StoreResult<TokenRecord> {
    token.policies = serde_json::from_str(&policies).map_err(StoreError::other)?;
    Ok(token)
}

pub(super) fn member(conn: &Connection, email: &str) -> StoreResult<Option<MemberRecord>> {
    let key = formats::email_key(email);
    let found = conn
        .prepare_cached("SELECT email, key_hash FROM members WHERE email_key = ?1")?
        .query_row([&key], |r| Ok((r.get::<_, String>(0)?, r.get::<_, Vec<u8>>(1)?)))
        .optional()?;
    let Some((email, hash)) = found else { return Ok(None) };
    let accounts = conn
        .prepare_cached("SELECT account_id FROM member_accounts WHERE member_email_key = ?1 ORDER BY account_id")?
        .query_map([&key], |r| r.get(0))?
        .collect::<rusqlite::Result<Vec<String>>>()?;
    let key_hash = SecretHash::from_slice(&hash).ok_or_else(|| StoreError::other("bad key hash"))?;
    Ok(Some(MemberRecord {
        email,
        key_hash,
        accounts,
    }))
}

pub(super) fn create_member(
    conn: &Connection,
    email: &str,
    key_hash: SecretHash,
    accounts: &[String],
    actor: &Actor,
    now: Timestamp,
) -> StoreResult<MemberRecord> {
    if member(conn, email)?.is_some() {
        return Err(StoreError::Conflict(Conflict::Member(email.to_owned())));
    }
    let mut missing = Vec::new();
    for (i, id) in accounts.iter().enumerate() {
        if !account_exists(conn, id)? {
            missing.push(i);
        }
    }
    if !missing.is_empty() {
        return Err(StoreError::NotFound { positions: missing });
    }
    let key = formats::email_key(email);
    conn.prepare_cached("INSERT INTO members (email_key, email, key_hash, created_at) VALUES (?1, ?2, ?3, ?4)")?
        .execute(params![key, email, key_hash.as_bytes(), now.unix_micros()])?;
    for id in accounts {
        conn.prepare_cached("INSERT OR IGNORE INTO member_accounts (member_email_key, account_id) VALUES (?1, ?2)")?
            .execute(params![key, id])?;
    }
    audit(
        conn,
        &AuditEvent::new(now, None, actor, AuditAction::MemberCreate, email).after(&json!({"accounts": accounts})),
    )?;
    member(conn, email)?.ok_or_else(|| StoreError::other("member vanished"))
}

pub(super) fn members(conn: &Connection) -> StoreResult<Vec<MemberRecord>> {
    let emails = conn
        .prepare_cached("SELECT email FROM members ORDER BY created_at, email_key")?
        .query_map([], |r| r.get::<_, String>(0))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    emails.iter().filter_map(|e| member(conn, e).transpose()).collect()
}

pub(super) fn delete_member(conn: &Connection, email: &str, actor: &Actor, now: Timestamp) -> StoreResult<()> {
    let before = member(conn, email)?.ok_or(StoreError::NotFound { positions: vec![] })?;
    conn.prepare_cached("DELETE FROM members WHERE email_key = ?1")?
        .execute([formats::email_key(email)])?;
    audit(
        conn,
        &AuditEvent::new(now, None, actor, AuditAction::MemberDelete, &before.email)
            .before(&json!({"accounts": before.accounts})),
    )?;
    Ok(())
}

pub(super) const TOKEN_COLUMNS: &str = "id, name, value_hash, policies, status, not_before, expires_on, created_at";

pub(super) fn token(conn: &Connection, id: &str) -> StoreResult<Option<TokenRecord>> {
    let found = conn
        .prepare_cached(&format!("SELECT {TOKEN_COLUMNS} FROM tokens WHERE id = ?1"))?
        .query_row([id], token_from_row)
        .optional()?;
    found.map(with_policies).transpose()
}

pub(super) fn create_token(
    conn: &Connection,
    new: &NewToken,
    actor: &Actor,
    now: Timestamp,
) -> StoreResult<TokenRecord> {
    if token(conn, &new.id)?.is_some() {
        return Err(StoreError::Conflict(Conflict::TokenId(new.id.clone())));
    }
    if conn
        .prepare_cached("SELECT 1 FROM tokens WHERE value_hash = ?1")?
        .exists([new.value_hash.as_bytes()])?
    {
        return Err(StoreError::Conflict(Conflict::TokenValue));
    }
    conn.prepare_cached(
        "INSERT INTO tokens (id, name, value_hash, policies, status, not_before, expires_on, created_at, modified_at)
         VALUES (?1, ?2, ?3, ?4, 'active', ?5, ?6, ?7, ?7)",
    )?
    .execute(params![
        new.id,
        new.name,
        new.value_hash.as_bytes(),
        json_text(&new.policies)?,
        new.not_before.map(|t| t.unix_micros()),
        new.expires_on.map(|t| t.unix_micros()),
        now.unix_micros()
    ])?;
    audit(
        conn,
        &AuditEvent::new(now, None, actor, AuditAction::TokenCreate, &new.id).after(&json!({"name": new.name})),
    )?;
    token(conn, &new.id)?.ok_or_else(|| StoreError::other("token vanished"))
}

pub(super) fn tokens(conn: &Connection) -> StoreResult<Vec<TokenRecord>> {
    conn.prepare_cached(&format!("SELECT {TOKEN_COLUMNS} FROM tokens ORDER BY created_at, id"))?
        .query_map([], token_from_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?
        .into_iter()
        .map(with_policies)
        .collect()
}

pub(super) fn set_token_status(
    conn: &Connection,
    id: &str,
    status: TokenStatus,
    actor: &Actor,
    now: Timestamp,
) -> StoreResult<TokenRecord> {
    let before = token(conn, id)?.ok_or(StoreError::NotFound { positions: vec![] })?;
    if before.status == status {
        return Ok(before);
    }
    conn.prepare_cached("UPDATE tokens SET status = ?2, modified_at = ?3 WHERE id = ?1")?
        .execute(params![id, status.as_str(), now.unix_micros()])?;
    audit(
        conn,
        &AuditEvent::new(now, None, actor, AuditAction::TokenUpdate, id)
            .before(&json!({"status": before.status}))
            .after(&json!({"status": status})),
    )?;
    token(conn, id)?.ok_or_else(|| StoreError::other("token vanished"))
}

pub(super) fn delete_token(conn: &Connection, id: &str, actor: &Actor, now: Timestamp) -> StoreResult<()> {
    let before = token(conn, id)?.ok_or(StoreError::NotFound { positions: vec![] })?;
    conn.prepare_cached("DELETE FROM tokens WHERE id = ?1")?.execute([id])?;
    audit(
        conn,
        &AuditEvent::new(now, None, actor, AuditAction::TokenDelete, id).before(&json!({"name": before.name})),
    )?;
    Ok(())
}

#[async_trait]
impl CredentialStore for SqliteStore {
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
        let email = email.to_owned();
        self.write_credentials(move |c| create_member(c, &email, key_hash, &accounts, &actor, now))
            .await
    }

    async fn members(&self) -> StoreResult<Vec<MemberRecord>> {
        self.readers.read(members).await
    }

    async fn delete_member(&self, email: &str, actor: Actor, now: Timestamp) -> StoreResult<()> {
        let email = email.to_owned();
        self.write_credentials(move |c| delete_member(c, &email, &actor, now))
            .await
    }

    async fn create_token(&self, token: NewToken, actor: Actor, now: Timestamp) -> StoreResult<TokenRecord> {
        self.write_credentials(move |c| create_token(c, &token, &actor, now))
            .await
    }

    async fn tokens(&self) -> StoreResult<Vec<TokenRecord>> {
        self.readers.read(tokens).await
    }

    async fn set_token_status(
        &self,
        id: &str,
        status: TokenStatus,
        actor: Actor,
        now: Timestamp,
    ) -> StoreResult<TokenRecord> {
        let id = id.to_owned();
        self.write_credentials(move |c| set_token_status(c, &id, status, &actor, now))
            .await
    }

    async fn delete_token(&self, id: &str, actor: Actor, now: Timestamp) -> StoreResult<()> {
        let id = id.to_owned();
        self.write_credentials(move |c| delete_token(c, &id, &actor, now)).await
    }
}
