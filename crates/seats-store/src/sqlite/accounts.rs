//! Accounts: their settings and the seat figures kept on them.

use async_trait::async_trait;
use rusqlite::{params, Connection, OptionalExtension};
use seats_types::Timestamp;

use super::audit::audit;
use super::{ts, SqliteStore};
use crate::model::*;
use crate::rules::account_json;
use crate::{AccountStore, Conflict, StoreError, StoreResult};

/// The account's `(seat_limit, seats_in_use)`; seats in use are maintained by triggers on
/// `users` (migration 0003), so this reads one row whatever the account's size.
pub(super) fn seat_usage(conn: &Connection, account_id: &str) -> StoreResult<(u64, u64)> {
    conn.prepare_cached("SELECT seat_limit, seats_in_use FROM accounts WHERE id = ?1")?
        .query_row([account_id], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?
        .ok_or(StoreError::NotFound { positions: vec![] })
}

pub(super) fn account_exists(conn: &Connection, account_id: &str) -> StoreResult<bool> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM accounts WHERE id = ?1")?
        .exists([account_id])?)
}

pub(super) const ACCOUNT_COLUMNS: &str = "a.id, a.name, a.seat_limit, a.seats_in_use, a.created_at";

pub(super) fn account_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<AccountRecord> {
    Ok(AccountRecord {
        id: r.get(0)?,
        name: r.get(1)?,
        seat_limit: r.get(2)?,
        seats_in_use: r.get(3)?,
        created_at: ts(r.get(4)?)?,
    })
}

pub(super) fn account(conn: &Connection, id: &str) -> StoreResult<Option<AccountRecord>> {
    Ok(conn
        .prepare_cached(&format!("SELECT {ACCOUNT_COLUMNS} FROM accounts a WHERE a.id = ?1"))?
        .query_row([id], account_from_row)
        .optional()?)
}

pub(super) fn create_account(
    conn: &Connection,
    new: &NewAccount,
    actor: &Actor,
    now: Timestamp,
) -> StoreResult<AccountRecord> {
    if account_exists(conn, &new.id)? {
        return Err(StoreError::Conflict(Conflict::Account(new.id.clone())));
    }
    conn.prepare_cached("INSERT INTO accounts (id, name, seat_limit, created_at) VALUES (?1, ?2, ?3, ?4)")?
        .execute(params![new.id, new.name, new.seat_limit, now.unix_micros()])?;
    let created = account(conn, &new.id)?.ok_or_else(|| StoreError::other("account vanished"))?;
    audit(
        conn,
        &AuditEvent::new(now, Some(&new.id), actor, AuditAction::AccountCreate, &new.id).after(&account_json(&created)),
    )?;
    Ok(created)
}

pub(super) fn update_account(
    conn: &Connection,
    id: &str,
    name: Option<&str>,
    seat_limit: Option<u64>,
    actor: &Actor,
    now: Timestamp,
) -> StoreResult<AccountRecord> {
    let before = account(conn, id)?.ok_or(StoreError::NotFound { positions: vec![] })?;
    conn.prepare_cached(
        "UPDATE accounts SET name = COALESCE(?2, name), seat_limit = COALESCE(?3, seat_limit) WHERE id = ?1",
    )?
    .execute(params![id, name, seat_limit])?;
    let after = account(conn, id)?.ok_or_else(|| StoreError::other("account vanished"))?;
    if account_json(&before) != account_json(&after) {
        audit(
            conn,
            &AuditEvent::new(now, Some(id), actor, AuditAction::AccountUpdate, id)
                .before(&account_json(&before))
                .after(&account_json(&after)),
        )?;
    }
    Ok(after)
}

#[async_trait]
impl AccountStore for SqliteStore {
    async fn account(&self, id: &str) -> StoreResult<Option<AccountRecord>> {
        let id = id.to_owned();
        self.readers.read(move |c| account(c, &id)).await
    }

    async fn account_exists(&self, id: &str) -> StoreResult<bool> {
        Ok(self.credentials().await?.accounts.contains(id))
    }

    async fn accounts(&self) -> StoreResult<Vec<AccountRecord>> {
        self.readers
            .read(|c| {
                let sql = format!("SELECT {} FROM accounts a ORDER BY a.created_at, a.id", ACCOUNT_COLUMNS);
                Ok(c.prepare_cached(&sql)?
                    .query_map([], account_from_row)?
                    .collect::<rusqlite::Result<Vec<_>>>()?)
            })
            .await
    }

    async fn create_account(&self, account: NewAccount, actor: Actor, now: Timestamp) -> StoreResult<AccountRecord> {
        self.write_credentials(move |c| create_account(c, &account, &actor, now))
            .await
    }

    async fn update_account(
        &self,
        id: &str,
        name: Option<String>,
        seat_limit: Option<u64>,
        actor: Actor,
        now: Timestamp,
    ) -> StoreResult<AccountRecord> {
        let id = id.to_owned();
        self.writer
            .write(move |c| update_account(c, &id, name.as_deref(), seat_limit, &actor, now))
            .await
    }
}
