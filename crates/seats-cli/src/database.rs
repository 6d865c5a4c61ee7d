//! Opening the store a `--database` URL names, for every command that needs one.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use seats_store::postgres::{PgOptions, PgStore};
use seats_store::seed::{SeedDocument, SeedSummary};
use seats_store::sqlite::{SqliteOptions, SqliteStore};
use seats_store::{DatabaseUrl, Durability, PendingImage, Store, StoreError};
use seats_types::Timestamp;

/// How to open a store; the PostgreSQL settings are ignored for SQLite.
#[derive(Debug, Clone)]
pub struct Options {
    pub durability: Durability,
    pub pool_size: usize,
    pub statement_timeout: Duration,
}

impl Default for Options {
    fn default() -> Self {
        let pg = PgOptions::default();
        Options {
            durability: Durability::Full,
            pool_size: pg.pool_size,
            statement_timeout: pg.statement_timeout,
        }
    }
}

/// Creates the SQLite file `path` (which must not exist) with `seed` in it, written once
/// ([`SqliteStore::create_seeded`]), and opens it; with the image of its first state being
/// copied in the background ([`SqliteStore::begin_image`]).
pub async fn create_seeded(
    path: &std::path::Path,
    options: &Options,
    seed: SeedDocument,
    now: Timestamp,
) -> Result<(Arc<dyn Store>, SeedSummary, Option<PendingImage>), StoreError> {
    let sqlite = SqliteOptions {
        durability: options.durability,
        ..SqliteOptions::default()
    };
    let target = path.to_path_buf();
    let (store, summary) = tokio::task::spawn_blocking(move || SqliteStore::create_seeded(target, sqlite, seed, now))
        .await
        .map_err(StoreError::other)??;
    tracing::info!(path = %path.display(), durability = ?options.durability, "created SQLite database");
    let image = store.begin_image().await?;
    Ok((Arc::new(store), summary, image))
}

/// Opens (a SQLite file is created if missing) and brings the schema up to date.
pub async fn open(url: &DatabaseUrl, options: &Options) -> anyhow::Result<Arc<dyn Store>> {
    let durability = options.durability;
    Ok(match url {
        DatabaseUrl::Sqlite(path) => {
            let store = SqliteStore::open(path, durability)
                .with_context(|| format!("cannot open SQLite database {}", path.display()))?;
            tracing::info!(path = %path.display(), ?durability, "opened SQLite database");
            Arc::new(store)
        }
        DatabaseUrl::Postgres(url) => {
            let pg = PgOptions {
                pool_size: options.pool_size,
                statement_timeout: options.statement_timeout,
                durability,
                ..PgOptions::default()
            };
            // The error says it all; its source chain would repeat it.
            let store = PgStore::connect(url, pg).await.map_err(|e| anyhow::anyhow!("{e}"))?;
            tracing::info!(
                ?store,
                pool_size = options.pool_size,
                ?durability,
                "connected to PostgreSQL"
            );
            Arc::new(store)
        }
    })
}
