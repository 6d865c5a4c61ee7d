//! The PostgreSQL backend: several `seats serve` nodes on one database.
//!
//! Each resource trait of [`crate::store`] is implemented in the file of its name, as in
//! `sqlite/`, so the two backends read side by side; functions there run inside the
//! transaction (or on the connection) their caller opened.
//!
//! **Driver.** `tokio-postgres` with a `deadpool-postgres` pool: the rust-postgres project's
//! asynchronous driver (no build step needs a database, no macros) and the small, well-kept
//! pool most users of it pick. (`sqlx` was the other candidate; its optional SQLite driver
//! links a second copy of SQLite against the one `rusqlite` bundles, which Cargo refuses.)
//!
//! **Transactions.** Every operation is one transaction at PostgreSQL's default isolation,
//! READ COMMITTED, made safe by explicit row locks taken in one order everywhere: first the
//! users a change names (sorted by id), then the account row whenever the change moves the
//! account's figures, then the audit counter slot. Taking a seat reads `seats_in_use` under
//! the account's row lock, so two nodes granting the last seat at once are serialized: the
//! second reads the first one's committed count and is refused. Changes that move no seat
//! (an Access flip of a user who keeps a Gateway seat) take no account lock and run in
//! parallel. The locks are `FOR NO KEY UPDATE`: they exclude other writers of the row but
//! not the `KEY SHARE` locks that foreign-key checks take (inserting a user checks its
//! account), which `FOR UPDATE` would wait for, and deadlock with.
//!
//! **Bounds.** Each statement is bounded by `statement_timeout` on the server, and each
//! operation by the same time plus a margin on the client, so a lost database turns into an
//! error, never a hang. A transaction that does not reach COMMIT is rolled back by
//! PostgreSQL: a batch applies fully or not at all. Bulk work whose length follows the data
//! (migrations, a seed load, an import or export) is an operator's action, at start-up or
//! from the CLI, and runs without the statement timeout ([`UNBOUNDED`]).
//!
//! **Credentials** are served from memory ([`CredentialCache`]). A trigger notifies channel
//! `seats_credentials` on every change to tokens, members and accounts; each node listens and
//! drops its snapshot at once. If the listening connection is down, the snapshot's version is
//! still compared after [`crate::credentials::RECHECK_AFTER`] (1 s): that is the stated bound.

mod accounts;
mod audit;
mod budgets;
mod bulk;
pub mod cluster;
pub mod connect;
mod credentials;
mod dashboard_sessions;
mod devices;
mod export;
mod identity_providers;
mod listen;
mod logins;
mod maintenance;
mod organizations;
mod scim;
mod seats;
mod seed;
pub mod testing;
mod users;

use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use deadpool_postgres::{GenericClient, Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use seats_types::Timestamp;
use tokio_postgres::types::{to_sql_checked, IsNull, ToSql, Type};
use tokio_postgres::Row;

use crate::credentials::{CredentialCache, Credentials};
use crate::rows::ts;
use crate::value::Value;
use crate::{StoreError, StoreResult};
use credentials::{credentials_version, members, tokens};

/// Schema migrations, applied in order; table `seats_migrations` records those applied.
const MIGRATIONS: &[&str] = &[
    include_str!("../../migrations/postgres/0001_init.sql"),
    include_str!("../../migrations/postgres/0002_sweep_schedule.sql"),
    include_str!("../../migrations/postgres/0003_search_and_in_place_updates.sql"),
    include_str!("../../migrations/postgres/0004_identity_providers_and_scim.sql"),
    include_str!("../../migrations/postgres/0005_dashboard_sessions.sql"),
    include_str!("../../migrations/postgres/0006_device_registrations.sql"),
    include_str!("../../migrations/postgres/0007_rate_limit_budgets.sql"),
];

/// The advisory lock under which migrations run: nodes starting together take turns, and the
/// first applies what is missing.
const MIGRATION_LOCK: i64 = 0x5EA7_5000_0001;

/// How to connect to PostgreSQL.
#[derive(Debug, Clone)]
pub struct PgOptions {
    /// Most connections this node holds.
    pub pool_size: usize,
    /// Longest a statement may run (server side) and, plus a margin, an operation may wait
    /// for the database (client side).
    pub statement_timeout: Duration,
    /// Longest a new connection may take.
    pub connect_timeout: Duration,
    /// `Relaxed` sets `synchronous_commit = off`: a commit is acknowledged before PostgreSQL's
    /// WAL reaches the disk (a database crash may lose the last moments; never a partial one).
    pub durability: crate::Durability,
}

impl Default for PgOptions {
    fn default() -> Self {
        PgOptions {
            pool_size: 16,
            statement_timeout: Duration::from_secs(5),
            connect_timeout: Duration::from_secs(5),
            durability: crate::Durability::Full,
        }
    }
}

pub struct PgStore {
    pool: Pool,
    /// Connections made before this moment are not used again: set when the server they
    /// reach stopped taking writes (a failover), so the next ones find the new primary.
    forget_before: Arc<std::sync::Mutex<Option<std::time::Instant>>>,
    credentials: Arc<CredentialCache>,
    /// The schema this store's tables live in (`current_schema()`), for notifications.
    schema: String,
    /// The `sslmode` in force, for the start-up log.
    ssl_mode: connect::SslMode,
    op_timeout: Duration,
    listener: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may carry a password: only the schema is shown.
        f.debug_struct("PgStore")
            .field("schema", &self.schema)
            .field("sslmode", &self.ssl_mode.as_str())
            .finish_non_exhaustive()
    }
}

