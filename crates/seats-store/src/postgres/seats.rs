//! Seats: the PATCH batch, and freeing seats (by the expiry sweep, or with a user's devices and
//! sessions).

use async_trait::async_trait;
use deadpool_postgres::GenericClient;
use seats_types::{SeatEditItem, Timestamp};

use super::accounts::lock_account;
use super::audit::AuditBatch;
use super::{execute, query, query_opt, read, ts, write_tx, PgStore};
use crate::model::*;
use crate::rules::{self};
use crate::{SeatStore, StoreError, StoreResult};

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
                rules::seats_json_text(row.access, row.gateway),
                rules::seats_json_text(item.access_seat, item.gateway_seat),
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

/// Frees the seats of these users as a PATCH turning both flags off does: sessions and
/// devices end.
async fn remove_seats(db: &impl GenericClient, user_ids: &[&str], now: Timestamp) -> StoreResult<()> {
    execute(
        db,
        "UPDATE users SET access_seat = false, gateway_seat = false, seat_granted_at = NULL, updated_at = $2
         WHERE id = ANY($1)",
        &[&user_ids, &now.unix_micros()],
    )
    .await?;
    execute(db, "DELETE FROM sessions WHERE user_id = ANY($1)", &[&user_ids]).await?;
    execute(db, "DELETE FROM devices WHERE user_id = ANY($1)", &[&user_ids]).await?;
    Ok(())
}

pub(super) async fn expire_seats(
    db: &impl GenericClient,
    only: Option<&str>,
    now: Timestamp,
) -> StoreResult<Vec<(String, String)>> {
    let accounts = query(
        db,
        "SELECT id, organization FROM accounts WHERE organization IS NOT NULL AND ($1::text IS NULL OR id = $1) ORDER BY id",
        &[&only],
    )
    .await?;
    let mut removed = Vec::new();
    for row in accounts {
        let (account_id, org): (String, String) = (row.try_get(0)?, row.try_get(1)?);
        let Some(cutoff) = rules::expiry_cutoff(&org, now)? else {
            continue;
        };
        // `seat_active_at` is active_at while a seat is held (its index holds only those).
        // Locked in id order, like every writer; a seat another node freed meanwhile no
        // longer matches once its lock is granted (PostgreSQL re-checks the row), so each
        // removal is made, and audited, once.
        let mut stale = query(
            db,
            "SELECT id, seat_uid, access_seat, gateway_seat, created_at FROM users
             WHERE account_id = $1 AND seat_active_at < $2
             ORDER BY id FOR NO KEY UPDATE",
            &[&account_id, &cutoff],
        )
        .await?
        .iter()
        .map(|r| {
            Ok((
                r.try_get::<_, i64>(4)?,
                r.try_get::<_, String>(0)?,
                r.try_get::<_, String>(1)?,
                r.try_get::<_, bool>(2)?,
                r.try_get::<_, bool>(3)?,
            ))
        })
        .collect::<StoreResult<Vec<_>>>()?;
        if stale.is_empty() {
            continue;
        }
        stale.sort();
        lock_account(db, &account_id).await?;
        let ids: Vec<&str> = stale.iter().map(|s| s.1.as_str()).collect();
        remove_seats(db, &ids, now).await?;
        let mut audits = AuditBatch::default();
        for (_, _, seat_uid, access, gateway) in &stale {
            audits.push(
                AuditAction::SeatExpire,
                seat_uid,
                rules::seats_json_text(*access, *gateway),
                rules::seats_json_text(false, false),
            );
        }
        audits.write(db, now, Some(&account_id), &Actor::System).await?;
        removed.extend(stale.iter().map(|s| (account_id.clone(), s.2.clone())));
    }
    Ok(removed)
}

#[async_trait]
impl SeatStore for PgStore {
    async fn edit_seats(
        &self,
        account_id: &str,
        items: Vec<SeatEditItem>,
        actor: Actor,
        now: Timestamp,
    ) -> StoreResult<Vec<SeatRecord>> {
        write_tx!(self, |tx| edit_seats(&tx, account_id, &items, &actor, now))
    }

    async fn expire_seats(&self, account_id: Option<&str>, now: Timestamp) -> StoreResult<Vec<(String, String)>> {
        write_tx!(self, |tx| expire_seats(&tx, account_id, now))
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
}
