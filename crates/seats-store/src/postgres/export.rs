//! Export and import on PostgreSQL (see [`crate::export`]). An export reads one snapshot (a
//! REPEATABLE READ, read-only transaction), streaming rows; an import is one transaction, with
//! the triggers maintaining every derived figure as rows arrive.

use deadpool_postgres::GenericClient;
use futures::{pin_mut, TryStreamExt};
use tokio::sync::mpsc;
use tokio_postgres::Row;

use super::execute;
use super::is_empty;
use crate::export::{check_header, hash_from_hex, ImportSummary, Importing, Record};
use crate::{Conflict, StoreError, StoreResult};

async fn send_rows(
    db: &impl GenericClient,
    out: &mpsc::Sender<Record>,
    sql: &str,
    map: impl Fn(&Row) -> Result<Record, tokio_postgres::Error>,
) -> StoreResult<u64> {
    let rows = db.query_raw(sql, std::iter::empty::<i32>()).await?;
    pin_mut!(rows);
    let mut sent = 0;
    while let Some(row) = rows.try_next().await? {
        out.send(map(&row)?)
            .await
            .map_err(|_| StoreError::other("the export's reader stopped"))?;
        sent += 1;
    }
    Ok(sent)
}

pub(super) async fn export(client: &mut deadpool_postgres::Object, out: mpsc::Sender<Record>) -> StoreResult<u64> {
    let tx = client
        .build_transaction()
        .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .await?;
    tx.batch_execute(super::UNBOUNDED).await?;
    let db = &tx;
    out.send(Record::header())
        .await
        .map_err(|_| StoreError::other("the export's reader stopped"))?;
    let mut n = 1;
    n += send_rows(
        db,
        &out,
        "SELECT id, name, seat_limit, organization, organization_created_at, organization_updated_at, created_at
         FROM accounts ORDER BY created_at, id",
        |r| {
            Ok(Record::Account {
                id: r.try_get(0)?,
                name: r.try_get(1)?,
                seat_limit: r.try_get::<_, i64>(2)? as u64,
                organization: r.try_get(3)?,
                organization_created_at: r.try_get(4)?,
                organization_updated_at: r.try_get(5)?,
                created_at: r.try_get(6)?,
            })
        },
    )
    .await?;
    n += send_rows(
        db,
        &out,
        "SELECT id, account_id, email, name, seat_uid, access_seat, gateway_seat, seat_granted_at,
                last_successful_login, created_at, updated_at
         FROM users ORDER BY account_id, created_at, id",
        |r| {
            Ok(Record::User {
                id: r.try_get(0)?,
                account_id: r.try_get(1)?,
                email: r.try_get(2)?,
                name: r.try_get(3)?,
                seat_uid: r.try_get(4)?,
                access_seat: r.try_get(5)?,
                gateway_seat: r.try_get(6)?,
                seat_granted_at: r.try_get(7)?,
                last_successful_login: r.try_get(8)?,
                created_at: r.try_get(9)?,
                updated_at: r.try_get(10)?,
            })
        },
    )
    .await?;
    n += send_rows(
        db,
        &out,
        "SELECT user_id, device_id, registered_at, last_seen_at FROM devices
         ORDER BY user_id, device_id COLLATE \"C\"",
        |r| {
            Ok(Record::Device {
                user_id: r.try_get(0)?,
                device_id: r.try_get(1)?,
                registered_at: r.try_get(2)?,
                last_seen_at: r.try_get(3)?,
            })
        },
    )
    .await?;
    n += send_rows(
        db,
        &out,
        "SELECT id, user_id, created_at, expires_at FROM sessions ORDER BY id",
        |r| {
            Ok(Record::Session {
                id: r.try_get(0)?,
                user_id: r.try_get(1)?,
                created_at: r.try_get(2)?,
                expires_at: r.try_get(3)?,
            })
        },
    )
    .await?;
    n += send_rows(
        db,
        &out,
        "SELECT user_id, at, via, device_id, succeeded, reason FROM logins ORDER BY id",
        |r| {
            Ok(Record::Login {
                user_id: r.try_get(0)?,
                at: r.try_get(1)?,
                via: r.try_get(2)?,
                device_id: r.try_get(3)?,
                succeeded: r.try_get(4)?,
                reason: r.try_get(5)?,
            })
        },
    )
    .await?;
    n += send_rows(
        db,
        &out,
        "SELECT m.email, m.key_hash, m.created_at,
                COALESCE(array_agg(ma.account_id ORDER BY ma.account_id) FILTER (WHERE ma.account_id IS NOT NULL), '{}')
         FROM members m LEFT JOIN member_accounts ma ON ma.member_email_key = m.email_key
         GROUP BY m.email_key ORDER BY m.email_key",
        |r| {
            Ok(Record::Member {
                email: r.try_get(0)?,
                key_hash: hex::encode(r.try_get::<_, Vec<u8>>(1)?),
                created_at: r.try_get(2)?,
                accounts: r.try_get(3)?,
            })
        },
    )
    .await?;
    n += send_rows(
        db,
        &out,
        "SELECT id, name, value_hash, policies, status, not_before, expires_on, created_at, modified_at
         FROM tokens ORDER BY id",
        |r| {
            Ok(Record::Token {
                id: r.try_get(0)?,
                name: r.try_get(1)?,
                value_hash: hex::encode(r.try_get::<_, Vec<u8>>(2)?),
                policies: r.try_get(3)?,
                status: r.try_get(4)?,
                not_before: r.try_get(5)?,
                expires_on: r.try_get(6)?,
                created_at: r.try_get(7)?,
                modified_at: r.try_get(8)?,
            })
        },
    )
    .await?;
    n += send_rows(
        db,
        &out,
        "SELECT id, account_id, name, type, config, scim_config, scim_secret_hash, created_at, updated_at
         FROM identity_providers ORDER BY created_at, id",
        |r| {
            Ok(Record::IdentityProvider {
                id: r.try_get(0)?,
                account_id: r.try_get(1)?,
                name: r.try_get(2)?,
                kind: r.try_get(3)?,
                config: r.try_get(4)?,
                scim_config: r.try_get(5)?,
                scim_secret_hash: r.try_get::<_, Option<Vec<u8>>>(6)?.map(hex::encode),
                created_at: r.try_get(7)?,
                updated_at: r.try_get(8)?,
            })
        },
    )
    .await?;
    n += send_rows(
        db,
        &out,
        "SELECT id, provider_id, user_id, user_name_key, external_id, email_key, display_name, active, resource,
                version, created_at, updated_at
         FROM scim_users ORDER BY seq",
        |r| {
            Ok(Record::ScimUser {
                id: r.try_get(0)?,
                provider_id: r.try_get(1)?,
                user_id: r.try_get(2)?,
                user_name_key: r.try_get(3)?,
                external_id: r.try_get(4)?,
                email_key: r.try_get(5)?,
                display_name: r.try_get(6)?,
                active: r.try_get(7)?,
                resource: r.try_get(8)?,
                version: r.try_get(9)?,
                created_at: r.try_get(10)?,
                updated_at: r.try_get(11)?,
            })
        },
    )
    .await?;
    n += send_rows(
        db,
        &out,
        "SELECT g.id, g.provider_id, g.display_name, g.external_id, g.resource, g.version, g.created_at, g.updated_at,
                ARRAY(SELECT m.user_id FROM scim_group_members m WHERE m.group_id = g.id ORDER BY m.user_id)
         FROM scim_groups g ORDER BY g.seq",
        |r| {
            Ok(Record::ScimGroup {
                id: r.try_get(0)?,
                provider_id: r.try_get(1)?,
                display_name: r.try_get(2)?,
                external_id: r.try_get(3)?,
                resource: r.try_get(4)?,
                version: r.try_get(5)?,
                created_at: r.try_get(6)?,
                updated_at: r.try_get(7)?,
                members: r.try_get(8)?,
            })
        },
    )
    .await?;
    n += send_rows(
        db,
        &out,
        "SELECT seq, at, account_id, actor_kind, actor_id, action, subject, before, after
         FROM audit_events ORDER BY seq",
        |r| {
            Ok(Record::Audit {
                seq: r.try_get(0)?,
                at: r.try_get(1)?,
                account_id: r.try_get(2)?,
                actor_kind: r.try_get(3)?,
                actor_id: r.try_get(4)?,
                action: r.try_get(5)?,
                subject: r.try_get(6)?,
                before: r.try_get(7)?,
                after: r.try_get(8)?,
            })
        },
    )
    .await?;
    n += send_rows(db, &out, "SELECT next_due FROM sweep_schedule WHERE id = 1", |r| {
        Ok(Record::SweepSchedule {
            next_due: r.try_get(0)?,
        })
    })
    .await?;
    tx.commit().await?;
    out.send(Record::End { records: n - 1 })
        .await
        .map_err(|_| StoreError::other("the export's reader stopped"))?;
    Ok(n + 1)
}

