//! Export and import on SQLite (see [`crate::export`]). An export reads one snapshot (a read
//! transaction in WAL mode does not block the writer); an import and a restore run in the
//! writer's transaction as a bulk load ([`super::bulk`]).

use rusqlite::Connection;
use tokio::sync::mpsc;

use super::bulk::{Activity, Bulk, Start};
use super::is_empty;
use crate::export::{check_header, writes, ImportSummary, Importing, Record, Row, KINDS};
use crate::{Conflict, StoreError, StoreResult};

/// Sends a query's rows, mapped to records, until the receiver goes away.
fn send_rows(
    conn: &Connection,
    out: &mpsc::Sender<Record>,
    sql: &str,
    map: impl Fn(&rusqlite::Row<'_>) -> StoreResult<Row>,
) -> StoreResult<u64> {
    let mut stmt = conn.prepare(sql)?;
    let mut rows = stmt.query([])?;
    let mut sent = 0;
    while let Some(row) = rows.next()? {
        out.blocking_send(Record::from(map(row)?))
            .map_err(|_| StoreError::other("the export's reader stopped"))?;
        sent += 1;
    }
    Ok(sent)
}

/// A SQLite row as [`Cells`]; lists are JSON arrays.
pub(super) struct SqliteCells<'r, 's>(pub(super) &'r rusqlite::Row<'s>);

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
    out.blocking_send(Record::end(n - 1))
        .map_err(|_| StoreError::other("the export's reader stopped"))?;
    Ok(n + 1)
}

/// Empties the database and loads an export (a snapshot's restore).
pub(super) fn restore(conn: &Connection, records: mpsc::Receiver<Record>) -> StoreResult<ImportSummary> {
    load(conn, records, Start::Emptied)
}

/// Loads an export into an empty database.
pub(super) fn import(conn: &Connection, records: mpsc::Receiver<Record>) -> StoreResult<ImportSummary> {
    load(conn, records, Start::AsIs)
}

/// Loads an export as a bulk load ([`super::bulk`]), into a database empty from `start`.
fn load(conn: &Connection, mut records: mpsc::Receiver<Record>, start: Start) -> StoreResult<ImportSummary> {
    let bulk = Bulk::begin(conn, start)?;
    if !is_empty(conn)? {
        return Err(StoreError::Conflict(Conflict::NotEmpty));
    }
    check_header(records.blocking_recv().as_ref())?;
    let mut importing = Importing::default();
    while let Some(record) = records.blocking_recv() {
        if let Some(row) = importing.next(record)? {
            import_one(conn, row)?;
        }
    }
    let summary = importing.finish()?;
    bulk.finish(conn, Activity::Computed)?;
    Ok(summary)
}

fn import_one(conn: &Connection, row: Row) -> StoreResult<()> {
    for write in writes(row)? {
        super::execute_shared(conn, write.sqlite, &write.params)?;
    }
    Ok(())
}
