//! The SQLite backend: one file, WAL mode, one writer thread with group commit, a pool of
//! readers.
//!
//! Each resource trait of [`crate::store`] is implemented in the file of its name (`users.rs`
//! implements [`crate::UserStore`]), beside the SQL it runs; the functions there run inside the
//! transaction their caller (the writer or a reader) opened. `seed.rs` and `export.rs` are the
//! bulk loads behind seeds, imports and restores; `create.rs` writes a new file with its seed.

mod accounts;
mod audit;
mod budgets;
mod bulk;
mod checkpoint;
mod create;
mod credentials;
mod dashboard_sessions;
mod devices;
mod export;
mod identity_providers;
mod image;
mod logins;
mod maintenance;
mod organizations;
mod readers;
mod scim;
mod seats;
mod seed;
mod users;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rusqlite::types::{ToSqlOutput, Value as SqlValue, ValueRef};
use rusqlite::{Connection, OptionalExtension};
use seats_types::Timestamp;

use crate::credentials::{CredentialCache, Credentials};
use crate::value::Value;
use crate::{Durability, StoreError, StoreResult};
use credentials::{credentials_version, load_credentials};
use readers::Readers;
use writer::Writer;

/// Schema migrations, applied in order; `PRAGMA user_version` counts those applied.
const MIGRATIONS: &[&str] = &[
    include_str!("../../migrations/sqlite/0001_init.sql"),
    include_str!("../../migrations/sqlite/0002_logins_and_organizations.sql"),
    include_str!("../../migrations/sqlite/0003_maintained_figures_and_indexes.sql"),
    include_str!("../../migrations/sqlite/0004_credentials_version.sql"),
    include_str!("../../migrations/sqlite/0005_sweep_schedule.sql"),
    include_str!("../../migrations/sqlite/0006_identity_providers_and_scim.sql"),
    include_str!("../../migrations/sqlite/0007_dashboard_sessions.sql"),
    include_str!("../../migrations/sqlite/0008_device_registrations.sql"),
    include_str!("../../migrations/sqlite/0009_audit_counts_kept_by_their_writers.sql"),
    include_str!("../../migrations/sqlite/0010_holds_seat.sql"),
];

/// Sees the SQL of every statement the store runs, with its parameters bound.
pub type StatementObserver = std::sync::Arc<dyn Fn(&str) + Send + Sync>;

/// How to open a [`SqliteStore`].
#[derive(Clone, Default)]
pub struct SqliteOptions {
    pub durability: Durability,
    /// Called with each statement as it starts, on the connection's thread; the query-plan
    /// test uses it to check every statement a request runs.
    pub on_statement: Option<StatementObserver>,
    /// Counts the virtual-machine instructions every connection executes (including those
    /// of triggers and of the search index): a deterministic measure of work, with which the
    /// tests show that a request's cost does not grow with the account.
    pub vm_steps: Option<std::sync::Arc<std::sync::atomic::AtomicU64>>,
}

pub struct SqliteStore {
    path: PathBuf,
    writer: Writer,
    readers: Readers,
    credentials: CredentialCache,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

/// The writer's page cache, in KiB as `PRAGMA cache_size` takes it when negative: 32 MiB. With
/// SQLite's default 2 MiB, a PATCH on a 1M-user account read most of its B-tree pages back from
/// the operating system (1M seats ran at 0.8× the speed of 10k; with this, 0.9×). It fills
/// only as pages are written, so an idle server stays small.
const WRITER_CACHE_SIZE: i64 = -32 * 1024;

impl SqliteStore {
    /// Opens (creating if missing) the database file and brings its schema up to date.
    pub fn open(path: impl AsRef<Path>, durability: Durability) -> StoreResult<Self> {
        Self::open_with(
            path,
            SqliteOptions {
                durability,
                ..SqliteOptions::default()
            },
        )
    }