/// Loads an export into an empty database; with `wipe`, empties it first in the same
/// transaction (a snapshot's restore).
pub(super) async fn import(
    client: &mut deadpool_postgres::Object,
    mut records: mpsc::Receiver<Record>,
    wipe: bool,
) -> StoreResult<ImportSummary> {
    let tx = client.transaction().await?;
    tx.batch_execute(super::UNBOUNDED).await?;
    if wipe {
        super::wipe(&tx).await?;
    }
    tx.batch_execute("LOCK TABLE accounts IN EXCLUSIVE MODE").await?;
    if !is_empty(&tx).await? {
        return Err(StoreError::Conflict(Conflict::NotEmpty));
    }
    check_header(records.recv().await.as_ref())?;
    let mut importing = Importing::default();
    let mut users = UserBatch::default();
    while let Some(record) = records.recv().await {
        match importing.next(record)? {
            Some(Record::User {
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
            }) => {
                users.email_key.push(seats_types::formats::email_key(&email));
                users.id.push(id);
                users.account_id.push(account_id);
                users.email.push(email);
                users.name.push(name);
                users.seat_uid.push(seat_uid);
                users.access_seat.push(access_seat);
                users.gateway_seat.push(gateway_seat);
                users.seat_granted_at.push(seat_granted_at);
                users.last_successful_login.push(last_successful_login);
                users.created_at.push(created_at);
                users.updated_at.push(updated_at);
                if users.id.len() >= USER_BATCH {
                    users.write(&tx).await?;
                }
            }
            Some(record) => {
                // Whatever follows a user may refer to it: the users before it go in first.
                users.write(&tx).await?;
                import_one(&tx, record).await?;
            }
            None => {}
        }
    }
    users.write(&tx).await?;
    let summary = importing.finish()?;
    // Audit events kept their numbers: the sequence goes on after the last.
    tx.batch_execute(
        "SELECT setval(pg_get_serial_sequence('audit_events', 'seq'), COALESCE(MAX(seq), 0) + 1, false)
         FROM audit_events",
    )
    .await?;
    tx.commit().await?;
    Ok(summary)
}

