//! The source of "now" for everything that reads time: timestamps, token validity, sessions.

use seats_types::Timestamp;

/// Tells the time. The server reads time only through this, so a test or the manual clock
/// can drive it.
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> Timestamp;
}

/// The system's real-time clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::from_datetime(chrono::Utc::now())
    }
}

/// A clock for tests and demos (`--manual-clock`): real time plus an offset that only grows,
/// moved forward with `POST /_seats/v1/clock`.
#[derive(Debug, Default)]
pub struct ManualClock {
    offset_micros: std::sync::atomic::AtomicI64,
}

impl ManualClock {
    pub fn new() -> Self {
        Self::default()
    }

    /// Moves the clock forward by `by`.
    pub fn advance(&self, by: std::time::Duration) {
        let micros = i64::try_from(by.as_micros()).unwrap_or(i64::MAX);
        self.offset_micros
            .fetch_add(micros, std::sync::atomic::Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        let real = SystemClock.now().unix_micros();
        let offset = self.offset_micros.load(std::sync::atomic::Ordering::SeqCst);
        Timestamp::from_unix_micros(real.saturating_add(offset)).unwrap_or_else(|| SystemClock.now())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_forward_by_what_is_asked() {
        let clock = ManualClock::new();
        let before = clock.now();
        clock.advance(std::time::Duration::from_secs(800 * 3600));
        let after = clock.now();
        let moved = after.unix_micros() - before.unix_micros();
        assert!(
            (800 * 3600 * 1_000_000..801 * 3600 * 1_000_000).contains(&moved),
            "{moved}"
        );
    }
}
