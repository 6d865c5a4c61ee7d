//! Accounts: their settings and the seat figures kept on them.

use async_trait::async_trait;
use deadpool_postgres::GenericClient;
use seats_types::Timestamp;
use tokio_postgres::Row;

use super::audit::audit;
use super::{big, execute, query, query_opt, read, ts, write_tx, PgStore};
use crate::model::*;
use crate::rules::account_json;
use crate::{AccountStore, Conflict, StoreError, StoreResult};

/// Locks the account row and reads `(seat_limit, seats_in_use)`: taken by every change that
/// moves the account's figures, after the users it names and before any audit event.
pub(super) async fn lock_account(db: &impl GenericClient, account_id: &str) -> StoreResult<(u64, u64)> {
    let row = query_opt(
        db,
        "SELECT seat_limit, seats_in_use FROM accounts WHERE id = $1 FOR NO KEY UPDATE",
        &[&account_id],
    )
    .await?
    .ok_or(StoreError::NotFound { positions: vec![] })?;
    Ok((row.try_get::<_, i64>(0)? as u64, row.try_get::<_, i64>(1)? as u64))
}

pub(super) async fn account_exists(db: &impl GenericClient, account_id: &str) -> StoreResult<bool> {
    Ok(query_opt(db, "SELECT 1 FROM accounts WHERE id = $1", &[&account_id])
        .await?
        .is_some())
}

const ACCOUNT_COLUMNS: &str = "a.id, a.name, a.seat_limit, a.seats_in_use, a.created_at";

fn account_from_row(r: &Row) -> StoreResult<AccountRecord> {
    Ok(AccountRecord {
        id: r.try_get(0)?,
        name: r.try_get(1)?,
        seat_limit: r.try_get::<_, i64>(2)? as u64,
        seats_in_use: r.try_get::<_, i64>(3)? as u64,
        created_at: ts(r.try_get(4)?)?,
    })
}

pub(super) async fn account(db: &impl GenericClient, id: &str) -> StoreResult<Option<AccountRecord>> {
    query_opt(
        db,
        &format!("SELECT {ACCOUNT_COLUMNS} FROM accounts a WHERE a.id = $1"),
        &[&id],
    )
    .await?
    .as_ref()
    .map(account_from_row)
    .transpose()
}

pub(super) async fn accounts(db: &impl GenericClient) -> StoreResult<Vec<AccountRecord>> {
    query(
        db,
        &format!("SELECT {ACCOUNT_COLUMNS} FROM accounts a ORDER BY a.created_at, a.id"),
        &[],
    )
    .await?
    .iter()
    .map(account_from_row)
    .collect()
}

pub(super) async fn create_account(
    db: &impl GenericClient,
    new: &NewAccount,
    actor: &Actor,
    now: Timestamp,
) -> StoreResult<AccountRecord> {
    let inserted = execute(
        db,
        "INSERT INTO accounts (id, name, seat_limit, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (id) DO NOTHING",
        &[&new.id, &new.name, &big(new.seat_limit)?, &now.unix_micros()],
    )
    .await?;
    if inserted == 0 {
        return Err(StoreError::Conflict(Conflict::Account(new.id.clone())));
    }
    let created = account(db, &new.id)
        .await?
        .ok_or_else(|| StoreError::other("account vanished"))?;
    audit(
        db,
        &AuditEvent::new(now, Some(&new.id), actor, AuditAction::AccountCreate, &new.id).after(&account_json(&created)),
    )
    .await?;
    Ok(created)
}

pub(super) async fn update_account(
    db: &impl GenericClient,
    id: &str,
    name: Option<&str>,
    seat_limit: Option<u64>,
    actor: &Actor,
    now: Timestamp,
) -> StoreResult<AccountRecord> {
    lock_account(db, id).await?;
    let before = account(db, id)
        .await?
        .ok_or(StoreError::NotFound { positions: vec![] })?;
    execute(
        db,
        "UPDATE accounts SET name = COALESCE($2, name), seat_limit = COALESCE($3, seat_limit) WHERE id = $1",
        &[&id, &name, &seat_limit.map(big).transpose()?],
    )
    .await?;
    let after = account(db, id)
        .await?
        .ok_or_else(|| StoreError::other("account vanished"))?;
    if account_json(&before) != account_json(&after) {
        audit(
            db,
            &AuditEvent::new(now, Some(id), actor, AuditAction::AccountUpdate, id)
                .before(&account_json(&before))
                .after(&account_json(&after)),
        )
        .await?;
    }
    Ok(after)
}

#[async_trait]
impl AccountStore for PgStore {
    async fn account(&self, id: &str) -> StoreResult<Option<AccountRecord>> {
        read!(self, |db| account(db, id))
    }

    async fn account_exists(&self, id: &str) -> StoreResult<bool> {
        Ok(self.credentials().await?.accounts.contains(id))
    }

    async fn accounts(&self) -> StoreResult<Vec<AccountRecord>> {
        read!(self, |db| accounts(db))
    }

    async fn create_account(&self, account: NewAccount, actor: Actor, now: Timestamp) -> StoreResult<AccountRecord> {
        let result = write_tx!(self, |tx| create_account(&tx, &account, &actor, now));
        self.credentials.invalidate();
        result
    }

    async fn update_account(
        &self,
        id: &str,
        name: Option<String>,
        seat_limit: Option<u64>,
        actor: Actor,
        now: Timestamp,
    ) -> StoreResult<AccountRecord> {
        write_tx!(self, |tx| update_account(
            &tx,
            id,
            name.as_deref(),
            seat_limit,
            &actor,
            now
        ))
    }
}
