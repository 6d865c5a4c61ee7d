//! Database images (see [`crate::DatabaseImage`]): the whole file's pages copied into an
//! in-memory database with SQLite's backup API (a snapshot), or, in the background, into a
//! file of their own through `sqlite_dbpage` (the state a seed left: [`begin_unchanged`]), and
//! put back over the database in one write transaction. No row is inserted, no index or
//! search index rebuilt, no trigger run (the maintained figures come back with the pages they
//! were in).
//!
//! Putting an image back compares it with the database page by page, through SQLite's
//! `sqlite_dbpage` table, and writes only the pages that differ (as `sqlite3_rsync` does): a
//! reset after a test that changed a few rows reads the whole file but writes, logs and syncs
//! a few pages. A build of SQLite without that table (see `.cargo/config.toml`) copies every
//! page with the backup API instead: the same result, at the cost of the whole file.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::backup::{Backup, StepResult};
use rusqlite::{Connection, OpenFlags};

use crate::export::{ImportSummary, KINDS};
use crate::{DatabaseImage, PendingImage, StoreError, StoreResult};

/// Copies the database `c` reads (inside the read transaction the caller opened) into memory.
pub(super) fn take(c: &Connection) -> StoreResult<DatabaseImage> {
    let mut copy = Connection::open_in_memory()?;
    copy_all(c, &mut copy)?;
    image_of(c, copy)
}

/// `copy`, which holds the pages `c` reads (inside the read transaction the caller opened),
/// as an image.
fn image_of(c: &Connection, copy: Connection) -> StoreResult<DatabaseImage> {
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

/// An image of the database as the write connection `c` last committed it, copied on a
/// thread of its own into a file beside the database, or `None` if another connection
/// committed since `version` ([`data_version`] on `c`) was read.
///
/// The copy reads from a connection of its own, whose read transaction begins here, before
/// `c` can write again: it holds that state however long the copy takes (the write-ahead log
/// is not checkpointed past it meanwhile). The file is out of the directory from the start
/// ([`into_file`]); the image's connection keeps it open, and its space is freed with the
/// image.
pub(super) fn begin_unchanged(c: &Connection, version: i64) -> StoreResult<Option<PendingImage>> {
    let path = c
        .path()
        .filter(|p| !p.is_empty())
        .map(std::path::PathBuf::from)
        .ok_or_else(|| StoreError::other("the database has no file to take an image of"))?;
    let source = read_now(&path)?;
    if data_version(c)? != version {
        return Ok(None);
    }
    copy_in_background(source, path).map(Some)
}

/// A connection to the database at `path` inside a read transaction that has begun: it sees
/// the database as it is now for as long as the transaction lasts.
fn read_now(path: &Path) -> StoreResult<Connection> {
    let source = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)?;
    source.busy_timeout(Duration::from_secs(5))?;
    source.execute_batch("BEGIN")?;
    // A read transaction takes its snapshot at its first read.
    source.query_row("SELECT COUNT(*) FROM sqlite_schema", [], |_| Ok(()))?;
    Ok(source)
}

/// Copies what `source` ([`read_now`]) reads of the database at `path` into a file beside
/// it, on a thread of its own, then ends `source`'s read.
fn copy_in_background(source: Connection, path: std::path::PathBuf) -> StoreResult<PendingImage> {
    let (done, image) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("seats-sqlite-image".into())
        .spawn(move || {
            let started = std::time::Instant::now();
            let image = into_file(&source, &path);
            let _ = source.execute_batch("COMMIT");
            match &image {
                Ok(image) => tracing::info!(
                    records = image.records,
                    elapsed_ms = started.elapsed().as_millis() as u64,
                    "database image copied"
                ),
                Err(e) => tracing::warn!(error = %e, "the database image could not be copied"),
            }
            let _ = done.send(image);
        })
        .map_err(StoreError::other)?;
    Ok(PendingImage(image))
}

