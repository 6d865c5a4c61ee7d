//! Export and import on SQLite (see [`crate::export`]). An export reads one snapshot (a read
//! transaction in WAL mode does not block the writer); an import runs in the writer's
//! transaction, with the triggers maintaining every derived figure as rows arrive.

use rusqlite::{params, Connection};
use tokio::sync::mpsc;

use super::{is_empty, wipe};
use crate::export::{check_header, hash_from_hex, ImportSummary, Importing, Record};
use crate::{Conflict, StoreError, StoreResult};

/// Sends a query's rows, mapped to records, until the receiver goes away.
fn send_rows(
    conn: &Connection,
    out: &mpsc::Sender<Record>,
    sql: &str,
    map: impl Fn(&rusqlite::Row<'_>) -> rusqlite::Result<Record>,
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
    n += send_rows(
        conn,
        out,
        "SELECT id, name, seat_limit, organization, organization_created_at, organization_updated_at, created_at
         FROM accounts ORDER BY created_at, id",
        |r| {
            Ok(Record::Account {
                id: r.get(0)?,
                name: r.get(1)?,
                seat_limit: r.get(2)?,
                organization: r.get(3)?,
                organization_created_at: r.get(4)?,
                organization_updated_at: r.get(5)?,
                created_at: r.get(6)?,
            })
        },
    )?;
    n += send_rows(
        conn,
        out,
        "SELECT id, account_id, email, name, seat_uid, access_seat, gateway_seat, seat_granted_at,
                last_successful_login, created_at, updated_at
         FROM users ORDER BY account_id, created_at, id",
        |r| {
            Ok(Record::User {
                id: r.get(0)?,
                account_id: r.get(1)?,
                email: r.get(2)?,
                name: r.get(3)?,
                seat_uid: r.get(4)?,
                access_seat: r.get(5)?,
                gateway_seat: r.get(6)?,
                seat_granted_at: r.get(7)?,
                last_successful_login: r.get(8)?,
                created_at: r.get(9)?,
                updated_at: r.get(10)?,
            })
        },
    )?;
    n += send_rows(
        conn,
        out,
        "SELECT user_id, device_id, registered_at, last_seen_at FROM devices ORDER BY user_id, device_id",
        |r| {
            Ok(Record::Device {
                user_id: r.get(0)?,
                device_id: r.get(1)?,
                registered_at: r.get(2)?,
                last_seen_at: r.get(3)?,
            })
        },
    )?;
    n += send_rows(
        conn,
        out,
        "SELECT id, user_id, created_at, expires_at FROM sessions ORDER BY id",
        |r| {
            Ok(Record::Session {
                id: r.get(0)?,
                user_id: r.get(1)?,
                created_at: r.get(2)?,
                expires_at: r.get(3)?,
            })
        },
    )?;
    n += send_rows(
        conn,
        out,
        "SELECT user_id, at, via, device_id, succeeded, reason FROM logins ORDER BY id",
        |r| {
            Ok(Record::Login {
                user_id: r.get(0)?,
                at: r.get(1)?,
                via: r.get(2)?,
                device_id: r.get(3)?,
                succeeded: r.get(4)?,
                reason: r.get(5)?,
            })
        },
    )?;
    n += send_rows(
        conn,
        out,
        "SELECT m.email, m.key_hash, m.created_at,
                COALESCE((SELECT json_group_array(account_id) FROM
                          (SELECT account_id FROM member_accounts WHERE member_email_key = m.email_key
                           ORDER BY account_id)), '[]')
         FROM members m ORDER BY m.email_key",
        |r| {
            let hash: Vec<u8> = r.get(1)?;
            let accounts: String = r.get(3)?;
            Ok(Record::Member {
                email: r.get(0)?,
                key_hash: hex::encode(hash),
                created_at: r.get(2)?,
                accounts: serde_json::from_str(&accounts).unwrap_or_default(),
            })
        },
    )?;
    n += send_rows(
        conn,
        out,
        "SELECT id, name, value_hash, policies, status, not_before, expires_on, created_at, modified_at
         FROM tokens ORDER BY id",
        |r| {
            let hash: Vec<u8> = r.get(2)?;
            Ok(Record::Token {
                id: r.get(0)?,
                name: r.get(1)?,
                value_hash: hex::encode(hash),
                policies: r.get(3)?,
                status: r.get(4)?,
                not_before: r.get(5)?,
                expires_on: r.get(6)?,
                created_at: r.get(7)?,
                modified_at: r.get(8)?,
            })
        },
    )?;
    n += send_rows(
        conn,
        out,
        "SELECT id, account_id, name, type, config, scim_config, scim_secret_hash, created_at, updated_at
         FROM identity_providers ORDER BY created_at, id",
        |r| {
            let hash: Option<Vec<u8>> = r.get(6)?;
            Ok(Record::IdentityProvider {
                id: r.get(0)?,
                account_id: r.get(1)?,
                name: r.get(2)?,
                kind: r.get(3)?,
                config: r.get(4)?,
                scim_config: r.get(5)?,
                scim_secret_hash: hash.map(hex::encode),
                created_at: r.get(7)?,
                updated_at: r.get(8)?,
            })
        },
    )?;
    n += send_rows(
        conn,
        out,
        "SELECT id, provider_id, user_id, user_name_key, external_id, email_key, display_name, active, resource,
                version, created_at, updated_at
         FROM scim_users ORDER BY seq",
        |r| {
            Ok(Record::ScimUser {
                id: r.get(0)?,
                provider_id: r.get(1)?,
                user_id: r.get(2)?,
                user_name_key: r.get(3)?,
                external_id: r.get(4)?,
                email_key: r.get(5)?,
                display_name: r.get(6)?,
                active: r.get(7)?,
                resource: r.get(8)?,
                version: r.get(9)?,
                created_at: r.get(10)?,
                updated_at: r.get(11)?,
            })
        },
    )?;
    n += send_rows(
        conn,
        out,
        "SELECT g.id, g.provider_id, g.display_name, g.external_id, g.resource, g.version, g.created_at, g.updated_at,
                (SELECT json_group_array(user_id) FROM (SELECT user_id FROM scim_group_members m
                                                        WHERE m.group_id = g.id ORDER BY user_id))
         FROM scim_groups g ORDER BY g.seq",
        |r| {
            let members: String = r.get(8)?;
            Ok(Record::ScimGroup {
                id: r.get(0)?,
                provider_id: r.get(1)?,
                display_name: r.get(2)?,
                external_id: r.get(3)?,
                resource: r.get(4)?,
                version: r.get(5)?,
                created_at: r.get(6)?,
                updated_at: r.get(7)?,
                members: serde_json::from_str(&members)
                    .map_err(|e| rusqlite::Error::FromSqlConversionFailure(8, rusqlite::types::Type::Text, e.into()))?,
            })
        },
    )?;
    n += send_rows(
        conn,
        out,
        "SELECT seq, at, account_id, actor_kind, actor_id, action, subject, before, after
         FROM audit_events ORDER BY seq",
        |r| {
            Ok(Record::Audit {
                seq: r.get(0)?,
                at: r.get(1)?,
                account_id: r.get(2)?,
                actor_kind: r.get(3)?,
                actor_id: r.get(4)?,
                action: r.get(5)?,
                subject: r.get(6)?,
                before: r.get(7)?,
                after: r.get(8)?,
            })
        },
    )?;
    n += send_rows(conn, out, "SELECT next_due FROM sweep_schedule WHERE id = 1", |r| {
        Ok(Record::SweepSchedule { next_due: r.get(0)? })
    })?;
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
