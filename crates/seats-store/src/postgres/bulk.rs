//! Many rows into an empty database at once — a seed, an import, a snapshot's restore — the
//! same way for all three: the triggers of users, devices and audit events, which would
//! update an account, a user or an audit counter per row, are off while the rows go in, and
//! what they maintain (the accounts' figures, the users' latest activity, the audit counts)
//! is computed once at the end. (Counting audit events row by row updated one counter row
//! again and again in one transaction: a 100k-event restore took half a minute.) It all happens in the
//! caller's transaction (`ALTER TABLE … DISABLE TRIGGER` is transactional), so a load that
//! fails leaves the triggers as they were.
//!
//! The users' indexes that enforce nothing (creation order, name, activity, and the two
//! trigram search indexes) are dropped too and built once at the end, from the definitions
//! the database gives: building a GIN trigram index over the loaded rows is several times
//! cheaper than updating it row by row. DDL is transactional here as well. The unique indexes
//! (email, `seat_uid`) stay for an import, where they refuse a duplicate at its row; a seed,
//! whose duplicates were found before the rows go in, sets them aside too
//! ([`Keys::Rebuilt`]).

use deadpool_postgres::GenericClient;

use crate::StoreResult;

/// Whether the load gave the users' latest activity whole, or without their devices'.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Activity {
    Given,
    /// Each user went in with the latest of its login and seat grant; its devices, loaded
    /// apart, are added at the end.
    Devices,
}

/// What happens to the users' unique indexes during a load.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Keys {
    /// They stay, and refuse a duplicate as it goes in.
    Kept,
    /// They are built at the end, like the others: the rows are known to hold no duplicate.
    Rebuilt,
}

/// A load under way: the definitions of the indexes set aside.
#[must_use = "a load ends with finish"]
pub(super) struct Load {
    indexes: Vec<String>,
}

/// Turns the triggers off and sets the users' indexes aside (the unique ones as `keys` says),
/// until [`finish`].
pub(super) async fn begin(db: &impl GenericClient, keys: Keys) -> StoreResult<Load> {
    let indexes = db
        .query(
            "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i
             WHERE i.indrelid = 'users'::regclass AND NOT i.indisprimary AND (NOT i.indisunique OR $1)",
            &[&(keys == Keys::Rebuilt)],
        )
        .await?;
    let mut definitions = Vec::with_capacity(indexes.len());
    for index in &indexes {
        let name: String = index.try_get(0)?;
        db.batch_execute(&format!("DROP INDEX {name}")).await?;
        definitions.push(index.try_get(1)?);
    }
    db.batch_execute(
        "ALTER TABLE users DISABLE TRIGGER USER; ALTER TABLE devices DISABLE TRIGGER USER;
         ALTER TABLE audit_events DISABLE TRIGGER USER;
         SET LOCAL maintenance_work_mem = '256MB';",
    )
    .await?;
    Ok(Load { indexes: definitions })
}

/// Computes what the triggers maintain, builds the indexes set aside and turns the triggers
/// on again.
pub(super) async fn finish(db: &impl GenericClient, load: Load, activity: Activity) -> StoreResult<()> {
    if activity == Activity::Devices {
        // (The users went in with the latest of their login and seat grant.)
        db.batch_execute(
            "UPDATE users u SET active_at = GREATEST(u.active_at, d.seen)
             FROM (SELECT user_id, MAX(last_seen_at) AS seen FROM devices WHERE revoked_at IS NULL GROUP BY user_id) d
             WHERE u.id = d.user_id AND d.seen > u.active_at;",
        )
        .await?;
    }
    db.batch_execute(
        "UPDATE accounts a SET user_count = c.users, seats_in_use = c.seated
         FROM (SELECT account_id, COUNT(*) AS users, COUNT(*) FILTER (WHERE access_seat OR gateway_seat) AS seated
               FROM users GROUP BY account_id) c
         WHERE a.id = c.account_id;
         INSERT INTO audit_counts (account_id, slot, n)
         SELECT account_id, 0, COUNT(*) FROM audit_events WHERE account_id IS NOT NULL GROUP BY account_id
         ON CONFLICT (account_id, slot) DO UPDATE SET n = audit_counts.n + EXCLUDED.n;
         ALTER TABLE users ENABLE TRIGGER USER;
         ALTER TABLE devices ENABLE TRIGGER USER;
         ALTER TABLE audit_events ENABLE TRIGGER USER;",
    )
    .await?;
    for definition in load.indexes {
        db.batch_execute(&definition).await?;
    }
    Ok(())
}