    pub fn open_with(path: impl AsRef<Path>, options: SqliteOptions) -> StoreResult<Self> {
        let durability = options.durability;
        let path = path.as_ref().to_path_buf();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(StoreError::other)?;
        }
        let mut conn = Connection::open(&path)?;
        conn.busy_timeout(Duration::from_secs(5))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        // SQLite quietly opens a file it cannot write read-only; a server on it would start
        // and then fail every write. An up-to-date schema needs no write at start-up, so ask.
        if conn.is_readonly(rusqlite::MAIN_DB)? {
            return Err(StoreError::other(
                "the file cannot be written (read-only file system or permissions)",
            ));
        }
        conn.pragma_update(
            None,
            "synchronous",
            match durability {
                Durability::Full => "FULL",
                Durability::Relaxed => "NORMAL",
            },
        )?;
        observe(&mut conn, &options)?;
        migrate(&mut conn)?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        // `rarray(?)`: a batch's statements walk the values of one parameter (seats.rs).
        rusqlite::vtab::array::load_module(&conn)?;
        checkpoint::move_off_commit_path(&mut conn, &path)?;
        conn.pragma_update(None, "cache_size", WRITER_CACHE_SIZE)?;
        let readers = Readers::new(path.clone(), 8, options);
        Ok(SqliteStore {
            path,
            writer: Writer::start(conn),
            readers,
            credentials: CredentialCache::default(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Tokens, members and accounts from memory (see [`crate::credentials`]).
    async fn credentials(&self) -> StoreResult<Arc<Credentials>> {
        self.credentials
            .get(
                || self.readers.read(|c| Ok(credentials_version(c)?)),
                || self.readers.read(load_credentials),
            )
            .await
    }

    /// Runs a write that changes tokens, members or accounts; the cache reloads after it.
    async fn write_credentials<R, F>(&self, f: F) -> StoreResult<R>
    where
        R: Send + 'static,
        F: FnOnce(&Connection) -> StoreResult<R> + Send + 'static,
    {
        let result = self.writer.write(f).await;
        self.credentials.invalidate();
        result
    }

    /// [`Self::write_credentials`] for work that needs the write connection alone
    /// ([`Writer::alone`]): replacing the whole database.
    async fn alone_credentials<R, F>(&self, f: F) -> StoreResult<R>
    where
        R: Send + 'static,
        F: FnOnce(&mut Connection) -> StoreResult<R> + Send + 'static,
    {
        let result = self.writer.alone(f).await;
        self.credentials.invalidate();
        result
    }
}

/// Plans `conn`'s statements without looking at the values bound to them (SQLite's query
/// planner stability guarantee), for the readers. Otherwise SQLite plans a statement with
/// `LIMIT ?` (a page of users) for the limit it was given and prepares it again whenever that
/// parameter is bound anew, which is every time: that was 60 % of an email lookup's
/// instructions (docs/performance.md). The writer keeps SQLite's default: the expiry sweep's
/// plan depends on its bound time (`tests/query_plans.rs` fails with it on the writer).
fn stable_plans(conn: &Connection) -> rusqlite::Result<()> {
    conn.set_db_config(rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)?;
    Ok(())
}

/// Registers the observers of `options` on `conn`; trigger bodies (`-- TRIGGER ...`) are not
/// reported as statements.
fn observe(conn: &mut Connection, options: &SqliteOptions) -> rusqlite::Result<()> {
    if let Some(steps) = options.vm_steps.clone() {
        conn.progress_handler(
            1,
            Some(move || {
                steps.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                false
            }),
        )?;
    }
    let Some(observer) = options.on_statement.clone() else {
        return Ok(());
    };
    conn.trace_v2(
        rusqlite::trace::TraceEventCodes::SQLITE_TRACE_STMT,
        Some(move |event: rusqlite::trace::TraceEvent<'_>| {
            if let rusqlite::trace::TraceEvent::Stmt(stmt, sql) = event {
                if !sql.starts_with("--") {
                    observer(&stmt.expanded_sql().unwrap_or_else(|| sql.to_owned()));
                }
            }
        }),
    )
}

/// Applies the migrations this database lacks, in one transaction. Foreign keys are off while
/// they run (SQLite ignores that pragma inside a transaction), so a migration can rebuild a
/// table that others refer to; they are checked before the commit.
fn migrate(conn: &mut Connection) -> StoreResult<()> {
    conn.pragma_update(None, "foreign_keys", "OFF")?;
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let applied: usize = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if applied > MIGRATIONS.len() {
        return Err(StoreError::other(format!(
            "database schema version {applied} is newer than this build knows ({})",
            MIGRATIONS.len()
        )));
    }
    if applied == MIGRATIONS.len() {
        // Up to date: nothing to check (the check reads every row, a tenth of a second at 1M
        // users, on every start).
        return Ok(());
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(applied) {
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", i + 1)?;
        tracing::info!(migration = i + 1, "applied SQLite migration");
    }
    foreign_keys_hold(&tx, "migration")?;
    tx.commit()?;
    Ok(())
}

/// Checks every foreign key of the database (reading every row that has one), for work done
/// with them off; the error names `what` did it and the first table with a broken one.
fn foreign_keys_hold(conn: &Connection, what: &str) -> StoreResult<()> {
    let broken: Option<String> = conn
        .query_row("SELECT \"table\" FROM pragma_foreign_key_check LIMIT 1", [], |r| {
            r.get(0)
        })
        .optional()?;
    match broken {
        Some(table) => Err(StoreError::other(format!(
            "{what} left a broken foreign key in {table}"
        ))),
        None => Ok(()),
    }
}

fn ts(micros: i64) -> rusqlite::Result<Timestamp> {
    Timestamp::from_unix_micros(micros).ok_or_else(|| rusqlite::Error::IntegralValueOutOfRange(0, micros))
}

fn opt_ts(micros: Option<i64>) -> rusqlite::Result<Option<Timestamp>> {
    micros.map(ts).transpose()
}

/// A shared statement's [`Value`] binds as SQLite stores it: flags as 0 or 1, lists as JSON
/// arrays.
impl rusqlite::ToSql for Value {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self {
            Value::Null => ToSqlOutput::Borrowed(ValueRef::Null),
            Value::Int(n) => ToSqlOutput::Owned(SqlValue::Integer(*n)),
            Value::Text(s) => ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
            Value::Bool(b) => ToSqlOutput::Owned(SqlValue::Integer(i64::from(*b))),
            Value::Bytes(b) => ToSqlOutput::Borrowed(ValueRef::Blob(b)),
            Value::List(l) => ToSqlOutput::Owned(SqlValue::Text(
                serde_json::to_string(l).map_err(|e| rusqlite::Error::ToSqlConversionFailure(e.into()))?,
            )),
        })
    }
}

/// Runs a shared statement (PostgreSQL's placeholders) with its values.
fn execute_shared(conn: &Connection, sql: &str, values: &[Value]) -> StoreResult<usize> {
    let sql = crate::value::sqlite_placeholders(sql);
    Ok(conn.prepare_cached(&sql)?.execute(rusqlite::params_from_iter(values))?)
}

/// Every row of `sql`, read by one of [`crate::rows`]'s readers.
fn select_all<T>(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
    read: fn(&dyn crate::export::Cells) -> StoreResult<T>,
) -> StoreResult<Vec<T>> {
    let mut stmt = conn.prepare_cached(sql)?;
    let mut rows = stmt.query(params)?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        out.push(read(&export::SqliteCells(row))?);
    }
    Ok(out)
}

/// The first row of `sql`, if any, read by one of [`crate::rows`]'s readers.
fn select_opt<T>(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
    read: fn(&dyn crate::export::Cells) -> StoreResult<T>,
) -> StoreResult<Option<T>> {
    let mut stmt = conn.prepare_cached(sql)?;
    let mut rows = stmt.query(params)?;
    rows.next()?.map(|row| read(&export::SqliteCells(row))).transpose()
}

fn json_text(v: &impl serde::Serialize) -> StoreResult<String> {
    serde_json::to_string(v).map_err(StoreError::other)
}

/// True when a unique index refused the write.
fn is_unique_violation(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _) if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE)
}

fn is_empty(conn: &Connection) -> rusqlite::Result<bool> {
    conn.query_row(
        "SELECT NOT EXISTS (SELECT 1 FROM accounts) AND NOT EXISTS (SELECT 1 FROM members)
                AND NOT EXISTS (SELECT 1 FROM tokens)",
        [],
        |r| r.get(0),
    )
}