/// What [`take`] does, into a new file beside `database` that is out of the directory from
/// the start: the connection holds it open, and nothing of it stays on disk once the image is
/// dropped, or if the process ends part-way. Without `sqlite_dbpage` (see the module's
/// documentation), into memory as [`take`] does.
fn into_file(c: &Connection, database: &Path) -> StoreResult<DatabaseImage> {
    if !has_dbpage(c) {
        return take(c);
    }
    let dir = match database.parent().filter(|d| !d.as_os_str().is_empty()) {
        Some(dir) => dir,
        None => Path::new("."),
    };
    let prefix = format!(
        ".{}.",
        database.file_name().map(|n| n.to_string_lossy()).unwrap_or_default()
    );
    let file = tempfile::Builder::new()
        .prefix(&prefix)
        .suffix(".image")
        .tempfile_in(dir)
        .map_err(StoreError::other)?
        .into_temp_path();
    let copy = Connection::open(&file)?;
    // SQLite has opened the file: out of the directory with it.
    file.close().map_err(StoreError::other)?;
    // No journal (nothing to roll back to: a failed copy is thrown away), so SQLite never
    // looks for a file named after this one; no syncs.
    copy.pragma_update(None, "journal_mode", "OFF")?;
    copy.pragma_update(None, "synchronous", "OFF")?;
    let page_size: i64 = c.query_row("PRAGMA page_size", [], |r| r.get(0))?;
    copy.pragma_update(None, "page_size", page_size)?;
    copy.execute_batch("BEGIN")?;
    {
        let mut pages = c.prepare("SELECT pgno, data FROM sqlite_dbpage ORDER BY pgno")?;
        let mut write = copy.prepare("INSERT INTO sqlite_dbpage (pgno, data) VALUES (?1, ?2)")?;
        let mut rows = pages.query([])?;
        while let Some(row) = rows.next()? {
            let (pgno, data): (u32, &[u8]) = (row.get(0)?, blob(row, 1)?);
            if pgno == 1 {
                write.execute(rusqlite::params![pgno, not_wal(data)?])?;
            } else {
                write.execute(rusqlite::params![pgno, data])?;
            }
        }
    }
    copy.execute_batch("COMMIT")?;
    // `sqlite_dbpage` wrote the pages under the b-tree layer, which still holds what it made
    // of the empty file (as `put_back` explains): the connection drops its cache of pages and
    // reads the copied schema afresh.
    copy.release_memory()?;
    copy.execute_batch("PRAGMA writable_schema = RESET")?;
    // Read through a memory map (up to SQLite's cap): putting the image back reads every page,
    // as fast as from an image in memory, without a copy of the file in the process's heap.
    copy.pragma_update(None, "mmap_size", 1i64 << 40)?;
    image_of(c, copy)
}

/// A database's first page with the two bytes that say whether the file is in WAL mode
/// (offsets 18 and 19) set to a rollback journal's: a copy that said WAL would look for a log
/// named after its file.
fn not_wal(page: &[u8]) -> StoreResult<Vec<u8>> {
    if page.len() < 100 {
        return Err(StoreError::other("the database's first page is too short"));
    }
    let mut page = page.to_vec();
    page[18..20].copy_from_slice(&[1, 1]);
    Ok(page)
}

/// Puts `pages` back over the database of the write connection `c` (outside any
/// transaction), then, in a transaction of its own, ends every dashboard session and moves
/// the credentials version past where it was, so that every process holding credentials in
/// memory reloads them.
pub(super) fn restore(c: &mut Connection, pages: &Mutex<Connection>, records: u64) -> StoreResult<ImportSummary> {
    let version: i64 = c.query_row("SELECT version FROM credentials_version", [], |r| r.get(0))?;
    let path = c
        .path()
        .filter(|p| !p.is_empty())
        .map(std::path::PathBuf::from)
        .ok_or_else(|| StoreError::other("the database has no file to put an image back into"))?;
    let copied = {
        let source = pages.lock().unwrap_or_else(|e| e.into_inner());
        put_back(&source, &path)?
    };
    tracing::info!(
        pages = copied.pages,
        written = copied.written,
        "database image put back"
    );
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

/// What putting an image back wrote: `written` of the image's `pages`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Copied {
    pages: u64,
    written: u64,
}

