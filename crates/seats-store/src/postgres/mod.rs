//! The PostgreSQL backend: several `seats serve` nodes on one database.
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

mod dashboard_sessions;
mod export;
mod lifecycle;
mod listen;
mod scim;
mod seed;
pub mod testing;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use deadpool_postgres::{GenericClient, Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use seats_types::{SeatEditItem, Timestamp, TokenStatus};
use tokio_postgres::types::ToSql;
use tokio_postgres::{NoTls, Row};

use crate::credentials::{CredentialCache, Credentials};
use crate::identity_provider::*;
use crate::model::*;
use crate::rules;
use crate::secret::SecretHash;
use crate::seed::{SeedDocument, SeedSummary};
use crate::{Store, StoreError, StoreResult};

/// Schema migrations, applied in order; table `seats_migrations` records those applied.
const MIGRATIONS: &[&str] = &[
    include_str!("../../migrations/postgres/0001_init.sql"),
    include_str!("../../migrations/postgres/0002_sweep_schedule.sql"),
    include_str!("../../migrations/postgres/0003_search_and_in_place_updates.sql"),
    include_str!("../../migrations/postgres/0004_identity_providers_and_scim.sql"),
    include_str!("../../migrations/postgres/0005_dashboard_sessions.sql"),
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
    credentials: Arc<CredentialCache>,
    /// The schema this store's tables live in (`current_schema()`), for notifications.
    schema: String,
    op_timeout: Duration,
    listener: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may carry a password: only the schema is shown.
        f.debug_struct("PgStore")
            .field("schema", &self.schema)
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
        StoreError::Other(Box::new(PgError(e)))
    }
}

impl From<deadpool_postgres::PoolError> for StoreError {
    fn from(e: deadpool_postgres::PoolError) -> Self {
        StoreError::Other(Box::new(e))
    }
}

impl PgStore {
    /// Connects, brings the schema up to date and starts listening for credential changes.
    /// Fails (without waiting longer than the connect timeout) if the database is unreachable.
    pub async fn connect(url: &str, options: PgOptions) -> StoreResult<Self> {
        let mut config: tokio_postgres::Config = url
            .parse()
            .map_err(|e| StoreError::other(format!("invalid PostgreSQL URL: {e}")))?;
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
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let op_timeout = options.statement_timeout + Duration::from_secs(1);
        let pool = Pool::builder(manager)
            .max_size(options.pool_size.max(1))
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(op_timeout))
            .create_timeout(Some(options.connect_timeout))
            .recycle_timeout(Some(options.connect_timeout))
            .build()
            .map_err(StoreError::other)?;
        let mut client = pool
            .get()
            .await
            .map_err(|e| StoreError::other(format!("cannot connect to PostgreSQL: {}", pool_error_text(&e))))?;
        migrate(&mut client).await?;
        let schema: String = client
            .query_one("SELECT current_schema()", &[])
            .await?
            .try_get::<_, Option<String>>(0)?
            .ok_or_else(|| StoreError::other("no schema on the search_path exists"))?;
        drop(client);
        let credentials = Arc::new(CredentialCache::default());
        let listener = tokio::spawn(listen::run(config, schema.clone(), Arc::downgrade(&credentials)));
        Ok(PgStore {
            pool,
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
    async fn bounded<R>(&self, op: impl std::future::Future<Output = StoreResult<R>>) -> StoreResult<R> {
        tokio::time::timeout(self.op_timeout, op)
            .await
            .unwrap_or_else(|_| Err(StoreError::other("PostgreSQL did not answer in time")))
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
                let loaded = Credentials::from_parts(
                    version,
                    lifecycle::tokens(&tx).await?,
                    lifecycle::members(&tx).await?,
                    accounts,
                );
                tx.commit().await?;
                Ok(loaded)
            },
        ))
        .await
    }
}

