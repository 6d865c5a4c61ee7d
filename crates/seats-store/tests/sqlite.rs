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

/// FTS5's own check that the search index holds exactly what the users table does.
fn search_index_matches_the_rows(path: &std::path::Path) {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.execute_batch("INSERT INTO users_search (users_search, rank) VALUES ('integrity-check', 1)")
        .unwrap();
}

/// A seed's search index, rebuilt once the rows are in (crates/seats-store/src/sqlite/bulk.rs),
/// is FTS5's exact index of the rows; it then takes changes on top of it (a user created after
/// the load, a rename), and searches find old and new users alike.
#[tokio::test]
async fn a_seed_s_search_index_is_whole_and_takes_changes_after_it() {
    use seats_store::{UserFilter, UserStore};
    let (dir, store) = fresh();
    let t0: seats_types::Timestamp = "2030-01-01T00:00:00Z".parse().unwrap();
    store.load_seed(fixed_seed(2500), t0).await.unwrap();
    search_index_matches_the_rows(store.path());
    let actor = seats_store::Actor::Operator;
    let created = store
        .create_user(
            conformance::ACCOUNT,
            "late@example.com",
            "Late Comer",
            actor.clone(),
            t0,
        )
        .await
        .unwrap();
    store
        .rename_user(
            conformance::ACCOUNT,
            "00000000-0000-4000-8000-000000000007",
            "Renamed Seven",
            actor,
            t0,
        )
        .await
        .unwrap();
    search_index_matches_the_rows(store.path());
    let find = |text: &str| UserFilter {
        search: Some(text.into()),
        ..Default::default()
    };
    for (text, expected) in [
        ("user2499@", "user2499@example.com"),
        ("late@", "late@example.com"),
        ("renamed seven", "user7@example.com"),
    ] {
        let (found, total) = store
            .list_users(conformance::ACCOUNT, find(text), 1, 10, t0)
            .await
            .unwrap();
        assert_eq!((total, found[0].email.as_str()), (1, expected), "{text}");
    }
    assert_eq!(created.email, "late@example.com");
    // Nothing of the load is left beside the database.
    let names = names_in(dir.path());
    assert!(names.iter().all(|n| n.starts_with("seats.db")), "{names:?}");
}