/// Makes the database file at `path` the same, page for page, as `from`'s main database, in
/// one write transaction: only the pages that differ where `sqlite_dbpage` exists, every page
/// otherwise.
///
/// The pages are written through a connection of its own, opened here and closed at the end.
/// `sqlite_dbpage` writes a page's bytes under the b-tree layer without forgetting what that
/// layer parsed from them (the backup API does forget), so a connection that had read the old
/// pages could go on reading through its stale parse. A commit from another connection is what
/// every connection on the file already watches for: each drops its page cache when it sees one.
fn put_back(from: &Connection, path: &Path) -> StoreResult<Copied> {
    let mut to = Connection::open(path)?;
    to.busy_timeout(Duration::from_secs(5))?;
    let to = &mut to;
    if !has_dbpage(to) {
        copy_all(from, to)?;
        let pages: u64 = from.query_row("PRAGMA page_count", [], |r| r.get(0))?;
        return Ok(Copied { pages, written: pages });
    }
    let tx = to.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let mut read_from = from.prepare("SELECT pgno, data FROM sqlite_dbpage ORDER BY pgno")?;
    let mut read_to = tx.prepare("SELECT pgno, data FROM sqlite_dbpage ORDER BY pgno")?;
    let mut theirs = read_from.query([])?;
    let mut ours = read_to.query([])?;
    // Pages to write, page 1 aside: it is always written (see `first_page`).
    let mut differ: Vec<u32> = Vec::new();
    let mut first: Option<Vec<u8>> = None;
    let (mut pages, mut our_pages) = (0u64, 0u64);
    loop {
        let Some(page) = theirs.next()? else { break };
        let (pgno, data): (u32, &[u8]) = (page.get(0)?, blob(page, 1)?);
        pages += 1;
        let current = match ours.next()? {
            Some(row) => {
                our_pages += 1;
                Some(blob(row, 1)?)
            }
            None => None,
        };
        if pgno == 1 {
            let current = current.ok_or_else(|| StoreError::other("the database has no first page"))?;
            first = Some(first_page(data, current)?);
        } else if current != Some(data) {
            differ.push(pgno);
        }
    }
    while ours.next()?.is_some() {
        our_pages += 1;
    }
    drop((ours, theirs));
    let first = first.ok_or_else(|| StoreError::other("the image has no first page"))?;
    {
        let mut page = from.prepare("SELECT data FROM sqlite_dbpage WHERE pgno = ?1")?;
        let mut write = tx.prepare("INSERT INTO sqlite_dbpage (pgno, data) VALUES (?1, ?2)")?;
        write.execute(rusqlite::params![1, first])?;
        for &pgno in &differ {
            page.query_row([pgno], |r| write.execute(rusqlite::params![pgno, blob(r, 0)?]))?;
        }
        if our_pages > pages {
            // A page number with no data cuts the file there, at the commit.
            write.execute(rusqlite::params![pages + 1, rusqlite::types::Null])?;
        }
    }
    drop((read_from, read_to));
    tx.commit()?;
    Ok(Copied {
        pages,
        written: 1 + differ.len() as u64,
    })
}

/// The image's first page as it is written back: its bytes, except the two that say whether
/// the file is in WAL mode (offsets 18 and 19), which stay the database's, and the schema
/// cookie (offset 40), set past the database's so that every connection reads the schema
/// again, as SQLite's backup API does.
fn first_page(image: &[u8], current: &[u8]) -> StoreResult<Vec<u8>> {
    if image.len() != current.len() || image.len() < 100 {
        return Err(StoreError::other("the image's pages are not the database's size"));
    }
    let mut page = image.to_vec();
    page[18..20].copy_from_slice(&current[18..20]);
    let cookie = u32::from_be_bytes(current[40..44].try_into().expect("four bytes"));
    page[40..44].copy_from_slice(&cookie.wrapping_add(1).to_be_bytes());
    Ok(page)
}

