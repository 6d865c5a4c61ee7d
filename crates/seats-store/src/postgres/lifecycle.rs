//! Users, logins, organizations, the expiry sweep, and the operator's accounts, members and
//! tokens on PostgreSQL: the same operations as `sqlite/lifecycle.rs`, with the row locks
//! described in `postgres/mod.rs`. Each function runs inside the transaction (or on the
//! connection) its caller opened.

use deadpool_postgres::GenericClient;
use seats_types::{formats, Timestamp, TokenStatus};
use serde_json::{json, Map, Value};
use tokio_postgres::types::ToSql;
use tokio_postgres::Row;

use super::{
    audit, big, execute, is_unique_violation, json_text, lock_account, opt_ts, query, query_opt, ts, AuditBatch,
};
use crate::browse::{self, UserBrowse, UserBrowsePage, UserKey};
use crate::model::*;
use crate::rules::{self, account_json, user_json, OrganizationWrite, SESSION_LIFETIME_US};
use crate::secret::SecretHash;
use crate::{StoreError, StoreResult};

/// The columns of a [`UserRecord`]; `$1` must be "now" (for live sessions). The counts read
/// one user's devices and sessions through their `(user_id, ...)` indexes.
const USER_COLUMNS: &str = "u.id, u.account_id, u.email, u.name, u.seat_uid, u.access_seat, u.gateway_seat,
    (SELECT COUNT(*) FROM devices d WHERE d.user_id = u.id),
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

