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

/// The latest time the manual clock shows: 9999-01-01T00:00:00Z. Timestamps are written in
/// RFC 3339, whose years end at 9999, and a year is left for the times derived from now (a
/// session's 24 hours, a refused login's expiration).
pub const LATEST: i64 = 253_370_764_800_000_000;

impl ManualClock {
    pub fn new() -> Self {
        Self::default()
    }

    /// Back to the real time (a reset of the test toolkit).
    pub fn reset(&self) {
        self.offset_micros.store(0, std::sync::atomic::Ordering::SeqCst);
    }

    /// Moves the clock forward by `by`, or refuses (leaving it where it is) when that would
    /// pass [`LATEST`]; returns the new time.
    pub fn advance(&self, by: std::time::Duration) -> Result<Timestamp, TooLate> {
        use std::sync::atomic::Ordering::SeqCst;
        let by = i64::try_from(by.as_micros()).map_err(|_| TooLate)?;
        let real = SystemClock.now().unix_micros();
        let mut offset = self.offset_micros.load(SeqCst);
        loop {
            let moved = offset.checked_add(by).ok_or(TooLate)?;
            let now = real.checked_add(moved).filter(|t| *t <= LATEST).ok_or(TooLate)?;
            match self.offset_micros.compare_exchange(offset, moved, SeqCst, SeqCst) {
                Ok(_) => return Timestamp::from_unix_micros(now).ok_or(TooLate),
                Err(current) => offset = current,
            }
        }
    }
}

/// An advance past [`LATEST`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooLate;

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        let real = SystemClock.now().unix_micros();
        let offset = self.offset_micros.load(std::sync::atomic::Ordering::SeqCst);
        // Real time still passes after an advance to the edge: the clock stops there.
        let now = real.saturating_add(offset).min(LATEST);
        Timestamp::from_unix_micros(now).expect("LATEST is a valid timestamp")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_forward_by_what_is_asked() {
        let clock = ManualClock::new();
        let before = clock.now();
        clock.advance(std::time::Duration::from_secs(800 * 3600)).unwrap();
        let after = clock.now();
        let moved = after.unix_micros() - before.unix_micros();
        assert!(
            (800 * 3600 * 1_000_000..801 * 3600 * 1_000_000).contains(&moved),
            "{moved}"
        );
    }

    #[test]
    fn latest_is_the_first_instant_of_year_9999() {
        assert_eq!(
            Timestamp::from_unix_micros(LATEST).unwrap().to_string(),
            "9999-01-01T00:00:00.000000Z"
        );
    }

    #[test]
    fn the_clock_refuses_to_pass_year_9999_and_never_wraps() {
        let clock = ManualClock::new();
        let year = std::time::Duration::from_secs(366 * 24 * 3600);
        let mut advanced = 0;
        while clock.advance(year).is_ok() {
            advanced += 1;
            assert!(advanced < 10_000, "never refused");
        }
        let edge = clock.now();
        assert!(edge.to_string().starts_with("9998-"), "{edge}");
        assert_eq!(clock.advance(std::time::Duration::MAX), Err(TooLate));
        assert_eq!(clock.advance(year * 100_000), Err(TooLate));
        let after = clock.now();
        assert!(after >= edge && after.to_string().starts_with("9998-"), "{after}");
        // Up to the edge exactly is allowed.
        let left = (LATEST - after.unix_micros()) as u64;
        let at = clock
            .advance(std::time::Duration::from_micros(left - 1_000_000))
            .unwrap();
        assert!(at.unix_micros() <= LATEST);
    }
}
