//! Opening the store a `--database` URL names, for every command that needs one.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use seats_store::postgres::{PgOptions, PgStore};
use seats_store::sqlite::SqliteStore;
use seats_store::{DatabaseUrl, Durability, Store};

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