/// Why the pool could not give a connection, in words for the operator.
fn pool_error_text(e: &deadpool_postgres::PoolError) -> String {
    match e {
        deadpool_postgres::PoolError::Backend(e) => {
            use std::error::Error as _;
            match e.source() {
                Some(source) => format!("{e}: {source}"),
                None => e.to_string(),
            }
        }
        deadpool_postgres::PoolError::Timeout(_) => "timed out".into(),
        other => other.to_string(),
    }
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

async fn credentials_version(db: &impl GenericClient) -> StoreResult<i64> {
    Ok(
        query_opt(db, "SELECT version FROM credentials_version WHERE id = 1", &[])
            .await?
            .map(|r| r.try_get(0))
            .transpose()?
            .unwrap_or(0),
    )
}

fn ts(micros: i64) -> StoreResult<Timestamp> {
    Timestamp::from_unix_micros(micros).ok_or_else(|| StoreError::other(format!("timestamp out of range: {micros}")))
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

/// Audit events of one actor and account, written in order by one statement.
#[derive(Default)]
struct AuditBatch<'a> {
    action: Vec<&'a str>,
    subject: Vec<&'a str>,
    before: Vec<Option<String>>,
    after: Vec<Option<String>>,
}

impl<'a> AuditBatch<'a> {
    fn push(&mut self, action: &'a str, subject: &'a str, before: &serde_json::Value, after: &serde_json::Value) {
        self.action.push(action);
        self.subject.push(subject);
        self.before.push(Some(before.to_string()));
        self.after.push(Some(after.to_string()));
    }

    async fn write(
        &self,
        db: &impl GenericClient,
        now: Timestamp,
        account_id: Option<&str>,
        actor: &Actor,
    ) -> StoreResult<()> {
        if self.subject.is_empty() {
            return Ok(());
        }
        execute(
            db,
            "INSERT INTO audit_events (at, account_id, actor_kind, actor_id, action, subject, before, after)
             SELECT $1, $2, $3, $4, e.action, e.subject, e.before, e.after
             FROM UNNEST($5::text[], $6::text[], $7::text[], $8::text[])
                  WITH ORDINALITY AS e (action, subject, before, after, n)
             ORDER BY e.n",
            &[
                &now.unix_micros(),
                &account_id,
                &actor.kind(),
                &actor.id(),
                &self.action,
                &self.subject,
                &self.before,
                &self.after,
            ],
        )
        .await?;
        Ok(())
    }
}

#[allow(clippy::too_many_arguments)]
async fn audit(
    db: &impl GenericClient,
    now: Timestamp,
    account_id: Option<&str>,
    actor: &Actor,
    action: &str,
    subject: &str,
    before: Option<&serde_json::Value>,
    after: Option<&serde_json::Value>,
) -> StoreResult<()> {
    execute(
        db,
        "INSERT INTO audit_events (at, account_id, actor_kind, actor_id, action, subject, before, after)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        &[
            &now.unix_micros(),
            &account_id,
            &actor.kind(),
            &actor.id(),
            &action,
            &subject,
            &before.map(|v| v.to_string()),
            &after.map(|v| v.to_string()),
        ],
    )
    .await?;
    Ok(())
}

/// Refreshes the planner's statistics after a bulk load: until autovacuum comes by, the
/// planner would take a 1M-user account for an empty one and pick its plans accordingly.
async fn analyze(db: &impl GenericClient) -> StoreResult<()> {
    db.batch_execute(&format!(
        "BEGIN; {UNBOUNDED}; ANALYZE accounts, users, devices, sessions, logins, audit_events; COMMIT"
    ))
    .await?;
    Ok(())
}

