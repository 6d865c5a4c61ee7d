//! Cloudflare's rate limit, off unless `--rate-limit N/DURATION` (Cloudflare's is `1200/5m`).
//!
//! Each credential (API token id, or member email for a global key) may make `N` requests to
//! the Cloudflare API in a window of `DURATION` that opens with its first request; past that
//! it is answered 429 with code 971 and `Retry-After` (whole seconds until the window ends).
//! Requests that fail authentication are counted per client address with the same budget, and
//! once it is spent every request from that address is refused until the window ends, so a
//! credential-guessing loop is slowed. The operator API, `/healthz` and `/readyz` are never
//! limited. On SQLite, counts live in the server's memory ([`Windows`]); on PostgreSQL every
//! node on the database shares each budget ([`shared`]), so the limit holds for the cluster.
//!
//! While the limit is on, every response to a request that was counted carries Cloudflare's
//! headers (docs/api.md, "Rate limit"): `Ratelimit: "default";r=REMAINING;t=SECONDS` (what is
//! left of the budget, and the seconds until its window ends, rounded up) and
//! `Ratelimit-Policy: "burst";q=LIMIT;w=WINDOW`; a 429 adds `Retry-After`.
//!
//! [`rate_limited`] runs an authentication under this limit and the failed-authentication
//! limit of [`crate::rate_limit::failed_auth`]; [`headers`] writes the headers.

pub mod failed_auth;
pub mod shared;

use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::http::request::Parts;
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;

use crate::error::{retry_after_seconds, ApiError};
use crate::rate_limit::failed_auth::client_address;
use crate::AppState;

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

impl fmt::Display for Subject {
    /// The name of its budget in the database (shared budgets).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Subject::Token(id) => write!(f, "token:{id}"),
            Subject::Member(email) => write!(f, "member:{email}"),
            Subject::Address(ip) => write!(f, "address:{ip}"),
        }
    }
}

/// Most budgets tracked at once. Past it, windows that have ended are dropped, then the
/// oldest: a flood of new subjects pushes out old counts rather than growing the table or
/// going uncounted.
const MAX_SUBJECTS: usize = 100_000;

/// What is left of a budget after a request, for the `Ratelimit` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    pub remaining: u32,
    /// Until the window ends and the budget is whole again.
    pub resets_in: Duration,
}

#[derive(Debug, Clone, Copy)]
struct Window {
    opened: Instant,
    used: u32,
}

/// Fixed windows of `limit.window`, each opened by its key's first hit, holding at most
/// `capacity` keys (see [`MAX_SUBJECTS`]). The rate limit and the failed-authentication limit
/// ([`crate::rate_limit::failed_auth`]) both count through it.
#[derive(Debug)]
pub struct Windows<K> {
    limit: RateLimit,
    capacity: usize,
    open: Mutex<HashMap<K, Window>>,
}

impl<K: std::hash::Hash + Eq + Clone> Windows<K> {
    pub fn new(limit: RateLimit, capacity: usize) -> Self {
        Windows {
            limit,
            capacity: capacity.max(1),
            open: Mutex::new(HashMap::new()),
        }
    }

    /// How long `key` must still wait, without counting: `Some` once its window is spent.
    pub fn refused(&self, key: &K, now: Instant) -> Option<Duration> {
        let open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        let window = open.get(key)?;
        let ends = window.opened + self.limit.window;
        (window.used >= self.limit.requests && ends > now).then(|| ends - now)
    }

    /// Counts one hit of `key` and says what is left; past the budget (not counted), how
    /// long until its window ends.
    pub fn hit(&self, key: K, now: Instant) -> Result<Quota, Duration> {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        let span = self.limit.window;
        make_room(&mut open, &key, self.capacity, |w| w.opened + span > now, |w| w.opened);
        let window = open.entry(key).or_insert(Window { opened: now, used: 0 });
        if window.opened + span <= now {
            *window = Window { opened: now, used: 0 };
        }
        if window.used >= self.limit.requests {
            return Err(window.opened + span - now);
        }
        window.used += 1;
        Ok(Quota {
            remaining: self.limit.requests - window.used,
            resets_in: window.opened + span - now,
        })
    }