/// Users imported per statement: one round trip and one plan for many rows (row by row,
/// a 1M-user import took the better part of an hour).
const USER_BATCH: usize = 1000;

/// Users waiting to be inserted, column by column.
#[derive(Default)]
struct UserBatch {
    id: Vec<String>,
    account_id: Vec<String>,
    email: Vec<String>,
    email_key: Vec<String>,
    name: Vec<String>,
    seat_uid: Vec<String>,
    access_seat: Vec<bool>,
    gateway_seat: Vec<bool>,
    seat_granted_at: Vec<Option<i64>>,
    last_successful_login: Vec<Option<i64>>,
    created_at: Vec<i64>,
    updated_at: Vec<i64>,
}

impl UserBatch {
    /// Inserts the users waiting, in their order, and empties the batch.
    async fn write(&mut self, db: &impl GenericClient) -> StoreResult<()> {
        if self.id.is_empty() {
            return Ok(());
        }
        execute(
            db,
            "INSERT INTO users (id, account_id, email, email_key, name, seat_uid, access_seat, gateway_seat,
                                seat_granted_at, last_successful_login, created_at, updated_at)
             SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
                                  $7::bool[], $8::bool[], $9::bigint[], $10::bigint[], $11::bigint[], $12::bigint[])",
            &[
                &self.id,
                &self.account_id,
                &self.email,
                &self.email_key,
                &self.name,
                &self.seat_uid,
                &self.access_seat,
                &self.gateway_seat,
                &self.seat_granted_at,
                &self.last_successful_login,
                &self.created_at,
                &self.updated_at,
            ],
        )
        .await?;
        *self = UserBatch::default();
        Ok(())
    }
}

