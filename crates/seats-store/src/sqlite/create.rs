//! A new database file with a seed in it, written once.
//!
//! Loading a seed into an open database writes every page twice: into the write-ahead log as
//! the transaction commits, then into the database file when the log is checkpointed (at 1M
//! users, 700 MB each way, and the log's index searched for every page read meanwhile). A
//! database that does not exist yet has no reader to protect and nothing to roll back to, so
//! it is built beside its final name without a log at all, synced, and linked into place only
//! once whole: a seed with problems, or a crash part-way, leaves no file at the path.
//!
//! A process killed part-way leaves its `.NAME.XXXXXX.seeding` file beside the path (as large
//! as what it had written). The builder holds an exclusive lock (`flock`) on its file while it
//! works, so the next creation of the same path removes those nobody holds: the leftovers of
//! processes that died, never the file of one still building.

use std::path::{Path, PathBuf};

use rusqlite::Connection;
use seats_types::Timestamp;

use super::bulk::Start;
use super::{migrate, seed, SqliteOptions, SqliteStore};
use crate::seed::{SeedDocument, SeedSummary};
use crate::{Conflict, StoreError, StoreResult};

impl SqliteStore {
    /// Creates the database file `path` (which must not exist: [`Conflict::NotEmpty`] if it
    /// does) with `seed` loaded, then opens it as [`SqliteStore::open_with`] does. On any
    /// error nothing is left at `path`.
    pub fn create_seeded(
        path: impl AsRef<Path>,
        options: SqliteOptions,
        seed: SeedDocument,
        now: Timestamp,
    ) -> StoreResult<(SqliteStore, SeedSummary)> {
        let path = path.as_ref();
        if path.exists() {
            return Err(StoreError::Conflict(Conflict::NotEmpty));
        }
        let dir = match path.parent().filter(|d| !d.as_os_str().is_empty()) {
            Some(dir) => dir.to_path_buf(),
            None => PathBuf::from("."),
        };
        std::fs::create_dir_all(&dir).map_err(StoreError::other)?;
        let prefix = format!(
            ".{}.",
            path.file_name().map(|n| n.to_string_lossy()).unwrap_or_default()
        );
        remove_abandoned(&dir, &prefix);
        // Removed when dropped: on an error, and once linked under its final name.
        let mut builder = tempfile::Builder::new();
        builder.prefix(&prefix).suffix(SUFFIX);
        // The mode SQLite creates a database with (the umask applies), not a temporary file's 0600.
        #[cfg(unix)]
        builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o644));
        let building = builder.tempfile_in(&dir).map_err(StoreError::other)?;
        // Held until the file is linked or removed. Closing this descriptor would also drop
        // SQLite's own (POSIX) locks on the file, so it stays open until SQLite is done.
        building.as_file().try_lock().map_err(StoreError::other)?;
        let (held, building) = building.into_parts();
        let summary = build(&building, seed, now)?;
        std::fs::File::open(&building)
            .and_then(|f| f.sync_all())
            .map_err(StoreError::other)?;
        // A link, not a rename: it fails rather than replace a file that appeared meanwhile.
        match std::fs::hard_link(&building, path) {
            Ok(()) => drop(building),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                return Err(StoreError::Conflict(Conflict::NotEmpty))
            }
            // A file system without hard links: a rename, once more checking nothing is there.
            Err(_) if !path.exists() => building
                .persist(path)
                .map_err(|e| StoreError::other(format!("cannot put the seeded database in place: {e}")))?,
            Err(_) => return Err(StoreError::Conflict(Conflict::NotEmpty)),
        }
        drop(held);
        std::fs::File::open(&dir)
            .and_then(|d| d.sync_all())
            .map_err(StoreError::other)?;
        Ok((SqliteStore::open_with(path, options)?, summary))
    }
}

/// What the files being built end with, after `.NAME.` and tempfile's random characters.
const SUFFIX: &str = ".seeding";

/// Removes the files `dir` holds that a build of the same path (`prefix`) left and that no
/// process holds a lock on any more. Best effort: what cannot be read or removed stays.
fn remove_abandoned(dir: &Path, prefix: &str) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if !(name.starts_with(prefix) && name.ends_with(SUFFIX)) {
            continue;
        }
        let Ok(file) = std::fs::File::open(entry.path()) else {
            continue;
        };
        if file.try_lock().is_ok() {
            match std::fs::remove_file(entry.path()) {
                Ok(()) => tracing::info!(file = %name, "removed the file of a seed load that did not finish"),
                Err(e) => {
                    tracing::warn!(file = %name, error = %e, "could not remove the file of an unfinished seed load")
                }
            }
        }
    }
}

/// Migrates the empty file at `path` and loads `seed` into it, with no journal: the file is
/// thrown away, not rolled back, if anything fails.
fn build(path: &Path, seed: SeedDocument, now: Timestamp) -> StoreResult<SeedSummary> {
    let mut conn = Connection::open(path)?;
    conn.pragma_update(None, "journal_mode", "OFF")?;
    conn.pragma_update(None, "synchronous", "OFF")?;
    conn.pragma_update(None, "locking_mode", "EXCLUSIVE")?;
    migrate(&mut conn)?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let summary = seed::load(&tx, seed.into_reader(), now, Start::AsIs)?;
    tx.commit()?;
    conn.close().map_err(|(_, e)| e)?;
    Ok(summary)
}
