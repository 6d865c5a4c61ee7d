//! A new database file with a seed in it, written once.
//!
//! Loading a seed into an open database writes every page twice: into the write-ahead log as
//! the transaction commits, then into the database file when the log is checkpointed (at 1M
//! users, 700 MB each way, and the log's index searched for every page read meanwhile). A
//! database that does not exist yet has no reader to protect and nothing to roll back to, so
//! it is built beside its final name without a log at all, synced, and linked into place only
//! once whole: a seed with problems, or a crash part-way, leaves no file at the path.

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
        // Removed when dropped: on an error, and once linked under its final name.
        let mut builder = tempfile::Builder::new();
        builder.prefix(&prefix).suffix(".seeding");
        // The mode SQLite creates a database with (the umask applies), not a temporary file's 0600.
        #[cfg(unix)]
        builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o644));
        let building = builder.tempfile_in(&dir).map_err(StoreError::other)?.into_temp_path();
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
        std::fs::File::open(&dir)
            .and_then(|d| d.sync_all())
            .map_err(StoreError::other)?;
        Ok((SqliteStore::open_with(path, options)?, summary))
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
