//! Many rows into an empty database at once — a seed, an import, a snapshot's restore — the
//! same way for all three: the triggers of users and devices, which would update an account
//! and a user per row, are off while the rows go in, and what they maintain (the accounts'
//! figures, the users' latest activity) is computed once at the end. It all happens in the
//! caller's transaction (`ALTER TABLE … DISABLE TRIGGER` is transactional), so a load that
//! fails leaves the triggers as they were.

use deadpool_postgres::GenericClient;

use crate::StoreResult;

/// Whether the load gave the users' latest activity or it must be computed from the rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Activity {
    Given,
    Computed,
}

/// Turns the triggers off, until [`finish`].
pub(super) async fn begin(db: &impl GenericClient) -> StoreResult<()> {
    db.batch_execute("ALTER TABLE users DISABLE TRIGGER USER; ALTER TABLE devices DISABLE TRIGGER USER;")
        .await?;
    Ok(())
}

/// Computes what the triggers maintain and turns them on again.
pub(super) async fn finish(db: &impl GenericClient, activity: Activity) -> StoreResult<()> {
    if activity == Activity::Computed {
        db.batch_execute(
            "UPDATE users SET active_at = GREATEST(COALESCE(last_successful_login, 0), COALESCE(seat_granted_at, 0));
             UPDATE users u SET active_at = GREATEST(u.active_at, d.seen)
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
         ALTER TABLE users ENABLE TRIGGER USER;
         ALTER TABLE devices ENABLE TRIGGER USER;",
    )
    .await?;
    Ok(())
}
