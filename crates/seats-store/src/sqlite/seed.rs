//! Loading a seed into an empty SQLite database, as a bulk load ([`super::bulk`]) in the
//! caller's transaction: a seed with problems, found at any point, leaves nothing behind.
//! Duplicates are found when the unique indexes are built again, and named by their place in
//! the document.
//!
//! Two threads share the work: one reads and checks the document ([`seed::stream`]) and turns
//! what it holds into rows (ids generated, emails folded, secrets hashed), the caller's thread
//! writes them. They meet over a short channel of batches, so memory stays flat; reading was
//! a fifth of a load's work when one thread did both.

use std::io::Read;
use std::sync::{mpsc, Arc};

use rusqlite::{params, Connection};
use seats_types::{formats, Timestamp};

use super::bulk::{Activity, Bulk, Start};
use super::{is_empty, is_unique_violation};
use crate::rules::SESSION_LIFETIME_US;
use crate::seed::{
    self, Duplicate, DuplicateField, SeedAccount, SeedMember, SeedRecord, SeedSink, SeedSummary, SeedToken, SeedUser,
    StoredSeedUser,
};
use crate::{Conflict, StoreError, StoreResult};

/// Users sent to the writing thread together.
const BATCH: usize = 1024;
/// Batches (or other items) waiting for the writing thread, at most.
const QUEUE: usize = 4;

/// Loads the seed `reader` gives into the database, which must be empty from `start`.
pub(super) fn load(
    conn: &Connection,
    reader: impl Read + Send,
    now: Timestamp,
    start: Start,
) -> StoreResult<SeedSummary> {
    // A bulk load reads back few pages, so a large page cache only grows the peak memory.
    let cache_size: i64 = conn.query_row("PRAGMA cache_size", [], |r| r.get(0))?;
    conn.pragma_update(None, "cache_size", SEED_CACHE_SIZE)?;
    let loaded = load_rows(conn, reader, now, start);
    conn.pragma_update(None, "cache_size", cache_size)?;
    loaded
}

/// SQLite's default page cache (2 MiB), for the load.
const SEED_CACHE_SIZE: i64 = -2000;

fn load_rows(conn: &Connection, reader: impl Read + Send, now: Timestamp, start: Start) -> StoreResult<SeedSummary> {
    let bulk = Bulk::begin(conn, start)?;
    if !is_empty(conn)? {
        return Err(StoreError::Conflict(Conflict::NotEmpty));
    }
    // Users arrive before the account row that closes their object.
    conn.pragma_update(None, "defer_foreign_keys", "ON")?;
    let now_us = now.unix_micros();
    let mut sink = Sink {
        conn,
        now_us,
        next_seq: 1,
        bases: Vec::new(),
        bulk,
        duplicate_ids: Vec::new(),
    };
    let (items, incoming) = mpsc::sync_channel(QUEUE);
    let (read, stored) = std::thread::scope(|scope| -> StoreResult<_> {
        let reading = std::thread::Builder::new()
            .name("seats-seed-reader".into())
            .spawn_scoped(scope, move || {
                let mut rows = Rows {
                    items,
                    users: Vec::with_capacity(BATCH),
                    account_id: None,
                    now_us,
                };
                seed::stream(reader, &mut rows)
            })
            .map_err(StoreError::other)?;
        let stored = incoming.iter().try_for_each(|item| sink.store(item));
        // Gone before the join: a reader waiting to send learns the writing stopped.
        drop(incoming);
        Ok((reading.join(), stored))
    })?;
    // The writing side's own error says more than the reader's "the seed writer stopped".
    stored?;
    let summary = read.map_err(|_| StoreError::other("the seed reader panicked"))??;
    tracing::debug!(
        users = summary.users,
        "seed rows and indexes written; counting and building the search index"
    );
    sink.bulk.finish(conn, Activity::Given)?;
    Ok(summary)
}

/// A user ready to store, with its place in the document.
struct UserRow {
    account: usize,
    index: usize,
    account_id: Arc<str>,
    id: String,
    email: String,
    email_key: String,
    name: String,
    seat_uid: String,
    access_seat: bool,
    gateway_seat: bool,
    seat_granted_at: Option<i64>,
    last_successful_login: Option<i64>,
    active_at: i64,
    devices: u64,
}