impl Drop for PgStore {
    fn drop(&mut self) {
        self.listener.abort();
    }
}

/// A PostgreSQL error that shows, in logs, what the server said (tokio-postgres's own
/// `Display` says only "db error").
#[derive(Debug)]
pub(crate) struct PgError(pub(crate) tokio_postgres::Error);

impl std::fmt::Display for PgError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&db_error_text(&self.0))
    }
}

impl std::error::Error for PgError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

impl From<tokio_postgres::Error> for StoreError {
    fn from(e: tokio_postgres::Error) -> Self {
        if server_unusable(&e) {
            StoreError::Unavailable(Box::new(PgError(e)))
        } else {
            StoreError::Other(Box::new(PgError(e)))
        }
    }
}

/// True when the error says the server, not the statement, is the problem: the connection
/// is gone (the server stopped, the network failed), the server is shutting down or
/// starting, or it takes no writes (a standby, or a primary demoted to one: 25006).
fn server_unusable(e: &tokio_postgres::Error) -> bool {
    use std::error::Error as _;
    use tokio_postgres::error::SqlState;
    if let Some(code) = e.code() {
        return [
            SqlState::READ_ONLY_SQL_TRANSACTION,
            SqlState::ADMIN_SHUTDOWN,
            SqlState::CRASH_SHUTDOWN,
            SqlState::CANNOT_CONNECT_NOW,
        ]
        .contains(code)
            || code.code().starts_with("08");
    }
    e.is_closed() || e.source().is_some_and(|s| s.is::<std::io::Error>())
}

impl From<deadpool_postgres::PoolError> for StoreError {
    fn from(e: deadpool_postgres::PoolError) -> Self {
        match e {
            deadpool_postgres::PoolError::Backend(e) => e.into(),
            // No connection within the wait: every one is busy, or none can be made.
            e @ deadpool_postgres::PoolError::Timeout(_) => StoreError::Unavailable(Box::new(e)),
            e => StoreError::Other(Box::new(e)),
        }
    }
}

