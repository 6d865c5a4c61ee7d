//! Request budgets shared by every server on one database: the rate limit and the
//! failed-authentication limits hold for the cluster, not per node (docs/postgres.md, "One
//! rate limit for the cluster").
//!
//! A server does not write per request: it leases a slice of a subject's budget and spends it
//! in memory, leasing again when the slice is gone. The database hands out slices until the
//! budget of the window is spent, so the cluster never admits more than the budget; a slice a
//! server leased and did not spend is given back once it sits idle.

use std::time::Duration;

use async_trait::async_trait;

use crate::StoreResult;

/// A slice of a budget a server took.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BudgetLease {
    /// Requests this server may now admit: 0 once the window's budget is spent.
    pub granted: u32,
    /// Requests the whole cluster took of the window's budget, this slice included.
    pub taken: u64,
    /// When the window opened, on the database's clock (unix microseconds): it names the
    /// window a slice belongs to.
    pub window_start: i64,
    /// Until the window ends, and the budget is whole again.
    pub resets_in: Duration,
}

#[async_trait]
pub trait BudgetStore: Send + Sync {
    /// Whether budgets here are shared between servers. SQLite has one server, which counts
    /// in its own memory; the lease operations are then not used.
    fn shares_budgets(&self) -> bool;

    /// Leases a slice of `subject`'s budget of `limit` requests per `window`, the window
    /// opening with the first lease and ending `window` later: the slice is an eighth of
    /// what is left, at least 1 and at most `max_slice`, and 0 once nothing is left.
    async fn lease_budget(
        &self,
        subject: &str,
        limit: u32,
        window: Duration,
        max_slice: u32,
    ) -> StoreResult<BudgetLease>;

    /// Gives back `unused` requests of a slice of the window that opened at `window_start`;
    /// nothing when that window has ended.
    async fn return_budget(&self, subject: &str, window_start: i64, unused: u32) -> StoreResult<()>;

    /// Forgets budgets whose window ended a minute ago or more; says how many.
    async fn expire_budgets(&self) -> StoreResult<u64>;
}
