//! The conformance suite against SQLite files, plus SQLite-specific behaviour.

use std::sync::Arc;

use seats_store::sqlite::SqliteStore;
use seats_store::{conformance, Durability, Store};

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
    let uids: Vec<String> = (0..20).map(|i| format!("u{i}")).collect();
    let users: Vec<_> = uids.iter().map(|u| (u.as_str(), false, false, 0)).collect();
    a.load_seed(
        conformance::seed_with(5, &users),
        "2030-01-01T00:00:00Z".parse().unwrap(),
    )
    .await
    .unwrap();
    let b = Arc::new(SqliteStore::open(&path, Durability::Full).unwrap());
    let mut tasks = Vec::new();
    for (i, uid) in uids.iter().enumerate() {
        let store: Arc<dyn Store> = if i % 2 == 0 { a.clone() } else { b.clone() };
        let uid = uid.clone();
        tasks.push(tokio::spawn(async move {
            let item = seats_types::SeatEditItem {
                access_seat: true,
                gateway_seat: false,
                seat_uid: uid,
            };
            store
                .edit_seats(
                    conformance::ACCOUNT,
                    vec![item],
                    seats_store::Actor::System,
                    "2030-01-01T00:01:00Z".parse().unwrap(),
                )
                .await
        }));
    }
    let mut ok = 0;
    for t in tasks {
        ok += usize::from(t.await.unwrap().is_ok());
    }
    assert_eq!(ok, 5);
    let (_, total) = a.audit_events(conformance::ACCOUNT, 1, 100).await.unwrap();
    assert_eq!(total, 5);
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
    use seats_store::credentials::RECHECK_AFTER;
    use seats_store::secret::Secret;
    use seats_types::TokenStatus;

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("seats.db");
    let here = SqliteStore::open(&path, Durability::Full).unwrap();
    let now = "2030-01-01T00:00:00Z".parse().unwrap();
    here.load_seed(conformance::seed_with(5, &[]), now).await.unwrap();
    let elsewhere = SqliteStore::open(&path, Durability::Full).unwrap();
    async fn status(store: &SqliteStore) -> Option<TokenStatus> {
        let hash = Secret::new("secret-token").hash();
        store.token_by_hash(hash).await.unwrap().map(|t| t.status)
    }
    assert_eq!(status(&here).await, Some(TokenStatus::Active));
    assert_eq!(status(&elsewhere).await, Some(TokenStatus::Active));

    here.set_token_status("tok1", TokenStatus::Disabled, seats_store::Actor::Operator, now)
        .await
        .unwrap();
    assert_eq!(status(&here).await, Some(TokenStatus::Disabled), "at once, here");
    let started = std::time::Instant::now();
    while status(&elsewhere).await != Some(TokenStatus::Disabled) {
        assert!(
            started.elapsed() < RECHECK_AFTER * 3,
            "the other process never saw the change"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }

    here.delete_token("tok1", seats_store::Actor::Operator, now)
        .await
        .unwrap();
    assert_eq!(status(&here).await, None, "a deleted token is gone at once");
    let member = here.member_by_email("admin@example.com").await.unwrap().unwrap();
    assert_eq!(member.accounts, [conformance::ACCOUNT]);
    here.delete_member("admin@example.com", seats_store::Actor::Operator, now)
        .await
        .unwrap();
    assert!(here.member_by_email("admin@example.com").await.unwrap().is_none());
}

/// The bulk loader finds what only the whole seed shows (duplicates, by its unique indexes)
/// with the places `seed::parse` gives, and stores nothing of an invalid seed.
#[tokio::test]
async fn an_invalid_seed_is_reported_in_full_and_leaves_the_database_empty() {
    use seats_store::seed::SeedDocument;
    use seats_store::StoreError;

    let (_dir, store) = fresh();
    let doc = r#"{"tokens": [{"name": "t", "value": "tok", "policies": []}],
        "accounts": [{"users": [{"email": "a@x.com", "seat_uid": "s1"}, {"email": "A@X.com", "seat_uid": "s2"},
                                 {"email": "b@x.com", "seat_uid": "s1", "access_seat": true, "gateway_seat": true}],
                      "id": "0123456789abcdef0123456789abcdef", "name": "x", "seat_limit": 0},
                     {"id": "fedcba9876543210fedcba9876543210", "name": "y", "users": [
                        {"email": "c@x.com", "id": "00000000-0000-4000-8000-000000000001"},
                        {"email": "d@x.com", "id": "00000000-0000-4000-8000-000000000001"}]}]}"#;
    let expected = [
        "/accounts/0/users/1/email: duplicate email A@X.com (first at /accounts/0/users/0)",
        "/accounts/0/users/2/seat_uid: duplicate seat_uid s1 (first at /accounts/0/users/0)",
        "/accounts/0/seat_limit: account over its limit: 1 users hold a seat, seat_limit is 0",
        "/accounts/1/users/1/id: duplicate user id 00000000-0000-4000-8000-000000000001",
    ];
    let in_memory = seats_store::seed::parse(doc.as_bytes()).unwrap_err();
    let loaded = store
        .load_seed(SeedDocument::from_bytes(doc), "2030-01-01T00:00:00Z".parse().unwrap())
        .await;
    let Err(StoreError::InvalidSeed(e)) = loaded else {
        panic!("{loaded:?}")
    };
    let lines: Vec<String> = e.problems.iter().map(|p| p.to_string()).collect();
    assert_eq!(lines[..4], expected[..4], "{lines:#?}");
    assert_eq!(e, in_memory, "the bulk loader and the in-memory check agree");
    assert!(store.is_empty().await.unwrap(), "nothing of the seed was stored");
    // The indexes and triggers set aside for the load are back.
    let valid = conformance::seed_with(2, &[("u1", true, false, 0)]);
    store
        .load_seed(valid, "2030-01-01T00:00:00Z".parse().unwrap())
        .await
        .unwrap();
    assert_eq!(
        store.account(conformance::ACCOUNT).await.unwrap().unwrap().seats_in_use,
        1
    );
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