/// A load rebuilds the search index with a larger FTS5 hash (crates/seats-store/src/sqlite/bulk.rs)
/// and puts FTS5's default back for the requests after it; the index answers searches.
#[tokio::test]
async fn a_load_leaves_the_search_index_at_its_default_memory() {
    use seats_store::{UserFilter, UserStore};
    let (_dir, store) = fresh();
    let t0: seats_types::Timestamp = "2030-01-01T00:00:00Z".parse().unwrap();
    store
        .load_seed(
            conformance::seed_with(3, &[("s1", true, false, 0), ("s2", false, true, 0)]),
            t0,
        )
        .await
        .unwrap();
    let conn = rusqlite::Connection::open(store.path()).unwrap();
    let hash_size: i64 = conn
        .query_row("SELECT v FROM users_search_config WHERE k = 'hashsize'", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(hash_size, 1 << 20);
    let search = UserFilter {
        search: Some("USER1@example".into()),
        ..Default::default()
    };
    let (found, total) = store.list_users(conformance::ACCOUNT, search, 1, 10, t0).await.unwrap();
    assert_eq!(total, 1);
    assert_eq!(found[0].email, "user1@example.com");
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

/// A database image: taken from one read, put back in one step. The state then exports
/// exactly as it did when the image was taken, with as many records as the image counted;
/// the search index, the maintained figures and a token deleted since are back, and the
/// credential cache sees the token again.
#[tokio::test]
async fn an_image_puts_the_database_back_as_it_was() {
    use seats_store::{Actor, CredentialStore, SeatStore, UserFilter, UserStore};
    let (_dir, store) = fresh();
    let t0: seats_types::Timestamp = "2030-01-01T00:00:00Z".parse().unwrap();
    store
        .load_seed(
            conformance::seed_with(
                5,
                &[("s1", true, true, 1), ("s2", false, false, 0), ("s3", true, false, 0)],
            ),
            t0,
        )
        .await
        .unwrap();
    let before = conformance::export_all(&store).await;
    let image = store.image().await.unwrap().expect("SQLite makes images");
    assert_eq!(image.records, before.len() as u64);
    let account = store.account(conformance::ACCOUNT).await.unwrap().unwrap();
    let token = seats_store::secret::Secret::new("secret-token").hash();

    let item = |uid: &str| seats_types::SeatEditItem {
        access_seat: false,
        gateway_seat: false,
        seat_uid: uid.into(),
    };
    store
        .edit_seats(conformance::ACCOUNT, vec![item("s1"), item("s3")], Actor::Operator, t0)
        .await
        .unwrap();
    store.delete_token("tok1", Actor::Operator, t0).await.unwrap();
    assert!(store.token_by_hash(token).await.unwrap().is_none());
    assert_ne!(conformance::export_all(&store).await, before);

    let summary = store.restore_image(&image).await.unwrap();
    assert_eq!(
        (summary.accounts, summary.users, summary.records),
        (1, 3, image.records)
    );
    assert_eq!(conformance::export_all(&store).await, before, "the state as it was");
    assert_eq!(store.account(conformance::ACCOUNT).await.unwrap().unwrap(), account);
    assert!(
        store.token_by_hash(token).await.unwrap().is_some(),
        "the credentials reloaded"
    );
    let search = UserFilter {
        search: Some("user2@".into()),
        ..Default::default()
    };
    let (found, total) = store.list_users(conformance::ACCOUNT, search, 1, 10, t0).await.unwrap();
    assert_eq!((found.len(), total), (1, 1), "the search index is back");
    assert_eq!(found[0].seat_uid, "s3");
    // The image can be put back again, and writes go on after it.
    store.restore_image(&image).await.unwrap();
    store
        .edit_seats(conformance::ACCOUNT, vec![item("s1")], Actor::Operator, t0)
        .await
        .unwrap();
    let s1 = store
        .user_by_seat_uid(conformance::ACCOUNT, "s1", t0)
        .await
        .unwrap()
        .unwrap();
    assert!(!s1.access_seat && !s1.gateway_seat);
}

/// A seed of `users` users with every id given (nothing random), a member and a token.
fn fixed_seed(users: usize) -> seats_store::seed::SeedDocument {
    let users: Vec<_> = (0..users)
        .map(|i| {
            serde_json::json!({"id": format!("00000000-0000-4000-8000-{i:012}"), "email": format!("user{i}@example.com"),
                "name": format!("User {i}"), "seat_uid": format!("seat-{i}"), "access_seat": i % 2 == 0, "gateway_seat": i % 3 == 0})
        })
        .collect();
    let doc = serde_json::json!({
        "accounts": [{"id": conformance::ACCOUNT, "name": "Fixed", "seat_limit": 5000, "users": users,
                      "organization": {"name": "Fixed", "auth_domain": "fixed.cloudflareaccess.com"}}],
        "members": [{"email": "Admin@Example.com", "api_key": "144c9defac04969c7bfad8efaa8ea194", "accounts": [conformance::ACCOUNT]}],
        "tokens": [{"id": "tok1", "name": "t", "value": "secret-token", "policies": [{"effect": "allow",
            "resources": {"com.cloudflare.api.account.*": "*"}, "permission_groups": [{"name": "Zero Trust: Seats Write"}]}]}]
    });
    seats_store::seed::parse(doc.to_string().as_bytes()).unwrap()
}

/// The names in `dir`, sorted.
fn names_in(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Asserts that `dir` holds the database file `name` and its log and shared memory (if
/// there), nothing else.
fn only_the_database_in(dir: &std::path::Path, name: &str) {
    let names = names_in(dir);
    let ours = [name.to_owned(), format!("{name}-wal"), format!("{name}-shm")];
    assert!(
        names.iter().all(|n| ours.contains(n)),
        "the database and its log, nothing else: {names:?}"
    );
}

/// A new file written with its seed in place (crates/seats-store/src/sqlite/create.rs) holds
/// exactly what a seed loaded into an open database holds: the same export, the same figures,
/// a search index that answers. It is in WAL mode like any other, passes SQLite's integrity
/// check, and nothing of its making is left beside it.
#[tokio::test]
async fn a_new_file_written_with_its_seed_holds_what_a_load_stores() {
    use seats_store::{UserFilter, UserStore};
    let t0: seats_types::Timestamp = "2030-01-01T00:00:00Z".parse().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let created_path = dir.path().join("created.db");
    let (created, summary) =
        SqliteStore::create_seeded(&created_path, Default::default(), fixed_seed(3000), t0).unwrap();
    assert_eq!((summary.accounts, summary.users, summary.tokens), (1, 3000, 1));
    let (_other_dir, loaded) = fresh();
    loaded.load_seed(fixed_seed(3000), t0).await.unwrap();

    let (a, b) = (
        conformance::export_all(&created).await,
        conformance::export_all(&loaded).await,
    );
    assert_eq!(
        a.len(),
        3000 + 6,
        "users, and the header, account, member, token, sweep schedule and end"
    );
    assert_eq!(a, b);
    let account = created.account(conformance::ACCOUNT).await.unwrap().unwrap();
    assert_eq!(account.seats_in_use, 2000);
    let search = UserFilter {
        search: Some("USER2999@example".into()),
        ..Default::default()
    };
    let (found, total) = created
        .list_users(conformance::ACCOUNT, search, 1, 10, t0)
        .await
        .unwrap();
    assert_eq!((total, found[0].email.as_str()), (1, "user2999@example.com"));

    let conn = rusqlite::Connection::open(&created_path).unwrap();
    let mode: String = conn.query_row("PRAGMA journal_mode", [], |r| r.get(0)).unwrap();
    assert_eq!(mode, "wal");
    let check: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
    assert_eq!(check, "ok");
    only_the_database_in(dir.path(), "created.db");
}

/// A seed with problems reports them as a load would, and leaves nothing at the path or
/// beside it; a path that exists is refused and left as it was.
#[tokio::test]
async fn a_new_file_is_put_in_place_only_whole_and_never_over_another() {
    let t0: seats_types::Timestamp = "2030-01-01T00:00:00Z".parse().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested/seats.db");
    let doc = r#"{"accounts": [{"id": "0123456789abcdef0123456789abcdef", "name": "x", "seat_limit": 1, "users": [
        {"email": "a@x.com", "seat_uid": "s1"}, {"email": "A@X.com", "seat_uid": "s2"}]}]}"#;
    let created = SqliteStore::create_seeded(
        &path,
        Default::default(),
        seats_store::seed::SeedDocument::from_bytes(doc),
        t0,
    );
    let Err(seats_store::StoreError::InvalidSeed(e)) = created else {
        panic!("{created:?}")
    };
    assert_eq!(e, seats_store::seed::parse(doc.as_bytes()).unwrap_err());
    assert_eq!(
        e.problems[0].to_string(),
        "/accounts/0/users/1/email: duplicate email A@X.com (first at /accounts/0/users/0)"
    );
    assert!(!path.exists());
    assert_eq!(names_in(&dir.path().join("nested")), Vec::<String>::new());

    let (_existing, summary) = SqliteStore::create_seeded(&path, Default::default(), fixed_seed(2), t0).unwrap();
    assert_eq!(summary.users, 2);
    let again = SqliteStore::create_seeded(&path, Default::default(), fixed_seed(5), t0);
    assert!(
        matches!(
            again,
            Err(seats_store::StoreError::Conflict(seats_store::Conflict::NotEmpty))
        ),
        "{again:?}"
    );
    let kept = SqliteStore::open(&path, Durability::Full).unwrap();
    assert_eq!(
        conformance::export_all(&kept).await.len(),
        2 + 6,
        "the two users of the first seed"
    );
}

