//! The whole database at once: health, emptiness, seeds, reset, export, import and restore.

use async_trait::async_trait;
use rusqlite::OptionalExtension;
use seats_types::Timestamp;

use super::bulk::{Activity, Bulk, Start};
use super::{export, foreign_keys_hold, image, is_empty, seed, SqliteStore};
use crate::export::ImportSummary;
use crate::seed::{SeedDocument, SeedSummary};
use crate::{DatabaseImage, MaintenanceStore, PendingImage, StoreResult};

/// A reset's rows, in the caller's transaction: everything goes, then `seed` (if any) loads,
/// as one bulk load ([`Start::Emptied`]).
fn wipe_and_load(c: &rusqlite::Connection, seed: Option<SeedDocument>, now: Timestamp) -> StoreResult<SeedSummary> {
    match seed {
        Some(seed) => seed::load(c, seed.into_reader(), now, Start::Emptied),
        None => {
            Bulk::begin(c, Start::Emptied)?.finish(c, Activity::Computed)?;
            Ok(SeedSummary::default())
        }
    }
}

/// `f` in a write transaction of the write connection's own, committed: its result and the
/// data version it committed ([`image::data_version`], read when no other connection could
/// commit), which tells whether anything else wrote since.
fn committed<R>(
    c: &mut rusqlite::Connection,
    f: impl FnOnce(&rusqlite::Transaction<'_>) -> StoreResult<R>,
) -> StoreResult<(R, i64)> {
    let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let result = f(&tx)?;
    let version = image::data_version(&tx)?;
    tx.commit()?;
    Ok((result, version))
}

/// A reset, with the write connection to itself, in a transaction of its own ([`committed`]).
/// Foreign keys are off while it runs, so that SQLite empties a table at once rather than
/// looking up each deleted row's children (and loads the seed's rows without looking up their
/// parents); they are checked whole before the commit, so a reset cannot leave a row without
/// its parent.
fn reset_alone(
    c: &mut rusqlite::Connection,
    seed: Option<SeedDocument>,
    now: Timestamp,
) -> StoreResult<(SeedSummary, i64)> {
    c.pragma_update(None, "foreign_keys", "OFF")?;
    let reset = committed(c, |tx| {
        let summary = wipe_and_load(tx, seed, now)?;
        foreign_keys_hold(tx, "a reset")?;
        Ok(summary)
    });
    c.pragma_update(None, "foreign_keys", "ON")?;
    reset
}

impl SqliteStore {
    /// An image of the database as it is now, copied in the background (see
    /// [`MaintenanceStore::load_seed_with_image`]): for a database [`SqliteStore::create_seeded`]
    /// just made, before anything else writes to it.
    pub async fn begin_image(&self) -> StoreResult<Option<PendingImage>> {
        self.writer
            .alone(|c| image::begin_unchanged(c, image::data_version(c)?))
            .await
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
        self.write_credentials(move |c| seed::load(c, seed.into_reader(), now, Start::AsIs))
            .await
    }

    async fn load_seed_with_image(
        &self,
        seed: SeedDocument,
        now: Timestamp,
    ) -> StoreResult<(SeedSummary, Option<PendingImage>)> {
        // Alone on the writer: no job of this process writes between the load and the image.
        self.alone_credentials(move |c| {
            let (summary, version) = committed(c, |tx| seed::load(tx, seed.into_reader(), now, Start::AsIs))?;
            Ok((summary, image::begin_unchanged(c, version)?))
        })
        .await
    }

    async fn reset(&self, seed: Option<SeedDocument>, now: Timestamp) -> StoreResult<SeedSummary> {
        self.alone_credentials(move |c| Ok(reset_alone(c, seed, now)?.0)).await
    }

    async fn reset_with_image(
        &self,
        seed: Option<SeedDocument>,
        now: Timestamp,
    ) -> StoreResult<(SeedSummary, Option<PendingImage>)> {
        // Alone on the writer: no job of this process writes between the reset and the image.
        self.alone_credentials(move |c| {
            let (summary, version) = reset_alone(c, seed, now)?;
            Ok((summary, image::begin_unchanged(c, version)?))
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