    /// How many keys are tracked.
    pub fn len(&self) -> usize {
        self.open.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// Whether no key is tracked.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Makes room for `key` in `table`, which holds at most `capacity` entries: when it is new and
/// the table full, the entries `live` says have ended go first, then the oldest by `age`.
fn make_room<K, V, A>(
    table: &mut HashMap<K, V>,
    key: &K,
    capacity: usize,
    live: impl Fn(&V) -> bool,
    age: impl Fn(&V) -> A,
) where
    K: std::hash::Hash + Eq + Clone,
    A: Ord,
{
    if table.contains_key(key) || table.len() < capacity {
        return;
    }
    table.retain(|_, v| live(v));
    if table.len() >= capacity {
        let oldest = table.iter().min_by_key(|(_, v)| age(v)).map(|(k, _)| k.clone());
        if let Some(oldest) = oldest {
            table.remove(&oldest);
        }
    }
}

/// A limit's budgets: in this server's memory, or shared by every server on the database
/// (when the store shares budgets: PostgreSQL).
#[derive(Debug)]
pub enum Budgets<K> {
    Local(Windows<K>),
    Shared(shared::SharedWindows<K>),
}

impl<K: std::hash::Hash + Eq + Clone + fmt::Display> Budgets<K> {
    /// `scope` names the limit's budgets in the database; `capacity` bounds the local table.
    pub fn new(
        limit: RateLimit,
        capacity: usize,
        store: &std::sync::Arc<dyn seats_store::Store>,
        scope: &'static str,
    ) -> Self {
        if store.shares_budgets() {
            Budgets::Shared(shared::SharedWindows::new(store.clone(), scope, limit))
        } else {
            Budgets::Local(Windows::new(limit, capacity))
        }
    }

    /// Counts one hit of `key` and says what is left; past the budget, how long until its
    /// window ends.
    pub async fn hit(&self, key: K) -> Result<Quota, Duration> {
        match self {
            Budgets::Local(w) => w.hit(key, Instant::now()),
            Budgets::Shared(w) => w.hit(key).await,
        }
    }

    /// How long `key` must still wait, without counting: `Some` once its budget is spent.
    pub fn refused(&self, key: &K) -> Option<Duration> {
        match self {
            Budgets::Local(w) => w.refused(key, Instant::now()),
            Budgets::Shared(w) => w.refused(key),
        }
    }

    pub fn limit(&self) -> RateLimit {
        match self {
            Budgets::Local(w) => w.limit,
            Budgets::Shared(w) => w.limit(),
        }
    }
}

/// The API's budgets, per caller.
#[derive(Debug)]
pub struct RateLimiter {
    budgets: Budgets<Subject>,
}

impl RateLimiter {
    pub fn new(limit: RateLimit, store: &std::sync::Arc<dyn seats_store::Store>) -> Self {
        RateLimiter {
            budgets: Budgets::new(limit, MAX_SUBJECTS, store, "api"),
        }
    }

    /// Counts one request of `subject`; past the budget, how long until its window ends.
    pub async fn hit(&self, subject: Subject) -> Result<Quota, Duration> {
        self.budgets.hit(subject).await
    }

    /// The limit it applies.
    pub fn limit(&self) -> RateLimit {
        self.budgets.limit()
    }

    /// How long `subject` must still wait, without counting a request.
    pub fn refused(&self, subject: &Subject) -> Option<Duration> {
        self.budgets.refused(subject)
    }
}

/// Runs `authenticate` under the rate limit, when it is on (see [`crate::rate_limit`]): an
/// address whose failed authentications spent its budget is refused first (429), a failure
/// counts against the address, and a success against the caller `subject` names. Under it
/// runs the failed-authentication limit ([`crate::rate_limit::failed_auth`]), of the address and of
/// `target`.
pub async fn rate_limited<T>(
    parts: &Parts,
    state: &AppState,
    target: Option<String>,
    authenticate: impl std::future::Future<Output = Result<T, ApiError>>,
    subject: impl FnOnce(&T) -> Subject,
) -> Result<T, ApiError> {
    let authenticate = crate::rate_limit::failed_auth::guarded(
        state,
        parts,
        target,
        authenticate,
        |e| {
            matches!(
                e,
                ApiError::InvalidToken | ApiError::InvalidApiToken | ApiError::UnknownKey
            )
        },
        |retry_after| ApiError::RateLimited { retry_after },
    );
    refuse_spent_address(parts, state).inspect_err(|e| record_refusal(parts, e))?;
    match authenticate.await {
        Ok(caller) => {
            match count_request(state, subject(&caller)).await {
                Ok(quota) => record(parts, quota),
                Err(e) => {
                    record_refusal(parts, &e);
                    return Err(e);
                }
            }
            Ok(caller)
        }
        Err(e) => {
            count_failure(parts, state, &e).await;
            Err(e)
        }
    }
}

/// 429 for a client address whose failed authentications spent its budget.
fn refuse_spent_address(parts: &Parts, state: &AppState) -> Result<(), ApiError> {
    let (Some(limiter), Some(address)) = (&state.rate_limiter, client_address(parts)) else {
        return Ok(());
    };
    match limiter.refused(&Subject::Address(address)) {
        Some(retry_after) => Err(ApiError::RateLimited { retry_after }),
        None => Ok(()),
    }
}

/// Counts a failed authentication against the client's address.
async fn count_failure(parts: &Parts, state: &AppState, error: &ApiError) {
    if matches!(error, ApiError::Internal(_) | ApiError::Unavailable(_)) {
        return;
    }
    if let (Some(limiter), Some(address)) = (&state.rate_limiter, client_address(parts)) {
        match limiter.hit(Subject::Address(address)).await {
            Ok(quota) => record(parts, Some(quota)),
            Err(resets_in) => record(
                parts,
                Some(Quota {
                    remaining: 0,
                    resets_in,
                }),
            ),
        }
    }
}

/// Counts a request of an authenticated caller (what is left, when the limit is on); 429
/// past its budget.
async fn count_request(state: &AppState, subject: Subject) -> Result<Option<Quota>, ApiError> {
    match &state.rate_limiter {
        Some(limiter) => limiter
            .hit(subject)
            .await
            .map(Some)
            .map_err(|retry_after| ApiError::RateLimited { retry_after }),
        None => Ok(None),
    }
}

/// Where a request's count is left for [`headers`] to write: put in the request by it.
#[derive(Debug, Clone, Default)]
struct QuotaSlot(std::sync::Arc<Mutex<Option<Quota>>>);

fn record(parts: &Parts, quota: Option<Quota>) {
    if let (Some(slot), Some(quota)) = (parts.extensions.get::<QuotaSlot>(), quota) {
        *slot.0.lock().unwrap_or_else(|e| e.into_inner()) = Some(quota);
    }
}

/// A 429 of the rate limit leaves nothing of the budget until it ends.
fn record_refusal(parts: &Parts, error: &ApiError) {
    if let ApiError::RateLimited { retry_after } = error {
        record(
            parts,
            Some(Quota {
                remaining: 0,
                resets_in: *retry_after,
            }),
        );
    }
}

/// Middleware: while the limit is on, writes `Ratelimit` and `Ratelimit-Policy` on the
/// response to every request that was counted (see [`crate::rate_limit`]).
pub async fn headers(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let Some(limiter) = state.rate_limiter.clone() else {
        return next.run(request).await;
    };
    let slot = QuotaSlot::default();
    request.extensions_mut().insert(slot.clone());
    let mut response = next.run(request).await;
    let quota = *slot.0.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(quota) = quota {
        let limit = limiter.limit();
        let (remaining, reset) = (quota.remaining, retry_after_seconds(quota.resets_in));
        let window = retry_after_seconds(limit.window);
        let headers = response.headers_mut();
        if let Ok(v) = HeaderValue::from_str(&format!("\"default\";r={remaining};t={reset}")) {
            headers.insert("ratelimit", v);
        }
        if let Ok(v) = HeaderValue::from_str(&format!("\"burst\";q={};w={window}", limit.requests)) {
            headers.insert("ratelimit-policy", v);
        }
    }
    response
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
        let limiter = Windows::new(
            RateLimit {
                requests: 2,
                window: Duration::from_secs(10),
            },
            MAX_SUBJECTS,
        );
        let t0 = Instant::now();
        let a = || Subject::Token("a".into());
        let left = |remaining, secs| {
            Ok(Quota {
                remaining,
                resets_in: Duration::from_secs(secs),
            })
        };
        assert_eq!(limiter.hit(a(), t0), left(1, 10));
        assert_eq!(limiter.hit(a(), t0 + Duration::from_secs(1)), left(0, 9));
        assert_eq!(
            limiter.hit(a(), t0 + Duration::from_secs(4)),
            Err(Duration::from_secs(6)),
            "refused until the window that opened at t0 ends"
        );
        assert_eq!(
            limiter.hit(Subject::Member("a".into()), t0 + Duration::from_secs(4)),
            left(1, 10)
        );
        assert_eq!(
            limiter.hit(a(), t0 + Duration::from_secs(10)),
            left(1, 10),
            "a new window"
        );
    }

    #[test]
    fn a_full_table_drops_ended_windows_then_the_oldest() {
        let windows = Windows::new(
            RateLimit {
                requests: 1,
                window: Duration::from_secs(10),
            },
            3,
        );
        let t0 = Instant::now();
        let at = |s| t0 + Duration::from_secs(s);
        for (key, s) in [(1, 0), (2, 1), (3, 2)] {
            assert!(windows.hit(key, at(s)).is_ok());
        }
        // Full, nothing ended: the oldest (1) goes, and the new key is counted.
        assert!(windows.hit(4, at(3)).is_ok());
        assert_eq!(windows.len(), 3);
        assert_eq!(windows.refused(&1, at(3)), None, "1 was dropped");
        assert_eq!(windows.hit(4, at(3)), Err(Duration::from_secs(10)), "4 is counted");
        assert_eq!(windows.refused(&2, at(3)), Some(Duration::from_secs(8)), "2 is kept");
        // Later, the ended windows (2, 3) go first.
        assert!(windows.hit(5, at(12)).is_ok());
        assert_eq!(windows.len(), 2);
        assert_eq!(windows.refused(&4, at(12)), Some(Duration::from_secs(1)));
    }
}
