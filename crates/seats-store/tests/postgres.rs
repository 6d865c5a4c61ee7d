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

/// Shared budgets: slices of an eighth of what is left (at most `max_slice`), none once the
/// window's budget is spent, whatever node asks; a slice given back is leased again; a new
/// window opens once the old one ended.
#[tokio::test]
async fn budgets_are_leased_in_slices_and_never_past_the_limit() {
    use seats_store::BudgetStore;
    use std::time::Duration;
    let Some((db, a)) = fresh("budgets_are_leased_in_slices").await else {
        return;
    };
    let b = open(&db).await;
    assert!(a.shares_budgets());
    let window = Duration::from_secs(60);
    let first = a.lease_budget("api/token:t", 100, window, 5).await.unwrap();
    assert_eq!((first.granted, first.taken), (5, 5));
    assert!(
        first.resets_in > Duration::from_secs(59) && first.resets_in <= window,
        "{first:?}"
    );
    let mut taken = 5;
    let mut slices = vec![5];
    // Two nodes take turns until nothing is left.
    for i in 0.. {
        let store = if i % 2 == 0 { &b } else { &a };
        let lease = store.lease_budget("api/token:t", 100, window, 5).await.unwrap();
        assert_eq!(lease.window_start, first.window_start, "one window");
        if lease.granted == 0 {
            break;
        }
        let left = 100 - taken;
        assert_eq!(
            lease.granted as u64,
            (left / 8).clamp(1, 5).min(left),
            "slice of {left} left"
        );
        taken += lease.granted as u64;
        assert_eq!(lease.taken, taken);
        slices.push(lease.granted);
    }
    assert_eq!(taken, 100, "{slices:?}");
    assert_eq!(slices.iter().map(|s| *s as u64).sum::<u64>(), 100);
    // Given back, leased again; another subject has its own budget.
    a.return_budget("api/token:t", first.window_start, 3).await.unwrap();
    let again = b.lease_budget("api/token:t", 100, window, 5).await.unwrap();
    assert_eq!((again.granted, again.taken), (1, 98));
    assert_eq!(a.lease_budget("api/token:u", 100, window, 5).await.unwrap().granted, 5);
    // Giving back to a window that ended does nothing.
    a.return_budget("api/token:t", first.window_start - 1, 50)
        .await
        .unwrap();
    assert_eq!(b.lease_budget("api/token:t", 100, window, 5).await.unwrap().taken, 99);
    // A short window ends, and the next lease opens a new one.
    let short = Duration::from_millis(200);
    let s1 = a
        .lease_budget("failed-address/address:192.0.2.1", 2, short, 1)
        .await
        .unwrap();
    let s2 = b
        .lease_budget("failed-address/address:192.0.2.1", 2, short, 1)
        .await
        .unwrap();
    let s3 = a
        .lease_budget("failed-address/address:192.0.2.1", 2, short, 1)
        .await
        .unwrap();
    assert_eq!((s1.granted, s2.granted, s3.granted), (1, 1, 0));
    tokio::time::sleep(short + Duration::from_millis(50)).await;
    let s4 = b
        .lease_budget("failed-address/address:192.0.2.1", 2, short, 1)
        .await
        .unwrap();
    assert_eq!((s4.granted, s4.taken), (1, 1));
    assert!(s4.window_start > s1.window_start);
}
