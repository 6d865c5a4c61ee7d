//! The SQLite backend: one file, WAL mode, one writer thread with group commit, a pool of
//! readers.

mod checkpoint;
mod dashboard_sessions;
mod export;
mod lifecycle;
mod readers;
mod scim;
mod seed;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use rusqlite::{params, Connection, OptionalExtension};
use seats_types::{SeatEditItem, Timestamp, TokenStatus};

use crate::credentials::{CredentialCache, Credentials};
use crate::identity_provider::*;
use crate::model::*;
use crate::rules;
use crate::secret::SecretHash;
use crate::seed::{SeedDocument, SeedSummary};
use crate::{Durability, Store, StoreError, StoreResult};
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
}

fn credentials_version(conn: &Connection) -> rusqlite::Result<i64> {
    conn.prepare_cached("SELECT version FROM credentials_version WHERE id = 1")?
        .query_row([], |r| r.get(0))
}

/// Reads every token, member and account id in one read transaction, so they agree.
fn load_credentials(conn: &Connection) -> StoreResult<Credentials> {
    conn.execute_batch("BEGIN")?;
    let read = (|| {
        let version = credentials_version(conn)?;
        let accounts = conn
            .prepare_cached("SELECT id FROM accounts")?
            .query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<Vec<String>>>()?;
        Ok(Credentials::from_parts(
            version,
            lifecycle::tokens(conn)?,
            lifecycle::members(conn)?,
            accounts,
        ))
    })();
    conn.execute_batch("COMMIT")?;
    read
}

/// Applies the migrations this database lacks, in one transaction. Foreign keys are off while
/// they run (SQLite ignores that pragma inside a transaction), so a migration can rebuild a
/// table that others refer to; they are checked before the commit.
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
    let broken: Option<String> = tx
        .query_row("SELECT \"table\" FROM pragma_foreign_key_check LIMIT 1", [], |r| {
            r.get(0)
        })
        .optional()?;
    if let Some(table) = broken {
        return Err(StoreError::other(format!(
            "migration left a broken foreign key in {table}"
        )));
    }
    tx.commit()?;
    Ok(())
}

fn ts(micros: i64) -> rusqlite::Result<Timestamp> {
    Timestamp::from_unix_micros(micros).ok_or_else(|| rusqlite::Error::IntegralValueOutOfRange(0, micros))
}

fn opt_ts(micros: Option<i64>) -> rusqlite::Result<Option<Timestamp>> {
    micros.map(ts).transpose()
}

fn json_text(v: &impl serde::Serialize) -> StoreResult<String> {
    serde_json::to_string(v).map_err(StoreError::other)
}

/// The account's `(seat_limit, seats_in_use)`; seats in use are maintained by triggers on
/// `users` (migration 0003), so this reads one row whatever the account's size.
fn seat_usage(conn: &Connection, account_id: &str) -> StoreResult<(u64, u64)> {
    conn.prepare_cached("SELECT seat_limit, seats_in_use FROM accounts WHERE id = ?1")?
        .query_row([account_id], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?
        .ok_or(StoreError::NotFound { positions: vec![] })
}

#[allow(clippy::too_many_arguments)]
fn audit(
    conn: &Connection,
    now: Timestamp,
    account_id: Option<&str>,
    actor: &Actor,
    action: &str,
    subject: &str,
    before: Option<&serde_json::Value>,
    after: Option<&serde_json::Value>,
) -> StoreResult<()> {
    conn.prepare_cached(
        "INSERT INTO audit_events (at, account_id, actor_kind, actor_id, action, subject, before, after)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![
        now.unix_micros(),
        account_id,
        actor.kind(),
        actor.id(),
        action,
        subject,
        before.map(|v| v.to_string()),
        after.map(|v| v.to_string()),
    ])?;
    Ok(())
}

