//! Seats: the PATCH batch, and freeing seats (by the expiry sweep, or with a user's devices and
//! sessions).

use std::rc::Rc;

use async_trait::async_trait;
use rusqlite::types::Value;
use rusqlite::{params, Connection, OptionalExtension};
use seats_types::{SeatEditItem, Timestamp};

use super::accounts::seat_usage;
use super::audit::SeatEvents;
use super::{ts, SqliteStore};
use crate::model::*;
use crate::rules::{self};
use crate::{SeatStore, StoreError, StoreResult};

/// A user's seat state as read inside the edit transaction.
struct SeatRow {
    /// The row's key: the update finds the row by it without another index search.
    seq: i64,
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
    let found = find_seats(conn, account_id, items)?;
    let missing: Vec<usize> = (0..items.len()).filter(|&i| found[i].is_none()).collect();
    if !missing.is_empty() {
        return Err(StoreError::NotFound { positions: missing });
    }
    let rows: Vec<SeatRow> = found.into_iter().flatten().collect();

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

    let mut changes = SeatChanges::default();
    let mut audit = SeatEvents::new(rules::seat_edit_action);
    let mut out = Vec::with_capacity(items.len());
    for (row, item) in rows.iter().zip(items) {
        let changed = row.access != item.access_seat || row.gateway != item.gateway_seat;
        if changed {
            changes.push(row, item.access_seat, item.gateway_seat);
            audit.push(
                &item.seat_uid,
                (row.access, row.gateway),
                (item.access_seat, item.gateway_seat),
            );
        }
        out.push(SeatRecord {
            seat_uid: item.seat_uid.clone(),
            access_seat: item.access_seat,
            gateway_seat: item.gateway_seat,
            created_at: ts(row.created_at)?,
            updated_at: if changed { now } else { ts(row.updated_at)? },
        });
    }
    changes.apply(conn, now)?;
    audit.write(conn, now, account_id, actor)?;
    Ok(out)
}

/// The seat changes of a PATCH: the rows' update, the ended sessions of users who lost their
/// Access seat, the removed devices of those who lost their Gateway seat. One change runs a
/// statement of each kind for its row; more run one statement of each kind for them all, each
/// a pass over an array parameter (`rarray`) that finds a row by its key or index per value,
/// instead of a statement (bound, run and reset) per seat. The array's set-up costs about
/// what one seat's statements do, so a single seat (every 1-seat PATCH) keeps its own.
#[derive(Default)]
struct SeatChanges<'a> {
    /// The seat's row and its new `(access, gateway)` flags.
    rows: Vec<(&'a SeatRow, bool, bool)>,
}

impl<'a> SeatChanges<'a> {
    fn push(&mut self, row: &'a SeatRow, access: bool, gateway: bool) {
        self.rows.push((row, access, gateway));
    }