/// What the reading thread sends the writing one: rows, or a question about the rows so far.
enum Item {
    Users(Vec<UserRow>),
    Record(SeedRecord),
    Duplicates(mpsc::SyncSender<StoreResult<Vec<Duplicate>>>),
}

/// The reading side: turns checked seed items into rows and sends them.
struct Rows {
    items: mpsc::SyncSender<Item>,
    users: Vec<UserRow>,
    /// The account of the users being read, shared by their rows.
    account_id: Option<Arc<str>>,
    now_us: i64,
}

impl Rows {
    fn send(&self, item: Item) -> StoreResult<()> {
        self.items
            .send(item)
            .map_err(|_| StoreError::other("the seed writer stopped"))
    }

    fn flush(&mut self) -> StoreResult<()> {
        if !self.users.is_empty() {
            let users = std::mem::replace(&mut self.users, Vec::with_capacity(BATCH));
            self.send(Item::Users(users))?;
        }
        Ok(())
    }
}

impl SeedSink for Rows {
    fn user(&mut self, account: usize, account_id: &str, index: usize, user: &SeedUser) -> StoreResult<()> {
        let account_id = match &self.account_id {
            Some(id) if **id == *account_id => id.clone(),
            _ => self.account_id.insert(Arc::from(account_id)).clone(),
        };
        let StoredSeedUser {
            id,
            seat_uid,
            last_successful_login,
            seat_granted_at,
            active_at,
        } = user.stored(self.now_us);
        self.users.push(UserRow {
            account,
            index,
            account_id,
            id,
            email: user.email.clone(),
            email_key: formats::email_key(&user.email),
            name: user.name.clone(),
            seat_uid,
            access_seat: user.access_seat,
            gateway_seat: user.gateway_seat,
            seat_granted_at,
            last_successful_login,
            active_at,
            devices: user.active_device_count,
        });
        if self.users.len() >= BATCH {
            self.flush()?;
        }
        Ok(())
    }

    fn account(&mut self, _: usize, account: &SeedAccount) -> StoreResult<()> {
        self.flush()?;
        self.send(Item::Record(SeedRecord::account(account)?))
    }

    fn member(&mut self, member: &SeedMember) -> StoreResult<()> {
        self.flush()?;
        self.send(Item::Record(SeedRecord::member(member)))
    }

    fn token(&mut self, token: &SeedToken) -> StoreResult<()> {
        self.flush()?;
        self.send(Item::Record(SeedRecord::token(token)?))
    }

    /// Asks the writing side, once every user is in.
    fn duplicates(&mut self) -> StoreResult<Vec<Duplicate>> {
        self.flush()?;
        let (reply, answer) = mpsc::sync_channel(1);
        self.send(Item::Duplicates(reply))?;
        answer
            .recv()
            .map_err(|_| StoreError::other("the seed writer stopped"))?
    }
}

/// The writing side, on the caller's thread and connection.
struct Sink<'c> {
    conn: &'c Connection,
    now_us: i64,
    next_seq: i64,
    /// `(account index, seq of its user 0)`: a user's `seq` is its account's base plus its
    /// index, so a row found later names its place in the document.
    bases: Vec<(usize, i64)>,
    /// The load: its indexes are rebuilt when the reader asks for the duplicates.
    bulk: Bulk,
    duplicate_ids: Vec<Duplicate>,
}

impl Sink<'_> {
    fn seq_of(&mut self, account: usize, user: usize) -> i64 {
        let base = match self.bases.last() {
            Some(&(a, base)) if a == account => base,
            _ => {
                self.bases.push((account, self.next_seq));
                self.next_seq
            }
        };
        let seq = base + user as i64;
        self.next_seq = self.next_seq.max(seq + 1);
        seq
    }

    /// The place in the document of the user stored at `seq`.
    fn place(&self, seq: i64) -> (usize, usize) {
        let i = self.bases.partition_point(|&(_, base)| base <= seq).saturating_sub(1);
        let (account, base) = self.bases[i];
        (account, (seq - base) as usize)
    }

    /// Users sharing `column` within an account, after the first of each group.
    fn duplicates_of(&self, column: &str, field: DuplicateField) -> StoreResult<Vec<Duplicate>> {
        let key = if column == "email" { "email_key" } else { column };
        let rows: Vec<(i64, String, String, String)> = self
            .conn
            .prepare(&format!(
                "SELECT seq, account_id, {key}, {column} FROM users
                 WHERE (account_id, {key}) IN (SELECT account_id, {key} FROM users GROUP BY 1, 2 HAVING COUNT(*) > 1)
                 ORDER BY account_id, {key}, seq"
            ))?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
            .collect::<rusqlite::Result<_>>()?;
        let mut found = Vec::new();
        let mut first: Option<(&str, &str, usize)> = None;
        for (seq, account_id, key, value) in &rows {
            let (account, user) = self.place(*seq);
            match first {
                Some((a, k, first_user)) if a == account_id && k == key => found.push(Duplicate {
                    field,
                    account,
                    user,
                    value: value.clone(),
                    first: Some(first_user),
                }),
                _ => first = Some((account_id, key, user)),
            }
        }
        Ok(found)
    }
}

