//! Budgets shared by every node on one PostgreSQL database (docs/postgres.md, "One rate
//! limit for the cluster"): the window and the count live in the database, and each node
//! spends slices it leased there ([`seats_store::BudgetStore`]).
//!
//! - **No write per request.** A request spends one unit of the node's slice, in memory; only
//!   when the slice is gone does the node lease another (one statement). A slice is an eighth
//!   of what is left of the window's budget, at most [`MAX_SLICE_SHARE`] of the whole budget,
//!   so leases come every ~`budget/20` requests at first and more often near the end.
//! - **Never over the budget.** The database hands out slices until the window's budget is
//!   spent; a node refuses once its slice is gone and the database has none left. The cluster
//!   admits at most the budget per window, whatever the load on each node.
//! - **Little under it.** A slice a node leased and has not touched for [`IDLE`] is given back,
//!   so an idle node does not hold budget others need. Under it, the cluster can refuse while
//!   other nodes still hold unspent slices: at most a slice per node, which is ≤ 1/8 of what
//!   was left when it was leased.
//! - **Windows** open with the first lease of a subject anywhere and end `window` later on the
//!   database's clock; every node refuses until then.
//! - **The database unreachable**: requests are not refused for it (the limit fails open; the
//!   request itself then meets the database and its own error).
//!
//! A node learns that a subject's budget is spent when it tries to lease: [`SharedWindows::refused`]
//! (the check made before authenticating, for a client address that failed too often) answers
//! from what this node has learned.

use std::collections::HashMap;
use std::fmt::Display;
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use seats_store::Store;

use super::{Quota, RateLimit};

/// The largest slice, as a share of the budget: 1/20 (5 %).
pub const MAX_SLICE_SHARE: u32 = 20;

/// A slice untouched this long is given back.
pub const IDLE: Duration = Duration::from_millis(250);

/// Most subjects a node keeps slices of; past it, ended windows go, then the least recently
/// used.
const CAPACITY: usize = 100_000;

#[derive(Debug, Clone, Copy)]
struct Lease {
    window_start: i64,
    ends: Instant,
    /// Units of the slices this node leased and has not spent.
    left: u32,
    /// The cluster's take of the window when this node last leased.
    taken: u64,
    /// The database had nothing left at the last lease.
    spent: bool,
    /// When this node last leased.
    leased: Instant,
    last_used: Instant,
}

struct Inner {
    store: Arc<dyn Store>,
    /// Keeps the budgets of different limits apart in the database (`api`, `failed-address`, …).
    scope: &'static str,
    limit: RateLimit,
    leases: Mutex<HashMap<String, Lease>>,
    returner: std::sync::Once,
}

/// A budget per subject `K`, shared with every node on the database.
pub struct SharedWindows<K> {
    inner: Arc<Inner>,
    _key: std::marker::PhantomData<fn(K)>,
}

impl<K> std::fmt::Debug for SharedWindows<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedWindows")
            .field("scope", &self.inner.scope)
            .field("limit", &self.inner.limit)
            .finish_non_exhaustive()
    }
}

impl<K: Display> SharedWindows<K> {
    pub fn new(store: Arc<dyn Store>, scope: &'static str, limit: RateLimit) -> Self {
        SharedWindows {
            inner: Arc::new(Inner {
                store,
                scope,
                limit,
                leases: Mutex::new(HashMap::new()),
                returner: std::sync::Once::new(),
            }),
            _key: std::marker::PhantomData,
        }
    }

    pub fn limit(&self) -> RateLimit {
        self.inner.limit
    }

    fn subject(&self, key: &K) -> String {
        format!("{}/{key}", self.inner.scope)
    }

    /// How long `key` must still wait, as far as this node knows: its budget was found spent
    /// and the window has not ended.
    pub fn refused(&self, key: &K) -> Option<Duration> {
        let now = Instant::now();
        let leases = self.inner.leases.lock().unwrap_or_else(|e| e.into_inner());
        let lease = leases.get(&self.subject(key))?;
        (lease.spent && lease.left == 0 && lease.ends > now).then(|| lease.ends - now)
    }

