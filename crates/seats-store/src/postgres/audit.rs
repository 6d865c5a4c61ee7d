//! The audit log: events written in the transaction of the change they record, read newest
//! first.

use async_trait::async_trait;
use deadpool_postgres::GenericClient;
use seats_types::Timestamp;

use super::{big, execute, query, read, ts, PgStore};
use crate::model::*;
use crate::{AuditStore, StoreResult};

/// Audit events of one actor and account, written in order by one statement.
#[derive(Default)]
pub(super) struct AuditBatch<'a> {
    action: Vec<&'a str>,
    subject: Vec<&'a str>,
    before: Vec<Option<String>>,
    after: Vec<Option<String>>,
}

impl<'a> AuditBatch<'a> {
    /// Adds an event whose states before and after are JSON texts (e.g.
    /// [`rules::seats_json_text`](crate::rules::seats_json_text)).
    pub(super) fn push(&mut self, action: AuditAction, subject: &'a str, before: &str, after: &str) {
        self.action.push(action.as_str());
        self.subject.push(subject);
        self.before.push(Some(before.to_owned()));
        self.after.push(Some(after.to_owned()));
    }

    pub(super) async fn write(
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

/// Writes `event` in the caller's transaction.
pub(super) async fn audit(db: &impl GenericClient, event: &AuditEvent<'_>) -> StoreResult<()> {
    execute(
        db,
        "INSERT INTO audit_events (at, account_id, actor_kind, actor_id, action, subject, before, after)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        &[
            &event.at.unix_micros(),
            &event.account_id,
            &event.actor.kind(),
            &event.actor.id(),
            &event.action.as_str(),
            &event.subject,
            &event.before.map(|v| v.to_string()),
            &event.after.map(|v| v.to_string()),
        ],
    )
    .await?;
    Ok(())
}

pub(super) async fn audit_events(
    db: &impl GenericClient,
    account_id: &str,
    page: u64,
    per_page: u64,
) -> StoreResult<(Vec<AuditRecord>, u64)> {
    let total: i64 = query(
        db,
        "SELECT COALESCE(SUM(n), 0)::bigint FROM audit_counts WHERE account_id = $1",
        &[&account_id],
    )
    .await?[0]
        .try_get(0)?;
    let limit = big(per_page.min(i64::MAX as u64))?;
    let offset = big(page.saturating_sub(1).saturating_mul(per_page).min(i64::MAX as u64))?;
    let events = query(
        db,
        "SELECT seq, at, account_id, actor_kind, actor_id, action, subject, before, after
         FROM audit_events WHERE account_id = $1 ORDER BY seq DESC LIMIT $2 OFFSET $3",
        &[&account_id, &limit, &offset],
    )
    .await?
    .iter()
    .map(|r| {
        let kind: String = r.try_get(3)?;
        let id: String = r.try_get(4)?;
        let before: Option<String> = r.try_get(7)?;
        let after: Option<String> = r.try_get(8)?;
        Ok(AuditRecord {
            seq: r.try_get::<_, i64>(0)? as u64,
            at: ts(r.try_get(1)?)?,
            account_id: r.try_get(2)?,
            actor: Actor::from_parts(&kind, &id).unwrap_or(Actor::System),
            action: r.try_get(5)?,
            subject: r.try_get(6)?,
            before: before.and_then(|s| serde_json::from_str(&s).ok()),
            after: after.and_then(|s| serde_json::from_str(&s).ok()),
        })
    })
    .collect::<StoreResult<Vec<_>>>()?;
    Ok((events, total.max(0) as u64))
}

#[async_trait]
impl AuditStore for PgStore {
    async fn audit_events(&self, account_id: &str, page: u64, per_page: u64) -> StoreResult<(Vec<AuditRecord>, u64)> {
        read!(self, |db| audit_events(db, account_id, page, per_page))
    }
}