impl PgStore {
    /// Connects, brings the schema up to date and starts listening for credential changes.
    /// Fails (without waiting longer than the connect timeout) if the database is unreachable.
    /// The string is libpq's, URL or keywords, with TLS and several hosts
    /// ([`connect::Connection`]).
    pub async fn connect(url: &str, options: PgOptions) -> StoreResult<Self> {
        let connect::Connection {
            mut config,
            tls,
            ssl_mode,
        } = connect::Connection::parse(url)?;
        let timeout_ms = options.statement_timeout.as_millis().max(1);
        let mut server_options = format!(
            "{} -c statement_timeout={timeout_ms}",
            config.get_options().unwrap_or_default()
        );
        if options.durability == crate::Durability::Relaxed {
            server_options.push_str(" -c synchronous_commit=off");
        }
        config.options(server_options.trim());
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(options.connect_timeout);
        }
        if config.get_application_name().is_none() {
            config.application_name("seats");
        }
        let manager = Manager::from_config(
            config.clone(),
            tls.clone(),
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let op_timeout = options.statement_timeout + Duration::from_secs(1);
        let forget_before = Arc::new(std::sync::Mutex::new(None::<std::time::Instant>));
        let forgotten = forget_before.clone();
        let pool = Pool::builder(manager)
            .pre_recycle(deadpool_postgres::Hook::sync_fn(move |_, metrics| {
                match *forgotten.lock().unwrap_or_else(|p| p.into_inner()) {
                    Some(before) if metrics.created <= before => Err(deadpool_postgres::HookError::Message(
                        "made before the server stopped taking writes".into(),
                    )),
                    _ => Ok(()),
                }
            }))
            .max_size(options.pool_size.max(1))
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(op_timeout))
            .create_timeout(Some(options.connect_timeout))
            .recycle_timeout(Some(options.connect_timeout))
            .build()
            .map_err(StoreError::other)?;
        let mut client = pool.get().await.map_err(|e| {
            StoreError::other(format!(
                "cannot connect to PostgreSQL: {}",
                connect_error_text(&e, ssl_mode)
            ))
        })?;
        // With target_session_attrs=any a standby is taken as it comes: say so before the
        // migrations fail on it.
        let read_only: String = client.query_one("SHOW transaction_read_only", &[]).await?.try_get(0)?;
        if read_only == "on" {
            return Err(StoreError::other(
                "cannot use PostgreSQL: the server takes no writes (a standby, or default_transaction_read_only); \
                 seats needs the primary",
            ));
        }
        migrate(&mut client).await?;
        let schema: String = client
            .query_one("SELECT current_schema()", &[])
            .await?
            .try_get::<_, Option<String>>(0)?
            .ok_or_else(|| StoreError::other("no schema on the search_path exists"))?;
        drop(client);
        let credentials = Arc::new(CredentialCache::default());
        let listener = tokio::spawn(listen::run(config, tls, schema.clone(), Arc::downgrade(&credentials)));
        Ok(PgStore {
            pool,
            forget_before,
            ssl_mode,
            credentials,
            schema,
            op_timeout,
            listener,
        })
    }

    /// A pooled connection.
    async fn client(&self) -> StoreResult<deadpool_postgres::Object> {
        Ok(self.pool.get().await?)
    }

    /// Bounds an operation by the statement timeout plus a margin: a database that stopped
    /// answering gives an error, not a hung request.
    /// A server found unusable (gone, silent, or taking no writes) makes every pooled
    /// connection go.
    async fn bounded<R>(&self, op: impl std::future::Future<Output = StoreResult<R>>) -> StoreResult<R> {
        let out = tokio::time::timeout(self.op_timeout, op)
            .await
            .unwrap_or_else(|_| Err(StoreError::Unavailable("PostgreSQL did not answer in time".into())));
        if let Err(StoreError::Unavailable(cause)) = &out {
            // Every connection busy (the pool's wait ran out) says nothing of the server:
            // those connections are fine and stay.
            let busy = matches!(
                cause.downcast_ref::<deadpool_postgres::PoolError>(),
                Some(deadpool_postgres::PoolError::Timeout(
                    deadpool_postgres::TimeoutType::Wait
                ))
            );
            if !busy {
                self.forget_connections();
            }
        }
        out
    }

    /// Drops every pooled connection (those in use go when returned): the next ones are made
    /// afresh, to whichever host is then the writable one (`target_session_attrs`).
    fn forget_connections(&self) {
        let now = std::time::Instant::now();
        *self.forget_before.lock().unwrap_or_else(|p| p.into_inner()) = Some(now);
        self.pool.retain(|_, metrics| metrics.created > now);
    }

    async fn credentials(&self) -> StoreResult<Arc<Credentials>> {
        self.bounded(self.credentials.get(
            || async {
                let client = self.client().await?;
                credentials_version(&client).await
            },
            || async {
                let mut client = self.client().await?;
                let tx = client
                    .build_transaction()
                    .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
                    .read_only(true)
                    .start()
                    .await?;
                let version = credentials_version(&tx).await?;
                let accounts = query(&tx, "SELECT id FROM accounts", &[])
                    .await?
                    .iter()
                    .map(|r| r.try_get(0))
                    .collect::<Result<Vec<String>, _>>()?;
                let loaded = Credentials::from_parts(version, tokens(&tx).await?, members(&tx).await?, accounts);
                tx.commit().await?;
                Ok(loaded)
            },
        ))
        .await
    }
}

/// The TLS error behind a connection error, where there is one (the driver wraps it in an
/// I/O error).
fn rustls_cause(e: &tokio_postgres::Error) -> Option<&rustls::Error> {
    let mut next: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
    while let Some(cause) = next {
        if let Some(tls) = cause.downcast_ref::<rustls::Error>() {
            return Some(tls);
        }
        if let Some(inner) = cause.downcast_ref::<std::io::Error>().and_then(|io| io.get_ref()) {
            if let Some(tls) = inner.downcast_ref::<rustls::Error>() {
                return Some(tls);
            }
        }
        next = cause.source();
    }
    None
}

