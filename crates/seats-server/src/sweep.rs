//! The seat expiry sweep (SPEC §7): at start-up, every hour of the server's clock, and on
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
        {
            let mut next = self.next_due.lock().unwrap_or_else(|e| e.into_inner());
            if next.is_some_and(|due| now < due) {
                return;
            }
            let interval = i64::try_from(SWEEP_INTERVAL.as_micros()).unwrap_or(i64::MAX);
            *next = Timestamp::from_unix_micros(now.unix_micros().saturating_add(interval));
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