/// Deletes every row but the schedule and the credentials version, children first; the
/// triggers keep the search index and the figures right as rows go.
pub(super) fn wipe(conn: &Connection) -> StoreResult<()> {
    conn.execute_batch(
        "DELETE FROM scim_group_members; DELETE FROM scim_groups; DELETE FROM scim_users;
         DELETE FROM identity_providers; DELETE FROM logins; DELETE FROM sessions; DELETE FROM devices;
         DELETE FROM users; DELETE FROM member_accounts; DELETE FROM members; DELETE FROM tokens;
         DELETE FROM audit_events; DELETE FROM accounts; DELETE FROM dashboard_sessions;",
    )?;
    Ok(())
}

pub(super) fn is_empty(conn: &Connection) -> rusqlite::Result<bool> {
    conn.query_row(
        "SELECT NOT EXISTS (SELECT 1 FROM accounts) AND NOT EXISTS (SELECT 1 FROM members)
                AND NOT EXISTS (SELECT 1 FROM tokens)",
        [],
        |r| r.get(0),
    )
}

/// A user's seat state as read inside the edit transaction.
struct SeatRow {
    user_id: String,
    access: bool,
    gateway: bool,
    created_at: i64,
    updated_at: i64,
}

fn edit_seats(
    conn: &Connection,
    account_id: &str,
    items: &[SeatEditItem],
    actor: &Actor,
    now: Timestamp,
) -> StoreResult<Vec<SeatRecord>> {
    let (limit, used) = seat_usage(conn, account_id)?;
    let mut lookup = conn.prepare_cached(
        "SELECT id, access_seat, gateway_seat, created_at, updated_at FROM users
         WHERE account_id = ?1 AND seat_uid = ?2",
    )?;
    let mut rows = Vec::with_capacity(items.len());
    let mut missing = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let row = lookup
            .query_row(params![account_id, item.seat_uid], |r| {
                Ok(SeatRow {
                    user_id: r.get(0)?,
                    access: r.get(1)?,
                    gateway: r.get(2)?,
                    created_at: r.get(3)?,
                    updated_at: r.get(4)?,
                })
            })
            .optional()?;
        match row {
            Some(row) => rows.push(row),
            None => missing.push(i),
        }
    }
    if !missing.is_empty() {
        return Err(StoreError::NotFound { positions: missing });
    }

    // The limit is judged on the state after the whole batch.
    let (mut taken, mut freed) = (0u64, 0u64);
    for (row, item) in rows.iter().zip(items) {
        match (row.access || row.gateway, item.access_seat || item.gateway_seat) {
            (false, true) => taken += 1,
            (true, false) => freed += 1,
            _ => {}
        }
    }
    rules::judge_batch(used, limit, taken, freed)?;

    let now_us = now.unix_micros();
    let mut update = conn.prepare_cached(
        "UPDATE users SET access_seat = ?2, gateway_seat = ?3, updated_at = ?4,
                seat_granted_at = CASE WHEN ?2 = 0 AND ?3 = 0 THEN NULL ELSE COALESCE(seat_granted_at, ?4) END
         WHERE id = ?1",
    )?;
    let mut out = Vec::with_capacity(items.len());
    for (row, item) in rows.iter().zip(items) {
        let changed = row.access != item.access_seat || row.gateway != item.gateway_seat;
        if changed {
            update.execute(params![row.user_id, item.access_seat, item.gateway_seat, now_us])?;
            if row.access && !item.access_seat {
                lifecycle::end_sessions(conn, &row.user_id)?;
            }
            if row.gateway && !item.gateway_seat {
                lifecycle::end_devices(conn, &row.user_id)?;
            }
            let before = rules::seats_json(row.access, row.gateway);
            let after = rules::seats_json(item.access_seat, item.gateway_seat);
            let action = rules::seat_edit_action(item.access_seat, item.gateway_seat);
            audit(
                conn,
                now,
                Some(account_id),
                actor,
                action,
                &item.seat_uid,
                Some(&before),
                Some(&after),
            )?;
        }
        out.push(SeatRecord {
            seat_uid: item.seat_uid.clone(),
            access_seat: item.access_seat,
            gateway_seat: item.gateway_seat,
            created_at: ts(row.created_at)?,
            updated_at: if changed { now } else { ts(row.updated_at)? },
        });
    }
    Ok(out)
}