/// Column `i` of `row`, a blob, borrowed.
fn blob<'a>(row: &'a rusqlite::Row<'_>, i: usize) -> rusqlite::Result<&'a [u8]> {
    let value = row.get_ref(i)?;
    value
        .as_blob()
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(i, value.data_type(), Box::new(e)))
}

/// Whether this SQLite was built with the `sqlite_dbpage` table.
fn has_dbpage(c: &Connection) -> bool {
    c.prepare("SELECT pgno FROM sqlite_dbpage WHERE pgno = 1").is_ok()
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

    /// A WAL database of `rows` rows of 300 bytes (a page holds about a dozen), and a
    /// connection to it.
    fn database(dir: &tempfile::TempDir, rows: i64) -> Connection {
        let c = Connection::open(dir.path().join("p.db")).unwrap();
        c.query_row("PRAGMA journal_mode = WAL", [], |_| Ok(())).unwrap();
        c.execute_batch(
            "CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB NOT NULL);
             CREATE INDEX t_v ON t (v);",
        )
        .unwrap();
        add_rows(&c, 0, rows);
        c
    }

    fn add_rows(c: &Connection, from: i64, to: i64) {
        c.execute(
            "WITH RECURSIVE n(i) AS (SELECT ?1 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < ?2)
             INSERT INTO t (id, v) SELECT i, randomblob(300) FROM n",
            [from, to],
        )
        .unwrap();
    }

    fn image_of(c: &Connection) -> Connection {
        let mut image = Connection::open_in_memory().unwrap();
        copy_all(c, &mut image).unwrap();
        image
    }

    /// The rows of `t`, in order, as one digest-like value per row.
    fn rows(c: &Connection) -> Vec<(i64, Vec<u8>)> {
        let mut s = c.prepare("SELECT id, v FROM t ORDER BY id").unwrap();
        let rows = s.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap();
        rows.map(Result::unwrap).collect()
    }

    fn page_count(c: &Connection) -> u64 {
        c.query_row("PRAGMA page_count", [], |r| r.get(0)).unwrap()
    }

    fn healthy(c: &Connection) {
        let check: String = c.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
        assert_eq!(check, "ok");
    }

    #[test]
    fn putting_an_image_back_writes_only_the_pages_that_differ() {
        let dir = tempfile::tempdir().unwrap();
        let c = database(&dir, 2_000);
        let image = image_of(&c);
        let before = rows(&c);
        let pages = page_count(&c);
        assert!(pages > 100, "{pages} pages");
        // Another connection with the table's statement prepared, to see the schema read again.
        let other = Connection::open(dir.path().join("p.db")).unwrap();
        assert_eq!(rows(&other), before);

        c.execute("UPDATE t SET v = randomblob(300) WHERE id = 1000", [])
            .unwrap();
        assert_ne!(rows(&c), before);
        let copied = put_back(&image, &dir.path().join("p.db")).unwrap();
        assert!(
            has_dbpage(&c),
            "this build's SQLite has sqlite_dbpage (.cargo/config.toml)"
        );
        assert_eq!(copied.pages, pages);
        // The first page, the row's leaf, and the index's pages the old and the new value are
        // in (with a split, a new leaf and its parent): a handful of the file's 300 and more.
        assert!(
            (2..=10).contains(&copied.written),
            "{copied:?}: one row changed, so a few pages differ"
        );
        assert_eq!(rows(&c), before);
        assert_eq!(rows(&other), before);
        healthy(&c);
        // The same image again: nothing but the first page (its schema cookie moves).
        assert_eq!(put_back(&image, &dir.path().join("p.db")).unwrap().written, 1);
        // Still a WAL database for a connection opened afresh.
        let fresh = Connection::open(dir.path().join("p.db")).unwrap();
        let mode: String = fresh.query_row("PRAGMA journal_mode", [], |r| r.get(0)).unwrap();
        assert_eq!(mode, "wal");
        assert_eq!(rows(&fresh), before);
    }

    #[test]
    fn an_image_put_back_over_a_larger_or_smaller_database_gives_its_size() {
        let dir = tempfile::tempdir().unwrap();
        let c = database(&dir, 1_000);
        let image = image_of(&c);
        let (before, pages) = (rows(&c), page_count(&c));
        // `c` has parsed the pages it wrote and read: read through it, the restored pages must
        // be parsed afresh (rows of a stale parse come back with NULLs or not at all).

        add_rows(&c, 1_000, 3_000);
        assert!(page_count(&c) > pages);
        let copied = put_back(&image, &dir.path().join("p.db")).unwrap();
        assert_eq!((copied.pages, page_count(&c), rows(&c)), (pages, pages, before.clone()));
        healthy(&c);

        c.execute("DELETE FROM t WHERE id >= 100", []).unwrap();
        c.execute_batch("VACUUM").unwrap();
        assert!(page_count(&c) < pages);
        let copied = put_back(&image, &dir.path().join("p.db")).unwrap();
        assert_eq!((copied.pages, page_count(&c), rows(&c)), (pages, pages, before));
        healthy(&c);
    }

    /// A database with our schema (an image counts the rows of every export kind) at
    /// `i.db` in `dir`, and a connection to it.
    fn ours(dir: &tempfile::TempDir) -> (std::path::PathBuf, Connection) {
        let path = dir.path().join("i.db");
        drop(crate::sqlite::SqliteStore::open(&path, crate::Durability::Full).unwrap());
        let c = Connection::open(&path).unwrap();
        (path, c)
    }

    #[test]
    fn an_image_copied_in_the_background_holds_the_state_its_read_began_in() {
        let dir = tempfile::tempdir().unwrap();
        // Our schema, then rows of our own.
        let (path, c) = ours(&dir);
        c.execute_batch("CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB NOT NULL)")
            .unwrap();
        add_rows(&c, 0, 2_000);
        let before = rows(&c);

        let source = read_now(&path).unwrap();
        c.execute("UPDATE t SET v = randomblob(300) WHERE id % 2 = 0", [])
            .unwrap();
        c.execute("DELETE FROM t WHERE id < 100", []).unwrap();
        // A checkpoint meanwhile may not write the changes into the file the copy reads.
        c.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())).unwrap();
        assert_ne!(rows(&c), before);
        let image = copy_in_background(source, path.clone())
            .unwrap()
            .0
            .blocking_recv()
            .unwrap()
            .unwrap();

        let copy = image.pages.lock().unwrap();
        assert!(rows(&copy) == before, "the state when the read began");
        healthy(&copy);
        let mut names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(
            names,
            ["i.db", "i.db-shm", "i.db-wal"],
            "the copy's file is out of the directory"
        );
        // What was copied can be put back, over the changes.
        put_back(&copy, &path).unwrap();
        assert_eq!(rows(&c), before);
    }

    #[test]
    fn an_image_after_another_connections_commit_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let (path, c) = ours(&dir);
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
        let image = begin_unchanged(&c, version)
            .unwrap()
            .expect("nothing but its own commits");
        let image = image.0.blocking_recv().unwrap().unwrap();
        let copy = image.pages.lock().unwrap();
        let count: i64 = copy.query_row("SELECT COUNT(*) FROM t", [], |r| r.get(0)).unwrap();
        assert_eq!(count, 1);
        let version = write(2);
        other.execute("INSERT INTO t (v) VALUES (3)", []).unwrap();
        assert!(
            begin_unchanged(&c, version).unwrap().is_none(),
            "another connection committed since"
        );
    }
}
