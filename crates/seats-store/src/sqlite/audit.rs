//! The audit log: events written in the transaction of the change they record, read newest
//! first.

use async_trait::async_trait;
use rusqlite::{params, Connection, OptionalExtension};

use std::rc::Rc;

use rusqlite::types::Value;
use seats_types::Timestamp;

use super::{ts, SqliteStore};
use crate::model::*;
use crate::{rules, AuditStore, StoreResult};

/// Writes `event` in the caller's transaction, and counts it in its account's `audit_count`.
pub(super) fn audit(conn: &Connection, event: &AuditEvent<'_>) -> StoreResult<()> {
    let before = event.before.map(|v| v.to_string());
    let after = event.after.map(|v| v.to_string());
    insert(conn, event, before.as_deref(), after.as_deref())?;
    if let Some(account_id) = event.account_id {
        count(conn, account_id, 1)?;
    }
    Ok(())
}

/// Inserts `event` with its `before` and `after` states as JSON texts (`event`'s own are not
/// read).
fn insert(conn: &Connection, event: &AuditEvent<'_>, before: Option<&str>, after: Option<&str>) -> StoreResult<()> {
    conn.prepare_cached(
        "INSERT INTO audit_events (at, account_id, actor_kind, actor_id, action, subject, before, after)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![
        event.at.unix_micros(),
        event.account_id,
        event.actor.kind(),
        event.actor.id(),
        event.action.as_str(),
        event.subject,
        before,
        after,
    ])?;
    Ok(())
}

/// Adds `events` audit events, written in the caller's transaction, to `account_id`'s
/// `audit_count` (kept by the writers of events since migration 0009).
fn count(conn: &Connection, account_id: &str, events: u64) -> StoreResult<()> {
    if events > 0 {
        conn.prepare_cached("UPDATE accounts SET audit_count = audit_count + ?2 WHERE id = ?1")?
            .execute(params![account_id, events])?;
    }
    Ok(())
}

/// A seat's `(access, gateway)` flags.
type Flags = (bool, bool);

/// The seat events of one actor and account (a PATCH's, or an expiry's), counted once. More
/// than one are written in order by one statement, instead of a statement per event: it walks
/// one array parameter (`rarray`) whose values each carry a seat's flags before and after as
/// digits (`access * 2 + gateway`), followed by its uid. One event (every 1-seat PATCH) is
/// inserted alone: the array's set-up costs about what one insert does.
pub(super) struct SeatEvents {
    /// Per event, the seat's uid and its flags before and after.
    events: Vec<(String, Flags, Flags)>,
    /// The action of an event, by the flags it leaves (e.g. [`rules::seat_edit_action`]).
    action: fn(bool, bool) -> AuditAction,
}

impl SeatEvents {
    pub(super) fn new(action: fn(bool, bool) -> AuditAction) -> Self {
        SeatEvents {
            events: Vec::new(),
            action,
        }
    }

    pub(super) fn push(&mut self, seat_uid: &str, before: Flags, after: Flags) {
        self.events.push((seat_uid.to_owned(), before, after));
    }

    /// Writes the events in the caller's transaction, in the order they were pushed (the
    /// insert reads the array in order), and adds them to the account's count.
    pub(super) fn write(self, conn: &Connection, at: Timestamp, account_id: &str, actor: &Actor) -> StoreResult<()> {
        let flags = |(access, gateway): Flags| rules::seats_json_text(access, gateway);
        match &self.events[..] {
            [] => return Ok(()),
            [(seat_uid, before, after)] => {
                let event = AuditEvent::new(at, Some(account_id), actor, (self.action)(after.0, after.1), seat_uid);
                insert(conn, &event, Some(flags(*before)), Some(flags(*after)))?;
            }
            events => {
                let digit = |(access, gateway): Flags| char::from(b'0' + u8::from(access) * 2 + u8::from(gateway));
                let rows: Vec<Value> = events
                    .iter()
                    .map(|(seat_uid, before, after)| {
                        Value::Text(format!("{}{}{seat_uid}", digit(*before), digit(*after)))
                    })
                    .collect();
                // The flags each digit stands for, in digit order.
                let states = [(false, false), (false, true), (true, false), (true, true)];
                let [a0, a1, a2, a3] = states.map(|(access, gateway)| (self.action)(access, gateway).as_str());
                let [f0, f1, f2, f3] = states.map(flags);
                conn.prepare_cached(
                    "INSERT INTO audit_events (at, account_id, actor_kind, actor_id, action, subject, before, after)
                     SELECT ?1, ?2, ?3, ?4,
                            CASE substr(seat.value, 2, 1) WHEN '0' THEN ?5 WHEN '1' THEN ?6 WHEN '2' THEN ?7 ELSE ?8 END,
                            substr(seat.value, 3),
                            CASE substr(seat.value, 1, 1) WHEN '0' THEN ?9 WHEN '1' THEN ?10 WHEN '2' THEN ?11 ELSE ?12 END,
                            CASE substr(seat.value, 2, 1) WHEN '0' THEN ?9 WHEN '1' THEN ?10 WHEN '2' THEN ?11 ELSE ?12 END
                     FROM rarray(?13) AS seat",
                )?
                .execute(params![
                    at.unix_micros(),
                    account_id,
                    actor.kind(),
                    actor.id(),
                    a0,
                    a1,
                    a2,
                    a3,
                    f0,
                    f1,
                    f2,
                    f3,
                    Rc::new(rows),
                ])?;
            }
        }
        count(conn, account_id, self.events.len() as u64)
    }
}

#[async_trait]
impl AuditStore for SqliteStore {
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
}
