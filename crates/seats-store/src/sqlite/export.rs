//! Export and import on SQLite (see [`crate::export`]). An export reads one snapshot (a read
//! transaction in WAL mode does not block the writer); an import runs in the writer's
//! transaction, with the triggers maintaining every derived figure as rows arrive.

use rusqlite::{params, Connection};
use tokio::sync::mpsc;

use super::{is_empty, wipe};
use crate::export::{check_header, hash_from_hex, ImportSummary, Importing, Record, KINDS};
use crate::{Conflict, StoreError, StoreResult};

/// Sends a query's rows, mapped to records, until the receiver goes away.
fn send_rows(
    conn: &Connection,
    out: &mpsc::Sender<Record>,
    sql: &str,
    map: impl Fn(&rusqlite::Row<'_>) -> StoreResult<Record>,
) -> StoreResult<u64> {
    let mut stmt = conn.prepare(sql)?;
    let mut rows = stmt.query([])?;
    let mut sent = 0;
    while let Some(row) = rows.next()? {
        out.blocking_send(map(row)?)
            .map_err(|_| StoreError::other("the export's reader stopped"))?;
        sent += 1;
    }
    Ok(sent)
}

/// A SQLite row as [`Cells`]; lists are JSON arrays.
struct SqliteCells<'r, 's>(&'r rusqlite::Row<'s>);

crate::export::impl_cells!(SqliteCells<'_, '_>, get, |row, i| {
    let text: String = row.get(i)?;
    serde_json::from_str(&text).map_err(StoreError::other)
});

pub(super) fn export(conn: &Connection, out: mpsc::Sender<Record>) -> StoreResult<u64> {
    conn.execute_batch("BEGIN")?;
    let result = export_all(conn, &out);
    conn.execute_batch("COMMIT")?;
    result
}

fn export_all(conn: &Connection, out: &mpsc::Sender<Record>) -> StoreResult<u64> {
    out.blocking_send(Record::header())
        .map_err(|_| StoreError::other("the export's reader stopped"))?;
    let mut n = 1;
    for kind in &KINDS {
        n += send_rows(conn, out, kind.sqlite, |row| (kind.read)(&SqliteCells(row)))?;
    }
    out.blocking_send(Record::End { records: n - 1 })
        .map_err(|_| StoreError::other("the export's reader stopped"))?;
    Ok(n + 1)
}

/// Empties the database and loads an export the bulk way: the indexes and triggers of users,
/// devices and sessions are set aside while rows go in and out, then created again, and
/// what they maintain (figures, activity, the search index) is computed once.
pub(super) fn restore(conn: &Connection, records: mpsc::Receiver<Record>) -> StoreResult<ImportSummary> {
    let set_aside = super::seed::set_aside(conn)?;
    conn.execute_batch("INSERT INTO users_search (users_search) VALUES ('delete-all');")?;
    wipe(conn)?;
    let summary = import(conn, records)?;
    for (_, _, sql) in set_aside.iter().filter(|(k, ..)| k == "index") {
        conn.execute_batch(sql)?;
    }
    conn.execute_batch(
        "UPDATE users SET active_at = MAX(
             COALESCE(last_successful_login, 0), COALESCE(seat_granted_at, 0),
             COALESCE((SELECT MAX(d.last_seen_at) FROM devices d WHERE d.user_id = users.id), 0));
         UPDATE accounts SET
             user_count   = (SELECT COUNT(*) FROM users u WHERE u.account_id = accounts.id),
             seats_in_use = (SELECT COUNT(*) FROM users u WHERE u.account_id = accounts.id
                                                        AND (u.access_seat = 1 OR u.gateway_seat = 1));
         INSERT INTO users_search (users_search) VALUES ('rebuild');",
    )?;
    for (_, _, sql) in set_aside.iter().filter(|(k, ..)| k == "trigger") {
        conn.execute_batch(sql)?;
    }
    Ok(summary)
}

pub(super) fn import(conn: &Connection, mut records: mpsc::Receiver<Record>) -> StoreResult<ImportSummary> {
    if !is_empty(conn)? {
        return Err(StoreError::Conflict(Conflict::NotEmpty));
    }
    let first = records.blocking_recv();
    check_header(first.as_ref())?;
    let mut importing = Importing::default();
    while let Some(record) = records.blocking_recv() {
        if let Some(record) = importing.next(record)? {
            import_one(conn, record)?;
        }
    }
    importing.finish()
}

