//! The seat expiry sweep (docs/contract.md §7): at start-up, every hour of the server's clock, and on
//! demand. With a manual clock, advancing it runs a sweep that falls due.

use std::sync::Mutex;
use std::time::Duration;

use seats_types::Timestamp;

use crate::AppState;

/// Time between sweeps [ours; Cloudflare sweeps daily].
pub const SWEEP_INTERVAL: Duration = Duration::from_secs(3600);
/// How often the background task checks whether a sweep is due (real time).
const CHECK_EVERY: Duration = Duration::from_secs(30);

/// When the next sweep is due. The first is due at once.
#[derive(Debug, Default)]
pub struct Sweeper {
    next_due: Mutex<Option<Timestamp>>,
}

impl Sweeper {
    /// Runs a sweep of every account if one is due by the server's clock.
    pub async fn run_if_due(&self, state: &AppState) {
        let now = state.clock.now();
        let interval = i64::try_from(SWEEP_INTERVAL.as_micros()).unwrap_or(i64::MAX);
        let next = Timestamp::from_unix_micros(now.unix_micros().saturating_add(interval));
        {
            let mut due = self.next_due.lock().unwrap_or_else(|e| e.into_inner());
            if due.is_some_and(|due| now < due) {
                return;
            }
            *due = next;
        }
        // Servers sharing the database take turns: the first to claim a period sweeps it.
        match state.store.claim_sweep(now, next.unwrap_or(now)).await {
            Ok(true) => {}
            Ok(false) => {
                tracing::debug!("seat expiry sweep: another server has this period");
                return;
            }
            Err(e) => {
                tracing::error!(error = %e, "seat expiry sweep: cannot claim the period");
                return;
            }
        }
        match state.store.expire_seats(None, now).await {
            Ok(removed) if !removed.is_empty() => {
                tracing::info!(removed = removed.len(), "seat expiry sweep freed seats")
            }
            Ok(_) => tracing::debug!("seat expiry sweep: nothing to free"),
            Err(e) => tracing::error!(error = %e, "seat expiry sweep failed"),
        }
    }
}

/// Starts the background sweeper; the first sweep runs at once.
pub fn spawn(state: AppState) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            state.sweeper.run_if_due(&state).await;
            tokio::time::sleep(CHECK_EVERY).await;
        }
    })
}

#[cfg(test)]
mod tests {
    use seats_store::{AccountStore, LoginStore, MaintenanceStore};
    use std::sync::Arc;

    use seats_store::sqlite::SqliteStore;
    use seats_store::{Actor, Durability, LoginMethod, LoginRequest};

    use super::*;
    use crate::{Clock, ManualClock, ServerConfig};

    const ACCOUNT: &str = "0123456789abcdef0123456789abcdef";

    fn hours(h: f64) -> Duration {
        Duration::from_secs_f64(h * 3600.0)
    }

    #[tokio::test]
    async fn sweeps_hourly_by_the_servers_clock() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(SqliteStore::open(dir.path().join("s.db"), Durability::Relaxed).unwrap());
        let seed = serde_json::json!({"accounts": [{"id": ACCOUNT, "name": "a",
            "organization": {"name": "a", "auth_domain": "a.example", "user_seat_expiration_inactive_time": "730h"}}]});
        let clock = Arc::new(ManualClock::new());
        store
            .load_seed(
                seats_store::seed::parse(seed.to_string().as_bytes()).unwrap(),
                clock.now(),
            )
            .await
            .unwrap();
        let login = LoginRequest {
            email: "a@x.com".into(),
            name: None,
            method: LoginMethod::Access,
        };
        store.login(ACCOUNT, login, Actor::Operator, clock.now()).await.unwrap();
        let state = AppState::with_manual_clock(store.clone(), clock.clone(), ServerConfig::default());
        let holds = || async { store.account(ACCOUNT).await.unwrap().unwrap().seats_in_use };

        clock.advance(hours(729.5)).unwrap();
        state.sweeper.run_if_due(&state).await; // runs: not stale yet; the next is due in an hour
        assert_eq!(holds().await, 1);
        clock.advance(hours(0.75)).unwrap();
        state.sweeper.run_if_due(&state).await; // stale now, but no sweep is due
        assert_eq!(holds().await, 1);
        clock.advance(hours(0.5)).unwrap();
        state.sweeper.run_if_due(&state).await; // due: frees the seat
        assert_eq!(holds().await, 0);
    }
}