/// Locks the account row and reads `(seat_limit, seats_in_use)`: taken by every change that
/// moves the account's figures, after the users it names and before any audit event.
async fn lock_account(db: &impl GenericClient, account_id: &str) -> StoreResult<(u64, u64)> {
    let row = query_opt(
        db,
        "SELECT seat_limit, seats_in_use FROM accounts WHERE id = $1 FOR NO KEY UPDATE",
        &[&account_id],
    )
    .await?
    .ok_or(StoreError::NotFound { positions: vec![] })?;
    Ok((row.try_get::<_, i64>(0)? as u64, row.try_get::<_, i64>(1)? as u64))
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

/// A user's seat state, locked for the edit.
struct SeatRow {
    user_id: String,
    seat_uid: String,
    access: bool,
    gateway: bool,
    created_at: i64,
    updated_at: i64,
}

async fn edit_seats(
    db: &impl GenericClient,
    account_id: &str,
    items: &[SeatEditItem],
    actor: &Actor,
    now: Timestamp,
) -> StoreResult<Vec<SeatRecord>> {
    let uids: Vec<&str> = items.iter().map(|i| i.seat_uid.as_str()).collect();
    // Locks the named users in id order (the same order every writer uses).
    let locked = query(
        db,
        "SELECT id, seat_uid, access_seat, gateway_seat, created_at, updated_at FROM users
         WHERE account_id = $1 AND seat_uid = ANY($2) ORDER BY id FOR NO KEY UPDATE",
        &[&account_id, &uids],
    )
    .await?;
    let mut by_uid = std::collections::HashMap::with_capacity(locked.len());
    for r in &locked {
        let row = SeatRow {
            user_id: r.try_get(0)?,
            seat_uid: r.try_get(1)?,
            access: r.try_get(2)?,
            gateway: r.try_get(3)?,
            created_at: r.try_get(4)?,
            updated_at: r.try_get(5)?,
        };
        by_uid.insert(row.seat_uid.clone(), row);
    }
    let missing: Vec<usize> = items
        .iter()
        .enumerate()
        .filter(|(_, i)| !by_uid.contains_key(&i.seat_uid))
        .map(|(n, _)| n)
        .collect();
    if !missing.is_empty() {
        let exists = query_opt(db, "SELECT 1 FROM accounts WHERE id = $1", &[&account_id])
            .await?
            .is_some();
        return Err(StoreError::NotFound {
            positions: if exists { missing } else { vec![] },
        });
    }

    let (mut taken, mut freed) = (0u64, 0u64);
    for item in items {
        let row = &by_uid[&item.seat_uid];
        match (row.access || row.gateway, item.access_seat || item.gateway_seat) {
            (false, true) => taken += 1,
            (true, false) => freed += 1,
            _ => {}
        }
    }
    if taken > 0 || freed > 0 {
        // The figures move: the account row is locked before any change, and the limit is
        // judged on the state after the whole batch.
        let (limit, used) = lock_account(db, account_id).await?;
        rules::judge_batch(used, limit, taken, freed)?;
    }

    let now_us = now.unix_micros();
    let mut changed = (Vec::new(), Vec::new(), Vec::new());
    let (mut end_sessions, mut end_devices) = (Vec::new(), Vec::new());
    let mut audits = AuditBatch::default();
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        let row = &by_uid[&item.seat_uid];
        let is_changed = row.access != item.access_seat || row.gateway != item.gateway_seat;
        if is_changed {
            changed.0.push(row.user_id.as_str());
            changed.1.push(item.access_seat);
            changed.2.push(item.gateway_seat);
            if row.access && !item.access_seat {
                end_sessions.push(row.user_id.as_str());
            }
            if row.gateway && !item.gateway_seat {
                end_devices.push(row.user_id.as_str());
            }
            audits.push(
                rules::seat_edit_action(item.access_seat, item.gateway_seat),
                &item.seat_uid,
                &rules::seats_json(row.access, row.gateway),
                &rules::seats_json(item.access_seat, item.gateway_seat),
            );
        }
        out.push(SeatRecord {
            seat_uid: item.seat_uid.clone(),
            access_seat: item.access_seat,
            gateway_seat: item.gateway_seat,
            created_at: ts(row.created_at)?,
            updated_at: if is_changed { now } else { ts(row.updated_at)? },
        });
    }
    if !changed.0.is_empty() {
        execute(
            db,
            "UPDATE users u SET access_seat = v.access, gateway_seat = v.gateway, updated_at = $4,
                    seat_granted_at = CASE WHEN v.access OR v.gateway THEN COALESCE(u.seat_granted_at, $4) END
             FROM UNNEST($1::text[], $2::bool[], $3::bool[]) AS v (id, access, gateway)
             WHERE u.id = v.id",
            &[&changed.0, &changed.1, &changed.2, &now_us],
        )
        .await?;
    }
    if !end_sessions.is_empty() {
        execute(db, "DELETE FROM sessions WHERE user_id = ANY($1)", &[&end_sessions]).await?;
    }
    if !end_devices.is_empty() {
        execute(db, "DELETE FROM devices WHERE user_id = ANY($1)", &[&end_devices]).await?;
    }
    audits.write(db, now, Some(account_id), actor).await?;
    Ok(out)
}

