//! Loading a seed into an empty SQLite database, as a bulk load ([`super::bulk`]) in the
//! caller's transaction: a seed with problems, found at any point, leaves nothing behind.
//! Duplicates are found when the unique indexes are built again, and named by their place in
//! the document.

use std::io::Read;

use rusqlite::{params, Connection, ErrorCode};
use seats_types::{formats, Timestamp, TokenStatus};

use super::bulk::{Activity, Bulk};
use super::is_empty;
use super::json_text;
use crate::rules::SESSION_LIFETIME_US;
use crate::seed::{
    self, Duplicate, DuplicateField, SeedAccount, SeedMember, SeedSink, SeedSummary, SeedToken, SeedUser,
    StoredSeedUser,
};
use crate::{Conflict, StoreError, StoreResult};

pub(super) fn load(conn: &Connection, reader: impl Read, now: Timestamp) -> StoreResult<SeedSummary> {
    if !is_empty(conn)? {
        return Err(StoreError::Conflict(Conflict::NotEmpty));
    }
    // A bulk load reads back few pages, so a large page cache only grows the peak memory.
    let cache_size: i64 = conn.query_row("PRAGMA cache_size", [], |r| r.get(0))?;
    conn.pragma_update(None, "cache_size", SEED_CACHE_SIZE)?;
    let loaded = load_rows(conn, reader, now);
    conn.pragma_update(None, "cache_size", cache_size)?;
    loaded
}

/// SQLite's default page cache (2 MiB), for the load.
const SEED_CACHE_SIZE: i64 = -2000;

fn load_rows(conn: &Connection, reader: impl Read, now: Timestamp) -> StoreResult<SeedSummary> {
    // Users arrive before the account row that closes their object.
    conn.pragma_update(None, "defer_foreign_keys", "ON")?;
    let mut sink = Sink {
        conn,
        now_us: now.unix_micros(),
        next_seq: 1,
        bases: Vec::new(),
        bulk: Bulk::begin(conn)?,
        duplicate_ids: Vec::new(),
    };
    let summary = seed::stream(reader, &mut sink)?;
    tracing::debug!(
        users = summary.users,
        "seed rows and indexes written; counting and building the search index"
    );
    sink.bulk.finish(conn, Activity::Given)?;
    Ok(summary)
}

struct Sink<'c> {
    conn: &'c Connection,
    now_us: i64,
    next_seq: i64,
    /// `(account index, seq of its user 0)`: a user's `seq` is its account's base plus its
    /// index, so a row found later names its place in the document.
    bases: Vec<(usize, i64)>,
    /// The load: its indexes are rebuilt in [`SeedSink::duplicates`].
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

impl SeedSink for Sink<'_> {
    fn user(&mut self, account: usize, account_id: &str, index: usize, user: &SeedUser) -> StoreResult<()> {
        let seq = self.seq_of(account, index);
        let StoredSeedUser {
            id,
            seat_uid,
            last_successful_login: last_login,
            seat_granted_at: granted,
            active_at,
        } = user.stored(self.now_us);
        let inserted = self
            .conn
            .prepare_cached(
                "INSERT INTO users (seq, id, account_id, email, email_key, name, seat_uid, access_seat, gateway_seat,
                                    seat_granted_at, last_successful_login, active_at, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?13)",
            )?
            .execute(params![
                seq,
                id,
                account_id,
                user.email,
                formats::email_key(&user.email),
                user.name,
                seat_uid,
                user.access_seat,
                user.gateway_seat,
                granted,
                last_login,
                active_at,
                self.now_us,
            ]);
        match inserted {
            Err(rusqlite::Error::SqliteFailure(e, _)) if e.code == ErrorCode::ConstraintViolation => {
                self.duplicate_ids.push(Duplicate {
                    field: DuplicateField::Id,
                    account,
                    user: index,
                    value: id,
                    first: None,
                });
                return Ok(());
            }
            other => other?,
        };
        let mut device = self.conn.prepare_cached(
            "INSERT INTO devices (id, user_id, device_id, registered_at, last_seen_at) VALUES (?1, ?2, ?3, ?4, ?4)",
        )?;
        for _ in 0..user.active_device_count {
            let (registration, device_id) = (uuid::Uuid::new_v4().to_string(), uuid::Uuid::new_v4().to_string());
            device.execute(params![registration, id, device_id, self.now_us])?;
        }
        if let (true, Some(login)) = (user.access_seat, last_login) {
            self.conn
                .prepare_cached("INSERT INTO sessions (id, user_id, created_at, expires_at) VALUES (?1, ?2, ?3, ?4)")?
                .execute(params![
                    uuid::Uuid::new_v4().to_string(),
                    id,
                    login,
                    login + SESSION_LIFETIME_US
                ])?;
        }
        Ok(())
    }

    fn account(&mut self, _: usize, account: &SeedAccount) -> StoreResult<()> {
        let org = account.organization.as_ref().map(json_text).transpose()?;
        // A repeated account id is one of the seed's problems, reported with the others; it
        // must not fail the load first.
        self.conn
            .prepare_cached(
                "INSERT OR IGNORE INTO accounts (id, name, seat_limit, organization, organization_created_at,
                                       organization_updated_at, created_at)
                 VALUES (?1, ?2, ?3, ?4, CASE WHEN ?4 IS NULL THEN NULL ELSE ?5 END,
                         CASE WHEN ?4 IS NULL THEN NULL ELSE ?5 END, ?5)",
            )?
            .execute(params![account.id, account.name, account.seat_limit, org, self.now_us])?;
        Ok(())
    }

    fn member(&mut self, member: &SeedMember) -> StoreResult<()> {
        let key = formats::email_key(&member.email);
        self.conn
            .prepare_cached("INSERT INTO members (email_key, email, key_hash, created_at) VALUES (?1, ?2, ?3, ?4)")?
            .execute(params![
                key,
                member.email,
                member.api_key.hash().as_bytes(),
                self.now_us
            ])?;
        for account in &member.accounts {
            self.conn
                .prepare_cached("INSERT OR IGNORE INTO member_accounts (member_email_key, account_id) VALUES (?1, ?2)")?
                .execute(params![key, account])?;
        }
        Ok(())
    }

    fn token(&mut self, token: &SeedToken) -> StoreResult<()> {
        let id = token
            .id
            .clone()
            .unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string());
        self.conn
            .prepare_cached(
                "INSERT INTO tokens (id, name, value_hash, policies, status, not_before, expires_on, created_at, modified_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8)",
            )?
            .execute(params![
                id,
                token.name,
                token.value.hash().as_bytes(),
                json_text(&token.policies)?,
                token.status.unwrap_or(TokenStatus::Active).as_str(),
                token.not_before.map(|t| t.unix_micros()),
                token.expires_on.map(|t| t.unix_micros()),
                self.now_us,
            ])?;
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
