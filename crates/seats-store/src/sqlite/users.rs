//! Users: listing, browsing, creating, renaming and removing them.

use async_trait::async_trait;
use rusqlite::types::Value as SqlValue;
use rusqlite::{params, Connection, OptionalExtension};
use seats_types::{formats, Timestamp};

use super::accounts::account_exists;
use super::audit::audit;
use super::{opt_ts, ts, SqliteStore};
use crate::browse::{self, UserBrowse, UserBrowsePage};
use crate::model::*;
use crate::rules::user_json;
use crate::{Conflict, StoreError, StoreResult, UserStore};

/// The columns of a [`UserRecord`]; `?1` must be "now" (for live sessions). The counts read
/// one user's devices and sessions through their `(user_id, ...)` indexes.
pub(super) const USER_COLUMNS: &str = "u.id, u.account_id, u.email, u.name, u.seat_uid, u.access_seat, u.gateway_seat,
    (SELECT COUNT(*) FROM devices d WHERE d.user_id = u.id AND d.revoked_at IS NULL),
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

pub(super) fn user_by_email(
    conn: &Connection,
    account_id: &str,
    email: &str,
    now: Timestamp,
) -> StoreResult<Option<UserRecord>> {
    let sql = format!("SELECT {USER_COLUMNS} FROM users u WHERE u.account_id = ?2 AND u.email_key = ?3");
    Ok(conn
        .prepare_cached(&sql)?
        .query_row(
            params![now.unix_micros(), account_id, formats::email_key(email)],
            user_from_row,
        )
        .optional()?)
}

pub(super) fn must_user(conn: &Connection, account_id: &str, user_id: &str, now: Timestamp) -> StoreResult<UserRecord> {
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
    let mut found = stmt.raw_query();
    let mut rows = Vec::new();
    while let Some(row) = found.next()? {
        rows.push(crate::rows::browse_key(&super::export::SqliteCells(row))?);
    }
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

pub(super) fn insert_user(
    conn: &Connection,
    account_id: &str,
    email: &str,
    name: &str,
    now: Timestamp,
) -> StoreResult<String> {
    let id = uuid::Uuid::new_v4().to_string();
    conn.prepare_cached(
        "INSERT INTO users (id, account_id, email, email_key, name, seat_uid, access_seat, gateway_seat, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, 0, 0, ?7, ?7)",
    )?
    .execute(params![id, account_id, email, formats::email_key(email), name, uuid::Uuid::new_v4().to_string(), now.unix_micros()])?;
    Ok(id)
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
        return Err(StoreError::Conflict(Conflict::UserEmail(email.to_owned())));
    }
    let id = insert_user(conn, account_id, email, name, now)?;
    let user = must_user(conn, account_id, &id, now)?;
    audit(
        conn,
        &AuditEvent::new(now, Some(account_id), actor, AuditAction::UserCreate, &id).after(&user_json(&user)),
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
        &AuditEvent::new(now, Some(account_id), actor, AuditAction::UserUpdate, &after.id)
            .before(&user_json(&before))
            .after(&user_json(&after)),
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
        &AuditEvent::new(now, Some(account_id), actor, AuditAction::UserDelete, &before.id).before(&user_json(&before)),
    )?;
    Ok(())
}

#[async_trait]
impl UserStore for SqliteStore {
    async fn user_by_seat_uid(
        &self,
        account_id: &str,
        seat_uid: &str,
        now: Timestamp,
    ) -> StoreResult<Option<UserRecord>> {
        let (account_id, seat_uid) = (account_id.to_owned(), seat_uid.to_owned());
        self.readers
            .read(move |c| {
                let sql = format!(
                    "SELECT {} FROM users u WHERE u.account_id = ?2 AND u.seat_uid = ?3",
                    USER_COLUMNS
                );
                Ok(c.prepare_cached(&sql)?
                    .query_row(params![now.unix_micros(), account_id, seat_uid], user_from_row)
                    .optional()?)
            })
            .await
    }