/// A build killed part-way leaves its `.NAME.XXXXXX.seeding` file; the next creation of the
/// same path removes it, but not a build's file that a live process still locks, nor another
/// path's.
#[tokio::test]
async fn a_new_file_s_creation_removes_what_an_unfinished_one_left() {
    let t0: seats_types::Timestamp = "2030-01-01T00:00:00Z".parse().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("seats.db");
    let left = dir.path().join(".seats.db.AbC123.seeding");
    std::fs::write(&left, vec![7u8; 64 * 1024]).unwrap();
    let live = dir.path().join(".seats.db.LiVe99.seeding");
    let building = std::fs::File::create(&live).unwrap();
    building.lock().unwrap();
    let other = dir.path().join(".other.db.XyZ000.seeding");
    std::fs::write(&other, b"another path's").unwrap();

    let (_store, summary) = SqliteStore::create_seeded(&path, Default::default(), fixed_seed(3), t0).unwrap();
    assert_eq!(summary.users, 3);
    let names: Vec<String> = names_in(dir.path())
        .into_iter()
        .filter(|n| !n.starts_with("seats.db"))
        .collect();
    assert_eq!(names, [".other.db.XyZ000.seeding", ".seats.db.LiVe99.seeding"]);
    drop(building);

    // A build holds the lock on its own file while it works, so it is never taken for a
    // leftover: seen from outside, every file being built is locked.
    let path = dir.path().join("large.db");
    let seed = fixed_seed(7_000);
    let build = std::thread::spawn({
        let path = path.clone();
        move || SqliteStore::create_seeded(&path, Default::default(), seed, t0).map(|(_, s)| s.users)
    });
    let mut seen = 0;
    while !build.is_finished() {
        for name in names_in(dir.path()).iter().filter(|n| n.starts_with(".large.db.")) {
            let Ok(file) = std::fs::File::open(dir.path().join(name)) else {
                continue;
            };
            seen += 1;
            assert!(
                matches!(file.try_lock(), Err(std::fs::TryLockError::WouldBlock)),
                "{name} is not locked while it is built"
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    assert_eq!(build.join().unwrap().unwrap(), 7_000);
    assert!(seen > 0, "the build's file was looked at while it was built");
}

/// The image of a seed's state that a server keeps from start-up (crates/seats-store/src/sqlite/image.rs),
/// both where the file was created with the seed and where the seed loaded into an empty
/// file: it is copied in the background from a read that began before anything else wrote,
/// so writes made at once, while it copies, are not in it; putting it back gives the state
/// the seed left; and its file is gone from the directory once it is copied.
#[tokio::test]
async fn an_image_begun_after_a_seed_holds_the_seed_s_state_whatever_is_written_meanwhile() {
    use seats_store::{Actor, CredentialStore, SeatStore};
    let t0: seats_types::Timestamp = "2030-01-01T00:00:00Z".parse().unwrap();
    const USERS: usize = 6_000;
    for created in [true, false] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("seats.db");
        let (store, image) = if created {
            let (store, _) = SqliteStore::create_seeded(&path, Default::default(), fixed_seed(USERS), t0).unwrap();
            let image = store.begin_image().await.unwrap();
            (store, image)
        } else {
            let store = SqliteStore::open(&path, Durability::Full).unwrap();
            let (summary, image) = store.load_seed_with_image(fixed_seed(USERS), t0).await.unwrap();
            assert_eq!(summary.users, USERS);
            (store, image)
        };
        let image = image.expect("nothing else wrote between the seed and the image's read");
        // Every seat freed (a thousand at a time) and the token deleted, while it copies.
        for chunk in (0..USERS).collect::<Vec<_>>().chunks(1000) {
            let items = chunk
                .iter()
                .map(|i| seats_types::SeatEditItem {
                    access_seat: false,
                    gateway_seat: false,
                    seat_uid: format!("seat-{i}"),
                })
                .collect();
            store
                .edit_seats(conformance::ACCOUNT, items, Actor::Operator, t0)
                .await
                .unwrap();
        }
        store.delete_token("tok1", Actor::Operator, t0).await.unwrap();
        let changed = conformance::export_all(&store).await;
        let image = image.wait().await.unwrap();

        // The image's file was out of the directory from the start.
        only_the_database_in(dir.path(), "seats.db");
        let summary = store.restore_image(&image).await.unwrap();
        assert_eq!((summary.accounts, summary.users), (1, USERS as u64));
        let restored = conformance::export_all(&store).await;
        assert_eq!(image.records, restored.len() as u64);
        assert_ne!(restored, changed);
        let (_other_dir, loaded) = fresh();
        loaded.load_seed(fixed_seed(USERS), t0).await.unwrap();
        assert_eq!(
            restored,
            conformance::export_all(&loaded).await,
            "created: {created}: the seed's state"
        );
        let account = store.account(conformance::ACCOUNT).await.unwrap().unwrap();
        assert_eq!(account.seats_in_use, 4_000, "users with a seat in the seed");
        let token = seats_store::secret::Secret::new("secret-token").hash();
        assert!(store.token_by_hash(token).await.unwrap().is_some());
    }
}
