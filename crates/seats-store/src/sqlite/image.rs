//! Database images (see [`crate::DatabaseImage`]): the whole file's pages copied into an
//! in-memory database with SQLite's backup API, and copied back over the database in one
//! step. Putting pages back costs what copying them does, whatever the rows: no row is
//! inserted, no index or search index rebuilt, no trigger run (the maintained figures come
//! back with the pages they were in).

use std::sync::{Arc, Mutex};

use rusqlite::backup::{Backup, StepResult};
use rusqlite::Connection;

use crate::export::{ImportSummary, KINDS};
use crate::{DatabaseImage, StoreError, StoreResult};

/// Copies the database `c` reads (inside the read transaction the caller opened) into memory.
pub(super) fn take(c: &Connection) -> StoreResult<DatabaseImage> {
    let mut copy = Connection::open_in_memory()?;
    copy_all(c, &mut copy)?;
    // What an export would hold: every kind's rows, the header and the end.
    let mut records = 2;
    for kind in &KINDS {
        let n: u64 = c.query_row(&format!("SELECT COUNT(*) FROM ({})", kind.sqlite), [], |r| r.get(0))?;
        records += n;
    }
    Ok(DatabaseImage {
        pages: Arc::new(Mutex::new(copy)),
        records,
    })
}

/// SQLite's `PRAGMA data_version` on `c`: it moves when another connection commits, never for
/// `c`'s own commits, and not inside a transaction.
pub(super) fn data_version(c: &Connection) -> rusqlite::Result<i64> {
    c.query_row("PRAGMA data_version", [], |r| r.get(0))
}

/// An image of the database as `c` last committed it, or `None` if another connection (another
/// process on the same file) committed since `version` was read ([`data_version`], inside
/// `c`'s write transaction, when no other connection could commit).
pub(super) fn take_unchanged(c: &Connection, version: i64) -> StoreResult<Option<DatabaseImage>> {
    c.execute_batch("BEGIN")?;
    let image = take(c).and_then(|image| Ok((image, data_version(c)?)));
    c.execute_batch("COMMIT")?;
    let (image, now) = image?;
    Ok((now == version).then_some(image))
}

/// Puts `pages` back over the database of the write connection `c` (outside any
/// transaction), then, in a transaction of its own, ends every dashboard session and moves
/// the credentials version past where it was, so that every process holding credentials in
/// memory reloads them.
pub(super) fn restore(c: &mut Connection, pages: &Mutex<Connection>, records: u64) -> StoreResult<ImportSummary> {
    let version: i64 = c.query_row("SELECT version FROM credentials_version", [], |r| r.get(0))?;
    {
        let source = pages.lock().unwrap_or_else(|e| e.into_inner());
        copy_all(&source, c)?;
    }
    let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    tx.execute("DELETE FROM dashboard_sessions", [])?;
    tx.execute(
        "UPDATE credentials_version SET version = MAX(version, ?1) + 1",
        [version],
    )?;
    let (accounts, users): (u64, u64) =
        tx.query_row("SELECT COUNT(*), COALESCE(SUM(user_count), 0) FROM accounts", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?;
    tx.commit()?;
    Ok(ImportSummary {
        accounts,
        users,
        records,
    })
}

/// Every page of `from`'s main database into `to`'s, in one step (one write transaction on
/// `to`: readers see the database before or after it).
fn copy_all(from: &Connection, to: &mut Connection) -> StoreResult<()> {
    let backup = Backup::new(from, to)?;
    match backup.step(-1)? {
        StepResult::Done => Ok(()),
        other => Err(StoreError::other(format!(
            "copying the database's pages did not finish: {other:?}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_image_after_another_connections_commit_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("i.db");
        // Our schema (an image counts the rows of every export kind), then two connections.
        drop(crate::sqlite::SqliteStore::open(&path, crate::Durability::Full).unwrap());
        let c = Connection::open(&path).unwrap();
        let other = Connection::open(&path).unwrap();
        c.execute_batch("CREATE TABLE t (v INTEGER)").unwrap();
        let write = |v: i64| {
            c.execute_batch("BEGIN IMMEDIATE").unwrap();
            c.execute("INSERT INTO t (v) VALUES (?1)", [v]).unwrap();
            let version = data_version(&c).unwrap();
            c.execute_batch("COMMIT").unwrap();
            version
        };
        let version = write(1);
        assert!(
            take_unchanged(&c, version).unwrap().is_some(),
            "nothing but its own commits"
        );
        let version = write(2);
        other.execute("INSERT INTO t (v) VALUES (3)", []).unwrap();
        assert!(
            take_unchanged(&c, version).unwrap().is_none(),
            "another connection committed since"
        );
    }
}
