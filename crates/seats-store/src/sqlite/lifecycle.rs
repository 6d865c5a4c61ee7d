//! Users, logins, organizations, the expiry sweep, and the operator's accounts, members and
//! tokens: the SQL behind the rest of the Store trait. Each function runs inside the
//! transaction its caller (the writer or a reader) opened.

use rusqlite::types::Value as SqlValue;
use rusqlite::{params, Connection, OptionalExtension};
use seats_types::{formats, Timestamp, TokenStatus};
use serde_json::{json, Map, Value};

use super::{audit, json_text, opt_ts, ts};
use crate::browse::{self, UserBrowse, UserBrowsePage, UserKey};
use crate::model::*;
use crate::rules::{self, account_json, user_json, OrganizationWrite, SESSION_LIFETIME_US};
use crate::secret::SecretHash;
use crate::{StoreError, StoreResult};

/// The columns of a [`UserRecord`]; `?1` must be "now" (for live sessions). The counts read
/// one user's devices and sessions through their `(user_id, ...)` indexes.
pub(super) const USER_COLUMNS: &str = "u.id, u.account_id, u.email, u.name, u.seat_uid, u.access_seat, u.gateway_seat,
    (SELECT COUNT(*) FROM devices d WHERE d.user_id = u.id),
    (SELECT COUNT(*) FROM sessions s WHERE s.user_id = u.id AND s.expires_at > ?1),
    u.last_successful_login, u.seat_granted_at, u.created_at, u.updated_at";

pub(super) fn user_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<UserRecord> {
    Ok(UserRecord {
        id: r.get(0)?,
        account_id: r.get(1)?,
        email: r.get(2)?,
        name: r.get(3)?,
        seat_uid: r.get(4)?,
        access_seat: r.get(5)?,
        gateway_seat: r.get(6)?,
        active_device_count: r.get(7)?,
        active_session_count: r.get(8)?,
        last_successful_login: opt_ts(r.get(9)?)?,
        seat_granted_at: opt_ts(r.get(10)?)?,
        created_at: ts(r.get(11)?)?,
        updated_at: ts(r.get(12)?)?,
    })
}

pub(super) fn user_by_id(
    conn: &Connection,
    account_id: &str,
    user_id: &str,
    now: Timestamp,
) -> StoreResult<Option<UserRecord>> {
    let sql = format!("SELECT {USER_COLUMNS} FROM users u WHERE u.account_id = ?2 AND u.id = ?3");
    Ok(conn
        .prepare_cached(&sql)?
        .query_row(
            params![now.unix_micros(), account_id, user_id.to_ascii_lowercase()],
            user_from_row,
        )
        .optional()?)
}

fn user_by_email(conn: &Connection, account_id: &str, email: &str, now: Timestamp) -> StoreResult<Option<UserRecord>> {
    let sql = format!("SELECT {USER_COLUMNS} FROM users u WHERE u.account_id = ?2 AND u.email_key = ?3");
    Ok(conn
        .prepare_cached(&sql)?
        .query_row(
            params![now.unix_micros(), account_id, formats::email_key(email)],
            user_from_row,
        )
        .optional()?)
}

fn must_user(conn: &Connection, account_id: &str, user_id: &str, now: Timestamp) -> StoreResult<UserRecord> {
    user_by_id(conn, account_id, user_id, now)?.ok_or(StoreError::NotFound { positions: vec![] })
}

/// The statement and parameters that list (or count) the users matching a filter. The SQL
/// names only the filters given, so the planner picks the index each one needs: the email
/// index for `email`, the name index for `name`, the trigram index for a `search` of three
/// characters or more; otherwise the account's users in creation order.
struct UserQuery {
    from: &'static str,
    conditions: Vec<&'static str>,
    params: Vec<(usize, SqlValue)>,
}

