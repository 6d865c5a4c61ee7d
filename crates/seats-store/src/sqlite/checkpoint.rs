//! WAL checkpoints off the commit path.
//!
//! By default SQLite checkpoints inside the `COMMIT` that pushes the write-ahead log past 1000
//! pages: that commit copies every page the log holds into the database file and fsyncs it
//! before its requests are answered. On a large account, where random seats dirty many distinct
//! pages, that one commit in a few hundred took tens of milliseconds and made the p99. Here the
//! writer only signals a checkpoint thread, with its own connection, which runs a `PASSIVE`
//! checkpoint (it never blocks the writer or the readers) while the writer goes on appending.
//! Durability is unchanged: a commit is durable once the log is synced, checkpointed or not.
//!
//! If the checkpointer falls far behind (a long read pins the log), the writer checkpoints
//! inline as SQLite would, so the log stays bounded. That checkpoint runs after the commit,
//! in SQLite's log hook: whatever it returns, the commit is done, so it never fails the
//! `COMMIT` (as SQLite's own automatic checkpoint does not). It once did: a checkpoint that
//! met the checkpoint thread's (`SQLITE_BUSY`) made `COMMIT` return "SQL logic error", and
//! the writer answered 500 to a group of requests whose changes had been committed.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::Duration;

use rusqlite::hooks::Wal;
use rusqlite::wal::CheckpointMode;
use rusqlite::Connection;

use crate::{StoreError, StoreResult};

/// Log size (pages) at which the checkpoint thread is woken: SQLite's own default.
const SIGNAL_AT: i32 = 1000;
/// Log size (pages) at which the writer stops waiting for it and checkpoints itself.
const INLINE_AT: i32 = 32 * SIGNAL_AT;

/// Replaces `conn`'s automatic checkpoints with a checkpoint thread on the same file, and
/// returns the count of checkpoints that thread has run. The thread ends when `conn` is closed.
pub(crate) fn move_off_commit_path(conn: &mut Connection, path: &Path) -> StoreResult<Arc<AtomicU64>> {
    move_off_commit_path_at(conn, path, SIGNAL_AT, INLINE_AT)
}

/// [`move_off_commit_path`] with the log sizes (pages) at which the thread is woken and at
/// which the writer checkpoints itself.
fn move_off_commit_path_at(
    conn: &mut Connection,
    path: &Path,
    signal_at: i32,
    inline_at: i32,
) -> StoreResult<Arc<AtomicU64>> {
    let checkpointer = Connection::open(path)?;
    checkpointer.busy_timeout(Duration::from_secs(5))?;
    let (wake, woken) = mpsc::sync_channel::<()>(1);
    let done = Arc::new(AtomicU64::new(0));
    let count = done.clone();
    thread::Builder::new()
        .name("seats-sqlite-checkpoint".into())
        .spawn(move || {
            while woken.recv().is_ok() {
                match checkpoint(&checkpointer) {
                    Ok(()) => {
                        count.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(e) => tracing::warn!(error = %e, "SQLite checkpoint failed; the next one retries"),
                }
            }
        })
        .map_err(StoreError::other)?;
    conn.wal_hook(Some(move |wal: &mut Wal, pages: i32| {
        if pages >= inline_at {
            // The commit is done whatever this returns; the next commit tries again.
            if let Err(e) = wal.checkpoint() {
                tracing::debug!(error = %e, pages, "inline SQLite checkpoint did not run");
            }
        } else if pages >= signal_at {
            // Full means a checkpoint is already due; it will see these pages too.
            let _ = wake.try_send(());
        }
        Ok(())
    }))?;
    Ok(done)
}

/// A passive checkpoint. A connection learns the file is in WAL mode only once it has read
/// it (until then SQLite reports the checkpoint as not applicable), hence the read first.
fn checkpoint(conn: &Connection) -> StoreResult<()> {
    conn.prepare_cached("SELECT COUNT(*) FROM sqlite_schema")?
        .query_row([], |_| Ok(()))?;
    let (log, _) = conn.wal_checkpoint_v2(None::<&str>, CheckpointMode::PASSIVE)?;
    if log < 0 {
        return Err(StoreError::other("the database is not in WAL mode"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;

    #[test]
    fn the_log_reaches_the_database_file_without_a_commit_waiting_for_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.db");
        let mut conn = Connection::open(&path).unwrap();
        conn.pragma_update(None, "journal_mode", "WAL").unwrap();
        conn.execute_batch("CREATE TABLE t (v BLOB NOT NULL)").unwrap();
        let checkpoints = move_off_commit_path(&mut conn, &path).unwrap();
        let before = std::fs::metadata(&path).unwrap().len();
        // ~1.5 times the signal threshold of 4 KiB pages, one commit per row as requests do.
        for _ in 0..SIGNAL_AT * 3 / 2 {
            conn.execute("INSERT INTO t (v) VALUES (zeroblob(4000))", []).unwrap();
        }
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::fs::metadata(&path).unwrap().len() <= before {
            assert!(
                Instant::now() < deadline,
                "nothing was checkpointed into the database file"
            );
            thread::sleep(Duration::from_millis(20));
        }
        assert!(
            checkpoints.load(Ordering::Relaxed) >= 1,
            "the checkpoint thread, not a commit, copied the log"
        );
        let rows: i64 = conn.query_row("SELECT COUNT(*) FROM t", [], |r| r.get(0)).unwrap();
        assert_eq!(rows, i64::from(SIGNAL_AT * 3 / 2));
    }

    /// Every commit checkpoints inline (a log of one page is "far behind") while another
    /// connection checkpoints the same file over and over, as the checkpoint thread does: the
    /// inline checkpoints that meet it get `SQLITE_BUSY`, and no commit may fail for that.
    #[test]
    fn an_inline_checkpoint_that_cannot_run_does_not_fail_the_commit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.db");
        let mut conn = Connection::open(&path).unwrap();
        conn.pragma_update(None, "journal_mode", "WAL").unwrap();
        conn.execute_batch("CREATE TABLE t (v BLOB NOT NULL)").unwrap();
        move_off_commit_path_at(&mut conn, &path, i32::MAX, 1).unwrap();
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let theirs = Arc::new(AtomicU64::new(0));
        let other = {
            let (stop, theirs, path) = (stop.clone(), theirs.clone(), path.clone());
            thread::spawn(move || {
                let c = Connection::open(&path).unwrap();
                while !stop.load(Ordering::Relaxed) {
                    if checkpoint(&c).is_ok() {
                        theirs.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        };
        let mut failed = Vec::new();
        for i in 0..3000 {
            if let Err(e) = conn.execute("INSERT INTO t (v) VALUES (zeroblob(3000))", []) {
                failed.push(format!("commit {i}: {e}"));
            }
        }
        stop.store(true, Ordering::Relaxed);
        other.join().unwrap();
        assert!(theirs.load(Ordering::Relaxed) > 0, "the other connection checkpointed");
        assert!(failed.is_empty(), "{} commits failed, e.g. {}", failed.len(), failed[0]);
        let rows: i64 = conn.query_row("SELECT COUNT(*) FROM t", [], |r| r.get(0)).unwrap();
        assert_eq!(rows, 3000);
    }
}