fn token_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(TokenRecord, String)> {
    let hash: Vec<u8> = r.get(2)?;
    let status: String = r.get(4)?;
    Ok((
        TokenRecord {
            id: r.get(0)?,
            name: r.get(1)?,
            value_hash: SecretHash::from_slice(&hash).unwrap_or(SecretHash([0; 32])),
            policies: Vec::new(),
            status: if status == "disabled" {
                TokenStatus::Disabled
            } else {
                TokenStatus::Active
            },
            not_before: opt_ts(r.get(5)?)?,
            expires_on: opt_ts(r.get(6)?)?,
            created_at: ts(r.get(7)?)?,
        },
        r.get(3)?,
    ))
}

/// Adds the policies, stored as JSON, to a token read by [`token_from_row`].
fn with_policies((mut token, policies): (TokenRecord, String)) -> StoreResult<TokenRecord> {
    token.policies = serde_json::from_str(&policies).map_err(StoreError::other)?;
    Ok(token)
}

#[async_trait]
impl Store for SqliteStore {
    async fn ping(&self) -> StoreResult<()> {
        self.readers
            // Touches the schema, not just the connection: a database without our tables is not ready.
            .read(|c| {
                Ok(c.query_row("SELECT 1 FROM accounts LIMIT 1", [], |_| Ok(()))
                    .optional()
                    .map(|_| ())?)
            })
            .await
    }

    async fn is_empty(&self) -> StoreResult<bool> {
        self.readers.read(|c| Ok(is_empty(c)?)).await
    }

    async fn load_seed(&self, seed: SeedDocument, now: Timestamp) -> StoreResult<SeedSummary> {
        self.write_credentials(move |c| seed::load(c, seed.into_reader(), now))
            .await
    }

    async fn reset(&self, seed: Option<SeedDocument>, now: Timestamp) -> StoreResult<SeedSummary> {
        self.write_credentials(move |c| {
            wipe(c)?;
            match seed {
                Some(seed) => seed::load(c, seed.into_reader(), now),
                None => Ok(SeedSummary::default()),
            }
        })
        .await
    }

    async fn restore(
        &self,
        records: tokio::sync::mpsc::Receiver<crate::export::Record>,
    ) -> StoreResult<crate::export::ImportSummary> {
        self.write_credentials(move |c| export::restore(c, records)).await
    }

    async fn token_by_hash(&self, hash: SecretHash) -> StoreResult<Option<TokenRecord>> {
        Ok(self.credentials().await?.token(&hash).cloned())
    }

    async fn member_by_email(&self, email: &str) -> StoreResult<Option<MemberRecord>> {
        Ok(self.credentials().await?.member(email).cloned())
    }

    async fn account(&self, id: &str) -> StoreResult<Option<AccountRecord>> {
        let id = id.to_owned();
        self.readers.read(move |c| lifecycle::account(c, &id)).await
    }

    async fn account_exists(&self, id: &str) -> StoreResult<bool> {
        Ok(self.credentials().await?.accounts.contains(id))
    }

    async fn accounts(&self) -> StoreResult<Vec<AccountRecord>> {
        self.readers
            .read(|c| {
                let sql = format!(
                    "SELECT {} FROM accounts a ORDER BY a.created_at, a.id",
                    lifecycle::ACCOUNT_COLUMNS
                );
                Ok(c.prepare_cached(&sql)?
                    .query_map([], lifecycle::account_from_row)?
                    .collect::<rusqlite::Result<Vec<_>>>()?)
            })
            .await
    }

