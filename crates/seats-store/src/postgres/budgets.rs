//! Request budgets every node shares (see [`crate::store::BudgetStore`]): one statement per
//! lease, on an UNLOGGED table, under the row's lock, so nodes leasing at once take turns
//! and the slices handed out in a window never add up to more than its budget.

use std::time::Duration;

use async_trait::async_trait;

use super::{execute, query, PgStore};
use crate::{BudgetLease, BudgetStore, StoreError, StoreResult};

/// The database's clock, unix microseconds.
const NOW_US: &str = "(extract(epoch FROM clock_timestamp()) * 1000000)::bigint";

fn micros(d: Duration) -> i64 {
    i64::try_from(d.as_micros()).unwrap_or(i64::MAX)
}

#[async_trait]
impl BudgetStore for PgStore {
    fn shares_budgets(&self) -> bool {
        true
    }

    async fn lease_budget(
        &self,
        subject: &str,
        limit: u32,
        window: Duration,
        max_slice: u32,
    ) -> StoreResult<BudgetLease> {
        // $2 the limit, $3 the window, $4 the largest slice. On a row whose window ended, the
        // lease opens a new one. The slice is an eighth of what is left, in [1, $4], and never
        // more than is left.
        let fresh = "b.window_end <= EXCLUDED.window_start";
        let base = format!("(CASE WHEN {fresh} THEN 0 ELSE b.taken END)");
        let slice = format!(
            "GREATEST(0, LEAST($2::bigint - {base}, GREATEST(1, LEAST($4::bigint, ($2::bigint - {base}) / 8))))"
        );
        let first = "LEAST($2::bigint, GREATEST(1, LEAST($4::bigint, $2::bigint / 8)))";
        let sql = format!(
            "INSERT INTO rate_limit_budgets AS b (subject, window_start, window_end, taken, last_slice)
             SELECT $1, n.now, n.now + $3::bigint, {first}, {first} FROM (SELECT {NOW_US} AS now) n
             ON CONFLICT (subject) DO UPDATE SET
                 window_start = CASE WHEN {fresh} THEN EXCLUDED.window_start ELSE b.window_start END,
                 window_end = CASE WHEN {fresh} THEN EXCLUDED.window_end ELSE b.window_end END,
                 taken = {base} + {slice},
                 last_slice = {slice}
             RETURNING last_slice, taken, window_start, window_end - {NOW_US}"
        );
        let (limit, window, max_slice) = (i64::from(limit), micros(window), i64::from(max_slice));
        // One statement, committed on its own (no BEGIN/COMMIT round trips); the table is
        // UNLOGGED, so the commit waits for no WAL flush.
        let row = self
            .bounded(async {
                let client = self.client().await?;
                let rows = query(&client, &sql, &[&subject, &limit, &window, &max_slice]).await?;
                rows.into_iter()
                    .next()
                    .ok_or_else(|| StoreError::other("the lease returned no row"))
            })
            .await?;
        let (slice, taken, window_start, left_us): (i64, i64, i64, i64) =
            (row.try_get(0)?, row.try_get(1)?, row.try_get(2)?, row.try_get(3)?);
        Ok(BudgetLease {
            granted: u32::try_from(slice.max(0)).unwrap_or(u32::MAX),
            taken: u64::try_from(taken.max(0)).unwrap_or(0),
            window_start,
            resets_in: Duration::from_micros(u64::try_from(left_us.max(0)).unwrap_or(0)),
        })
    }

    async fn return_budget(&self, subject: &str, window_start: i64, unused: u32) -> StoreResult<()> {
        let unused = i64::from(unused);
        self.bounded(async {
            let client = self.client().await?;
            execute(
                &client,
                "UPDATE rate_limit_budgets SET taken = GREATEST(0, taken - $3::bigint)
                 WHERE subject = $1 AND window_start = $2::bigint",
                &[&subject, &window_start, &unused],
            )
            .await
        })
        .await?;
        Ok(())
    }

    async fn expire_budgets(&self) -> StoreResult<u64> {
        let sql = format!("DELETE FROM rate_limit_budgets WHERE window_end < {NOW_US} - 60000000");
        self.bounded(async { execute(&self.client().await?, &sql, &[]).await })
            .await
    }
}
