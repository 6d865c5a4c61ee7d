//! The whole database at once: health, emptiness, seeds, reset, export, import and restore.

use async_trait::async_trait;
use deadpool_postgres::GenericClient;
use seats_types::Timestamp;

use super::{export, is_empty, query, read, seed, wipe, PgStore, UNBOUNDED};
use crate::seed::{SeedDocument, SeedSummary};
use crate::{MaintenanceStore, StoreError, StoreResult};

/// Refreshes the planner's statistics after a bulk load: until autovacuum comes by, the
/// planner would take a 1M-user account for an empty one and pick its plans accordingly.
///
/// The tables are named in the order [`wipe`]'s `TRUNCATE` locks them: ANALYZE holds each
/// table's lock to the end of its transaction, and in another order a reset that arrived while
/// the last one's statistics were still being taken could deadlock with it.
async fn analyze(db: &impl GenericClient) -> StoreResult<()> {
    db.batch_execute(&format!(
        "BEGIN; {UNBOUNDED}; ANALYZE logins, sessions, devices, users, audit_events, accounts; COMMIT"
    ))
    .await?;
    Ok(())
}

/// [`analyze`] on a task of its own, for a reset or a restore: the caller (a test suite
/// between two tests) is answered at the commit, and the statistics follow a moment later.
fn analyze_later(client: deadpool_postgres::Object) {
    tokio::spawn(async move {
        if let Err(e) = analyze(&client).await {
            tracing::warn!(error = %e, "refreshing the planner's statistics after a load failed");
        }
    });
}

#[async_trait]
impl MaintenanceStore for PgStore {
    async fn ping(&self) -> StoreResult<()> {
        // Touches the schema, not just the connection: a database without our tables is not
        // ready, and neither is one that takes no writes (a standby, a demoted primary).
        read!(self, |db| async move {
            let rows = query(
                db,
                "SELECT current_setting('transaction_read_only')::bool, EXISTS (SELECT 1 FROM accounts)",
                &[],
            )
            .await?;
            match rows[0].try_get::<_, bool>(0)? {
                true => Err(StoreError::Unavailable(
                    "the server takes no writes (a standby?)".into(),
                )),
                false => Ok(()),
            }
        })
    }

    async fn is_empty(&self) -> StoreResult<bool> {
        read!(self, |db| is_empty(db))
    }

    async fn load_seed(&self, seed: SeedDocument, now: Timestamp) -> StoreResult<SeedSummary> {
        // Not bounded by the operation timeout: a large seed takes as long as it takes, and
        // each of its statements is still bounded by the statement timeout.
        let mut client = self.client().await?;
        let result = seed::load(&mut client, seed, now, false).await;
        self.credentials.invalidate();
        let summary = result?;
        analyze(&client).await?;
        Ok(summary)
    }

    async fn reset(&self, seed: Option<SeedDocument>, now: Timestamp) -> StoreResult<SeedSummary> {
        let mut client = self.client().await?;
        let result = match seed {
            Some(seed) => seed::load(&mut client, seed, now, true).await,
            None => {
                let tx = client.transaction().await?;
                wipe(&tx).await?;
                tx.commit().await?;
                Ok(SeedSummary::default())
            }
        };
        self.credentials.invalidate();
        let summary = result?;
        analyze_later(client);
        Ok(summary)
    }

    async fn restore(
        &self,
        records: tokio::sync::mpsc::Receiver<crate::export::Record>,
    ) -> StoreResult<crate::export::ImportSummary> {
        let mut client = self.client().await?;
        let result = export::import(&mut client, records, true).await;
        self.credentials.invalidate();
        let summary = result?;
        analyze_later(client);
        Ok(summary)
    }

    async fn export(&self, out: tokio::sync::mpsc::Sender<crate::export::Record>) -> StoreResult<u64> {
        // Not bounded by the operation timeout: an export takes as long as the data needs.
        let mut client = self.client().await?;
        export::export(&mut client, out).await
    }

    async fn import(
        &self,
        records: tokio::sync::mpsc::Receiver<crate::export::Record>,
    ) -> StoreResult<crate::export::ImportSummary> {
        let mut client = self.client().await?;
        let result = export::import(&mut client, records, false).await;
        self.credentials.invalidate();
        let summary = result?;
        analyze(&client).await?;
        Ok(summary)
    }
}