impl Sink<'_> {
    fn store(&mut self, item: Item) -> StoreResult<()> {
        match item {
            Item::Users(users) => self.users(users),
            Item::Record(SeedRecord::Account {
                id,
                name,
                seat_limit,
                organization,
            }) => {
                // A repeated account id is one of the seed's problems, reported with the
                // others; it must not fail the load first.
                self.conn
                    .prepare_cached(
                        "INSERT OR IGNORE INTO accounts (id, name, seat_limit, organization, organization_created_at,
                                               organization_updated_at, created_at)
                         VALUES (?1, ?2, ?3, ?4, CASE WHEN ?4 IS NULL THEN NULL ELSE ?5 END,
                                 CASE WHEN ?4 IS NULL THEN NULL ELSE ?5 END, ?5)",
                    )?
                    .execute(params![id, name, seat_limit, organization, self.now_us])?;
                Ok(())
            }
            Item::Record(SeedRecord::Member {
                key,
                email,
                hash,
                accounts,
            }) => {
                self.conn
                    .prepare_cached(
                        "INSERT INTO members (email_key, email, key_hash, created_at) VALUES (?1, ?2, ?3, ?4)",
                    )?
                    .execute(params![key, email, hash.as_bytes(), self.now_us])?;
                let mut member_of = self.conn.prepare_cached(
                    "INSERT OR IGNORE INTO member_accounts (member_email_key, account_id) VALUES (?1, ?2)",
                )?;
                for account in &accounts {
                    member_of.execute(params![key, account])?;
                }
                Ok(())
            }
            Item::Record(SeedRecord::Token {
                id,
                name,
                hash,
                policies,
                status,
                not_before,
                expires_on,
            }) => {
                self.conn
                    .prepare_cached(
                        "INSERT INTO tokens (id, name, value_hash, policies, status, not_before, expires_on, created_at, modified_at)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8)",
                    )?
                    .execute(params![id, name, hash.as_bytes(), policies, status, not_before, expires_on, self.now_us])?;
                Ok(())
            }
            Item::Duplicates(reply) => {
                let found = self.duplicates();
                let failed = found.as_ref().err().map(ToString::to_string);
                let _ = reply.send(found);
                // The reader reports the error; the writing stops with it too.
                failed.map_or(Ok(()), |e| Err(StoreError::other(e)))
            }
        }
    }

    /// A batch of users, with their devices and sessions. A user whose id is taken is a
    /// duplicate, noted and skipped.
    fn users(&mut self, users: Vec<UserRow>) -> StoreResult<()> {
        let conn = self.conn;
        let mut insert = conn.prepare_cached(
            "INSERT INTO users (seq, id, account_id, email, email_key, name, seat_uid, access_seat, gateway_seat,
                                holds_seat, seat_granted_at, last_successful_login, active_at, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?8 OR ?9, ?10, ?11, ?12, ?13, ?13)",
        )?;
        for user in users {
            let seq = self.seq_of(user.account, user.index);
            let inserted = insert.execute(params![
                seq,
                user.id,
                &*user.account_id,
                user.email,
                user.email_key,
                user.name,
                user.seat_uid,
                user.access_seat,
                user.gateway_seat,
                user.seat_granted_at,
                user.last_successful_login,
                user.active_at,
                self.now_us,
            ]);
            match inserted {
                // Only the id is unique while the indexes are set aside.
                Err(e) if is_unique_violation(&e) => {
                    self.duplicate_ids.push(Duplicate {
                        field: DuplicateField::Id,
                        account: user.account,
                        user: user.index,
                        value: user.id,
                        first: None,
                    });
                    continue;
                }
                other => other?,
            };
            if user.devices > 0 {
                let mut device = conn.prepare_cached(
                    "INSERT INTO devices (id, user_id, device_id, registered_at, last_seen_at) VALUES (?1, ?2, ?3, ?4, ?4)",
                )?;
                for _ in 0..user.devices {
                    let (registration, device_id) =
                        (uuid::Uuid::new_v4().to_string(), uuid::Uuid::new_v4().to_string());
                    device.execute(params![registration, user.id, device_id, self.now_us])?;
                }
            }
            if let (true, Some(login)) = (user.access_seat, user.last_successful_login) {
                conn.prepare_cached(
                    "INSERT INTO sessions (id, user_id, created_at, expires_at) VALUES (?1, ?2, ?3, ?4)",
                )?
                .execute(params![
                    uuid::Uuid::new_v4().to_string(),
                    user.id,
                    login,
                    login + SESSION_LIFETIME_US
                ])?;
            }
        }
        Ok(())
    }

    /// Rebuilds the indexes set aside; a unique one that cannot be built names its duplicates.
    fn duplicates(&mut self) -> StoreResult<Vec<Duplicate>> {
        let mut found = std::mem::take(&mut self.duplicate_ids);
        let broken = !self.bulk.build_indexes(self.conn)?;
        if broken {
            found.extend(self.duplicates_of("email", DuplicateField::Email)?);
            found.extend(self.duplicates_of("seat_uid", DuplicateField::SeatUid)?);
        }
        Ok(found)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A seed of `users` users in one account.
    fn document(users: usize) -> String {
        let list: Vec<String> = (0..users)
            .map(|i| format!(r#"{{"email": "user{i}@example.com", "gateway_seat": true}}"#))
            .collect();
        format!(
            r#"{{"accounts": [{{"id": "0123456789abcdef0123456789abcdef", "name": "x", "seat_limit": {users},
                "users": [{}]}}]}}"#,
            list.join(",")
        )
    }

    fn migrated() -> Connection {
        let mut conn = Connection::open_in_memory().unwrap();
        super::super::migrate(&mut conn).unwrap();
        conn
    }

    /// The writing side fails while the reader still has thousands of users to send (it
    /// waits on a full channel): the load ends, with the writer's error, not the reader's.
    #[test]
    fn a_write_that_fails_stops_the_reader_and_is_the_error_returned() {
        let conn = migrated();
        // A temporary trigger is not among those the bulk load sets aside.
        conn.execute_batch(
            "CREATE TEMP TRIGGER refuse BEFORE INSERT ON users WHEN new.seq = 5
             BEGIN SELECT RAISE(ABORT, 'user 5 refused'); END",
        )
        .unwrap();
        let now: Timestamp = "2030-01-01T00:00:00Z".parse().unwrap();
        let tx = conn.unchecked_transaction().unwrap();
        let loaded = load(&tx, document(20 * BATCH).as_bytes(), now, Start::AsIs);
        let Err(StoreError::Other(e)) = &loaded else {
            panic!("{loaded:?}")
        };
        assert_eq!(e.to_string(), "user 5 refused");
    }

    /// Users cross batches and accounts in order: each keeps its place in the document.
    #[test]
    fn users_keep_their_places_across_batches() {
        let conn = migrated();
        let now: Timestamp = "2030-01-01T00:00:00Z".parse().unwrap();
        let users = 3 * BATCH + 7;
        let summary = load(&conn, document(users).as_bytes(), now, Start::AsIs).unwrap();
        assert_eq!(summary.users, users);
        let (count, first, last): (usize, i64, i64) = conn
            .query_row("SELECT COUNT(*), MIN(seq), MAX(seq) FROM users", [], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .unwrap();
        assert_eq!((count, first, last), (users, 1, users as i64));
        let email: String = conn
            .query_row("SELECT email FROM users WHERE seq = ?1", [users as i64], |r| r.get(0))
            .unwrap();
        assert_eq!(email, format!("user{}@example.com", users - 1));
    }
}