impl UserQuery {
    fn new(account_id: &str, filter: &UserFilter, now: Timestamp) -> Self {
        let mut q = UserQuery {
            from: "users u",
            conditions: vec!["u.account_id = ?2"],
            params: vec![
                (1, SqlValue::Integer(now.unix_micros())),
                (2, SqlValue::Text(account_id.into())),
            ],
        };
        if let Some(email) = &filter.email {
            q.conditions.push("u.email_key = ?3");
            q.params.push((3, SqlValue::Text(formats::email_key(email))));
        }
        if let Some(name) = &filter.name {
            q.conditions.push("u.name = ?4");
            q.params.push((4, SqlValue::Text(name.clone())));
        }
        if let Some(search) = &filter.search {
            let search = search.to_ascii_lowercase();
            // Trigrams need three characters; a shorter term reads the account's users.
            if filter.email.is_none() && filter.name.is_none() && search.chars().count() >= 3 {
                q.from = "users_search CROSS JOIN users u ON u.seq = users_search.rowid";
                q.conditions.push("users_search MATCH ?6");
                q.params
                    .push((6, SqlValue::Text(format!("\"{}\"", search.replace('"', "\"\"")))));
            }
            // The exact rule (ASCII case folding, `%` and `_` literal); trigrams only narrow.
            q.conditions
                .push("(instr(lower(u.email), ?5) > 0 OR instr(lower(u.name), ?5) > 0)");
            q.params.push((5, SqlValue::Text(search)));
        }
        q
    }

    fn sql(&self, select: &str, tail: &str) -> String {
        format!(
            "SELECT {select} FROM {} WHERE {} {tail}",
            self.from,
            self.conditions.join(" AND ")
        )
    }

    fn bind(&self, stmt: &mut rusqlite::Statement<'_>) -> rusqlite::Result<()> {
        for (index, value) in &self.params {
            stmt.raw_bind_parameter(*index, value)?;
        }
        Ok(())
    }
}

pub(super) fn list_users(
    conn: &Connection,
    account_id: &str,
    filter: &UserFilter,
    page: u64,
    per_page: u64,
    now: Timestamp,
) -> StoreResult<(Vec<UserRecord>, u64)> {
    let query = UserQuery::new(account_id, filter, now);
    let total: u64 = if query.conditions.len() == 1 {
        // No filter: the maintained count.
        conn.prepare_cached("SELECT user_count FROM accounts WHERE id = ?1")?
            .query_row([account_id], |r| r.get(0))
            .optional()?
            .unwrap_or(0)
    } else {
        let mut count = conn.prepare_cached(&query.sql("COUNT(*)", ""))?;
        query.bind(&mut count)?;
        let mut rows = count.raw_query();
        rows.next()?.map(|r| r.get(0)).transpose()?.unwrap_or(0)
    };
    let offset = page.saturating_sub(1).saturating_mul(per_page);
    let mut select = conn.prepare_cached(&query.sql(USER_COLUMNS, "ORDER BY u.created_at, u.id LIMIT ?7 OFFSET ?8"))?;
    query.bind(&mut select)?;
    select.raw_bind_parameter(7, per_page.min(i64::MAX as u64) as i64)?;
    select.raw_bind_parameter(8, offset.min(i64::MAX as u64) as i64)?;
    let users = select
        .raw_query()
        .mapped(user_from_row)
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok((users, total))
}

/// A page of users by key set (see [`crate::browse`]): the keys come from a walk of at most
/// `scan` rows in creation order, then each user on the page is read by id.
pub(super) fn browse_users(
    conn: &Connection,
    account_id: &str,
    browse: &UserBrowse,
    now: Timestamp,
) -> StoreResult<UserBrowsePage> {
    let filter = UserFilter {
        search: browse.search.clone(),
        ..Default::default()
    };
    let mut query = UserQuery::new(account_id, &filter, now);
    if let Some(from) = &browse.from {
        query.conditions.push(if browse.backward {
            "(u.created_at, u.id) < (?9, ?10)"
        } else {
            "(u.created_at, u.id) > (?9, ?10)"
        });
        query.params.push((9, SqlValue::Integer(from.created_at.unix_micros())));
        query.params.push((10, SqlValue::Text(from.id.clone())));
    }
    let order = if browse.backward { "DESC" } else { "ASC" };
    let select = format!("u.created_at, u.id, {}", browse.seat.sql().unwrap_or("1"));
    let sql = query.sql(
        &select,
        &format!("ORDER BY u.created_at {order}, u.id {order} LIMIT ?11"),
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    query.bind(&mut stmt)?;
    stmt.raw_bind_parameter(11, browse.scan.min(i64::MAX as u64) as i64)?;
    let rows = stmt
        .raw_query()
        .mapped(|r| {
            Ok((
                UserKey {
                    created_at: ts(r.get(0)?)?,
                    id: r.get(1)?,
                },
                r.get::<_, bool>(2)?,
            ))
        })
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let walk = browse::walk(rows, browse);
    let mut users = walk
        .ids
        .iter()
        .map(|id| must_user(conn, account_id, id, now))
        .collect::<StoreResult<Vec<_>>>()?;
    if browse.backward {
        users.reverse();
    }
    Ok(UserBrowsePage {
        users,
        first: walk.first,
        resume: walk.resume,
    })
}

fn insert_user(conn: &Connection, account_id: &str, email: &str, name: &str, now: Timestamp) -> StoreResult<String> {
    let id = uuid::Uuid::new_v4().to_string();
    conn.prepare_cached(
        "INSERT INTO users (id, account_id, email, email_key, name, seat_uid, access_seat, gateway_seat, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, 0, 0, ?7, ?7)",
    )?
    .execute(params![id, account_id, email, formats::email_key(email), name, uuid::Uuid::new_v4().to_string(), now.unix_micros()])?;
    Ok(id)
}

pub(super) fn account_exists(conn: &Connection, account_id: &str) -> StoreResult<bool> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM accounts WHERE id = ?1")?
        .exists([account_id])?)
}