#[async_trait]
impl Store for PgStore {
    async fn ping(&self) -> StoreResult<()> {
        // Touches the schema, not just the connection: a database without our tables is not ready.
        read!(self, |db| async move {
            query(db, "SELECT 1 FROM accounts LIMIT 1", &[]).await?;
            Ok(())
        })
    }

    async fn is_empty(&self) -> StoreResult<bool> {
        read!(self, |db| is_empty(db))
    }

    async fn load_seed(&self, seed: SeedDocument, now: Timestamp) -> StoreResult<SeedSummary> {
        // Not bounded by the operation timeout: a large seed takes as long as it takes, and
        // each of its statements is still bounded by the statement timeout.
        let mut client = self.client().await?;
        let result = seed::load(&mut client, seed, now, false).await;
        self.credentials.invalidate();
        let summary = result?;
        analyze(&client).await?;
        Ok(summary)
    }

    async fn reset(&self, seed: Option<SeedDocument>, now: Timestamp) -> StoreResult<SeedSummary> {
        let mut client = self.client().await?;
        let result = match seed {
            Some(seed) => seed::load(&mut client, seed, now, true).await,
            None => {
                let tx = client.transaction().await?;
                wipe(&tx).await?;
                tx.commit().await?;
                Ok(SeedSummary::default())
            }
        };
        self.credentials.invalidate();
        let summary = result?;
        analyze(&client).await?;
        Ok(summary)
    }

    async fn restore(
        &self,
        records: tokio::sync::mpsc::Receiver<crate::export::Record>,
    ) -> StoreResult<crate::export::ImportSummary> {
        let mut client = self.client().await?;
        let result = export::import(&mut client, records, true).await;
        self.credentials.invalidate();
        let summary = result?;
        analyze(&client).await?;
        Ok(summary)
    }

    async fn token_by_hash(&self, hash: SecretHash) -> StoreResult<Option<TokenRecord>> {
        Ok(self.credentials().await?.token(&hash).cloned())
    }

    async fn member_by_email(&self, email: &str) -> StoreResult<Option<MemberRecord>> {
        Ok(self.credentials().await?.member(email).cloned())
    }

    async fn account(&self, id: &str) -> StoreResult<Option<AccountRecord>> {
        read!(self, |db| lifecycle::account(db, id))
    }

    async fn account_exists(&self, id: &str) -> StoreResult<bool> {
        Ok(self.credentials().await?.accounts.contains(id))
    }

    async fn accounts(&self) -> StoreResult<Vec<AccountRecord>> {
        read!(self, |db| lifecycle::accounts(db))
    }

    async fn user_by_seat_uid(
        &self,
        account_id: &str,
        seat_uid: &str,
        now: Timestamp,
    ) -> StoreResult<Option<UserRecord>> {
        read!(self, |db| lifecycle::user_by(db, "seat_uid", account_id, seat_uid, now))
    }

    async fn edit_seats(
        &self,
        account_id: &str,
        items: Vec<SeatEditItem>,
        actor: Actor,
        now: Timestamp,
    ) -> StoreResult<Vec<SeatRecord>> {
        write_tx!(self, |tx| edit_seats(&tx, account_id, &items, &actor, now))
    }

    async fn browse_users(
        &self,
        account_id: &str,
        browse: crate::browse::UserBrowse,
        now: Timestamp,
    ) -> StoreResult<crate::browse::UserBrowsePage> {
        read!(self, |db| lifecycle::browse_users(db, account_id, &browse, now))
    }

