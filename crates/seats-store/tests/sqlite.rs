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

#[tokio::test]
async fn seed_and_lookups() {
    let (_dir, store) = fresh();
    conformance::seed_and_lookups(&store).await;
}

#[tokio::test]
async fn edit_seats_applies_and_cleans_up() {
    let (_dir, store) = fresh();
    conformance::edit_seats_applies_and_cleans_up(&store).await;
}

#[tokio::test]
async fn edit_seats_is_atomic() {
    let (_dir, store) = fresh();
    conformance::edit_seats_is_atomic(&store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_edits_respect_limit() {
    let (_dir, store) = fresh();
    conformance::concurrent_edits_respect_limit(Arc::new(store)).await;
}

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

/// Two stores on one file stand for two processes: the limit holds across them, because it is
/// checked inside the write transaction and not by an in-process lock.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn limit_holds_across_two_handles_on_one_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("seats.db");
    let a = Arc::new(SqliteStore::open(&path, Durability::Full).unwrap());
    let b = Arc::new(SqliteStore::open(&path, Durability::Full).unwrap());
    conformance::limit_holds_across_two_handles(a, b).await;
}

#[tokio::test]
async fn browse_users_by_key_set() {
    let (_dir, store) = fresh();
    conformance::browse_users_by_key_set(&store).await;
}

#[tokio::test]
async fn list_users_filters_and_search() {
    let (_dir, store) = fresh();
    conformance::list_users_filters_and_search(&store).await;
}

#[tokio::test]
async fn logins_take_seats_until_full() {
    let (_dir, store) = fresh();
    conformance::logins_take_seats_until_full(&store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_first_logins_make_one_user() {
    let (_dir, store) = fresh();
    conformance::concurrent_first_logins_make_one_user(Arc::new(store)).await;
}

#[tokio::test]
async fn expiry_sweep_frees_inactive_seats() {
    let (_dir, store) = fresh();
    conformance::expiry_sweep_frees_inactive_seats(&store).await;
}

/// Credentials are served from memory. A change made through the same store is seen by the
/// next lookup; one made by another process on the file within `RECHECK_AFTER`.
#[tokio::test]
async fn credential_changes_reach_memory_at_once_here_and_within_the_recheck_period_elsewhere() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("seats.db");
    let here = SqliteStore::open(&path, Durability::Full).unwrap();
    let elsewhere = SqliteStore::open(&path, Durability::Full).unwrap();
    conformance::credential_changes_reach_every_handle(&here, &elsewhere).await;
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

#[tokio::test]
async fn sweep_claims_are_once_per_period() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("seats.db");
    let a = SqliteStore::open(&path, Durability::Full).unwrap();
    let b = SqliteStore::open(&path, Durability::Full).unwrap();
    conformance::sweep_claims_are_once_per_period(&a, &b).await;
}

#[tokio::test]
async fn dashboard_sessions_live_and_end() {
    let (_dir, store) = fresh();
    conformance::dashboard_sessions_live_and_end(&store).await;
}

#[tokio::test]
async fn reset_and_restore() {
    let (_dir, store) = fresh();
    conformance::reset_and_restore(&store).await;
}

#[tokio::test]
async fn export_import_round_trip() {
    let (_a, source) = fresh();
    let (_b, target) = fresh();
    conformance::export_import_round_trip(&source, &target).await;
}

#[tokio::test]
async fn a_bad_import_stores_nothing() {
    let (_dir, store) = fresh();
    conformance::a_bad_import_stores_nothing(&store).await;
}
