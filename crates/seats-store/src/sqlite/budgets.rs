//! Request budgets: one SQLite server counts in its own memory (see [`crate::store::BudgetStore`]).

use std::time::Duration;

use async_trait::async_trait;

use super::SqliteStore;
use crate::{BudgetLease, BudgetStore, StoreError, StoreResult};

#[async_trait]
impl BudgetStore for SqliteStore {
    fn shares_budgets(&self) -> bool {
        false
    }

    async fn lease_budget(&self, _: &str, _: u32, _: Duration, _: u32) -> StoreResult<BudgetLease> {
        Err(StoreError::other(
            "SQLite shares no budgets: its one server counts in memory",
        ))
    }

    async fn return_budget(&self, _: &str, _: i64, _: u32) -> StoreResult<()> {
        Ok(())
    }

    async fn expire_budgets(&self) -> StoreResult<u64> {
        Ok(0)
    }
}
