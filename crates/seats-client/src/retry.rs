//! When and how long to wait before retrying, as the official SDKs do.

use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, SystemTime};

use reqwest::header::HeaderMap;
use reqwest::StatusCode;

/// The longest server-requested wait that is honoured; longer falls back to backoff.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

/// The source of time for retries: what time it is (for `Retry-After` dates) and how to wait.
/// Swap it in tests to make waits instant and observable.
pub trait Timer: Send + Sync + 'static {
    /// The current time, for `Retry-After` dates.
    fn now(&self) -> SystemTime;
    /// Waits `duration`.
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn Future<Output = ()> + Send>>;
}

/// Real time: the system clock and `tokio::time::sleep`.
#[derive(Debug, Default, Clone, Copy)]
pub struct TokioTimer;

impl Timer for TokioTimer {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }

    fn sleep(&self, duration: Duration) -> Pin<Box<dyn Future<Output = ()> + Send>> {
        Box::pin(tokio::time::sleep(duration))
    }
}

/// Exponential backoff: `initial × 2^n`, capped, with up to 25 % jitter taken off.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Backoff {
    /// The wait before the first retry.
    pub initial: Duration,
    /// The longest wait.
    pub max: Duration,
}

impl Default for Backoff {
    /// 0.5 s doubling up to 8 s, as the official SDKs.
    fn default() -> Self {
        Backoff {
            initial: Duration::from_millis(500),
            max: Duration::from_secs(8),
        }
    }
}

impl Backoff {
    /// The wait before retry number `retry` (0 for the first retry), before jitter.
    pub fn base_delay(&self, retry: u32) -> Duration {
        let factor = 2f64.powi(retry.min(30) as i32);
        self.initial.mul_f64(factor).min(self.max)
    }

    /// The wait with jitter: between 75 % and 100 % of [`Backoff::base_delay`].
    pub fn delay(&self, retry: u32) -> Duration {
        let jitter = 1.0 - 0.25 * rand::random::<f64>();
        self.base_delay(retry).mul_f64(jitter)
    }
}

/// Whether a response should be retried: `x-should-retry` decides when present; otherwise
/// 408, 409, 429 and 5xx are retried.
pub fn should_retry(status: StatusCode, headers: &HeaderMap) -> bool {
    match headers.get("x-should-retry").and_then(|v| v.to_str().ok()) {
        Some("true") => return true,
        Some("false") => return false,
        _ => {}
    }
    matches!(status.as_u16(), 408 | 409 | 429) || status.is_server_error()
}

/// The wait the server asked for with `Retry-After-Ms` or `Retry-After` (seconds or an HTTP
/// date), if it is between 0 and 60 s.
pub fn server_requested_delay(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim);
    let delay = if let Some(ms) = header("retry-after-ms").and_then(|v| v.parse::<f64>().ok()) {
        Duration::try_from_secs_f64(ms / 1000.0).ok()
    } else if let Some(v) = header("retry-after") {
        match v.parse::<f64>() {
            Ok(secs) => Duration::try_from_secs_f64(secs).ok(),
            Err(_) => httpdate::parse_http_date(v)
                .ok()
                .map(|at| at.duration_since(now).unwrap_or(Duration::ZERO)),
        }
    } else {
        None
    };
    delay.filter(|d| *d <= MAX_RETRY_AFTER)
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn backoff_doubles_and_caps() {
        let b = Backoff::default();
        let got: Vec<_> = (0..6).map(|n| b.base_delay(n).as_millis()).collect();
        assert_eq!(got, [500, 1000, 2000, 4000, 8000, 8000]);
        for n in 0..6 {
            let d = b.delay(n);
            assert!(d <= b.base_delay(n) && d >= b.base_delay(n).mul_f64(0.75), "{d:?}");
        }
    }

    #[test]
    fn retry_decision() {
        for s in [408, 409, 429, 500, 502, 503] {
            assert!(should_retry(StatusCode::from_u16(s).unwrap(), &HeaderMap::new()), "{s}");
        }
        for s in [400, 401, 403, 404, 422] {
            assert!(
                !should_retry(StatusCode::from_u16(s).unwrap(), &HeaderMap::new()),
                "{s}"
            );
        }
        assert!(!should_retry(
            StatusCode::CONFLICT,
            &headers(&[("x-should-retry", "false")])
        ));
        assert!(should_retry(
            StatusCode::BAD_REQUEST,
            &headers(&[("x-should-retry", "true")])
        ));
    }

    #[test]
    fn server_requested_delays() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let d = |pairs: &[(&'static str, &str)]| server_requested_delay(&headers(pairs), now);
        assert_eq!(d(&[("retry-after-ms", "1500")]), Some(Duration::from_millis(1500)));
        assert_eq!(
            d(&[("retry-after-ms", "250"), ("retry-after", "9")]),
            Some(Duration::from_millis(250))
        );
        assert_eq!(d(&[("retry-after", "3")]), Some(Duration::from_secs(3)));
        assert_eq!(d(&[("retry-after", "0.5")]), Some(Duration::from_millis(500)));
        let date = httpdate::fmt_http_date(now + Duration::from_secs(7));
        assert_eq!(d(&[("retry-after", &date)]), Some(Duration::from_secs(7)));
        assert_eq!(d(&[("retry-after", "61")]), None, "over 60 s falls back to backoff");
        assert_eq!(d(&[("retry-after", "-1")]), None);
        assert_eq!(d(&[("retry-after", "soon")]), None);
        assert_eq!(d(&[]), None);
    }
}
