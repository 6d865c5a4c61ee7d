//! Export and import on PostgreSQL (see [`crate::export`]). An export reads one snapshot (a
//! REPEATABLE READ, read-only transaction), streaming rows; an import is one transaction, with
//! the triggers maintaining every derived figure as rows arrive.

use deadpool_postgres::GenericClient;
use futures::{pin_mut, TryStreamExt};
use tokio::sync::mpsc;
use tokio_postgres::Row;

use super::execute;
use super::is_empty;
use crate::export::{check_header, hash_from_hex, ImportSummary, Importing, Record, KINDS};
use crate::{Conflict, StoreError, StoreResult};

async fn send_rows(
    db: &impl GenericClient,
    out: &mpsc::Sender<Record>,
    sql: &str,
    map: impl Fn(&Row) -> StoreResult<Record>,
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

/// A PostgreSQL row as [`Cells`]; lists are `text[]`.
struct PgCells<'r>(&'r Row);

crate::export::impl_cells!(PgCells<'_>, try_get, |row, i| Ok(row.try_get(i)?));

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
    for kind in &KINDS {
        n += send_rows(db, &out, kind.postgres, |row| (kind.read)(&PgCells(row))).await?;
    }
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