    async fn user_by_seat_uid(
        &self,
        account_id: &str,
        seat_uid: &str,
        now: Timestamp,
    ) -> StoreResult<Option<UserRecord>> {
        let (account_id, seat_uid) = (account_id.to_owned(), seat_uid.to_owned());
        self.readers
            .read(move |c| {
                let sql = format!(
                    "SELECT {} FROM users u WHERE u.account_id = ?2 AND u.seat_uid = ?3",
                    lifecycle::USER_COLUMNS
                );
                Ok(c.prepare_cached(&sql)?
                    .query_row(
                        params![now.unix_micros(), account_id, seat_uid],
                        lifecycle::user_from_row,
                    )
                    .optional()?)
            })
            .await
    }

    async fn edit_seats(
        &self,
        account_id: &str,
        items: Vec<SeatEditItem>,
        actor: Actor,
        now: Timestamp,
    ) -> StoreResult<Vec<SeatRecord>> {
        let account_id = account_id.to_owned();
        self.writer
            .write(move |c| edit_seats(c, &account_id, &items, &actor, now))
            .await
    }

    async fn list_users(
        &self,
        account_id: &str,
        filter: UserFilter,
        page: u64,
        per_page: u64,
        now: Timestamp,
    ) -> StoreResult<(Vec<UserRecord>, u64)> {
        let account_id = account_id.to_owned();
        self.readers
            .read(move |c| lifecycle::list_users(c, &account_id, &filter, page, per_page, now))
            .await
    }

    async fn browse_users(
        &self,
        account_id: &str,
        browse: crate::browse::UserBrowse,
        now: Timestamp,
    ) -> StoreResult<crate::browse::UserBrowsePage> {
        let account_id = account_id.to_owned();
        self.readers
            .read(move |c| lifecycle::browse_users(c, &account_id, &browse, now))
            .await
    }

    async fn user(&self, account_id: &str, user_id: &str, now: Timestamp) -> StoreResult<Option<UserRecord>> {
        let (account_id, user_id) = (account_id.to_owned(), user_id.to_owned());
        self.readers
            .read(move |c| lifecycle::user_by_id(c, &account_id, &user_id, now))
            .await
    }

    async fn create_user(
        &self,
        account_id: &str,
        email: &str,
        name: &str,
        actor: Actor,
        now: Timestamp,
    ) -> StoreResult<UserRecord> {
        let (account_id, email, name) = (account_id.to_owned(), email.to_owned(), name.to_owned());
        self.writer
            .write(move |c| lifecycle::create_user(c, &account_id, &email, &name, &actor, now))
            .await
    }

    async fn rename_user(
        &self,
        account_id: &str,
        user_id: &str,
        name: &str,
        actor: Actor,
        now: Timestamp,
    ) -> StoreResult<UserRecord> {
        let (account_id, user_id, name) = (account_id.to_owned(), user_id.to_owned(), name.to_owned());
        self.writer
            .write(move |c| lifecycle::rename_user(c, &account_id, &user_id, &name, &actor, now))
            .await
    }

    async fn delete_user(&self, account_id: &str, user_id: &str, actor: Actor, now: Timestamp) -> StoreResult<()> {
        let (account_id, user_id) = (account_id.to_owned(), user_id.to_owned());
        self.writer
            .write(move |c| lifecycle::delete_user(c, &account_id, &user_id, &actor, now))
            .await
    }

    async fn user_activity(
        &self,
        account_id: &str,
        user_id: &str,
        now: Timestamp,
    ) -> StoreResult<Option<UserActivity>> {
        let (account_id, user_id) = (account_id.to_owned(), user_id.to_owned());
        self.readers
            .read(move |c| lifecycle::user_activity(c, &account_id, &user_id, now))
            .await
    }

    async fn organization(&self, account_id: &str) -> StoreResult<Option<OrganizationRecord>> {
        let account_id = account_id.to_owned();
        self.readers
            .read(move |c| lifecycle::organization(c, &account_id))
            .await
    }

    async fn put_organization(
        &self,
        account_id: &str,
        fields: serde_json::Map<String, serde_json::Value>,
        create: bool,
        actor: Actor,
        now: Timestamp,
    ) -> StoreResult<OrganizationRecord> {
        let account_id = account_id.to_owned();
        self.writer
            .write(move |c| lifecycle::put_organization(c, &account_id, fields, create, &actor, now))
            .await
    }

