//! The conformance suite against SQLite files, plus SQLite-specific behaviour.

use seats_store::{AccountStore, MaintenanceStore};
use std::sync::Arc;

use seats_store::sqlite::SqliteStore;
use seats_store::{conformance, Durability};

fn fresh() -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("seats.db"), Durability::Full).unwrap();
    (dir, store)
}

/// A fresh SQLite file; another handle opens the same file, as a second process would.
struct File {
    dir: tempfile::TempDir,
    store: Arc<SqliteStore>,
}

#[async_trait::async_trait]
impl conformance::Backend for File {
    fn store(&self) -> Arc<dyn seats_store::Store> {
        self.store.clone()
    }

    async fn another_handle(&self) -> Arc<dyn seats_store::Store> {
        Arc::new(SqliteStore::open(self.dir.path().join("seats.db"), Durability::Full).unwrap())
    }
}

async fn open(_test: &str) -> Option<File> {
    let (dir, store) = fresh();
    Some(File {
        dir,
        store: Arc::new(store),
    })
}

seats_store::conformance_suite!(open);

#[tokio::test]
async fn reopening_keeps_data_and_schema() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested/dir/seats.db");
    {
        let store = SqliteStore::open(&path, Durability::Relaxed).unwrap();
        store
            .load_seed(
                conformance::seed_with(3, &[("s", true, false, 0)]),
                "2030-01-01T00:00:00Z".parse().unwrap(),
            )
            .await
            .unwrap();
    }
    let store = SqliteStore::open(&path, Durability::Full).unwrap();
    assert_eq!(
        store.account(conformance::ACCOUNT).await.unwrap().unwrap().seat_limit,
        3
    );
}

/// The bulk loader finds what only the whole seed shows (duplicates, by its unique indexes)
/// with the places `seed::parse` gives, and stores nothing of an invalid seed.
#[tokio::test]
async fn an_invalid_seed_is_reported_in_full_and_leaves_the_database_empty() {
    let (_dir, store) = fresh();
    conformance::invalid_seed_is_reported_in_full(&store).await;
    // The indexes and triggers set aside for the load are back.
    let conn = rusqlite::Connection::open(store.path()).unwrap();
    let triggers: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'users'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(triggers, 5);
}