    async fn list_users(
        &self,
        account_id: &str,
        filter: UserFilter,
        page: u64,
        per_page: u64,
        now: Timestamp,
    ) -> StoreResult<(Vec<UserRecord>, u64)> {
        read!(self, |db| lifecycle::list_users(
            db, account_id, &filter, page, per_page, now
        ))
    }

    async fn user(&self, account_id: &str, user_id: &str, now: Timestamp) -> StoreResult<Option<UserRecord>> {
        let user_id = user_id.to_ascii_lowercase();
        read!(self, |db| lifecycle::user_by(db, "id", account_id, &user_id, now))
    }

    async fn create_user(
        &self,
        account_id: &str,
        email: &str,
        name: &str,
        actor: Actor,
        now: Timestamp,
    ) -> StoreResult<UserRecord> {
        write_tx!(self, |tx| lifecycle::create_user(
            &tx, account_id, email, name, &actor, now
        ))
    }

    async fn rename_user(
        &self,
        account_id: &str,
        user_id: &str,
        name: &str,
        actor: Actor,
        now: Timestamp,
    ) -> StoreResult<UserRecord> {
        write_tx!(self, |tx| lifecycle::rename_user(
            &tx, account_id, user_id, name, &actor, now
        ))
    }

    async fn delete_user(&self, account_id: &str, user_id: &str, actor: Actor, now: Timestamp) -> StoreResult<()> {
        write_tx!(self, |tx| lifecycle::delete_user(&tx, account_id, user_id, &actor, now))
    }

    async fn user_activity(
        &self,
        account_id: &str,
        user_id: &str,
        now: Timestamp,
    ) -> StoreResult<Option<UserActivity>> {
        read!(self, |db| lifecycle::user_activity(db, account_id, user_id, now))
    }

    async fn organization(&self, account_id: &str) -> StoreResult<Option<OrganizationRecord>> {
        read!(self, |db| lifecycle::organization(db, account_id))
    }

    async fn put_organization(
        &self,
        account_id: &str,
        fields: serde_json::Map<String, serde_json::Value>,
        create: bool,
        actor: Actor,
        now: Timestamp,
    ) -> StoreResult<OrganizationRecord> {
        write_tx!(self, |tx| lifecycle::put_organization(
            &tx, account_id, fields, create, &actor, now
        ))
    }

    async fn expire_seats(&self, account_id: Option<&str>, now: Timestamp) -> StoreResult<Vec<(String, String)>> {
        write_tx!(self, |tx| lifecycle::expire_seats(&tx, account_id, now))
    }

    async fn claim_sweep(&self, now: Timestamp, next: Timestamp) -> StoreResult<bool> {
        // Nodes claiming at once queue on the row; PostgreSQL re-checks the condition for
        // each after the one before committed, so one of them claims it.
        read!(self, |db| async move {
            let claimed = execute(
                db,
                "UPDATE sweep_schedule SET next_due = $2 WHERE id = 1 AND (next_due <= $1::bigint OR next_due > 2 * $2::bigint - $1::bigint)",
                &[&now.unix_micros(), &next.unix_micros()],
            )
            .await?;
            Ok(claimed == 1)
        })
    }

    async fn create_dashboard_session(
        &self,
        session: crate::dashboard_session::DashboardSession,
        idle_before: Timestamp,
    ) -> StoreResult<()> {
        write_tx!(self, |tx| dashboard_sessions::create(&tx, &session, idle_before))
    }

    async fn dashboard_session(
        &self,
        id_hash: SecretHash,
    ) -> StoreResult<Option<crate::dashboard_session::DashboardSession>> {
        read!(self, |db| dashboard_sessions::get(db, &id_hash))
    }

    async fn touch_dashboard_session(&self, id_hash: SecretHash, now: Timestamp) -> StoreResult<()> {
        read!(self, |db| dashboard_sessions::touch(db, &id_hash, now))
    }