    async fn expire_seats(&self, account_id: Option<&str>, now: Timestamp) -> StoreResult<Vec<(String, String)>> {
        let account_id = account_id.map(str::to_owned);
        self.writer
            .write(move |c| lifecycle::expire_seats(c, account_id.as_deref(), now))
            .await
    }

    async fn claim_sweep(&self, now: Timestamp, next: Timestamp) -> StoreResult<bool> {
        self.writer
            .write(move |c| {
                let claimed = c
                    .prepare_cached(
                        "UPDATE sweep_schedule SET next_due = ?2 WHERE id = 1 AND (next_due <= ?1 OR next_due > 2 * ?2 - ?1)",
                    )?
                    .execute(params![now.unix_micros(), next.unix_micros()])?;
                Ok(claimed == 1)
            })
            .await
    }

    async fn create_dashboard_session(
        &self,
        session: crate::dashboard_session::DashboardSession,
        idle_before: Timestamp,
    ) -> StoreResult<()> {
        self.writer
            .write(move |c| dashboard_sessions::create(c, &session, idle_before))
            .await
    }

    async fn dashboard_session(
        &self,
        id_hash: SecretHash,
    ) -> StoreResult<Option<crate::dashboard_session::DashboardSession>> {
        self.readers.read(move |c| dashboard_sessions::get(c, &id_hash)).await
    }

    async fn touch_dashboard_session(&self, id_hash: SecretHash, now: Timestamp) -> StoreResult<()> {
        self.writer
            .write(move |c| dashboard_sessions::touch(c, &id_hash, now))
            .await
    }

    async fn delete_dashboard_session(&self, id_hash: SecretHash) -> StoreResult<()> {
        self.writer
            .write(move |c| dashboard_sessions::delete(c, &id_hash))
            .await
    }

    async fn server_key(&self, name: &str, candidate: [u8; 32]) -> StoreResult<[u8; 32]> {
        let name = name.to_owned();
        self.writer
            .write(move |c| dashboard_sessions::server_key(c, &name, candidate))
            .await
    }

    async fn login(
        &self,
        account_id: &str,
        login: LoginRequest,
        actor: Actor,
        now: Timestamp,
    ) -> StoreResult<LoginOutcome> {
        let account_id = account_id.to_owned();
        self.writer
            .write(move |c| lifecycle::login(c, &account_id, &login, &actor, now))
            .await
    }

    async fn create_account(&self, account: NewAccount, actor: Actor, now: Timestamp) -> StoreResult<AccountRecord> {
        self.write_credentials(move |c| lifecycle::create_account(c, &account, &actor, now))
            .await
    }

    async fn update_account(
        &self,
        id: &str,
        name: Option<String>,
        seat_limit: Option<u64>,
        actor: Actor,
        now: Timestamp,
    ) -> StoreResult<AccountRecord> {
        let id = id.to_owned();
        self.writer
            .write(move |c| lifecycle::update_account(c, &id, name.as_deref(), seat_limit, &actor, now))
            .await
    }

    async fn create_member(
        &self,
        email: &str,
        key_hash: SecretHash,
        accounts: Vec<String>,
        actor: Actor,
        now: Timestamp,
    ) -> StoreResult<MemberRecord> {
        let email = email.to_owned();
        self.write_credentials(move |c| lifecycle::create_member(c, &email, key_hash, &accounts, &actor, now))
            .await
    }

    async fn members(&self) -> StoreResult<Vec<MemberRecord>> {
        self.readers.read(lifecycle::members).await
    }

    async fn delete_member(&self, email: &str, actor: Actor, now: Timestamp) -> StoreResult<()> {
        let email = email.to_owned();
        self.write_credentials(move |c| lifecycle::delete_member(c, &email, &actor, now))
            .await
    }

    async fn create_token(&self, token: NewToken, actor: Actor, now: Timestamp) -> StoreResult<TokenRecord> {
        self.write_credentials(move |c| lifecycle::create_token(c, &token, &actor, now))
            .await
    }