    async fn list_users(
        &self,
        account_id: &str,
        filter: UserFilter,
        page: u64,
        per_page: u64,
        now: Timestamp,
    ) -> StoreResult<(Vec<UserRecord>, u64)> {
        let account_id = account_id.to_owned();
        self.readers
            .read(move |c| list_users(c, &account_id, &filter, page, per_page, now))
            .await
    }

    async fn browse_users(
        &self,
        account_id: &str,
        browse: crate::browse::UserBrowse,
        now: Timestamp,
    ) -> StoreResult<crate::browse::UserBrowsePage> {
        let account_id = account_id.to_owned();
        self.readers
            .read(move |c| browse_users(c, &account_id, &browse, now))
            .await
    }

    async fn user(&self, account_id: &str, user_id: &str, now: Timestamp) -> StoreResult<Option<UserRecord>> {
        let (account_id, user_id) = (account_id.to_owned(), user_id.to_owned());
        self.readers
            .read(move |c| user_by_id(c, &account_id, &user_id, now))
            .await
    }

    async fn create_user(
        &self,
        account_id: &str,
        email: &str,
        name: &str,
        actor: Actor,
        now: Timestamp,
    ) -> StoreResult<UserRecord> {
        let (account_id, email, name) = (account_id.to_owned(), email.to_owned(), name.to_owned());
        self.writer
            .write(move |c| create_user(c, &account_id, &email, &name, &actor, now))
            .await
    }

    async fn rename_user(
        &self,
        account_id: &str,
        user_id: &str,
        name: &str,
        actor: Actor,
        now: Timestamp,
    ) -> StoreResult<UserRecord> {
        let (account_id, user_id, name) = (account_id.to_owned(), user_id.to_owned(), name.to_owned());
        self.writer
            .write(move |c| rename_user(c, &account_id, &user_id, &name, &actor, now))
            .await
    }

    async fn delete_user(&self, account_id: &str, user_id: &str, actor: Actor, now: Timestamp) -> StoreResult<()> {
        let (account_id, user_id) = (account_id.to_owned(), user_id.to_owned());
        self.writer
            .write(move |c| delete_user(c, &account_id, &user_id, &actor, now))
            .await
    }
}

#[cfg(test)]
mod tests {
    use rusqlite::StatementStatus;

    use super::*;
    use crate::sqlite::bulk::Start;

    #[test]
    fn lookups_by_email_reuse_their_prepared_statements() {
        // Planned as the store's readers plan.
        let mut conn = Connection::open_in_memory().unwrap();
        super::super::stable_plans(&conn).unwrap();
        super::super::migrate(&mut conn).unwrap();
        let now: Timestamp = "2030-01-01T00:00:00Z".parse().unwrap();
        let account = "0123456789abcdef0123456789abcdef";
        let users: Vec<String> = (0..50)
            .map(|i| format!(r#"{{"email": "user{i}@example.com", "gateway_seat": {}}}"#, i % 2 == 0))
            .collect();
        let seed = format!(
            r#"{{"accounts": [{{"id": "{account}", "name": "x", "seat_limit": 50, "users": [{}]}}]}}"#,
            users.join(",")
        );
        super::super::seed::load(&conn, seed.as_bytes(), now, Start::AsIs).unwrap();
        for i in [3, 4, 17, 3] {
            let filter = UserFilter {
                email: Some(format!("user{i}@example.com")),
                ..UserFilter::default()
            };
            let (found, total) = list_users(&conn, account, &filter, 1, 25, now).unwrap();
            assert_eq!((found.len(), total), (1, 1));
        }
        let query = UserQuery::new(
            account,
            &UserFilter {
                email: Some("x".into()),
                ..UserFilter::default()
            },
            now,
        );
        for sql in [
            query.sql("COUNT(*)", ""),
            query.sql(USER_COLUMNS, "ORDER BY u.created_at, u.id LIMIT ?7 OFFSET ?8"),
        ] {
            let stmt = conn.prepare_cached(&sql).unwrap();
            assert_eq!(stmt.get_status(StatementStatus::RePrepare), 0, "re-prepared: {sql}");
        }
    }
}