    fn apply(self, conn: &Connection, now: Timestamp) -> StoreResult<()> {
        let now = now.unix_micros();
        // A trade of one kind of seat for the other (the user holds one before and after)
        // assigns neither `holds_seat` nor `seat_granted_at`, so SQLite leaves the seat
        // holders' index (users_by_activity, migration 0010) and the triggers on those
        // columns alone; a grant or a freeing assigns both.
        let trade = |row: &SeatRow, access: bool, gateway: bool| (row.access || row.gateway) && (access || gateway);
        if let [(row, access, gateway)] = self.rows[..] {
            let sql = if trade(row, access, gateway) {
                "UPDATE users SET access_seat = ?2, gateway_seat = ?3, updated_at = ?4 WHERE seq = ?1"
            } else {
                "UPDATE users SET access_seat = ?2, gateway_seat = ?3, holds_seat = ?2 OR ?3, updated_at = ?4,
                        seat_granted_at = CASE WHEN ?2 = 0 AND ?3 = 0 THEN NULL ELSE COALESCE(seat_granted_at, ?4) END
                 WHERE seq = ?1"
            };
            conn.prepare_cached(sql)?
                .execute(params![row.seq, access, gateway, now])?;
            if row.access && !access {
                end_sessions(conn, &row.user_id)?;
            }
            if row.gateway && !gateway {
                end_devices(conn, &row.user_id)?;
            }
            return Ok(());
        }
        // Per seat, its row's key and new flags as one number: `seq * 4 + access * 2 + gateway`.
        let (mut trades, mut grants_and_frees) = (Vec::new(), Vec::new());
        for &(row, access, gateway) in &self.rows {
            let code = Value::Integer(row.seq * 4 + i64::from(access) * 2 + i64::from(gateway));
            match trade(row, access, gateway) {
                true => trades.push(code),
                false => grants_and_frees.push(code),
            }
        }
        if !trades.is_empty() {
            conn.prepare_cached(
                "UPDATE users SET access_seat = (c.value >> 1) & 1, gateway_seat = c.value & 1, updated_at = ?2
                 FROM rarray(?1) AS c WHERE users.seq = c.value >> 2",
            )?
            .execute(params![Rc::new(trades), now])?;
        }
        if !grants_and_frees.is_empty() {
            conn.prepare_cached(
                "UPDATE users SET access_seat = (c.value >> 1) & 1, gateway_seat = c.value & 1,
                        holds_seat = c.value & 3 <> 0, updated_at = ?2,
                        seat_granted_at = CASE WHEN c.value & 3 = 0 THEN NULL ELSE COALESCE(seat_granted_at, ?2) END
                 FROM rarray(?1) AS c WHERE users.seq = c.value >> 2",
            )?
            .execute(params![Rc::new(grants_and_frees), now])?;
        }
        let users_that = |lost: fn(&SeatRow, bool, bool) -> bool| -> Rc<Vec<Value>> {
            let ids = self.rows.iter().filter(|&&(row, a, g)| lost(row, a, g));
            Rc::new(ids.map(|(row, _, _)| Value::Text(row.user_id.clone())).collect())
        };
        let lost_access = users_that(|row, access, _| row.access && !access);
        if !lost_access.is_empty() {
            conn.prepare_cached("DELETE FROM sessions WHERE user_id IN (SELECT value FROM rarray(?1))")?
                .execute([lost_access])?;
        }
        let lost_gateway = users_that(|row, _, gateway| row.gateway && !gateway);
        if !lost_gateway.is_empty() {
            conn.prepare_cached("DELETE FROM devices WHERE user_id IN (SELECT value FROM rarray(?1))")?
                .execute([lost_gateway])?;
        }
        Ok(())
    }
}

/// The seat state of each item's user, in the items' order (`None`: no such seat in the
/// account). One seat is one indexed lookup; a batch is one statement that walks the batch's
/// uids (a JSON array) and looks each up in the same index, so its cost per seat is the
/// index search alone, without a statement's binding and reset around each.
fn find_seats(conn: &Connection, account_id: &str, items: &[SeatEditItem]) -> StoreResult<Vec<Option<SeatRow>>> {
    let read = |r: &rusqlite::Row<'_>, at: usize| -> rusqlite::Result<SeatRow> {
        Ok(SeatRow {
            seq: r.get(at)?,
            user_id: r.get(at + 1)?,
            access: r.get(at + 2)?,
            gateway: r.get(at + 3)?,
            created_at: r.get(at + 4)?,
            updated_at: r.get(at + 5)?,
        })
    };
    if let [item] = items {
        let row = conn
            .prepare_cached(
                "SELECT seq, id, access_seat, gateway_seat, created_at, updated_at FROM users
                 WHERE account_id = ?1 AND seat_uid = ?2",
            )?
            .query_row(params![account_id, item.seat_uid], |r| read(r, 0))
            .optional()?;
        return Ok(vec![row]);
    }
    let uids: Vec<&str> = items.iter().map(|i| i.seat_uid.as_str()).collect();
    let uids = serde_json::to_string(&uids).map_err(StoreError::other)?;
    let mut found: Vec<Option<SeatRow>> = (0..items.len()).map(|_| None).collect();
    // CROSS JOIN keeps the batch outside: each of its uids is one search of users_by_seat_uid.
    let mut lookup = conn.prepare_cached(
        "SELECT j.key, u.seq, u.id, u.access_seat, u.gateway_seat, u.created_at, u.updated_at
         FROM json_each(?2) AS j CROSS JOIN users AS u
         WHERE u.account_id = ?1 AND u.seat_uid = j.value",
    )?;
    let mut rows = lookup.query(params![account_id, uids])?;
    while let Some(r) = rows.next()? {
        let at: usize = r.get(0)?;
        if let Some(slot) = found.get_mut(at) {
            *slot = Some(read(r, 1)?);
        }
    }
    Ok(found)
}

