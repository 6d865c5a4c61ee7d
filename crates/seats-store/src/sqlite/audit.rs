//! The audit log: events written in the transaction of the change they record, read newest
//! first.

use async_trait::async_trait;
use rusqlite::{params, Connection, OptionalExtension};

use super::{ts, SqliteStore};
use crate::model::*;
use crate::{AuditStore, StoreResult};

/// Writes `event` in the caller's transaction, and counts it in its account's `audit_count`.
pub(super) fn audit(conn: &Connection, event: &AuditEvent<'_>) -> StoreResult<()> {
    write_uncounted(conn, event)?;
    if let Some(account_id) = event.account_id {
        count(conn, account_id, 1)?;
    }
    Ok(())
}

/// Adds `events` audit events, written with [`write_uncounted`] in the caller's transaction,
/// to `account_id`'s `audit_count` (kept by the writers of events since migration 0009).
pub(super) fn count(conn: &Connection, account_id: &str, events: u64) -> StoreResult<()> {
    if events > 0 {
        conn.prepare_cached("UPDATE accounts SET audit_count = audit_count + ?2 WHERE id = ?1")?
            .execute(params![account_id, events])?;
    }
    Ok(())
}

/// Writes `event` in the caller's transaction without counting it: the caller counts the
/// events of a batch once, with [`count`].
pub(super) fn write_uncounted(conn: &Connection, event: &AuditEvent<'_>) -> StoreResult<()> {
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
        event.before.map(|v| v.to_string()),
        event.after.map(|v| v.to_string()),
    ])?;
    Ok(())
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