pub(super) fn create_user(
    conn: &Connection,
    account_id: &str,
    email: &str,
    name: &str,
    actor: &Actor,
    now: Timestamp,
) -> StoreResult<UserRecord> {
    if !account_exists(conn, account_id)? {
        return Err(StoreError::NotFound { positions: vec![] });
    }
    if user_by_email(conn, account_id, email, now)?.is_some() {
        return Err(StoreError::Conflict(format!(
            "a user with email {email} already exists"
        )));
    }
    let id = insert_user(conn, account_id, email, name, now)?;
    let user = must_user(conn, account_id, &id, now)?;
    audit(
        conn,
        now,
        Some(account_id),
        actor,
        "user.create",
        &id,
        None,
        Some(&user_json(&user)),
    )?;
    Ok(user)
}

pub(super) fn rename_user(
    conn: &Connection,
    account_id: &str,
    user_id: &str,
    name: &str,
    actor: &Actor,
    now: Timestamp,
) -> StoreResult<UserRecord> {
    let before = must_user(conn, account_id, user_id, now)?;
    if before.name == name {
        return Ok(before);
    }
    conn.prepare_cached("UPDATE users SET name = ?2, updated_at = ?3 WHERE id = ?1")?
        .execute(params![before.id, name, now.unix_micros()])?;
    let after = must_user(conn, account_id, user_id, now)?;
    audit(
        conn,
        now,
        Some(account_id),
        actor,
        "user.update",
        &after.id,
        Some(&user_json(&before)),
        Some(&user_json(&after)),
    )?;
    Ok(after)
}

pub(super) fn delete_user(
    conn: &Connection,
    account_id: &str,
    user_id: &str,
    actor: &Actor,
    now: Timestamp,
) -> StoreResult<()> {
    let before = must_user(conn, account_id, user_id, now)?;
    // Devices, sessions and logins go with the user (ON DELETE CASCADE).
    conn.prepare_cached("DELETE FROM users WHERE id = ?1")?
        .execute([&before.id])?;
    audit(
        conn,
        now,
        Some(account_id),
        actor,
        "user.delete",
        &before.id,
        Some(&user_json(&before)),
        None,
    )?;
    Ok(())
}

fn login_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<LoginRecord> {
    let via: String = r.get(1)?;
    Ok(LoginRecord {
        at: ts(r.get(0)?)?,
        via: if via == "gateway" { Via::Gateway } else { Via::Access },
        device_id: r.get(2)?,
        succeeded: r.get(3)?,
        reason: r.get(4)?,
    })
}