/// Why the first connection could not be made, in words for the operator: the cause the
/// driver wraps, and what it means where that is not obvious.
fn connect_error_text(e: &deadpool_postgres::PoolError, ssl_mode: connect::SslMode) -> String {
    use std::error::Error as _;
    let e = match e {
        deadpool_postgres::PoolError::Backend(e) => e,
        deadpool_postgres::PoolError::Timeout(_) => return "timed out".into(),
        other => return other.to_string(),
    };
    let text = match e.source() {
        Some(source) => format!("{e}: {source}"),
        None => e.to_string(),
    };
    let hint = match rustls_cause(e) {
        Some(rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer)) => {
            " (the server's certificate is not signed by a CA in sslrootcert)"
        }
        Some(rustls::Error::InvalidCertificate(
            rustls::CertificateError::NotValidForName | rustls::CertificateError::NotValidForNameContext { .. },
        )) => " (the server's certificate does not name the host connected to: sslmode=verify-full checks it)",
        _ if text.contains("no encryption") && ssl_mode == connect::SslMode::Disable => {
            " (the server takes only TLS connections from here: sslmode=disable cannot connect)"
        }
        _ if text.contains("database does not allow writes") => {
            " (no server named takes writes: each is a standby or read-only, and seats needs the primary)"
        }
        _ if text.contains("server does not support TLS") => {
            " (sslmode requires TLS: turn ssl on in the server, or use sslmode=prefer or disable)"
        }
        _ => "",
    };
    format!("{text}{hint}")
}

/// Runs a write in one transaction, bounded in time; a transaction that does not reach
/// COMMIT rolls back when dropped.
macro_rules! write_tx {
    ($store:expr, |$tx:ident| $body:expr) => {
        $store
            .bounded(async {
                let mut client = $store.client().await?;
                let started = std::time::Instant::now();
                let $tx = client.transaction().await?;
                let out = $body.await?;
                $tx.commit().await?;
                crate::metrics::committed(1, started.elapsed());
                Ok(out)
            })
            .await
            .inspect_err(|e| {
                if matches!(e, StoreError::Other(_)) {
                    crate::metrics::storage_error();
                }
            })
    };
}
pub(crate) use write_tx;

/// Runs a read on a pooled connection, bounded in time.
macro_rules! read {
    ($store:expr, |$db:ident| $body:expr) => {
        $store
            .bounded(async {
                let client = $store.client().await?;
                let $db = &client;
                $body.await
            })
            .await
    };
}
pub(crate) use read;

/// Lifts the statement timeout for the rest of a transaction doing bulk work (a migration
/// rewriting a 1M-user table, a seed load, an import or export): its length follows the
/// data, not a request.
const UNBOUNDED: &str = "SET LOCAL statement_timeout = 0";