async fn must_user(
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
    let rows = query(db, &sql, &refs)
        .await?
        .iter()
        .map(|r| {
            Ok((
                UserKey {
                    created_at: ts(r.try_get(0)?)?,
                    id: r.try_get(1)?,
                },
                r.try_get::<_, bool>(2)?,
            ))
        })
        .collect::<StoreResult<Vec<_>>>()?;
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
async fn insert_user(
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

async fn account_exists(db: &impl GenericClient, account_id: &str) -> StoreResult<bool> {
    Ok(query_opt(db, "SELECT 1 FROM accounts WHERE id = $1", &[&account_id])
        .await?
        .is_some())
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
        return Err(StoreError::Conflict(format!(
            "a user with email {email} already exists"
        )));
    };
    created(db, account_id, &id, actor, now).await
}

/// Reads back a user just inserted and audits its creation (by the API or a first login).
async fn created(
    db: &impl GenericClient,
    account_id: &str,
    id: &str,
    actor: &Actor,
    now: Timestamp,
) -> StoreResult<UserRecord> {
    let user = must_user(db, account_id, id, now).await?;
    audit(
        db,
        now,
        Some(account_id),
        actor,
        "user.create",
        id,
        None,
        Some(&user_json(&user)),
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
        now,
        Some(account_id),
        actor,
        "user.update",
        &after.id,
        Some(&user_json(&before)),
        Some(&user_json(&after)),
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
        now,
        Some(account_id),
        actor,
        "user.delete",
        &id,
        Some(&user_json(&before)),
        None,
    )
    .await?;
    Ok(())
}

fn login_from_row(r: &Row) -> StoreResult<LoginRecord> {
    let via: String = r.try_get(1)?;
    Ok(LoginRecord {
        at: ts(r.try_get(0)?)?,
        via: if via == "gateway" { Via::Gateway } else { Via::Access },
        device_id: r.try_get(2)?,
        succeeded: r.try_get(3)?,
        reason: r.try_get(4)?,
    })
}

pub(super) async fn user_activity(
    db: &impl GenericClient,
    account_id: &str,
    user_id: &str,
    now: Timestamp,
) -> StoreResult<Option<UserActivity>> {
    let Some(user) = user_by(db, "id", account_id, &user_id.to_ascii_lowercase(), now).await? else {
        return Ok(None);
    };
    let sessions = query(
        db,
        "SELECT id, created_at, expires_at FROM sessions WHERE user_id = $1 AND expires_at > $2 ORDER BY created_at, id",
        &[&user.id, &now.unix_micros()],
    )
    .await?
    .iter()
    .map(|r| {
        Ok(SessionRecord {
            id: r.try_get(0)?,
            created_at: ts(r.try_get(1)?)?,
            expires_at: ts(r.try_get(2)?)?,
        })
    })
    .collect::<StoreResult<Vec<_>>>()?;
    let devices = query(
        db,
        "SELECT device_id, registered_at, last_seen_at FROM devices WHERE user_id = $1 ORDER BY last_seen_at DESC, device_id",
        &[&user.id],
    )
    .await?
    .iter()
    .map(|r| {
        Ok(DeviceRecord {
            id: r.try_get(0)?,
            registered_at: ts(r.try_get(1)?)?,
            last_seen_at: ts(r.try_get(2)?)?,
        })
    })
    .collect::<StoreResult<Vec<_>>>()?;
    let failed_logins = query(
        db,
        "SELECT at, via, device_id, succeeded, reason FROM logins WHERE user_id = $1 AND NOT succeeded ORDER BY id DESC",
        &[&user.id],
    )
    .await?
    .iter()
    .map(login_from_row)
    .collect::<StoreResult<Vec<_>>>()?;
    let last_login = query_opt(
        db,
        "SELECT at, via, device_id, succeeded, reason FROM logins WHERE user_id = $1 AND succeeded ORDER BY id DESC LIMIT 1",
        &[&user.id],
    )
    .await?
    .as_ref()
    .map(login_from_row)
    .transpose()?;
    Ok(Some(UserActivity {
        sessions,
        devices,
        failed_logins,
        last_login,
    }))
}

fn organization_from_row(r: &Row) -> StoreResult<Option<OrganizationRecord>> {
    let (Some(text), created, updated) = (
        r.try_get::<_, Option<String>>(0)?,
        r.try_get::<_, Option<i64>>(1)?,
        r.try_get::<_, Option<i64>>(2)?,
    ) else {
        return Ok(None);
    };
    let fields: Map<String, Value> = serde_json::from_str(&text).map_err(StoreError::other)?;
    let created_at = opt_ts(created)?.ok_or_else(|| StoreError::other("organization without a creation time"))?;
    Ok(Some(OrganizationRecord {
        fields,
        created_at,
        updated_at: opt_ts(updated)?.unwrap_or(created_at),
    }))
}

pub(super) async fn organization(db: &impl GenericClient, account_id: &str) -> StoreResult<Option<OrganizationRecord>> {
    match query_opt(
        db,
        "SELECT organization, organization_created_at, organization_updated_at FROM accounts WHERE id = $1",
        &[&account_id],
    )
    .await?
    {
        Some(row) => organization_from_row(&row),
        None => Ok(None),
    }
}

pub(super) async fn put_organization(
    db: &impl GenericClient,
    account_id: &str,
    fields: Map<String, Value>,
    create: bool,
    actor: &Actor,
    now: Timestamp,
) -> StoreResult<OrganizationRecord> {
    let row = query_opt(
        db,
        "SELECT organization, organization_created_at, organization_updated_at FROM accounts WHERE id = $1 FOR NO KEY UPDATE",
        &[&account_id],
    )
    .await?
    .ok_or(StoreError::NotFound { positions: vec![] })?;
    let existing = organization_from_row(&row)?;
    let (merged, before) = match rules::merge_organization(existing, fields, create)? {
        OrganizationWrite::Unchanged(org) => return Ok(org),
        OrganizationWrite::Write { fields, before } => (fields, before),
    };
    execute(
        db,
        "UPDATE accounts SET organization = $2, organization_updated_at = $3,
                organization_created_at = COALESCE(organization_created_at, $3) WHERE id = $1",
        &[&account_id, &json_text(&merged)?, &now.unix_micros()],
    )
    .await?;
    let action = OrganizationWrite::action(&before);
    let before = before.map(Value::Object);
    audit(
        db,
        now,
        Some(account_id),
        actor,
        action,
        account_id,
        before.as_ref(),
        Some(&Value::Object(merged)),
    )
    .await?;
    organization(db, account_id)
        .await?
        .ok_or_else(|| StoreError::other("organization vanished"))
}

/// Frees the seats of these users as a PATCH turning both flags off does: sessions and
/// devices end.
async fn remove_seats(db: &impl GenericClient, user_ids: &[&str], now: Timestamp) -> StoreResult<()> {
    execute(
        db,
        "UPDATE users SET access_seat = false, gateway_seat = false, seat_granted_at = NULL, updated_at = $2
         WHERE id = ANY($1)",
        &[&user_ids, &now.unix_micros()],
    )
    .await?;
    execute(db, "DELETE FROM sessions WHERE user_id = ANY($1)", &[&user_ids]).await?;
    execute(db, "DELETE FROM devices WHERE user_id = ANY($1)", &[&user_ids]).await?;
    Ok(())
}

pub(super) async fn expire_seats(
    db: &impl GenericClient,
    only: Option<&str>,
    now: Timestamp,
) -> StoreResult<Vec<(String, String)>> {
    let accounts = query(
        db,
        "SELECT id, organization FROM accounts WHERE organization IS NOT NULL AND ($1::text IS NULL OR id = $1) ORDER BY id",
        &[&only],
    )
    .await?;
    let mut removed = Vec::new();
    for row in accounts {
        let (account_id, org): (String, String) = (row.try_get(0)?, row.try_get(1)?);
        let org: Map<String, Value> = serde_json::from_str(&org).map_err(StoreError::other)?;
        let Some(Value::String(window)) = org.get("user_seat_expiration_inactive_time") else {
            continue;
        };
        let Ok(window) = seats_types::parse_go_duration(window) else {
            continue;
        };
        let window_us = i64::try_from(window.as_micros()).unwrap_or(i64::MAX);
        let cutoff = now.unix_micros().saturating_sub(window_us);
        // `seat_active_at` is active_at while a seat is held (its index holds only those).
        // Locked in id order, like every writer; a seat another node freed meanwhile no
        // longer matches once its lock is granted (PostgreSQL re-checks the row), so each
        // removal is made, and audited, once.
        let mut stale = query(
            db,
            "SELECT id, seat_uid, access_seat, gateway_seat, created_at FROM users
             WHERE account_id = $1 AND seat_active_at < $2
             ORDER BY id FOR NO KEY UPDATE",
            &[&account_id, &cutoff],
        )
        .await?
        .iter()
        .map(|r| {
            Ok((
                r.try_get::<_, i64>(4)?,
                r.try_get::<_, String>(0)?,
                r.try_get::<_, String>(1)?,
                r.try_get::<_, bool>(2)?,
                r.try_get::<_, bool>(3)?,
            ))
        })
        .collect::<StoreResult<Vec<_>>>()?;
        if stale.is_empty() {
            continue;
        }
        stale.sort();
        lock_account(db, &account_id).await?;
        let ids: Vec<&str> = stale.iter().map(|s| s.1.as_str()).collect();
        remove_seats(db, &ids, now).await?;
        let after = rules::seats_json(false, false);
        let mut audits = AuditBatch::default();
        for (_, _, seat_uid, access, gateway) in &stale {
            audits.push("seat.expire", seat_uid, &rules::seats_json(*access, *gateway), &after);
        }
        audits.write(db, now, Some(&account_id), &Actor::System).await?;
        removed.extend(stale.iter().map(|s| (account_id.clone(), s.2.clone())));
    }
    Ok(removed)
}

async fn record_login(
    db: &impl GenericClient,
    user_id: &str,
    login: &LoginRequest,
    succeeded: bool,
    reason: Option<&str>,
    now: Timestamp,
) -> StoreResult<()> {
    execute(
        db,
        "INSERT INTO logins (user_id, at, via, device_id, succeeded, reason) VALUES ($1, $2, $3, $4, $5, $6)",
        &[
            &user_id,
            &now.unix_micros(),
            &login.via.as_str(),
            &login.device_id,
            &succeeded,
            &reason,
        ],
    )
    .await?;
    Ok(())
}

pub(super) async fn login(
    db: &impl GenericClient,
    account_id: &str,
    login: &LoginRequest,
    actor: &Actor,
    now: Timestamp,
) -> StoreResult<LoginOutcome> {
    if !account_exists(db, account_id).await? {
        return Err(StoreError::NotFound { positions: vec![] });
    }
    let now_us = now.unix_micros();
    let email_key = formats::email_key(&login.email);
    // A new user is inserted (a concurrent first login of the same email waits on the unique
    // index and then finds this one); an existing one is locked.
    let mut user = match insert_user(db, account_id, &login.email, login.name.as_deref().unwrap_or(""), now).await? {
        Some(id) => created(db, account_id, &id, actor, now).await?,
        None => {
            let id: String = query_opt(
                db,
                "SELECT id FROM users WHERE account_id = $1 AND email_key = $2 FOR NO KEY UPDATE",
                &[&account_id, &email_key],
            )
            .await?
            .ok_or_else(|| StoreError::other("user vanished during login"))?
            .try_get(0)?;
            must_user(db, account_id, &id, now).await?
        }
    };
    if let Some(name) = login.name.as_deref().filter(|n| *n != user.name) {
        user = rename_user(db, account_id, &user.id, name, actor, now).await?;
    }
    let holds = user.access_seat || user.gateway_seat;
    if !holds {
        let (limit, used) = lock_account(db, account_id).await?;
        if used >= limit {
            record_login(db, &user.id, login, false, Some("seat_limit_reached"), now).await?;
            let detail = rules::login_refused_json(login.via, used, limit);
            audit(
                db,
                now,
                Some(account_id),
                actor,
                "login.refused",
                &user.seat_uid,
                None,
                Some(&detail),
            )
            .await?;
            return Ok(LoginOutcome {
                user,
                refused: Some((used, limit)),
            });
        }
    }
    let before = rules::seats_json(user.access_seat, user.gateway_seat);
    match login.via {
        Via::Access => {
            execute(
                db,
                "INSERT INTO sessions (id, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)",
                &[
                    &uuid::Uuid::new_v4().to_string(),
                    &user.id,
                    &now_us,
                    &(now_us + SESSION_LIFETIME_US),
                ],
            )
            .await?;
        }
        Via::Gateway => {
            let device = login
                .device_id
                .as_deref()
                .ok_or_else(|| StoreError::other("gateway login without a device"))?;
            execute(
                db,
                "INSERT INTO devices (user_id, device_id, registered_at, last_seen_at) VALUES ($1, $2, $3, $3)
                 ON CONFLICT (user_id, device_id) DO UPDATE SET last_seen_at = excluded.last_seen_at",
                &[&user.id, &device, &now_us],
            )
            .await?;
        }
    }
    let (access, gateway) = match login.via {
        Via::Access => (true, user.gateway_seat),
        Via::Gateway => (user.access_seat, true),
    };
    execute(
        db,
        "UPDATE users SET access_seat = $2, gateway_seat = $3, last_successful_login = $4, updated_at = $4,
                seat_granted_at = COALESCE(seat_granted_at, $4) WHERE id = $1",
        &[&user.id, &access, &gateway, &now_us],
    )
    .await?;
    record_login(db, &user.id, login, true, None, now).await?;
    let after = rules::seats_json(access, gateway);
    if before != after {
        audit(
            db,
            now,
            Some(account_id),
            actor,
            "seat.grant",
            &user.seat_uid,
            Some(&before),
            Some(&after),
        )
        .await?;
    }
    Ok(LoginOutcome {
        user: must_user(db, account_id, &user.id, now).await?,
        refused: None,
    })
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
        return Err(StoreError::Conflict(format!("account {} already exists", new.id)));
    }
    let created = account(db, &new.id)
        .await?
        .ok_or_else(|| StoreError::other("account vanished"))?;
    audit(
        db,
        now,
        Some(&new.id),
        actor,
        "account.create",
        &new.id,
        None,
        Some(&account_json(&created)),
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
            now,
            Some(id),
            actor,
            "account.update",
            id,
            Some(&account_json(&before)),
            Some(&account_json(&after)),
        )
        .await?;
    }
    Ok(after)
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

