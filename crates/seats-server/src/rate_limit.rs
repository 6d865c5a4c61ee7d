//! Cloudflare's rate limit, off unless `--rate-limit N/DURATION` (Cloudflare's is `1200/5m`).
//!
//! Each credential (API token id, or member email for a global key) may make `N` requests to
//! the Cloudflare API in a window of `DURATION` that opens with its first request; past that
//! it is answered 429 with code 971 and `Retry-After` (whole seconds until the window ends).
//! Requests that fail authentication are counted per client address with the same budget, and
//! once it is spent every request from that address is refused until the window ends, so a
//! credential-guessing loop is slowed. The operator API, `/healthz` and `/readyz` are never
//! limited. Counts live in each server's memory: on several nodes the budget is per node.

use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// `N` requests per `window`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    pub requests: u32,
    pub window: Duration,
}

impl FromStr for RateLimit {
    type Err = String;

    /// `1200/5m`: a positive count, a slash, a positive Go duration.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (n, d) = s
            .split_once('/')
            .ok_or_else(|| format!("{s:?}: write requests/duration, e.g. 1200/5m"))?;
        let requests = n
            .trim()
            .parse::<u32>()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| format!("{n:?}: the request count must be a whole number from 1 to {}", u32::MAX))?;
        let window = seats_types::parse_go_duration(d.trim()).map_err(|e| format!("{d:?}: {e}"))?;
        if window.is_zero() {
            return Err(format!("{d:?}: the window must be longer than zero"));
        }
        Ok(RateLimit { requests, window })
    }
}

impl fmt::Display for RateLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{:?}", self.requests, self.window)
    }
}

/// Who a budget belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Subject {
    /// An API token, by id.
    Token(String),
    /// A member using a global key, by email.
    Member(String),
    /// A client address, for requests that failed authentication.
    Address(IpAddr),
}

/// Most budgets tracked at once. Past it, windows that have ended are dropped; if none has,
/// a new subject goes uncounted (and the event is logged) rather than growing without bound.
const MAX_SUBJECTS: usize = 100_000;

#[derive(Debug, Clone, Copy)]
struct Window {
    opened: Instant,
    used: u32,
}

/// The budgets of one server.
#[derive(Debug)]
pub struct RateLimiter {
    limit: RateLimit,
    windows: Mutex<HashMap<Subject, Window>>,
}

impl RateLimiter {
    pub fn new(limit: RateLimit) -> Self {
        RateLimiter {
            limit,
            windows: Mutex::new(HashMap::new()),
        }
    }

    /// Counts one request of `subject`; past the budget, how long until its window ends.
    pub fn hit(&self, subject: Subject) -> Result<(), Duration> {
        self.hit_at(subject, Instant::now())
    }

    /// How long `subject` must still wait, without counting a request.
    pub fn refused(&self, subject: &Subject) -> Option<Duration> {
        let now = Instant::now();
        let windows = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        let window = windows.get(subject)?;
        let ends = window.opened + self.limit.window;
        (window.used >= self.limit.requests && ends > now).then(|| ends - now)
    }

    fn hit_at(&self, subject: Subject, now: Instant) -> Result<(), Duration> {
        let mut windows = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        let span = self.limit.window;
        if !windows.contains_key(&subject) && windows.len() >= MAX_SUBJECTS {
            windows.retain(|_, w| w.opened + span > now);
            if windows.len() >= MAX_SUBJECTS {
                tracing::warn!("rate limit: {MAX_SUBJECTS} budgets open at once; a new client goes uncounted");
                return Ok(());
            }
        }
        let window = windows.entry(subject).or_insert(Window { opened: now, used: 0 });
        if window.opened + span <= now {
            *window = Window { opened: now, used: 0 };
        }
        if window.used >= self.limit.requests {
            return Err(window.opened + span - now);
        }
        window.used += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_parse_as_count_slash_go_duration() {
        assert_eq!(
            "1200/5m".parse::<RateLimit>(),
            Ok(RateLimit {
                requests: 1200,
                window: Duration::from_secs(300)
            })
        );
        assert_eq!(
            "3/500ms".parse::<RateLimit>().unwrap().window,
            Duration::from_millis(500)
        );
        for bad in ["1200", "0/5m", "-1/5m", "x/5m", "10/0s", "10/5", "10/-5m", "/5m", "10/"] {
            assert!(bad.parse::<RateLimit>().is_err(), "{bad}");
        }
    }

    #[test]
    fn each_subject_has_its_own_window_which_reopens_when_it_ends() {
        let limiter = RateLimiter::new(RateLimit {
            requests: 2,
            window: Duration::from_secs(10),
        });
        let t0 = Instant::now();
        let a = || Subject::Token("a".into());
        assert_eq!(limiter.hit_at(a(), t0), Ok(()));
        assert_eq!(limiter.hit_at(a(), t0 + Duration::from_secs(1)), Ok(()));
        assert_eq!(
            limiter.hit_at(a(), t0 + Duration::from_secs(4)),
            Err(Duration::from_secs(6)),
            "refused until the window that opened at t0 ends"
        );
        assert_eq!(
            limiter.hit_at(Subject::Member("a".into()), t0 + Duration::from_secs(4)),
            Ok(())
        );
        assert_eq!(
            limiter.hit_at(a(), t0 + Duration::from_secs(10)),
            Ok(()),
            "a new window"
        );
    }
}