async fn migrate(client: &mut deadpool_postgres::Object) -> StoreResult<()> {
    let tx = client.transaction().await?;
    tx.batch_execute(UNBOUNDED).await?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .await?;
    tx.batch_execute(
        "CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public;
         CREATE TABLE IF NOT EXISTS seats_migrations (
             version    INTEGER PRIMARY KEY,
             applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
         );",
    )
    .await
    .map_err(|e| StoreError::other(format!("preparing the schema: {}", db_error_text(&e))))?;
    let applied: i32 = tx
        .query_one("SELECT COALESCE(MAX(version), 0) FROM seats_migrations", &[])
        .await?
        .try_get(0)?;
    let applied = usize::try_from(applied).unwrap_or(0);
    if applied > MIGRATIONS.len() {
        return Err(StoreError::other(format!(
            "database schema version {applied} is newer than this build knows ({})",
            MIGRATIONS.len()
        )));
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(applied) {
        tx.batch_execute(sql)
            .await
            .map_err(|e| StoreError::other(format!("migration {}: {}", i + 1, db_error_text(&e))))?;
        let version = i32::try_from(i + 1).unwrap_or(i32::MAX);
        tx.execute("INSERT INTO seats_migrations (version) VALUES ($1)", &[&version])
            .await?;
        tracing::info!(migration = i + 1, "applied PostgreSQL migration");
    }
    tx.commit().await?;
    Ok(())
}

/// The server's message for a database error, which `Display` of tokio-postgres leaves out.
fn db_error_text(e: &tokio_postgres::Error) -> String {
    use std::error::Error as _;
    match (e.as_db_error(), e.source()) {
        (Some(db), _) => format!("{}: {}", db.code().code(), db.message()),
        (None, Some(source)) => format!("{e}: {source}"),
        (None, None) => e.to_string(),
    }
}

fn is_unique_violation(e: &tokio_postgres::Error) -> bool {
    e.code() == Some(&tokio_postgres::error::SqlState::UNIQUE_VIOLATION)
}

/// A shared statement's [`Value`] binds as the Rust type of its variant does, checked
/// against the column's type.
impl ToSql for Value {
    fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match self {
            Value::Null => Ok(IsNull::Yes),
            Value::Int(n) => n.to_sql_checked(ty, out),
            Value::Text(s) => s.to_sql_checked(ty, out),
            Value::Bool(b) => b.to_sql_checked(ty, out),
            Value::Bytes(b) => b.to_sql_checked(ty, out),
            Value::List(l) => l.to_sql_checked(ty, out),
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

/// Values as the driver's parameters.
fn bind(values: &[Value]) -> Vec<&(dyn ToSql + Sync)> {
    values.iter().map(|v| v as &(dyn ToSql + Sync)).collect()
}

// Statements are prepared once per connection and cached by the pool.

async fn query(db: &impl GenericClient, sql: &str, params: &[&(dyn ToSql + Sync)]) -> StoreResult<Vec<Row>> {
    let stmt = db.prepare_cached(sql).await?;
    Ok(db.query(&stmt, params).await?)
}

async fn query_opt(db: &impl GenericClient, sql: &str, params: &[&(dyn ToSql + Sync)]) -> StoreResult<Option<Row>> {
    let stmt = db.prepare_cached(sql).await?;
    Ok(db.query_opt(&stmt, params).await?)
}

async fn execute(db: &impl GenericClient, sql: &str, params: &[&(dyn ToSql + Sync)]) -> StoreResult<u64> {
    let stmt = db.prepare_cached(sql).await?;
    Ok(db.execute(&stmt, params).await?)
}

/// Every row of `sql`, read by one of [`crate::rows`]'s readers.
async fn select_all<T>(
    db: &impl GenericClient,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
    read: fn(&dyn crate::export::Cells) -> StoreResult<T>,
) -> StoreResult<Vec<T>> {
    query(db, sql, params)
        .await?
        .iter()
        .map(|r| read(&export::PgCells(r)))
        .collect()
}

/// The row of `sql`, if any, read by one of [`crate::rows`]'s readers.
async fn select_opt<T>(
    db: &impl GenericClient,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
    read: fn(&dyn crate::export::Cells) -> StoreResult<T>,
) -> StoreResult<Option<T>> {
    query_opt(db, sql, params)
        .await?
        .map(|r| read(&export::PgCells(&r)))
        .transpose()
}

fn opt_ts(micros: Option<i64>) -> StoreResult<Option<Timestamp>> {
    micros.map(ts).transpose()
}

/// A count or limit as PostgreSQL's BIGINT.
fn big(n: u64) -> StoreResult<i64> {
    i64::try_from(n).map_err(|_| StoreError::other(format!("{n} is out of range for the database")))
}

fn json_text(v: &impl serde::Serialize) -> StoreResult<String> {
    serde_json::to_string(v).map_err(StoreError::other)
}

/// Empties every table but the schedule in one statement; its lock makes every other
/// transaction, on every node, wait for the commit. TRUNCATE fires no row triggers, so the
/// credentials version is moved by hand: every node's cache reloads.
async fn wipe(db: &impl GenericClient) -> StoreResult<()> {
    db.batch_execute(
        "TRUNCATE scim_group_members, scim_groups, scim_users, identity_providers, logins, sessions, devices,
                  users, member_accounts, members, tokens, audit_events, audit_counts, accounts,
                  dashboard_sessions;
         UPDATE credentials_version SET version = version + 1;
         SELECT pg_notify('seats_credentials', current_schema());",
    )
    .await?;
    Ok(())
}

async fn is_empty(db: &impl GenericClient) -> StoreResult<bool> {
    Ok(query(
        db,
        "SELECT NOT EXISTS (SELECT 1 FROM accounts) AND NOT EXISTS (SELECT 1 FROM members)
                AND NOT EXISTS (SELECT 1 FROM tokens)",
        &[],
    )
    .await?[0]
        .try_get(0)?)
}