    async fn delete_dashboard_session(&self, id_hash: SecretHash) -> StoreResult<()> {
        read!(self, |db| dashboard_sessions::delete(db, &id_hash))
    }

    async fn server_key(&self, name: &str, candidate: [u8; 32]) -> StoreResult<[u8; 32]> {
        read!(self, |db| dashboard_sessions::server_key(db, name, candidate))
    }

    async fn login(
        &self,
        account_id: &str,
        login: LoginRequest,
        actor: Actor,
        now: Timestamp,
    ) -> StoreResult<LoginOutcome> {
        write_tx!(self, |tx| lifecycle::login(&tx, account_id, &login, &actor, now))
    }

    async fn create_account(&self, account: NewAccount, actor: Actor, now: Timestamp) -> StoreResult<AccountRecord> {
        let result = write_tx!(self, |tx| lifecycle::create_account(&tx, &account, &actor, now));
        self.credentials.invalidate();
        result
    }

    async fn update_account(
        &self,
        id: &str,
        name: Option<String>,
        seat_limit: Option<u64>,
        actor: Actor,
        now: Timestamp,
    ) -> StoreResult<AccountRecord> {
        write_tx!(self, |tx| lifecycle::update_account(
            &tx,
            id,
            name.as_deref(),
            seat_limit,
            &actor,
            now
        ))
    }

    async fn create_member(
        &self,
        email: &str,
        key_hash: SecretHash,
        accounts: Vec<String>,
        actor: Actor,
        now: Timestamp,
    ) -> StoreResult<MemberRecord> {
        let result = write_tx!(self, |tx| lifecycle::create_member(
            &tx, email, key_hash, &accounts, &actor, now
        ));
        self.credentials.invalidate();
        result
    }

    async fn members(&self) -> StoreResult<Vec<MemberRecord>> {
        read!(self, |db| lifecycle::members(db))
    }

    async fn delete_member(&self, email: &str, actor: Actor, now: Timestamp) -> StoreResult<()> {
        let result = write_tx!(self, |tx| lifecycle::delete_member(&tx, email, &actor, now));
        self.credentials.invalidate();
        result
    }

    async fn create_token(&self, token: NewToken, actor: Actor, now: Timestamp) -> StoreResult<TokenRecord> {
        let result = write_tx!(self, |tx| lifecycle::create_token(&tx, &token, &actor, now));
        self.credentials.invalidate();
        result
    }

    async fn tokens(&self) -> StoreResult<Vec<TokenRecord>> {
        read!(self, |db| lifecycle::tokens(db))
    }

    async fn set_token_status(
        &self,
        id: &str,
        status: TokenStatus,
        actor: Actor,
        now: Timestamp,
    ) -> StoreResult<TokenRecord> {
        let result = write_tx!(self, |tx| lifecycle::set_token_status(&tx, id, status, &actor, now));
        self.credentials.invalidate();
        result
    }

    async fn delete_token(&self, id: &str, actor: Actor, now: Timestamp) -> StoreResult<()> {
        let result = write_tx!(self, |tx| lifecycle::delete_token(&tx, id, &actor, now));
        self.credentials.invalidate();
        result
    }

    async fn export(&self, out: tokio::sync::mpsc::Sender<crate::export::Record>) -> StoreResult<u64> {
        // Not bounded by the operation timeout: an export takes as long as the data needs.
        let mut client = self.client().await?;
        export::export(&mut client, out).await
    }

    async fn import(
        &self,
        records: tokio::sync::mpsc::Receiver<crate::export::Record>,
    ) -> StoreResult<crate::export::ImportSummary> {
        let mut client = self.client().await?;
        let result = export::import(&mut client, records, false).await;
        self.credentials.invalidate();
        let summary = result?;
        analyze(&client).await?;
        Ok(summary)
    }

    async fn audit_events(&self, account_id: &str, page: u64, per_page: u64) -> StoreResult<(Vec<AuditRecord>, u64)> {
        read!(self, |db| lifecycle::audit_events(db, account_id, page, per_page))
    }