pub(super) fn user_activity(
    conn: &Connection,
    account_id: &str,
    user_id: &str,
    now: Timestamp,
) -> StoreResult<Option<UserActivity>> {
    let Some(user) = user_by_id(conn, account_id, user_id, now)? else {
        return Ok(None);
    };
    let sessions = conn
        .prepare_cached("SELECT id, created_at, expires_at FROM sessions WHERE user_id = ?1 AND expires_at > ?2 ORDER BY created_at, id")?
        .query_map(params![user.id, now.unix_micros()], |r| {
            Ok(SessionRecord { id: r.get(0)?, created_at: ts(r.get(1)?)?, expires_at: ts(r.get(2)?)? })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let devices = conn
        .prepare_cached("SELECT device_id, registered_at, last_seen_at FROM devices WHERE user_id = ?1 ORDER BY last_seen_at DESC, device_id")?
        .query_map([&user.id], |r| {
            Ok(DeviceRecord { id: r.get(0)?, registered_at: ts(r.get(1)?)?, last_seen_at: ts(r.get(2)?)? })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let failed_logins = conn
        .prepare_cached("SELECT at, via, device_id, succeeded, reason FROM logins WHERE user_id = ?1 AND succeeded = 0 ORDER BY id DESC")?
        .query_map([&user.id], login_from_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let last_login = conn
        .prepare_cached("SELECT at, via, device_id, succeeded, reason FROM logins WHERE user_id = ?1 AND succeeded = 1 ORDER BY id DESC LIMIT 1")?
        .query_row([&user.id], login_from_row)
        .optional()?;
    Ok(Some(UserActivity {
        sessions,
        devices,
        failed_logins,
        last_login,
    }))
}

pub(super) fn organization(conn: &Connection, account_id: &str) -> StoreResult<Option<OrganizationRecord>> {
    let row = conn
        .prepare_cached(
            "SELECT organization, organization_created_at, organization_updated_at FROM accounts WHERE id = ?1",
        )?
        .query_row([account_id], |r| {
            Ok((
                r.get::<_, Option<String>>(0)?,
                r.get::<_, Option<i64>>(1)?,
                r.get::<_, Option<i64>>(2)?,
            ))
        })
        .optional()?;
    let Some((Some(text), created, updated)) = row else {
        return Ok(None);
    };
    let fields: Map<String, Value> = serde_json::from_str(&text).map_err(StoreError::other)?;
    // Both timestamps are set whenever an organization is (seed and put_organization).
    let created_at = opt_ts(created)?.ok_or_else(|| StoreError::other("organization without a creation time"))?;
    Ok(Some(OrganizationRecord {
        fields,
        created_at,
        updated_at: opt_ts(updated)?.unwrap_or(created_at),
    }))
}

pub(super) fn put_organization(
    conn: &Connection,
    account_id: &str,
    fields: Map<String, Value>,
    create: bool,
    actor: &Actor,
    now: Timestamp,
) -> StoreResult<OrganizationRecord> {
    if !account_exists(conn, account_id)? {
        return Err(StoreError::NotFound { positions: vec![] });
    }
    let existing = organization(conn, account_id)?;
    let (merged, before) = match rules::merge_organization(existing, fields, create)? {
        OrganizationWrite::Unchanged(org) => return Ok(org),
        OrganizationWrite::Write { fields, before } => (fields, before),
    };
    conn.prepare_cached(
        "UPDATE accounts SET organization = ?2, organization_updated_at = ?3,
                organization_created_at = COALESCE(organization_created_at, ?3) WHERE id = ?1",
    )?
    .execute(params![account_id, json_text(&merged)?, now.unix_micros()])?;
    let action = OrganizationWrite::action(&before);
    let before = before.map(Value::Object);
    audit(
        conn,
        now,
        Some(account_id),
        actor,
        action,
        account_id,
        before.as_ref(),
        Some(&Value::Object(merged)),
    )?;
    organization(conn, account_id)?.ok_or_else(|| StoreError::other("organization vanished"))
}

/// Turns both flags off as a PATCH does: sessions and devices end, the seat is freed.
fn remove_seat(conn: &Connection, user_id: &str, now: Timestamp) -> StoreResult<()> {
    conn.prepare_cached(
        "UPDATE users SET access_seat = 0, gateway_seat = 0, seat_granted_at = NULL, updated_at = ?2 WHERE id = ?1",
    )?
    .execute(params![user_id, now.unix_micros()])?;
    end_sessions(conn, user_id)?;
    end_devices(conn, user_id)
}

/// Ends a user's Access sessions (their Access seat is gone).
pub(super) fn end_sessions(conn: &Connection, user_id: &str) -> StoreResult<()> {
    conn.prepare_cached("DELETE FROM sessions WHERE user_id = ?1")?
        .execute([user_id])?;
    Ok(())
}

/// Removes a user's device registrations (their Gateway seat is gone).
pub(super) fn end_devices(conn: &Connection, user_id: &str) -> StoreResult<()> {
    conn.prepare_cached("DELETE FROM devices WHERE user_id = ?1")?
        .execute([user_id])?;
    Ok(())
}

pub(super) fn expire_seats(
    conn: &Connection,
    only: Option<&str>,
    now: Timestamp,
) -> StoreResult<Vec<(String, String)>> {
    let accounts = conn
        .prepare_cached("SELECT id, organization FROM accounts WHERE organization IS NOT NULL AND (?1 IS NULL OR id = ?1) ORDER BY id")?
        .query_map([only], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let mut removed = Vec::new();
    for (account_id, org) in accounts {
        let org: Map<String, Value> = serde_json::from_str(&org).map_err(StoreError::other)?;
        let Some(Value::String(window)) = org.get("user_seat_expiration_inactive_time") else {
            continue;
        };
        let Ok(window) = seats_types::parse_go_duration(window) else {
            continue;
        };
        let window_us = i64::try_from(window.as_micros()).unwrap_or(i64::MAX);
        let cutoff = now.unix_micros().saturating_sub(window_us);
        // `active_at` is the latest of last login, seat grant and device activity (kept by
        // triggers), indexed for seat holders: the sweep reads only the stale ones.
        let stale = conn
            .prepare_cached(
                "SELECT u.id, u.seat_uid, u.access_seat, u.gateway_seat FROM users u
                 WHERE u.account_id = ?1 AND (u.access_seat = 1 OR u.gateway_seat = 1) AND u.active_at < ?2
                 ORDER BY u.created_at, u.id",
            )?
            .query_map(params![account_id, cutoff], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, bool>(2)?,
                    r.get::<_, bool>(3)?,
                ))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        for (user_id, seat_uid, access, gateway) in stale {
            remove_seat(conn, &user_id, now)?;
            let before = rules::seats_json(access, gateway);
            let after = rules::seats_json(false, false);
            audit(
                conn,
                now,
                Some(&account_id),
                &Actor::System,
                "seat.expire",
                &seat_uid,
                Some(&before),
                Some(&after),
            )?;
            removed.push((account_id.clone(), seat_uid));
        }
    }
    Ok(removed)
}

fn record_login(
    conn: &Connection,
    user_id: &str,
    login: &LoginRequest,
    succeeded: bool,
    reason: Option<&str>,
    now: Timestamp,
) -> StoreResult<()> {
    conn.prepare_cached(
        "INSERT INTO logins (user_id, at, via, device_id, succeeded, reason) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        user_id,
        now.unix_micros(),
        login.via.as_str(),
        login.device_id,
        succeeded,
        reason
    ])?;
    Ok(())
}

pub(super) fn login(
    conn: &Connection,
    account_id: &str,
    login: &LoginRequest,
    actor: &Actor,
    now: Timestamp,
) -> StoreResult<LoginOutcome> {
    let (limit, _) = super::seat_usage(conn, account_id)?;
    let now_us = now.unix_micros();
    let mut user = match user_by_email(conn, account_id, &login.email, now)? {
        Some(u) => u,
        None => {
            let id = insert_user(conn, account_id, &login.email, login.name.as_deref().unwrap_or(""), now)?;
            let user = must_user(conn, account_id, &id, now)?;
            audit(
                conn,
                now,
                Some(account_id),
                actor,
                "user.create",
                &id,
                None,
                Some(&user_json(&user)),
            )?;
            user
        }
    };
    if let Some(name) = login.name.as_deref().filter(|n| *n != user.name) {
        user = rename_user(conn, account_id, &user.id, name, actor, now)?;
    }
    let holds = user.access_seat || user.gateway_seat;
    if !holds {
        let (_, used) = super::seat_usage(conn, account_id)?;
        if used >= limit {
            record_login(conn, &user.id, login, false, Some("seat_limit_reached"), now)?;
            let detail = rules::login_refused_json(login.via, used, limit);
            audit(
                conn,
                now,
                Some(account_id),
                actor,
                "login.refused",
                &user.seat_uid,
                None,
                Some(&detail),
            )?;
            return Ok(LoginOutcome {
                user,
                refused: Some((used, limit)),
            });
        }
    }
    let before = rules::seats_json(user.access_seat, user.gateway_seat);
    match login.via {
        Via::Access => {
            conn.prepare_cached("INSERT INTO sessions (id, user_id, created_at, expires_at) VALUES (?1, ?2, ?3, ?4)")?
                .execute(params![
                    uuid::Uuid::new_v4().to_string(),
                    user.id,
                    now_us,
                    now_us + SESSION_LIFETIME_US
                ])?;
        }
        Via::Gateway => {
            let device = login
                .device_id
                .as_deref()
                .ok_or_else(|| StoreError::other("gateway login without a device"))?;
            conn.prepare_cached(
                "INSERT INTO devices (user_id, device_id, registered_at, last_seen_at) VALUES (?1, ?2, ?3, ?3)
                 ON CONFLICT (user_id, device_id) DO UPDATE SET last_seen_at = excluded.last_seen_at",
            )?
            .execute(params![user.id, device, now_us])?;
        }
    }
    let (access, gateway) = match login.via {
        Via::Access => (true, user.gateway_seat),
        Via::Gateway => (user.access_seat, true),
    };
    conn.prepare_cached(
        "UPDATE users SET access_seat = ?2, gateway_seat = ?3, last_successful_login = ?4, updated_at = ?4,
                seat_granted_at = COALESCE(seat_granted_at, ?4) WHERE id = ?1",
    )?
    .execute(params![user.id, access, gateway, now_us])?;
    record_login(conn, &user.id, login, true, None, now)?;
    let after = rules::seats_json(access, gateway);
    if before != after {
        audit(
            conn,
            now,
            Some(account_id),
            actor,
            "seat.grant",
            &user.seat_uid,
            Some(&before),
            Some(&after),
        )?;
    }
    Ok(LoginOutcome {
        user: must_user(conn, account_id, &user.id, now)?,
        refused: None,
    })
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
        return Err(StoreError::Conflict(format!("account {} already exists", new.id)));
    }
    conn.prepare_cached("INSERT INTO accounts (id, name, seat_limit, created_at) VALUES (?1, ?2, ?3, ?4)")?
        .execute(params![new.id, new.name, new.seat_limit, now.unix_micros()])?;
    let created = account(conn, &new.id)?.ok_or_else(|| StoreError::other("account vanished"))?;
    audit(
        conn,
        now,
        Some(&new.id),
        actor,
        "account.create",
        &new.id,
        None,
        Some(&account_json(&created)),
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
            now,
            Some(id),
            actor,
            "account.update",
            id,
            Some(&account_json(&before)),
            Some(&account_json(&after)),
        )?;
    }
    Ok(after)
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
        return Err(StoreError::Conflict(format!("member {email} already exists")));
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
        now,
        None,
        actor,
        "member.create",
        email,
        None,
        Some(&json!({"accounts": accounts})),
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
        now,
        None,
        actor,
        "member.delete",
        &before.email,
        Some(&json!({"accounts": before.accounts})),
        None,
    )?;
    Ok(())
}

pub(super) const TOKEN_COLUMNS: &str = "id, name, value_hash, policies, status, not_before, expires_on, created_at";

pub(super) fn token(conn: &Connection, id: &str) -> StoreResult<Option<TokenRecord>> {
    let found = conn
        .prepare_cached(&format!("SELECT {TOKEN_COLUMNS} FROM tokens WHERE id = ?1"))?
        .query_row([id], super::token_from_row)
        .optional()?;
    found.map(super::with_policies).transpose()
}

pub(super) fn create_token(
    conn: &Connection,
    new: &NewToken,
    actor: &Actor,
    now: Timestamp,
) -> StoreResult<TokenRecord> {
    if token(conn, &new.id)?.is_some() {
        return Err(StoreError::Conflict(format!("token {} already exists", new.id)));
    }
    if conn
        .prepare_cached("SELECT 1 FROM tokens WHERE value_hash = ?1")?
        .exists([new.value_hash.as_bytes()])?
    {
        return Err(StoreError::Conflict("a token with this value already exists".into()));
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
        now,
        None,
        actor,
        "token.create",
        &new.id,
        None,
        Some(&json!({"name": new.name})),
    )?;
    token(conn, &new.id)?.ok_or_else(|| StoreError::other("token vanished"))
}

pub(super) fn tokens(conn: &Connection) -> StoreResult<Vec<TokenRecord>> {
    conn.prepare_cached(&format!("SELECT {TOKEN_COLUMNS} FROM tokens ORDER BY created_at, id"))?
        .query_map([], super::token_from_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?
        .into_iter()
        .map(super::with_policies)
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
        now,
        None,
        actor,
        "token.update",
        id,
        Some(&json!({"status": before.status})),
        Some(&json!({"status": status})),
    )?;
    token(conn, id)?.ok_or_else(|| StoreError::other("token vanished"))
}

pub(super) fn delete_token(conn: &Connection, id: &str, actor: &Actor, now: Timestamp) -> StoreResult<()> {
    let before = token(conn, id)?.ok_or(StoreError::NotFound { positions: vec![] })?;
    conn.prepare_cached("DELETE FROM tokens WHERE id = ?1")?.execute([id])?;
    audit(
        conn,
        now,
        None,
        actor,
        "token.delete",
        id,
        Some(&json!({"name": before.name})),
        None,
    )?;
    Ok(())
}
