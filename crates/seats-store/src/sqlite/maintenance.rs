//! The whole database at once: health, emptiness, seeds, reset, export, import and restore.

use async_trait::async_trait;
use rusqlite::OptionalExtension;
use seats_types::Timestamp;

use super::{export, image, is_empty, seed, wipe, SqliteStore};
use crate::export::ImportSummary;
use crate::seed::{SeedDocument, SeedSummary};
use crate::{DatabaseImage, MaintenanceStore, StoreResult};

/// A reset's rows, in the caller's transaction: everything goes, then `seed` (if any) loads.
fn wipe_and_load(c: &rusqlite::Connection, seed: Option<SeedDocument>, now: Timestamp) -> StoreResult<SeedSummary> {
    wipe(c)?;
    match seed {
        Some(seed) => seed::load(c, seed.into_reader(), now),
        None => Ok(SeedSummary::default()),
    }
}

#[async_trait]
impl MaintenanceStore for SqliteStore {
    async fn ping(&self) -> StoreResult<()> {
        self.readers
            // Touches the schema, not just the connection: a database without our tables is not ready.
            .read(|c| {
                Ok(c.query_row("SELECT 1 FROM accounts LIMIT 1", [], |_| Ok(()))
                    .optional()
                    .map(|_| ())?)
            })
            .await
    }

    async fn is_empty(&self) -> StoreResult<bool> {
        self.readers.read(|c| Ok(is_empty(c)?)).await
    }

    async fn load_seed(&self, seed: SeedDocument, now: Timestamp) -> StoreResult<SeedSummary> {
        self.write_credentials(move |c| seed::load(c, seed.into_reader(), now))
            .await
    }

    async fn reset(&self, seed: Option<SeedDocument>, now: Timestamp) -> StoreResult<SeedSummary> {
        self.write_credentials(move |c| wipe_and_load(c, seed, now)).await
    }

    async fn reset_with_image(
        &self,
        seed: Option<SeedDocument>,
        now: Timestamp,
    ) -> StoreResult<(SeedSummary, Option<DatabaseImage>)> {
        // Alone on the writer: no job of this process writes between the reset and the image.
        self.alone_credentials(move |c| {
            let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let summary = wipe_and_load(&tx, seed, now)?;
            let version = image::data_version(&tx)?;
            tx.commit()?;
            Ok((summary, image::take_unchanged(c, version)?))
        })
        .await
    }

    async fn restore(
        &self,
        records: tokio::sync::mpsc::Receiver<crate::export::Record>,
    ) -> StoreResult<crate::export::ImportSummary> {
        self.write_credentials(move |c| export::restore(c, records)).await
    }

    async fn export(&self, out: tokio::sync::mpsc::Sender<crate::export::Record>) -> StoreResult<u64> {
        self.readers.read(move |c| export::export(c, out)).await
    }

    async fn import(
        &self,
        records: tokio::sync::mpsc::Receiver<crate::export::Record>,
    ) -> StoreResult<crate::export::ImportSummary> {
        self.write_credentials(move |c| export::import(c, records)).await
    }

    async fn image(&self) -> StoreResult<Option<DatabaseImage>> {
        self.readers
            .read(|c| {
                // One read transaction around both: the pages and the count agree.
                c.execute_batch("BEGIN")?;
                let image = image::take(c);
                c.execute_batch("COMMIT")?;
                image.map(Some)
            })
            .await
    }

    async fn restore_image(&self, image: &DatabaseImage) -> StoreResult<ImportSummary> {
        let pages = image.pages.clone();
        let records = image.records;
        self.alone_credentials(move |c| image::restore(c, &pages, records))
            .await
    }
}