    async fn tokens(&self) -> StoreResult<Vec<TokenRecord>> {
        self.readers.read(lifecycle::tokens).await
    }

    async fn set_token_status(
        &self,
        id: &str,
        status: TokenStatus,
        actor: Actor,
        now: Timestamp,
    ) -> StoreResult<TokenRecord> {
        let id = id.to_owned();
        self.write_credentials(move |c| lifecycle::set_token_status(c, &id, status, &actor, now))
            .await
    }

    async fn delete_token(&self, id: &str, actor: Actor, now: Timestamp) -> StoreResult<()> {
        let id = id.to_owned();
        self.write_credentials(move |c| lifecycle::delete_token(c, &id, &actor, now))
            .await
    }

    async fn export(&self, out: tokio::sync::mpsc::Sender<crate::export::Record>) -> StoreResult<u64> {
        self.readers.read(move |c| export::export(c, out)).await
    }

    async fn import(
        &self,
        records: tokio::sync::mpsc::Receiver<crate::export::Record>,
    ) -> StoreResult<crate::export::ImportSummary> {
        self.write_credentials(move |c| export::import(c, records)).await
    }

    async fn audit_events(&self, account_id: &str, page: u64, per_page: u64) -> StoreResult<(Vec<AuditRecord>, u64)> {
        let account_id = account_id.to_owned();
        self.readers
            .read(move |c| {
                // Maintained by a trigger on audit_events (migration 0003).
                let total: u64 = c
                    .prepare_cached("SELECT audit_count FROM accounts WHERE id = ?1")?
                    .query_row([&account_id], |r| r.get(0))
                    .optional()?
                    .unwrap_or(0);
                let offset = page.saturating_sub(1).saturating_mul(per_page).min(i64::MAX as u64);
                let events = c
                    .prepare_cached(
                        "SELECT seq, at, account_id, actor_kind, actor_id, action, subject, before, after
                         FROM audit_events WHERE account_id = ?1 ORDER BY seq DESC LIMIT ?2 OFFSET ?3",
                    )?
                    .query_map(params![account_id, per_page, offset], |r| {
                        let kind: String = r.get(3)?;
                        let id: String = r.get(4)?;
                        let before: Option<String> = r.get(7)?;
                        let after: Option<String> = r.get(8)?;
                        Ok(AuditRecord {
                            seq: r.get(0)?,
                            at: ts(r.get(1)?)?,
                            account_id: r.get(2)?,
                            actor: Actor::from_parts(&kind, &id).unwrap_or(Actor::System),
                            action: r.get(5)?,
                            subject: r.get(6)?,
                            before: before.and_then(|s| serde_json::from_str(&s).ok()),
                            after: after.and_then(|s| serde_json::from_str(&s).ok()),
                        })
                    })?
                    .collect::<rusqlite::Result<Vec<_>>>()?;
                Ok((events, total))
            })
            .await
    }

    async fn create_identity_provider(
        &self,
        account_id: &str,
        provider: IdentityProviderWrite,
        actor: Actor,
        now: Timestamp,
    ) -> StoreResult<IdentityProviderRecord> {
        let account_id = account_id.to_owned();
        self.writer
            .write(move |c| scim::create_identity_provider(c, &account_id, provider, &actor, now))
            .await
    }

    async fn identity_providers(
        &self,
        account_id: &str,
        scim_enabled: bool,
        offset: u64,
        limit: u64,
    ) -> StoreResult<(Vec<IdentityProviderRecord>, u64)> {
        let account_id = account_id.to_owned();
        self.readers
            .read(move |c| scim::identity_providers(c, &account_id, scim_enabled, offset, limit))
            .await
    }

    async fn identity_provider(
        &self,
        account_id: Option<&str>,
        id: &str,
    ) -> StoreResult<Option<IdentityProviderRecord>> {
        let (account_id, id) = (account_id.map(str::to_owned), id.to_owned());
        self.readers
            .read(move |c| scim::identity_provider(c, account_id.as_deref(), &id))
            .await
    }

