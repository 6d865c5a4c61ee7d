//! Export and import on PostgreSQL (see [`crate::export`]). An export reads one snapshot (a
//! REPEATABLE READ, read-only transaction), streaming rows; an import (and a restore, which
//! empties the database first) is one transaction and a bulk load ([`super::bulk`]).

use deadpool_postgres::GenericClient;
use futures::{pin_mut, TryStreamExt};
use tokio::sync::mpsc;

use super::bulk::{self, Activity};
use super::execute;
use super::is_empty;
use crate::export::{check_header, writes, ImportSummary, Importing, Record, Row, User, KINDS};
use crate::{Conflict, StoreError, StoreResult};

async fn send_rows(
    db: &impl GenericClient,
    out: &mpsc::Sender<Record>,
    sql: &str,
    map: impl Fn(&tokio_postgres::Row) -> StoreResult<Row>,
) -> StoreResult<u64> {
    let rows = db.query_raw(sql, std::iter::empty::<i32>()).await?;
    pin_mut!(rows);
    let mut sent = 0;
    while let Some(row) = rows.try_next().await? {
        out.send(Record::from(map(&row)?))
            .await
            .map_err(|_| StoreError::other("the export's reader stopped"))?;
        sent += 1;
    }
    Ok(sent)
}

/// A PostgreSQL row as [`Cells`]; lists are `text[]`.
pub(super) struct PgCells<'r>(pub(super) &'r tokio_postgres::Row);

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
    out.send(Record::end(n - 1))
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
    let load = bulk::begin(&tx, bulk::Keys::Kept).await?;
    let mut importing = Importing::default();
    let mut users = UserBatch::default();
    let mut pending = Vec::new();
    while let Some(record) = records.recv().await {
        match importing.next(record)? {
            Some(Row::User(User {
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
            })) => {
                // What came before a user (its account) goes in first.
                flush(&tx, &mut pending).await?;
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
            Some(row) => {
                // Whatever follows a user may refer to it: the users before it go in first.
                users.write(&tx).await?;
                pending.extend(writes(row)?);
                if pending.len() >= PIPELINE {
                    flush(&tx, &mut pending).await?;
                }
            }
            None => {}
        }
    }
    flush(&tx, &mut pending).await?;
    users.write(&tx).await?;
    let summary = importing.finish()?;
    bulk::finish(&tx, load, Activity::Devices).await?;
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
                                seat_granted_at, last_successful_login, created_at, updated_at, active_at)
             SELECT *, GREATEST(COALESCE(granted, 0), COALESCE(login, 0))
             FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
                         $7::bool[], $8::bool[], $9::bigint[], $10::bigint[], $11::bigint[], $12::bigint[])
                  AS u(id, account_id, email, email_key, name, seat_uid, access_seat, gateway_seat,
                       granted, login, created_at, updated_at)",
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

/// Statements sent at once: every other record kind goes in a row per statement, and the
/// statements are pipelined (sent without waiting for each answer; PostgreSQL runs them in
/// order), so a round trip is paid per batch, not per row (a 100k-event audit log took half
/// a minute row by row).
const PIPELINE: usize = 1000;

/// Runs the statements waiting, in their order, pipelined on the transaction's connection.
async fn flush(db: &impl GenericClient, pending: &mut Vec<crate::export::Write>) -> StoreResult<()> {
    let params: Vec<_> = pending.iter().map(|w| super::bind(&w.params)).collect();
    let statements = pending.iter().zip(&params).map(|(w, p)| execute(db, w.postgres, p));
    futures::future::try_join_all(statements).await?;
    pending.clear();
    Ok(())
}