/// Turns both flags off as a PATCH does: sessions and devices end, the seat is freed.
fn remove_seat(conn: &Connection, user_id: &str, now: Timestamp) -> StoreResult<()> {
    conn.prepare_cached(
        "UPDATE users SET access_seat = 0, gateway_seat = 0, holds_seat = 0, seat_granted_at = NULL, updated_at = ?2
         WHERE id = ?1",
    )?
    .execute(params![user_id, now.unix_micros()])?;
    end_sessions(conn, user_id)?;
    end_devices(conn, user_id)
}

/// Ends a user's Access sessions (their Access seat is gone).
pub(super) fn end_sessions(conn: &Connection, user_id: &str) -> StoreResult<()> {
    conn.prepare_cached("DELETE FROM sessions WHERE user_id = ?1")?
        .execute([user_id])?;
    Ok(())
}

/// Removes a user's device registrations (their Gateway seat is gone).
pub(super) fn end_devices(conn: &Connection, user_id: &str) -> StoreResult<()> {
    conn.prepare_cached("DELETE FROM devices WHERE user_id = ?1")?
        .execute([user_id])?;
    Ok(())
}

pub(super) fn expire_seats(
    conn: &Connection,
    only: Option<&str>,
    now: Timestamp,
) -> StoreResult<Vec<(String, String)>> {
    let accounts = conn
        .prepare_cached("SELECT id, organization FROM accounts WHERE organization IS NOT NULL AND (?1 IS NULL OR id = ?1) ORDER BY id")?
        .query_map([only], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let mut removed = Vec::new();
    for (account_id, org) in accounts {
        let Some(cutoff) = rules::expiry_cutoff(&org, now)? else {
            continue;
        };
        // `active_at` is the latest of last login, seat grant and device activity (kept by
        // triggers), indexed for seat holders: the sweep reads only the stale ones.
        let stale = conn
            .prepare_cached(
                "SELECT u.id, u.seat_uid, u.access_seat, u.gateway_seat FROM users u
                 WHERE u.account_id = ?1 AND u.holds_seat = 1 AND u.active_at < ?2
                 ORDER BY u.created_at, u.id",
            )?
            .query_map(params![account_id, cutoff], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, bool>(2)?,
                    r.get::<_, bool>(3)?,
                ))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let mut events = SeatEvents::new(|_, _| AuditAction::SeatExpire);
        for (user_id, seat_uid, access, gateway) in stale {
            remove_seat(conn, &user_id, now)?;
            events.push(&seat_uid, (access, gateway), (false, false));
            removed.push((account_id.clone(), seat_uid));
        }
        events.write(conn, now, &account_id, &Actor::System)?;
    }
    Ok(removed)
}

#[async_trait]
impl SeatStore for SqliteStore {
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

    async fn expire_seats(&self, account_id: Option<&str>, now: Timestamp) -> StoreResult<Vec<(String, String)>> {
        let account_id = account_id.map(str::to_owned);
        self.writer
            .write(move |c| expire_seats(c, account_id.as_deref(), now))
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
}
