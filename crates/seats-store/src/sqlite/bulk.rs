//! Many rows into an empty database at once — a seed, an import, a snapshot's restore, a
//! reset (which first deletes every row: [`Start::Emptied`]) — the same way for all: the
//! secondary indexes and the triggers of users, devices and sessions are set aside while the
//! rows go in (a sort is much cheaper than a million random index inserts), then created
//! again, and what the triggers and writers maintain (the accounts' figures, their audit
//! counts, the users' latest activity, the search index) is computed once. It all happens in
//! the caller's transaction, so a load that fails at any point leaves nothing behind.

use rusqlite::{Connection, ErrorCode};

use crate::StoreResult;

/// The tables whose indexes and triggers are set aside.
const BULK_TABLES: &str = "'users', 'devices', 'sessions'";

/// The memory (bytes) FTS5 fills with the search index's new entries before it writes them
/// out as a segment, while the index is rebuilt: with FTS5's own 1 MiB, a rebuild writes many
/// small segments and merges them again and again (over a third of its instructions); with
/// 16 MiB a 100k-user rebuild costs 28 % fewer instructions, for 16 MiB more at the peak.
/// Put back to FTS5's default afterwards, for the single-row changes of every other request.
const REBUILD_HASH_SIZE: u32 = 16 << 20;
/// FTS5's default (`FTS5_DEFAULT_HASHSIZE`).
const FTS5_HASH_SIZE: u32 = 1 << 20;

/// A part of the schema set aside: its name and the statement that creates it.
struct Part {
    name: String,
    sql: String,
}

/// What a load starts from: the rows already there (an empty database is asked for), or none
/// (a reset, a restore).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Start {
    AsIs,
    Emptied,
}

/// Whether the load gave the users' latest activity or it must be computed from the rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Activity {
    Given,
    Computed,
}

/// A load under way: the indexes and triggers set aside until [`Bulk::finish`].
pub(super) struct Bulk {
    indexes: Vec<Part>,
    triggers: Vec<Part>,
    indexes_built: bool,
}

impl Bulk {
    /// Sets the indexes and triggers aside and empties the search index (which the triggers
    /// would otherwise keep in step with rows that go); from [`Start::Emptied`], then deletes
    /// every row.
    pub(super) fn begin(conn: &Connection, start: Start) -> StoreResult<Bulk> {
        let parts: Vec<(String, Part)> = conn
            .prepare(&format!(
                "SELECT type, name, sql FROM sqlite_master
                 WHERE type IN ('index', 'trigger') AND tbl_name IN ({BULK_TABLES}) AND sql IS NOT NULL"
            ))?
            .query_map([], |r| {
                Ok((
                    r.get(0)?,
                    Part {
                        name: r.get(1)?,
                        sql: r.get(2)?,
                    },
                ))
            })?
            .collect::<rusqlite::Result<_>>()?;
        let mut bulk = Bulk {
            indexes: Vec::new(),
            triggers: Vec::new(),
            indexes_built: false,
        };
        for (kind, part) in parts {
            conn.execute_batch(&format!("DROP {kind} \"{}\"", part.name))?;
            match kind.as_str() {
                "index" => bulk.indexes.push(part),
                _ => bulk.triggers.push(part),
            }
        }
        conn.execute_batch("INSERT INTO users_search (users_search) VALUES ('delete-all')")?;
        if start == Start::Emptied {
            wipe(conn)?;
        }
        Ok(bulk)
    }

    /// Creates the indexes again, once the rows are in. `Ok(false)` when a unique index
    /// could not be built because rows repeat one another (the caller names them).
    pub(super) fn build_indexes(&mut self, conn: &Connection) -> StoreResult<bool> {
        let mut unique = true;
        for part in &self.indexes {
            match conn.execute_batch(&part.sql) {
                Err(rusqlite::Error::SqliteFailure(e, _)) if e.code == ErrorCode::ConstraintViolation => unique = false,
                other => other?,
            }
        }
        self.indexes_built = true;
        Ok(unique)
    }

    /// Computes what the triggers maintain and puts the indexes and triggers back.
    pub(super) fn finish(mut self, conn: &Connection, activity: Activity) -> StoreResult<()> {
        if !self.indexes_built && !self.build_indexes(conn)? {
            return Err(crate::StoreError::Conflict(crate::Conflict::NotAnExport(
                "two users of one account share an email or a seat uid".into(),
            )));
        }
        if activity == Activity::Computed {
            conn.execute_batch(
                "UPDATE users SET active_at = MAX(
                     COALESCE(last_successful_login, 0), COALESCE(seat_granted_at, 0),
                     COALESCE((SELECT MAX(d.last_seen_at) FROM devices d WHERE d.user_id = users.id AND d.revoked_at IS NULL), 0))",
            )?;
        }
        conn.execute_batch(&format!(
            "UPDATE accounts SET
                 user_count   = (SELECT COUNT(*) FROM users u WHERE u.account_id = accounts.id),
                 seats_in_use = (SELECT COUNT(*) FROM users u WHERE u.account_id = accounts.id
                                                            AND (u.access_seat = 1 OR u.gateway_seat = 1)),
                 audit_count  = (SELECT COUNT(*) FROM audit_events e WHERE e.account_id = accounts.id);
             INSERT INTO users_search (users_search, rank) VALUES ('hashsize', {REBUILD_HASH_SIZE});
             INSERT INTO users_search (users_search) VALUES ('rebuild');
             INSERT INTO users_search (users_search, rank) VALUES ('hashsize', {FTS5_HASH_SIZE});"
        ))?;
        for part in &self.triggers {
            conn.execute_batch(&part.sql)?;
        }
        Ok(())
    }
}

/// Deletes every row but the schedule and the credentials version, children first. With the
/// triggers of users, devices and sessions set aside, SQLite empties those tables at once;
/// with them, every deleted user ran its triggers (the search index, the account's figures).
fn wipe(conn: &Connection) -> StoreResult<()> {
    conn.execute_batch(
        "DELETE FROM scim_group_members; DELETE FROM scim_groups; DELETE FROM scim_users;
         DELETE FROM identity_providers; DELETE FROM logins; DELETE FROM sessions; DELETE FROM devices;
         DELETE FROM users; DELETE FROM member_accounts; DELETE FROM members; DELETE FROM tokens;
         DELETE FROM audit_events; DELETE FROM accounts; DELETE FROM dashboard_sessions;",
    )?;
    Ok(())
}