async fn member(db: &impl GenericClient, email: &str) -> StoreResult<Option<MemberRecord>> {
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
        return Err(StoreError::Conflict(format!("member {email} already exists")));
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
    .map_err(|e| conflict_if_taken(e, format!("member {email} already exists")))?;
    execute(
        db,
        "INSERT INTO member_accounts (member_email_key, account_id) SELECT $1, a FROM UNNEST($2::text[]) AS a
         ON CONFLICT DO NOTHING",
        &[&key, &accounts],
    )
    .await?;
    audit(
        db,
        now,
        None,
        actor,
        "member.create",
        email,
        None,
        Some(&json!({"accounts": accounts})),
    )
    .await?;
    member(db, email)
        .await?
        .ok_or_else(|| StoreError::other("member vanished"))
}

/// A unique violation (another node inserted the same key first) as a conflict.
fn conflict_if_taken(e: StoreError, message: String) -> StoreError {
    match &e {
        StoreError::Other(inner) => match inner.downcast_ref::<super::PgError>() {
            Some(pg) if is_unique_violation(&pg.0) => StoreError::Conflict(message),
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
        now,
        None,
        actor,
        "member.delete",
        &before.email,
        Some(&json!({"accounts": before.accounts})),
        None,
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

async fn token(db: &impl GenericClient, id: &str) -> StoreResult<Option<TokenRecord>> {
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
        return Err(StoreError::Conflict(format!("token {} already exists", new.id)));
    }
    let hash = new.value_hash.as_bytes();
    if query_opt(db, "SELECT 1 FROM tokens WHERE value_hash = $1", &[&hash])
        .await?
        .is_some()
    {
        return Err(StoreError::Conflict("a token with this value already exists".into()));
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
    .map_err(|e| conflict_if_taken(e, format!("token {} already exists", new.id)))?;
    audit(
        db,
        now,
        None,
        actor,
        "token.create",
        &new.id,
        None,
        Some(&json!({"name": new.name})),
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
        now,
        None,
        actor,
        "token.update",
        id,
        Some(&json!({"status": before.status})),
        Some(&json!({"status": status})),
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
        now,
        None,
        actor,
        "token.delete",
        id,
        Some(&json!({"name": name})),
        None,
    )
    .await?;
    Ok(())
}

pub(super) async fn audit_events(
    db: &impl GenericClient,
    account_id: &str,
    page: u64,
    per_page: u64,
) -> StoreResult<(Vec<AuditRecord>, u64)> {
    let total: i64 = query(
        db,
        "SELECT COALESCE(SUM(n), 0)::bigint FROM audit_counts WHERE account_id = $1",
        &[&account_id],
    )
    .await?[0]
        .try_get(0)?;
    let limit = big(per_page.min(i64::MAX as u64))?;
    let offset = big(page.saturating_sub(1).saturating_mul(per_page).min(i64::MAX as u64))?;
    let events = query(
        db,
        "SELECT seq, at, account_id, actor_kind, actor_id, action, subject, before, after
         FROM audit_events WHERE account_id = $1 ORDER BY seq DESC LIMIT $2 OFFSET $3",
        &[&account_id, &limit, &offset],
    )
    .await?
    .iter()
    .map(|r| {
        let kind: String = r.try_get(3)?;
        let id: String = r.try_get(4)?;
        let before: Option<String> = r.try_get(7)?;
        let after: Option<String> = r.try_get(8)?;
        Ok(AuditRecord {
            seq: r.try_get::<_, i64>(0)? as u64,
            at: ts(r.try_get(1)?)?,
            account_id: r.try_get(2)?,
            actor: Actor::from_parts(&kind, &id).unwrap_or(Actor::System),
            action: r.try_get(5)?,
            subject: r.try_get(6)?,
            before: before.and_then(|s| serde_json::from_str(&s).ok()),
            after: after.and_then(|s| serde_json::from_str(&s).ok()),
        })
    })
    .collect::<StoreResult<Vec<_>>>()?;
    Ok((events, total.max(0) as u64))
}