async fn import_one(db: &impl GenericClient, record: Record) -> StoreResult<()> {
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
            execute(
                db,
                "INSERT INTO accounts (id, name, seat_limit, organization, organization_created_at,
                                       organization_updated_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                &[
                    &id,
                    &name,
                    &super::big(seat_limit)?,
                    &organization,
                    &organization_created_at,
                    &organization_updated_at,
                    &created_at,
                ],
            )
            .await?;
        }
        Record::User { .. } => unreachable!("batched by import"),
        Record::Device {
            user_id,
            device_id,
            registered_at,
            last_seen_at,
        } => {
            execute(
                db,
                "INSERT INTO devices (user_id, device_id, registered_at, last_seen_at) VALUES ($1, $2, $3, $4)",
                &[&user_id, &device_id, &registered_at, &last_seen_at],
            )
            .await?;
        }
        Record::Session {
            id,
            user_id,
            created_at,
            expires_at,
        } => {
            execute(
                db,
                "INSERT INTO sessions (id, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)",
                &[&id, &user_id, &created_at, &expires_at],
            )
            .await?;
        }
        Record::Login {
            user_id,
            at,
            via,
            device_id,
            succeeded,
            reason,
        } => {
            execute(
                db,
                "INSERT INTO logins (user_id, at, via, device_id, succeeded, reason) VALUES ($1, $2, $3, $4, $5, $6)",
                &[&user_id, &at, &via, &device_id, &succeeded, &reason],
            )
            .await?;
        }
        Record::Member {
            email,
            key_hash,
            created_at,
            accounts,
        } => {
            let key = seats_types::formats::email_key(&email);
            execute(
                db,
                "INSERT INTO members (email_key, email, key_hash, created_at) VALUES ($1, $2, $3, $4)",
                &[&key, &email, &hash_from_hex(&key_hash)?, &created_at],
            )
            .await?;
            execute(
                db,
                "INSERT INTO member_accounts (member_email_key, account_id) SELECT $1, a FROM UNNEST($2::text[]) AS a",
                &[&key, &accounts],
            )
            .await?;
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
            execute(
                db,
                "INSERT INTO tokens (id, name, value_hash, policies, status, not_before, expires_on, created_at, modified_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                &[
                    &id,
                    &name,
                    &hash_from_hex(&value_hash)?,
                    &policies,
                    &status,
                    &not_before,
                    &expires_on,
                    &created_at,
                    &modified_at,
                ],
            )
            .await?;
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
            execute(
                db,
                "INSERT INTO identity_providers (id, account_id, name, type, config, scim_config, scim_secret_hash,
                                                 created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                &[
                    &id,
                    &account_id,
                    &name,
                    &kind,
                    &config,
                    &scim_config,
                    &hash,
                    &created_at,
                    &updated_at,
                ],
            )
            .await?;
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
            execute(
                db,
                "INSERT INTO scim_users (id, provider_id, user_id, user_name_key, external_id, email_key, display_name,
                                         active, resource, version, created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
                &[
                    &id,
                    &provider_id,
                    &user_id,
                    &user_name_key,
                    &external_id,
                    &email_key,
                    &display_name,
                    &active,
                    &resource,
                    &version,
                    &created_at,
                    &updated_at,
                ],
            )
            .await?;
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
            execute(
                db,
                "INSERT INTO scim_groups (id, provider_id, display_name, external_id, resource, version, created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                &[&id, &provider_id, &display_name, &external_id, &resource, &version, &created_at, &updated_at],
            )
            .await?;
            execute(
                db,
                "INSERT INTO scim_group_members (group_id, user_id) SELECT $1, m FROM UNNEST($2::text[]) AS m",
                &[&id, &members],
            )
            .await?;
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
            execute(
                db,
                "INSERT INTO audit_events (seq, at, account_id, actor_kind, actor_id, action, subject, before, after)
                 OVERRIDING SYSTEM VALUE VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                &[
                    &seq,
                    &at,
                    &account_id,
                    &actor_kind,
                    &actor_id,
                    &action,
                    &subject,
                    &before,
                    &after,
                ],
            )
            .await?;
        }
        Record::SweepSchedule { next_due } => {
            execute(db, "UPDATE sweep_schedule SET next_due = $1 WHERE id = 1", &[&next_due]).await?;
        }
    }
    Ok(())
}
