//! The whole database at once: health, emptiness, seeds, reset, export, import and restore.

use async_trait::async_trait;
use rusqlite::OptionalExtension;
use seats_types::Timestamp;

use super::{export, image, is_empty, seed, wipe, SqliteStore};
use crate::export::ImportSummary;
use crate::seed::{SeedDocument, SeedSummary};
use crate::{DatabaseImage, MaintenanceStore, StoreResult};

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
        self.write_credentials(move |c| {
            wipe(c)?;
            match seed {
                Some(seed) => seed::load(c, seed.into_reader(), now),
                None => Ok(SeedSummary::default()),
            }
        })
        .await
    }

    async fn reset_with_image(
        &self,
        seed: Option<SeedDocument>,
        now: Timestamp,
    ) -> StoreResult<(SeedSummary, Option<DatabaseImage>)> {
        // Alone on the writer: no job of this process writes between the reset and the image.
        let reset = self
            .writer
            .alone(move |c| {
                let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
                wipe(&tx)?;
                let summary = match seed {
                    Some(seed) => seed::load(&tx, seed.into_reader(), now)?,
                    None => SeedSummary::default(),
                };
                let version = image::data_version(&tx)?;
                tx.commit()?;
                Ok((summary, image::take_unchanged(c, version)?))
            })
            .await;
        self.credentials.invalidate();
        reset
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
        let restored = self.writer.alone(move |c| image::restore(c, &pages, records)).await;
        self.credentials.invalidate();
        restored
    }
}
