//! Users: listing, browsing, creating, renaming and removing them.

use async_trait::async_trait;
use deadpool_postgres::GenericClient;
use seats_types::{formats, Timestamp};
use tokio_postgres::types::ToSql;
use tokio_postgres::Row;

use super::accounts::account_exists;
use super::audit::audit;
use super::{big, execute, opt_ts, query, query_opt, read, ts, write_tx, PgStore};
use crate::browse::{self, UserBrowse, UserBrowsePage};
use crate::model::*;
use crate::rules::user_json;
use crate::{Conflict, StoreError, StoreResult, UserStore};

/// The columns of a [`UserRecord`]; `$1` must be "now" (for live sessions). The counts read
/// one user's devices and sessions through their `(user_id, ...)` indexes.
const USER_COLUMNS: &str = "u.id, u.account_id, u.email, u.name, u.seat_uid, u.access_seat, u.gateway_seat,
    (SELECT COUNT(*) FROM devices d WHERE d.user_id = u.id AND d.revoked_at IS NULL),
    (SELECT COUNT(*) FROM sessions s WHERE s.user_id = u.id AND s.expires_at > $1),
    u.last_successful_login, u.seat_granted_at, u.created_at, u.updated_at";

fn user_from_row(r: &Row) -> StoreResult<UserRecord> {
    Ok(UserRecord {
        id: r.try_get(0)?,
        account_id: r.try_get(1)?,
        email: r.try_get(2)?,
        name: r.try_get(3)?,
        seat_uid: r.try_get(4)?,
        access_seat: r.try_get(5)?,
        gateway_seat: r.try_get(6)?,
        active_device_count: r.try_get::<_, i64>(7)? as u64,
        active_session_count: r.try_get::<_, i64>(8)? as u64,
        last_successful_login: opt_ts(r.try_get(9)?)?,
        seat_granted_at: opt_ts(r.try_get(10)?)?,
        created_at: ts(r.try_get(11)?)?,
        updated_at: ts(r.try_get(12)?)?,
    })
}

/// The user of the account whose `column` (`id`, `seat_uid` or `email_key`) is `value`.
pub(super) async fn user_by(
    db: &impl GenericClient,
    column: &'static str,
    account_id: &str,
    value: &str,
    now: Timestamp,
) -> StoreResult<Option<UserRecord>> {
    let sql = format!("SELECT {USER_COLUMNS} FROM users u WHERE u.account_id = $2 AND u.{column} = $3");
    query_opt(db, &sql, &[&now.unix_micros(), &account_id, &value])
        .await?
        .as_ref()
        .map(user_from_row)
        .transpose()
}

pub(super) async fn must_user(
    db: &impl GenericClient,
    account_id: &str,
    user_id: &str,
    now: Timestamp,
) -> StoreResult<UserRecord> {
    user_by(db, "id", account_id, user_id, now)
        .await?
        .ok_or(StoreError::NotFound { positions: vec![] })
}

/// Locks a user's row for the rest of the transaction and returns its id, if it exists.
async fn lock_user(db: &impl GenericClient, account_id: &str, user_id: &str) -> StoreResult<Option<String>> {
    query_opt(
        db,
        "SELECT id FROM users WHERE account_id = $1 AND id = $2 FOR NO KEY UPDATE",
        &[&account_id, &user_id.to_ascii_lowercase()],
    )
    .await?
    .map(|r| Ok(r.try_get(0)?))
    .transpose()
}

