//! The whole database at once: health, emptiness, seeds, reset, export, import and restore.

use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension};
use seats_types::Timestamp;

use super::{export, seed, SqliteStore};
use crate::seed::{SeedDocument, SeedSummary};
use crate::{MaintenanceStore, StoreResult};

/// Deletes every row but the schedule and the credentials version, children first; the
/// triggers keep the search index and the figures right as rows go.
pub(super) fn wipe(conn: &Connection) -> StoreResult<()> {
    conn.execute_batch(
        "DELETE FROM scim_group_members; DELETE FROM scim_groups; DELETE FROM scim_users;
         DELETE FROM identity_providers; DELETE FROM logins; DELETE FROM sessions; DELETE FROM devices;
         DELETE FROM users; DELETE FROM member_accounts; DELETE FROM members; DELETE FROM tokens;
         DELETE FROM audit_events; DELETE FROM accounts; DELETE FROM dashboard_sessions;",
    )?;
    Ok(())
}

pub(super) fn is_empty(conn: &Connection) -> rusqlite::Result<bool> {
    conn.query_row(
        "SELECT NOT EXISTS (SELECT 1 FROM accounts) AND NOT EXISTS (SELECT 1 FROM members)
                AND NOT EXISTS (SELECT 1 FROM tokens)",
        [],
        |r| r.get(0),
    )
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
        self.write_credentials(move |c| {
            wipe(c)?;
            match seed {
                Some(seed) => seed::load(c, seed.into_reader(), now),
                None => Ok(SeedSummary::default()),
            }
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
}