    /// Counts one request of `key`; past the cluster's budget, how long until the window ends.
    pub async fn hit(&self, key: K) -> Result<Quota, Duration> {
        let subject = self.subject(&key);
        if let Some(answer) = self.spend(&subject, Instant::now()) {
            return answer;
        }
        self.start_returning();
        let limit = self.inner.limit;
        let max_slice = (limit.requests / MAX_SLICE_SHARE).max(1);
        let lease = match self
            .inner
            .store
            .lease_budget(&subject, limit.requests, limit.window, max_slice)
            .await
        {
            Ok(lease) => lease,
            Err(e) => {
                tracing::warn!(error = %e, "the shared rate limit could not lease; the request is let through");
                return Ok(Quota {
                    remaining: 0,
                    resets_in: limit.window,
                });
            }
        };
        let now = Instant::now();
        let mut leases = self.inner.leases.lock().unwrap_or_else(|e| e.into_inner());
        super::make_room(&mut leases, &subject, CAPACITY, |l| l.ends > now, |l| l.last_used);
        let entry = leases.entry(subject).or_insert(Lease {
            window_start: lease.window_start,
            ends: now + lease.resets_in,
            left: 0,
            taken: 0,
            spent: false,
            leased: now,
            last_used: now,
        });
        if entry.window_start != lease.window_start {
            // A new window: what was left of the old one is gone with it.
            entry.window_start = lease.window_start;
            entry.left = 0;
        }
        entry.ends = now + lease.resets_in;
        entry.taken = lease.taken;
        entry.spent = lease.granted == 0;
        entry.leased = now;
        entry.left += lease.granted;
        entry.last_used = now;
        if entry.left == 0 {
            return Err(lease.resets_in);
        }
        entry.left -= 1;
        Ok(quota(limit, entry, now))
    }

    /// Spends a unit of the slice held for `subject`, or refuses when the budget was found
    /// spent less than [`IDLE`] ago (past that, slices given back since may be leased again);
    /// `None` when the node must lease.
    fn spend(&self, subject: &str, now: Instant) -> Option<Result<Quota, Duration>> {
        let mut leases = self.inner.leases.lock().unwrap_or_else(|e| e.into_inner());
        let lease = leases.get_mut(subject)?;
        if lease.ends <= now {
            return None;
        }
        lease.last_used = now;
        if lease.left > 0 {
            lease.left -= 1;
            return Some(Ok(quota(self.inner.limit, lease, now)));
        }
        if lease.spent && now.duration_since(lease.leased) < IDLE {
            return Some(Err(lease.ends - now));
        }
        None
    }

    /// Starts the task that gives back idle slices and forgets ended windows (once, on the
    /// first lease, inside the runtime; it stops when the limiter is dropped).
    fn start_returning(&self) {
        let weak = Arc::downgrade(&self.inner);
        self.inner.returner.call_once(|| {
            tokio::spawn(give_back_idle(weak));
        });
    }
}

/// What is left for the `Ratelimit` header: the budget less what the cluster took at the
/// last lease, plus what this node holds unspent.
fn quota(limit: RateLimit, lease: &Lease, now: Instant) -> Quota {
    let taken = u32::try_from(lease.taken).unwrap_or(u32::MAX);
    Quota {
        remaining: limit
            .requests
            .saturating_sub(taken)
            .saturating_add(lease.left)
            .min(limit.requests),
        resets_in: lease.ends.saturating_duration_since(now),
    }
}

/// Every [`IDLE`], gives back the slices untouched for as long; every minute, forgets the
/// database's ended windows.
async fn give_back_idle(inner: Weak<Inner>) {
    let mut ticks: u32 = 0;
    loop {
        tokio::time::sleep(IDLE).await;
        let Some(inner) = inner.upgrade() else { return };
        let now = Instant::now();
        let idle: Vec<(String, i64, u32)> = {
            let mut leases = inner.leases.lock().unwrap_or_else(|e| e.into_inner());
            leases.retain(|_, l| l.ends > now || l.left > 0);
            leases
                .iter_mut()
                .filter(|(_, l)| l.left > 0 && now.duration_since(l.last_used) >= IDLE)
                .map(|(subject, l)| {
                    let unused = std::mem::take(&mut l.left);
                    (subject.clone(), l.window_start, unused)
                })
                .filter(|(_, _, unused)| *unused > 0)
                .collect()
        };
        for (subject, window_start, unused) in idle {
            if let Err(e) = inner.store.return_budget(&subject, window_start, unused).await {
                tracing::warn!(error = %e, "an idle rate-limit slice could not be given back");
            }
        }
        ticks = ticks.wrapping_add(1);
        if ticks.is_multiple_of(240) {
            if let Err(e) = inner.store.expire_budgets().await {
                tracing::warn!(error = %e, "ended rate-limit windows could not be forgotten");
            }
        }
    }
}