/// Escapes `%`, `_` and `\` for a LIKE pattern with `ESCAPE '\'`.
fn like_literal(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

pub(super) async fn list_users(
    db: &impl GenericClient,
    account_id: &str,
    filter: &UserFilter,
    page: u64,
    per_page: u64,
    now: Timestamp,
) -> StoreResult<(Vec<UserRecord>, u64)> {
    // The SQL names only the filters given, so the planner picks the index each needs: the
    // email index, the name index, the trigram indexes over the folded columns for `search`, or creation order.
    let now_us = now.unix_micros();
    let mut params: Params = vec![Box::new(now_us), Box::new(account_id.to_owned())];
    let mut conditions = vec!["u.account_id = $2".to_owned()];
    if let Some(email) = &filter.email {
        params.push(Box::new(formats::email_key(email)));
        conditions.push(format!("u.email_key = ${}", params.len()));
    }
    if let Some(name) = &filter.name {
        params.push(Box::new(name.clone()));
        conditions.push(format!("u.name = ${}", params.len()));
    }
    if let Some(search) = &filter.search {
        conditions.push(search_condition(search, &mut params));
    }
    let refs: Vec<&(dyn ToSql + Sync)> = params.iter().map(|p| &**p as &(dyn ToSql + Sync)).collect();
    let where_ = conditions.join(" AND ");
    let total: u64 = if conditions.len() == 1 {
        // No filter: the maintained count.
        query_opt(db, "SELECT user_count FROM accounts WHERE id = $1", &[&account_id])
            .await?
            .map(|r| r.try_get::<_, i64>(0))
            .transpose()?
            .unwrap_or(0) as u64
    } else {
        // `$1` (now) is not used by the count; PostgreSQL needs every parameter typed.
        let sql = format!("SELECT COUNT(*) FROM users u WHERE {where_} AND $1::bigint IS NOT NULL");
        query(db, &sql, &refs).await?[0].try_get::<_, i64>(0)? as u64
    };
    let limit = big(per_page.min(i64::MAX as u64))?;
    let offset = big(page.saturating_sub(1).saturating_mul(per_page).min(i64::MAX as u64))?;
    let n = refs.len();
    let sql = format!(
        "SELECT {USER_COLUMNS} FROM users u WHERE {where_} ORDER BY u.created_at, u.id LIMIT ${} OFFSET ${}",
        n + 1,
        n + 2
    );
    let mut all = refs;
    all.push(&limit);
    all.push(&offset);
    let users = query(db, &sql, &all)
        .await?
        .iter()
        .map(user_from_row)
        .collect::<StoreResult<Vec<_>>>()?;
    Ok((users, total))
}

type Params = Vec<Box<dyn ToSql + Sync + Send>>;

/// The `search` rule over the folded columns (their trigram indexes narrow it), its pattern
/// pushed as the next parameter.
fn search_condition(search: &str, params: &mut Params) -> String {
    params.push(Box::new(format!("%{}%", like_literal(&search.to_ascii_lowercase()))));
    let n = params.len();
    format!("(u.email_fold LIKE ${n} ESCAPE '\\' OR u.name_fold LIKE ${n} ESCAPE '\\')")
}

/// A page of users by key set (see [`crate::browse`]): the keys come from a walk of at most
/// `scan` rows in creation order, then the users on the page are read in one statement.
pub(super) async fn browse_users(
    db: &impl GenericClient,
    account_id: &str,
    browse: &UserBrowse,
    now: Timestamp,
) -> StoreResult<UserBrowsePage> {
    let mut params: Params = vec![Box::new(account_id.to_owned())];
    let mut conditions = vec!["u.account_id = $1".to_owned()];
    if let Some(search) = &browse.search {
        conditions.push(search_condition(search, &mut params));
    }
    if let Some(from) = &browse.from {
        params.push(Box::new(from.created_at.unix_micros()));
        params.push(Box::new(from.id.clone()));
        let n = params.len();
        let op = if browse.backward { "<" } else { ">" };
        conditions.push(format!(
            "(u.account_id, u.created_at, u.id) {op} ($1, ${}, ${n})",
            n - 1
        ));
    }
    params.push(Box::new(big(browse.scan.min(i64::MAX as u64))?));
    let order = if browse.backward { "DESC" } else { "ASC" };
    let sql = format!(
        "SELECT u.created_at, u.id, {} FROM users u WHERE {} ORDER BY u.created_at {order}, u.id {order} LIMIT ${}",
        browse.seat.sql().unwrap_or("true"),
        conditions.join(" AND "),
        params.len()
    );
    let refs: Vec<&(dyn ToSql + Sync)> = params.iter().map(|p| &**p as &(dyn ToSql + Sync)).collect();
    let rows = super::select_all(db, &sql, &refs, crate::rows::browse_key).await?;
    let walk = browse::walk(rows, browse);
    let sql = format!("SELECT {USER_COLUMNS} FROM users u WHERE u.account_id = $2 AND u.id = ANY($3)");
    let mut found = query(db, &sql, &[&now.unix_micros(), &account_id, &walk.ids])
        .await?
        .iter()
        .map(user_from_row)
        .collect::<StoreResult<Vec<_>>>()?;
    found.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
    Ok(UserBrowsePage {
        users: found,
        first: walk.first,
        resume: walk.resume,
    })
}

/// Inserts a user holding no seat; `None` if the email is taken in the account.
pub(super) async fn insert_user(
    db: &impl GenericClient,
    account_id: &str,
    email: &str,
    name: &str,
    now: Timestamp,
) -> StoreResult<Option<String>> {
    let id = uuid::Uuid::new_v4().to_string();
    let inserted = execute(
        db,
        "INSERT INTO users (id, account_id, email, email_key, name, seat_uid, access_seat, gateway_seat, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, false, false, $7, $7)
         ON CONFLICT (account_id, email_key) DO NOTHING",
        &[
            &id,
            &account_id,
            &email,
            &formats::email_key(email),
            &name,
            &uuid::Uuid::new_v4().to_string(),
            &now.unix_micros(),
        ],
    )
    .await?;
    Ok((inserted == 1).then_some(id))
}

pub(super) async fn create_user(
    db: &impl GenericClient,
    account_id: &str,
    email: &str,
    name: &str,
    actor: &Actor,
    now: Timestamp,
) -> StoreResult<UserRecord> {
    if !account_exists(db, account_id).await? {
        return Err(StoreError::NotFound { positions: vec![] });
    }
    let Some(id) = insert_user(db, account_id, email, name, now).await? else {
        return Err(StoreError::Conflict(Conflict::UserEmail(email.to_owned())));
    };
    created(db, account_id, &id, actor, now).await
}

/// Reads back a user just inserted and audits its creation (by the API or a first login).
pub(super) async fn created(
    db: &impl GenericClient,
    account_id: &str,
    id: &str,
    actor: &Actor,
    now: Timestamp,
) -> StoreResult<UserRecord> {
    let user = must_user(db, account_id, id, now).await?;
    audit(
        db,
        &AuditEvent::new(now, Some(account_id), actor, AuditAction::UserCreate, id).after(&user_json(&user)),
    )
    .await?;
    Ok(user)
}

pub(super) async fn rename_user(
    db: &impl GenericClient,
    account_id: &str,
    user_id: &str,
    name: &str,
    actor: &Actor,
    now: Timestamp,
) -> StoreResult<UserRecord> {
    let id = lock_user(db, account_id, user_id)
        .await?
        .ok_or(StoreError::NotFound { positions: vec![] })?;
    let before = must_user(db, account_id, &id, now).await?;
    if before.name == name {
        return Ok(before);
    }
    execute(
        db,
        "UPDATE users SET name = $2, updated_at = $3 WHERE id = $1",
        &[&id, &name, &now.unix_micros()],
    )
    .await?;
    let after = must_user(db, account_id, &id, now).await?;
    audit(
        db,
        &AuditEvent::new(now, Some(account_id), actor, AuditAction::UserUpdate, &after.id)
            .before(&user_json(&before))
            .after(&user_json(&after)),
    )
    .await?;
    Ok(after)
}

pub(super) async fn delete_user(
    db: &impl GenericClient,
    account_id: &str,
    user_id: &str,
    actor: &Actor,
    now: Timestamp,
) -> StoreResult<()> {
    let id = lock_user(db, account_id, user_id)
        .await?
        .ok_or(StoreError::NotFound { positions: vec![] })?;
    let before = must_user(db, account_id, &id, now).await?;
    // Devices, sessions and logins go with the user (ON DELETE CASCADE); the account's
    // figures follow by trigger, which locks the account row (after the user's).
    execute(db, "DELETE FROM users WHERE id = $1", &[&id]).await?;
    audit(
        db,
        &AuditEvent::new(now, Some(account_id), actor, AuditAction::UserDelete, &id).before(&user_json(&before)),
    )
    .await?;
    Ok(())
}

#[async_trait]
impl UserStore for PgStore {
    async fn user_by_seat_uid(
        &self,
        account_id: &str,
        seat_uid: &str,
        now: Timestamp,
    ) -> StoreResult<Option<UserRecord>> {
        read!(self, |db| user_by(db, "seat_uid", account_id, seat_uid, now))
    }

    async fn list_users(
        &self,
        account_id: &str,
        filter: UserFilter,
        page: u64,
        per_page: u64,
        now: Timestamp,
    ) -> StoreResult<(Vec<UserRecord>, u64)> {
        read!(self, |db| list_users(db, account_id, &filter, page, per_page, now))
    }

    async fn browse_users(
        &self,
        account_id: &str,
        browse: crate::browse::UserBrowse,
        now: Timestamp,
    ) -> StoreResult<crate::browse::UserBrowsePage> {
        read!(self, |db| browse_users(db, account_id, &browse, now))
    }

    async fn user(&self, account_id: &str, user_id: &str, now: Timestamp) -> StoreResult<Option<UserRecord>> {
        let user_id = user_id.to_ascii_lowercase();
        read!(self, |db| user_by(db, "id", account_id, &user_id, now))
    }

    async fn create_user(
        &self,
        account_id: &str,
        email: &str,
        name: &str,
        actor: Actor,
        now: Timestamp,
    ) -> StoreResult<UserRecord> {
        write_tx!(self, |tx| create_user(&tx, account_id, email, name, &actor, now))
    }

    async fn rename_user(
        &self,
        account_id: &str,
        user_id: &str,
        name: &str,
        actor: Actor,
        now: Timestamp,
    ) -> StoreResult<UserRecord> {
        write_tx!(self, |tx| rename_user(&tx, account_id, user_id, name, &actor, now))
    }

    async fn delete_user(&self, account_id: &str, user_id: &str, actor: Actor, now: Timestamp) -> StoreResult<()> {
        write_tx!(self, |tx| delete_user(&tx, account_id, user_id, &actor, now))
    }
}
