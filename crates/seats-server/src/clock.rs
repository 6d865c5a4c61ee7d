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