    async fn update_identity_provider(
        &self,
        account_id: &str,
        id: &str,
        provider: IdentityProviderWrite,
        actor: Actor,
        now: Timestamp,
    ) -> StoreResult<IdentityProviderRecord> {
        let (account_id, id) = (account_id.to_owned(), id.to_owned());
        self.writer
            .write(move |c| scim::update_identity_provider(c, &account_id, &id, provider, &actor, now))
            .await
    }

    async fn delete_identity_provider(
        &self,
        account_id: &str,
        id: &str,
        actor: Actor,
        now: Timestamp,
    ) -> StoreResult<()> {
        let (account_id, id) = (account_id.to_owned(), id.to_owned());
        self.writer
            .write(move |c| scim::delete_identity_provider(c, &account_id, &id, &actor, now))
            .await
    }

    async fn scim_users(
        &self,
        provider_id: &str,
        filter: ScimUserFilter,
        offset: u64,
        limit: u64,
    ) -> StoreResult<(Vec<ScimUserRecord>, u64)> {
        let provider_id = provider_id.to_owned();
        self.readers
            .read(move |c| scim::scim_users(c, &provider_id, filter, offset, limit))
            .await
    }

    async fn scim_user(&self, provider_id: &str, id: &str) -> StoreResult<Option<ScimUserRecord>> {
        let (provider_id, id) = (provider_id.to_owned(), id.to_owned());
        self.readers.read(move |c| scim::scim_user(c, &provider_id, &id)).await
    }

    async fn put_scim_user(
        &self,
        provider_id: &str,
        id: Option<&str>,
        user: ScimUserWrite,
        expected: ExpectedVersion,
        now: Timestamp,
    ) -> StoreResult<ScimUserRecord> {
        let (provider_id, id) = (provider_id.to_owned(), id.map(str::to_owned));
        self.writer
            .write(move |c| scim::put_scim_user(c, &provider_id, id.as_deref(), user, expected, now))
            .await
    }

    async fn delete_scim_user(
        &self,
        provider_id: &str,
        id: &str,
        expected: ExpectedVersion,
        now: Timestamp,
    ) -> StoreResult<()> {
        let (provider_id, id) = (provider_id.to_owned(), id.to_owned());
        self.writer
            .write(move |c| scim::delete_scim_user(c, &provider_id, &id, expected, now))
            .await
    }

    async fn scim_groups(
        &self,
        provider_id: &str,
        filter: ScimGroupFilter,
        offset: u64,
        limit: u64,
    ) -> StoreResult<(Vec<ScimGroupRecord>, u64)> {
        let provider_id = provider_id.to_owned();
        self.readers
            .read(move |c| scim::scim_groups(c, &provider_id, filter, offset, limit))
            .await
    }

    async fn scim_group(&self, provider_id: &str, id: &str) -> StoreResult<Option<ScimGroupRecord>> {
        let (provider_id, id) = (provider_id.to_owned(), id.to_owned());
        self.readers.read(move |c| scim::scim_group(c, &provider_id, &id)).await
    }

    async fn put_scim_group(
        &self,
        provider_id: &str,
        id: Option<&str>,
        group: ScimGroupWrite,
        expected: ExpectedVersion,
        now: Timestamp,
    ) -> StoreResult<ScimGroupRecord> {
        let (provider_id, id) = (provider_id.to_owned(), id.map(str::to_owned));
        self.writer
            .write(move |c| scim::put_scim_group(c, &provider_id, id.as_deref(), group, expected, now))
            .await
    }

    async fn delete_scim_group(
        &self,
        provider_id: &str,
        id: &str,
        expected: ExpectedVersion,
        _now: Timestamp,
    ) -> StoreResult<()> {
        let (provider_id, id) = (provider_id.to_owned(), id.to_owned());
        self.writer
            .write(move |c| scim::delete_scim_group(c, &provider_id, &id, expected))
            .await
    }
}