fn import_one(conn: &Connection, record: Record) -> StoreResult<()> {
    match record {
        Record::Header { .. } | Record::End { .. } => unreachable!("taken by Importing"),
        Record::Account {
            id,
            name,
            seat_limit,
            organization,
            organization_created_at,
            organization_updated_at,
            created_at,
        } => {
            conn.prepare_cached(
                "INSERT INTO accounts (id, name, seat_limit, organization, organization_created_at,
                                       organization_updated_at, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?
            .execute(params![
                id,
                name,
                seat_limit,
                organization,
                organization_created_at,
                organization_updated_at,
                created_at
            ])?;
        }
        Record::User {
            id,
            account_id,
            email,
            name,
            seat_uid,
            access_seat,
            gateway_seat,
            seat_granted_at,
            last_successful_login,
            created_at,
            updated_at,
        } => {
            conn.prepare_cached(
                "INSERT INTO users (id, account_id, email, email_key, name, seat_uid, access_seat, gateway_seat,
                                    seat_granted_at, last_successful_login, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
            )?
            .execute(params![
                id,
                account_id,
                email,
                seats_types::formats::email_key(&email),
                name,
                seat_uid,
                access_seat,
                gateway_seat,
                seat_granted_at,
                last_successful_login,
                created_at,
                updated_at
            ])?;
        }
        Record::Device {
            user_id,
            device_id,
            registered_at,
            last_seen_at,
        } => {
            conn.prepare_cached(
                "INSERT INTO devices (user_id, device_id, registered_at, last_seen_at) VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![user_id, device_id, registered_at, last_seen_at])?;
        }
        Record::Session {
            id,
            user_id,
            created_at,
            expires_at,
        } => {
            conn.prepare_cached("INSERT INTO sessions (id, user_id, created_at, expires_at) VALUES (?1, ?2, ?3, ?4)")?
                .execute(params![id, user_id, created_at, expires_at])?;
        }
        Record::Login {
            user_id,
            at,
            via,
            device_id,
            succeeded,
            reason,
        } => {
            conn.prepare_cached(
                "INSERT INTO logins (user_id, at, via, device_id, succeeded, reason) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?
            .execute(params![user_id, at, via, device_id, succeeded, reason])?;
        }
        Record::Member {
            email,
            key_hash,
            created_at,
            accounts,
        } => {
            let key = seats_types::formats::email_key(&email);
            conn.prepare_cached(
                "INSERT INTO members (email_key, email, key_hash, created_at) VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![key, email, hash_from_hex(&key_hash)?, created_at])?;
            for account in accounts {
                conn.prepare_cached("INSERT INTO member_accounts (member_email_key, account_id) VALUES (?1, ?2)")?
                    .execute(params![key, account])?;
            }
        }
        Record::Token {
            id,
            name,
            value_hash,
            policies,
            status,
            not_before,
            expires_on,
            created_at,
            modified_at,
        } => {
            conn.prepare_cached(
                "INSERT INTO tokens (id, name, value_hash, policies, status, not_before, expires_on, created_at, modified_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )?
            .execute(params![
                id,
                name,
                hash_from_hex(&value_hash)?,
                policies,
                status,
                not_before,
                expires_on,
                created_at,
                modified_at
            ])?;
        }
        Record::Audit {
            seq,
            at,
            account_id,
            actor_kind,
            actor_id,
            action,
            subject,
            before,
            after,
        } => {
            conn.prepare_cached(
                "INSERT INTO audit_events (seq, at, account_id, actor_kind, actor_id, action, subject, before, after)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )?
            .execute(params![
                seq, at, account_id, actor_kind, actor_id, action, subject, before, after
            ])?;
        }
        Record::IdentityProvider {
            id,
            account_id,
            name,
            kind,
            config,
            scim_config,
            scim_secret_hash,
            created_at,
            updated_at,
        } => {
            let hash = scim_secret_hash.as_deref().map(hash_from_hex).transpose()?;
            conn.prepare_cached(
                "INSERT INTO identity_providers (id, account_id, name, type, config, scim_config, scim_secret_hash,
                                                 created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )?
            .execute(params![
                id,
                account_id,
                name,
                kind,
                config,
                scim_config,
                hash,
                created_at,
                updated_at
            ])?;
        }
        Record::ScimUser {
            id,
            provider_id,
            user_id,
            user_name_key,
            external_id,
            email_key,
            display_name,
            active,
            resource,
            version,
            created_at,
            updated_at,
        } => {
            conn.prepare_cached(
                "INSERT INTO scim_users (id, provider_id, user_id, user_name_key, external_id, email_key, display_name,
                                         active, resource, version, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
            )?
            .execute(params![
                id,
                provider_id,
                user_id,
                user_name_key,
                external_id,
                email_key,
                display_name,
                active,
                resource,
                version,
                created_at,
                updated_at
            ])?;
        }
        Record::ScimGroup {
            id,
            provider_id,
            display_name,
            external_id,
            resource,
            version,
            created_at,
            updated_at,
            members,
        } => {
            conn.prepare_cached(
                "INSERT INTO scim_groups (id, provider_id, display_name, external_id, resource, version, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?
            .execute(params![id, provider_id, display_name, external_id, resource, version, created_at, updated_at])?;
            for member in members {
                conn.prepare_cached("INSERT INTO scim_group_members (group_id, user_id) VALUES (?1, ?2)")?
                    .execute(params![id, member])?;
            }
        }
        Record::SweepSchedule { next_due } => {
            conn.prepare_cached("UPDATE sweep_schedule SET next_due = ?1 WHERE id = 1")?
                .execute([next_due])?;
        }
    }
    Ok(())
}