    async fn create_identity_provider(
        &self,
        account_id: &str,
        provider: IdentityProviderWrite,
        actor: Actor,
        now: Timestamp,
    ) -> StoreResult<IdentityProviderRecord> {
        write_tx!(self, |tx| scim::create_identity_provider(
            &tx, account_id, provider, &actor, now
        ))
    }

    async fn identity_providers(
        &self,
        account_id: &str,
        scim_enabled: bool,
        offset: u64,
        limit: u64,
    ) -> StoreResult<(Vec<IdentityProviderRecord>, u64)> {
        read!(self, |db| scim::identity_providers(
            db,
            account_id,
            scim_enabled,
            offset,
            limit
        ))
    }

    async fn identity_provider(
        &self,
        account_id: Option<&str>,
        id: &str,
    ) -> StoreResult<Option<IdentityProviderRecord>> {
        read!(self, |db| scim::identity_provider(db, account_id, id))
    }

    async fn update_identity_provider(
        &self,
        account_id: &str,
        id: &str,
        provider: IdentityProviderWrite,
        actor: Actor,
        now: Timestamp,
    ) -> StoreResult<IdentityProviderRecord> {
        write_tx!(self, |tx| scim::update_identity_provider(
            &tx, account_id, id, provider, &actor, now
        ))
    }

    async fn delete_identity_provider(
        &self,
        account_id: &str,
        id: &str,
        actor: Actor,
        now: Timestamp,
    ) -> StoreResult<()> {
        write_tx!(self, |tx| scim::delete_identity_provider(
            &tx, account_id, id, &actor, now
        ))
    }

    async fn scim_users(
        &self,
        provider_id: &str,
        filter: ScimUserFilter,
        offset: u64,
        limit: u64,
    ) -> StoreResult<(Vec<ScimUserRecord>, u64)> {
        read!(self, |db| scim::scim_users(db, provider_id, filter, offset, limit))
    }

    async fn scim_user(&self, provider_id: &str, id: &str) -> StoreResult<Option<ScimUserRecord>> {
        read!(self, |db| scim::scim_user(db, provider_id, id))
    }

    async fn put_scim_user(
        &self,
        provider_id: &str,
        id: Option<&str>,
        user: ScimUserWrite,
        expected: ExpectedVersion,
        now: Timestamp,
    ) -> StoreResult<ScimUserRecord> {
        write_tx!(self, |tx| scim::put_scim_user(
            &tx,
            provider_id,
            id,
            user,
            expected,
            now
        ))
    }

    async fn delete_scim_user(
        &self,
        provider_id: &str,
        id: &str,
        expected: ExpectedVersion,
        now: Timestamp,
    ) -> StoreResult<()> {
        write_tx!(self, |tx| scim::delete_scim_user(&tx, provider_id, id, expected, now))
    }

    async fn scim_groups(
        &self,
        provider_id: &str,
        filter: ScimGroupFilter,
        offset: u64,
        limit: u64,
    ) -> StoreResult<(Vec<ScimGroupRecord>, u64)> {
        read!(self, |db| scim::scim_groups(db, provider_id, filter, offset, limit))
    }

    async fn scim_group(&self, provider_id: &str, id: &str) -> StoreResult<Option<ScimGroupRecord>> {
        read!(self, |db| scim::scim_group(db, provider_id, id))
    }

    async fn put_scim_group(
        &self,
        provider_id: &str,
        id: Option<&str>,
        group: ScimGroupWrite,
        expected: ExpectedVersion,
        now: Timestamp,
    ) -> StoreResult<ScimGroupRecord> {
        write_tx!(self, |tx| scim::put_scim_group(
            &tx,
            provider_id,
            id,
            group,
            expected,
            now
        ))
    }

    async fn delete_scim_group(
        &self,
        provider_id: &str,
        id: &str,
        expected: ExpectedVersion,
        _now: Timestamp,
    ) -> StoreResult<()> {
        write_tx!(self, |tx| scim::delete_scim_group(&tx, provider_id, id, expected))
    }
}
