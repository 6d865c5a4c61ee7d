//! The conformance suite against PostgreSQL (`SEATS_TEST_POSTGRES_URL`), each test in a
//! schema of its own; without the variable each test says it skips and passes.

use seats_store::{AccountStore, MaintenanceStore};
use std::sync::Arc;

use seats_store::postgres::testing::TestDatabase;
use seats_store::postgres::{PgOptions, PgStore};
use seats_store::sqlite::SqliteStore;
use seats_store::{conformance, Durability};

/// A store on a fresh schema, with the schema (dropped with it).
async fn fresh(test: &str) -> Option<(TestDatabase, Arc<PgStore>)> {
    let db = TestDatabase::create(test).await?;
    let store = open(&db).await;
    Some((db, store))
}

async fn open(db: &TestDatabase) -> Arc<PgStore> {
    Arc::new(db.open().await)
}

/// A fresh schema; another handle is another pool on it, as a second node opens it. The
/// store is dropped before the schema (fields drop in order): dropping the schema waits for
/// the store's connections.
struct Schema {
    store: Arc<PgStore>,
    db: TestDatabase,
}

#[async_trait::async_trait]
impl conformance::Backend for Schema {
    fn store(&self) -> Arc<dyn seats_store::Store> {
        self.store.clone()
    }

    async fn another_handle(&self) -> Arc<dyn seats_store::Store> {
        open(&self.db).await
    }
}

async fn schema(test: &str) -> Option<Schema> {
    let (db, store) = fresh(test).await?;
    Some(Schema { store, db })
}

seats_store::conformance_suite!(schema);

/// A SQLite deployment moves to PostgreSQL, and back.
#[tokio::test]
async fn export_import_round_trip_between_backends() {
    let Some((_db, pg)) = fresh("export_import_round_trip_between_backends").await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let sqlite = SqliteStore::open(dir.path().join("a.db"), Durability::Full).unwrap();
    conformance::export_import_round_trip(&sqlite, &*pg).await;
    let Some((_db2, pg2)) = fresh("export_import_round_trip_between_backends").await else {
        return;
    };
    let back = SqliteStore::open(dir.path().join("b.db"), Durability::Full).unwrap();
    conformance::export_import_round_trip(&*pg2, &back).await;
}

/// A seed load, an export and an import are bulk work an operator starts, whose statements
/// take as long as the data needs: a statement timeout that bounds requests does not cut
/// them (at 1M users the default 5 s did). The timeout here is far below what a 10k-user
/// seed's bulk statements take, and still bounds the store's ordinary statements.
#[tokio::test]
async fn bulk_work_is_not_cut_by_the_statement_timeout() {
    let (Some(a), Some(b)) = (
        TestDatabase::create("bulk_work_is_not_cut_by_the_statement_timeout").await,
        TestDatabase::create("bulk_work_is_not_cut_by_the_statement_timeout").await,
    ) else {
        return;
    };
    let open = |db: &TestDatabase| {
        let url = db.url();
        async move {
            let options = PgOptions {
                pool_size: 2,
                statement_timeout: std::time::Duration::from_millis(20),
                ..PgOptions::default()
            };
            PgStore::connect(&url, options).await.expect("connect")
        }
    };
    let (source, target) = (open(&a).await, open(&b).await);
    let uids: Vec<String> = (0..10_000).map(|i| format!("seat-{i}")).collect();
    let users: Vec<(&str, bool, bool, u64)> = uids.iter().map(|u| (u.as_str(), true, false, 0)).collect();
    let summary = source
        .load_seed(
            conformance::seed_with(10_000, &users),
            "2030-01-01T00:00:00Z".parse().unwrap(),
        )
        .await
        .expect("the seed loads whole");
    assert_eq!(summary.users, 10_000);
    let records = conformance::export_all(&source).await;
    let imported = conformance::import_all(&target, records)
        .await
        .expect("the import loads whole");
    assert_eq!(imported.users, 10_000);
    let account = target.account(conformance::ACCOUNT).await.unwrap().unwrap();
    assert_eq!(account.seats_in_use, 10_000);
}

/// Nodes starting together apply the migrations once (they take turns on an advisory lock).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn nodes_starting_together_migrate_once() {
    let Some(db) = TestDatabase::create("nodes_starting_together_migrate_once").await else {
        return;
    };
    let url = db.url();
    let starts: Vec<_> = (0..4)
        .map(|_| {
            let url = url.clone();
            tokio::spawn(async move {
                PgStore::connect(
                    &url,
                    PgOptions {
                        pool_size: 1,
                        ..PgOptions::default()
                    },
                )
                .await
            })
        })
        .collect();
    for s in starts {
        let store = s.await.unwrap().expect("every node starts");
        assert!(store.is_empty().await.unwrap());
    }
}

#[tokio::test]
async fn an_unreachable_database_fails_fast_with_a_clear_error() {
    let started = std::time::Instant::now();
    let options = PgOptions {
        connect_timeout: std::time::Duration::from_secs(2),
        ..PgOptions::default()
    };
    // Port 9 (discard) on loopback: nothing listens there.
    let err = PgStore::connect("postgres://postgres@127.0.0.1:9/seats", options)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("cannot connect to PostgreSQL"), "{err}");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
}
