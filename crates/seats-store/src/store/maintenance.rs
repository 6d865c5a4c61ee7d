//! The whole database at once: health, seeds, reset, export, import and restore.

use async_trait::async_trait;
use seats_types::Timestamp;

use crate::{export, seed, StoreResult};

#[async_trait]
pub trait MaintenanceStore: Send + Sync {
    /// Checks that the database answers.
    async fn ping(&self) -> StoreResult<()>;

    /// True when the database holds no accounts, members or tokens (a seed may be loaded).
    async fn is_empty(&self) -> StoreResult<bool>;

    /// Loads a seed in one transaction, checking it as it streams in. Fails with
    /// [`StoreError::Conflict`] if the database is not empty and with
    /// [`StoreError::InvalidSeed`] (every problem, nothing stored) if the seed is not valid.
    async fn load_seed(&self, seed: seed::SeedDocument, now: Timestamp) -> StoreResult<seed::SeedSummary>;

    /// [`Self::load_seed`], then, where the backend makes database images, an image of the
    /// state the load left, copied in the background from a read that began before anything
    /// else was written (`None` if another process wrote in between, or where the backend
    /// keeps no images): what a reset to the same seed can put back instead of loading it.
    async fn load_seed_with_image(
        &self,
        seed: seed::SeedDocument,
        now: Timestamp,
    ) -> StoreResult<(seed::SeedSummary, Option<PendingImage>)> {
        Ok((self.load_seed(seed, now).await?, None))
    }

    /// Empties the database and, with `seed`, loads it: one transaction, so every other
    /// request sees the state before or after (the test toolkit's reset).
    async fn reset(&self, seed: Option<seed::SeedDocument>, now: Timestamp) -> StoreResult<seed::SeedSummary>;

    /// Empties the database and loads an export, in one transaction (a snapshot's restore).
    async fn restore(&self, records: tokio::sync::mpsc::Receiver<export::Record>)
        -> StoreResult<export::ImportSummary>;

    /// Sends the whole state, header first, to `out` as it is read from one consistent
    /// snapshot (see [`export`]); returns how many records were sent.
    async fn export(&self, out: tokio::sync::mpsc::Sender<export::Record>) -> StoreResult<u64>;

    /// [`Self::export`] into memory: every record, header first (an error if fewer arrived
    /// than the export says it sent).
    async fn export_records(&self) -> StoreResult<Vec<export::Record>> {
        let (tx, mut rx) = tokio::sync::mpsc::channel(256);
        let collect = async {
            let mut records = Vec::new();
            while let Some(r) = rx.recv().await {
                records.push(r);
            }
            records
        };
        let (sent, records) = tokio::join!(self.export(tx), collect);
        let sent = sent?;
        if sent != records.len() as u64 {
            return Err(crate::StoreError::other(format!(
                "the export sent {sent} records and {} arrived",
                records.len()
            )));
        }
        Ok(records)
    }

    /// Loads an export into an empty database in one transaction: all of it or nothing.
    /// [`StoreError::Conflict`] if the database holds data or the stream is not an export.
    async fn import(&self, records: tokio::sync::mpsc::Receiver<export::Record>) -> StoreResult<export::ImportSummary>;

    /// A copy of the whole database, from one consistent read, that [`Self::restore_image`]
    /// puts back in one step, far faster than an export's records go back in; `None` where
    /// the backend keeps no such copy (PostgreSQL: snapshots are exports there).
    async fn image(&self) -> StoreResult<Option<DatabaseImage>> {
        Ok(None)
    }

    /// [`Self::reset`], then, where the backend makes database images, an image of the state
    /// the reset left, copied in the background as [`Self::load_seed_with_image`]'s is (`None`
    /// if another process wrote in between, or where the backend keeps no images), so that
    /// later resets to the same seed can put it back with [`Self::restore_image`] instead of
    /// loading the seed.
    async fn reset_with_image(
        &self,
        seed: Option<seed::SeedDocument>,
        now: Timestamp,
    ) -> StoreResult<(seed::SeedSummary, Option<PendingImage>)> {
        Ok((self.reset(seed, now).await?, None))
    }

    /// Makes the database what it was when `image` was taken, in one step: every other
    /// request sees the state before or after. Dashboard sessions end, as with
    /// [`Self::restore`]. Only for an image this store made.
    async fn restore_image(&self, image: &DatabaseImage) -> StoreResult<export::ImportSummary> {
        let _ = image;
        Err(crate::StoreError::other("this backend restores no database image"))
    }
}

/// A copy of a whole SQLite database, and how many export records it holds: an in-memory
/// database the pages were copied into with SQLite's backup API or, for an image copied in
/// the background ([`PendingImage`]), a file of its own beside the database, removed from the
/// directory once written (its space is freed when the image is dropped).
#[derive(Clone)]
pub struct DatabaseImage {
    pub(crate) pages: std::sync::Arc<std::sync::Mutex<rusqlite::Connection>>,
    /// What an export of it would hold: its records, header and end included.
    pub records: u64,
}

impl std::fmt::Debug for DatabaseImage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DatabaseImage")
            .field("records", &self.records)
            .finish_non_exhaustive()
    }
}

/// A [`DatabaseImage`] being copied on a thread of its own, from a read that holds the state
/// it copies (the database's writers go on meanwhile).
#[derive(Debug)]
pub struct PendingImage(pub(crate) tokio::sync::oneshot::Receiver<crate::StoreResult<DatabaseImage>>);

impl PendingImage {
    /// The image once copied, or why it could not be.
    pub async fn wait(self) -> crate::StoreResult<DatabaseImage> {
        self.0
            .await
            .unwrap_or_else(|_| Err(crate::StoreError::other("the image's copy stopped")))
    }
}
