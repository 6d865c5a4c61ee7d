//! A request's cost does not grow with the account. Each request-facing store operation runs
//! against a seeded SQLite file while the store reports the SQL it really executed
//! (parameters bound) and counts the virtual-machine instructions of every connection:
//!
//! * every statement's plan is read back with `EXPLAIN QUERY PLAN`; a full `SCAN` of a table
//!   that grows with accounts (users, audit events, sessions, devices, logins) fails;
//! * the same operations run on an account eight times larger must execute about the same
//!   number of instructions (a deterministic measure, unlike time): an indexed lookup that
//!   still walks the whole account — which a plan shows as a `SEARCH` — fails here;
//! * on PostgreSQL (when `SEATS_TEST_POSTGRES_URL` is set) the same operations run on a
//!   20k-user account and the server's own counters must show no sequential scan of a
//!   table holding 1000 rows or more, and no tenth of such a table read through an index.

use seats_store::{MaintenanceStore, SeatStore, UserStore};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use rusqlite::Connection;
use seats_store::browse::{SeatFilter, UserBrowse, UserKey};
use seats_store::sqlite::{SqliteOptions, SqliteStore};
use seats_store::{seed, Actor, Durability, LoginMethod, LoginRequest, Store, UserFilter, Via};
use seats_types::{SeatEditItem, Timestamp};

const ACCOUNT: &str = "0123456789abcdef0123456789abcdef";
/// Users whose last login is old enough for the sweep; the others are recent.
const STALE_USERS: usize = 5;

fn at(s: &str) -> Timestamp {
    s.parse().unwrap()
}

/// An account of `n` users; a third hold a device, half an Access seat.
fn seed_doc(n: usize) -> seed::SeedDocument {
    let users: Vec<_> = (0..n)
        .map(|i| {
            let login = if i < STALE_USERS {
                "2020-01-01T00:00:00Z"
            } else {
                "2030-01-01T00:00:00Z"
            };
            serde_json::json!({"email": format!("user{i}@example.com"), "name": format!("User {i}"),
                "seat_uid": format!("seat-{i}"), "access_seat": i % 2 == 0 || i < STALE_USERS,
                "gateway_seat": i % 3 == 0 && i >= STALE_USERS,
                "active_device_count": u64::from(i % 3 == 0 && i >= STALE_USERS),
                "last_successful_login": login})
        })
        .collect();
    let doc = serde_json::json!({"accounts": [{"id": ACCOUNT, "name": "plans", "seat_limit": 100000, "users": users,
        "organization": {"name": "p", "auth_domain": "p.example", "user_seat_expiration_inactive_time": "730h"}}]});
    seed::parse(doc.to_string().as_bytes()).unwrap()
}

/// A store on a seeded, analyzed file that records statements and counts instructions.
struct Fixture {
    _dir: tempfile::TempDir,
    path: std::path::PathBuf,
    store: SqliteStore,
    statements: Arc<Mutex<Vec<String>>>,
    steps: Arc<AtomicU64>,
}

impl Fixture {
    async fn new(users: usize) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plans.db");
        let statements = Arc::new(Mutex::new(Vec::new()));
        let steps = Arc::new(AtomicU64::new(0));
        let sink = statements.clone();
        let store = SqliteStore::open_with(
            &path,
            SqliteOptions {
                durability: Durability::Relaxed,
                on_statement: Some(Arc::new(move |sql: &str| sink.lock().unwrap().push(sql.to_owned()))),
                vm_steps: Some(steps.clone()),
            },
        )
        .unwrap();
        store
            .load_seed(seed_doc(users), at("2030-01-01T00:00:00Z"))
            .await
            .unwrap();
        Connection::open(&path).unwrap().execute_batch("ANALYZE").unwrap();
        Fixture {
            _dir: dir,
            path,
            store,
            statements,
            steps,
        }
    }

    /// Runs every request-facing operation once; returns the instructions each executed.
    async fn run_operations(&self) -> BTreeMap<&'static str, u64> {
        self.statements.lock().unwrap().clear();
        run_operations(&self.store, &self.steps).await
    }
}

/// Runs every request-facing operation once on a store seeded with [`seed_doc`]; returns
/// what `steps` counted for each (nothing on a store that does not count).
async fn run_operations(store: &dyn Store, steps: &AtomicU64) -> BTreeMap<&'static str, u64> {
    let now = at("2030-01-01T12:00:00Z");
    let actor = Actor::Operator;
    let item = |uid: &str, a: bool, g: bool| SeatEditItem {
        access_seat: a,
        gateway_seat: g,
        seat_uid: uid.into(),
    };
    let filter = |email: Option<&str>, name: Option<&str>, search: Option<&str>| UserFilter {
        email: email.map(Into::into),
        name: name.map(Into::into),
        search: search.map(Into::into),
    };
    let mut costs = BTreeMap::new();
    macro_rules! measure {
        ($name:expr, $op:expr) => {{
            let before = steps.load(Ordering::SeqCst);
            let out = $op.await.unwrap();
            costs.insert($name, steps.load(Ordering::SeqCst) - before);
            out
        }};
    }
    let edits = vec![
        item("seat-10", true, false),
        item("seat-11", false, false),
        item("seat-12", true, true),
    ];
    measure!("edit_seats", store.edit_seats(ACCOUNT, edits, actor.clone(), now));
    let user = measure!("user_by_seat_uid", store.user_by_seat_uid(ACCOUNT, "seat-9", now)).unwrap();
    measure!("user", store.user(ACCOUNT, &user.id, now));
    measure!("user_activity", store.user_activity(ACCOUNT, &user.id, now));
    measure!(
        "list_users first page",
        store.list_users(ACCOUNT, filter(None, None, None), 1, 50, now)
    );
    measure!(
        "list_users page 3",
        store.list_users(ACCOUNT, filter(None, None, None), 3, 50, now)
    );
    let by_email = filter(Some("USER7@example.com"), None, None);
    measure!("list_users email", store.list_users(ACCOUNT, by_email, 1, 50, now));
    let by_name = filter(None, Some("User 7"), None);
    measure!("list_users name", store.list_users(ACCOUNT, by_name, 1, 50, now));
    // "r7@e" is in user7@example.com only, at every size.
    let search = filter(None, None, Some("R7@E"));
    let (found, total) = measure!("list_users search", store.list_users(ACCOUNT, search, 1, 50, now));
    assert_eq!((found.len(), total), (1, 1));
    let both = filter(None, Some("User 7"), Some("user7"));
    measure!(
        "list_users name and search",
        store.list_users(ACCOUNT, both, 1, 50, now)
    );
    // The dashboard's users page: first page, last page, a deep page from a key, and a seat
    // filter bounded by its scan (below the smaller account's size, so it reads as flat).
    let browse = |seat: SeatFilter, from: Option<UserKey>, backward: bool, search: Option<&str>| UserBrowse {
        search: search.map(Into::into),
        seat,
        from,
        backward,
        limit: 20,
        scan: 200,
    };
    measure!(
        "browse_users first page",
        store.browse_users(ACCOUNT, browse(SeatFilter::Any, None, false, None), now)
    );
    let last = measure!(
        "browse_users last page",
        store.browse_users(ACCOUNT, browse(SeatFilter::Any, None, true, None), now)
    );
    assert_eq!(last.users.len(), 20);
    let deep = Some(UserKey::of(&last.users[0]));
    measure!(
        "browse_users deep page",
        store.browse_users(ACCOUNT, browse(SeatFilter::Any, deep.clone(), false, None), now)
    );
    measure!(
        "browse_users holding no seat",
        store.browse_users(ACCOUNT, browse(SeatFilter::None, deep, true, None), now)
    );
    let found = measure!(
        "browse_users search",
        store.browse_users(ACCOUNT, browse(SeatFilter::None, None, false, Some("R7@E")), now)
    );
    assert_eq!(found.users.len(), 1);
    let created = measure!(
        "create_user",
        store.create_user(ACCOUNT, "new@example.com", "New", actor.clone(), now)
    );
    measure!(
        "rename_user",
        store.rename_user(ACCOUNT, &created.id, "Renamed", actor.clone(), now)
    );
    let login = |email: &str, via, device: Option<&str>| LoginRequest {
        email: email.into(),
        name: Some("N".into()),
        method: match (via, device) {
            (Via::Gateway, Some(device)) => LoginMethod::Gateway {
                device_id: device.to_owned(),
            },
            _ => LoginMethod::Access,
        },
    };
    let access = login("new@example.com", Via::Access, None);
    measure!("login access", store.login(ACCOUNT, access, actor.clone(), now));
    let gateway = login("new@example.com", Via::Gateway, Some("d1"));
    measure!("login gateway", store.login(ACCOUNT, gateway, actor.clone(), now));
    let first = login("fresh@example.com", Via::Access, None);
    measure!("login new user", store.login(ACCOUNT, first, actor.clone(), now));
    measure!(
        "delete_user",
        store.delete_user(ACCOUNT, &created.id, actor.clone(), now)
    );
    measure!("organization", store.organization(ACCOUNT));
    let fields = serde_json::json!({"name": "renamed"}).as_object().unwrap().clone();
    measure!(
        "put_organization",
        store.put_organization(
            ACCOUNT,
            fields,
            seats_store::OrganizationChange::Update,
            actor.clone(),
            now
        )
    );
    measure!("account", store.account(ACCOUNT));
    measure!("account_exists", store.account_exists(ACCOUNT));
    measure!("audit first page", store.audit_events(ACCOUNT, 1, 20));
    measure!(
        "update_account",
        store.update_account(ACCOUNT, None, Some(100001), actor.clone(), now)
    );
    let removed = measure!("expire_seats", store.expire_seats(Some(ACCOUNT), now));
    assert_eq!(removed.len(), STALE_USERS, "the sweep freed the stale seats only");
    scim_operations(store, steps, now, &mut costs).await;
    costs
}

/// The identity provider and SCIM operations, each once, measured into `costs`.
async fn scim_operations(
    store: &dyn Store,
    steps: &AtomicU64,
    now: Timestamp,
    costs: &mut BTreeMap<&'static str, u64>,
) {
    use seats_store::identity_provider::*;
    let actor = Actor::Operator;
    macro_rules! measure {
        ($name:expr, $op:expr) => {{
            let before = steps.load(Ordering::SeqCst);
            let out = $op.await.unwrap();
            costs.insert($name, steps.load(Ordering::SeqCst) - before);
            out
        }};
    }
    let object = |v: serde_json::Value| v.as_object().unwrap().clone();
    let provider = IdentityProviderWrite {
        name: "Okta".into(),
        kind: "okta".into(),
        config: object(serde_json::json!({})),
        scim_flags: seats_store::identity_provider::ScimFlags {
            enabled: Some(true),
            user_deprovision: Some(true),
            seat_deprovision: Some(true),
            ..Default::default()
        },
        new_secret_hash: Some(seats_store::secret::Secret::new("s").hash()),
    };
    let p = measure!(
        "create_identity_provider",
        store.create_identity_provider(ACCOUNT, provider, actor.clone(), now)
    );
    measure!("identity_provider", store.identity_provider(None, &p.id));
    measure!("identity_providers", store.identity_providers(ACCOUNT, true, 0, 50));
    let resource = |active: bool| {
        object(
            serde_json::json!({"userName": "user8", "externalId": "x8", "active": active,
            "emails": [{"value": "user8@example.com", "primary": true}]}),
        )
    };
    let u = measure!(
        "put_scim_user create (linked)",
        store.put_scim_user(&p.id, None, ScimUserWrite::from_resource(resource(true)), None, now)
    );
    let by = |f: ScimUserFilter| store.scim_users(&p.id, f, 0, 50);
    measure!(
        "scim_users userName",
        by(ScimUserFilter {
            user_name: Some("USER8".into()),
            ..Default::default()
        })
    );
    measure!(
        "scim_users email",
        by(ScimUserFilter {
            email: Some("user8@example.com".into()),
            ..Default::default()
        })
    );
    measure!(
        "scim_users externalId",
        by(ScimUserFilter {
            external_ids: vec!["x8".into()],
            ..Default::default()
        })
    );
    measure!("scim_user", store.scim_user(&p.id, &u.id));
    measure!(
        "put_scim_user deactivate (frees the seat)",
        store.put_scim_user(
            &p.id,
            Some(&u.id),
            ScimUserWrite::from_resource(resource(false)),
            Some(1),
            now
        )
    );
    let group = ScimGroupWrite {
        resource: object(serde_json::json!({"displayName": "Eng"})),
        display_name: "Eng".into(),
        external_id: None,
        members: vec![u.id.clone()],
    };
    let g = measure!("put_scim_group", store.put_scim_group(&p.id, None, group, None, now));
    measure!("scim_group", store.scim_group(&p.id, &g.id));
    measure!("delete_scim_user", store.delete_scim_user(&p.id, &u.id, None, now));
}

fn plan(conn: &Connection, sql: &str) -> Vec<String> {
    let mut stmt = conn
        .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
        .unwrap_or_else(|e| panic!("{e}: {sql}"));
    stmt.query_map([], |r| r.get::<_, String>(3))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

/// The growing table a plan line fully scans, by name or by the alias our statements use.
fn full_scan(detail: &str) -> Option<&'static str> {
    const GROWING: &[(&str, &str)] = &[
        ("users", "users"),
        ("u", "users"),
        ("audit_events", "audit_events"),
        ("e", "audit_events"),
        ("sessions", "sessions"),
        ("s", "sessions"),
        ("devices", "devices"),
        ("d", "devices"),
        ("logins", "logins"),
        ("scim_users", "scim_users"),
        ("scim_groups", "scim_groups"),
        ("scim_group_members", "scim_group_members"),
        ("identity_providers", "identity_providers"),
    ];
    let scanned = detail.strip_prefix("SCAN ")?.split_whitespace().next()?;
    if detail.contains("VIRTUAL TABLE INDEX") {
        return None; // a lookup in the trigram index
    }
    GROWING
        .iter()
        .find(|(name, _)| *name == scanned)
        .map(|(_, table)| *table)
}

#[tokio::test]
async fn no_request_statement_scans_a_growing_table() {
    let fixture = Fixture::new(2000).await;
    fixture.run_operations().await;
    let statements = fixture.statements.lock().unwrap().clone();
    let conn = Connection::open(&fixture.path).unwrap();
    // The store's writer has `rarray` (a batch's array parameter); plans are read the same way.
    rusqlite::vtab::array::load_module(&conn).unwrap();
    let mut checked = 0;
    let mut scans = Vec::new();
    for sql in statements.iter().filter(|s| {
        let head = s.trim_start().to_ascii_uppercase();
        ["SELECT", "UPDATE", "DELETE", "INSERT", "WITH"]
            .iter()
            .any(|k| head.starts_with(k))
    }) {
        checked += 1;
        for detail in plan(&conn, sql) {
            if let Some(table) = full_scan(&detail) {
                scans.push(format!("{table}: {detail}\n    in: {sql}"));
            }
        }
    }
    assert!(checked >= 40, "the operations ran their statements: {checked}");
    assert!(scans.is_empty(), "full scans of growing tables:\n{}", scans.join("\n"));
}

#[tokio::test]
async fn operations_cost_the_same_on_an_account_eight_times_larger() {
    let small = Fixture::new(1000).await.run_operations().await;
    let large = Fixture::new(8000).await.run_operations().await;
    let mut grew = Vec::new();
    for (op, &cost) in &small {
        let bigger = large[op];
        // Equal work gives equal counts; a walk over the account would give ~8x.
        if bigger as f64 > cost as f64 * 1.25 + 200.0 {
            grew.push(format!("{op}: {cost} -> {bigger} instructions"));
        }
    }
    assert!(small.len() >= 20, "{small:?}");
    assert!(grew.is_empty(), "cost grew with the account:\n{}", grew.join("\n"));
}

/// Opening a database whose schema is up to date reads no table through, so a server starts
/// as fast at 1M users as at 1k.
#[tokio::test]
async fn opening_costs_the_same_on_an_account_eight_times_larger() {
    let open = |fixture: &Fixture| {
        let steps = Arc::new(AtomicU64::new(0));
        SqliteStore::open_with(
            &fixture.path,
            SqliteOptions {
                vm_steps: Some(steps.clone()),
                ..SqliteOptions::default()
            },
        )
        .unwrap();
        steps.load(Ordering::SeqCst)
    };
    let small = open(&Fixture::new(1000).await);
    let large = open(&Fixture::new(8000).await);
    assert!(small > 0, "the open was counted");
    assert!(
        large as f64 <= small as f64 * 1.25 + 200.0,
        "opening cost grew with the account: {small} -> {large} instructions"
    );
}

#[test]
fn the_scan_detector_sees_a_scan() {
    let conn = Connection::open_in_memory().unwrap();
    conn.execute_batch("CREATE TABLE users (id TEXT, name TEXT)").unwrap();
    let scans: Vec<_> = plan(&conn, "SELECT * FROM users u WHERE u.name = 'x'")
        .into_iter()
        .filter_map(|d| full_scan(&d))
        .collect();
    assert_eq!(scans, ["users"]);
}

/// What PostgreSQL counted of one table's reads.
#[derive(Debug, Clone, Copy)]
struct PgReads {
    seq_scans: i64,
    index_scans: i64,
    /// Rows a sequential scan read, plus index entries any of its indexes returned.
    rows_read: i64,
    live_rows: i64,
    /// Updates made in place (HOT): no index entry written.
    hot_updates: i64,
}

/// The read counters of every table of one PostgreSQL schema.
async fn pg_reads(client: &tokio_postgres::Client, schema: &str) -> BTreeMap<String, PgReads> {
    client
        .query(
            "SELECT t.relname::text, t.seq_scan, COALESCE(t.idx_scan, 0),
                    t.seq_tup_read + COALESCE((SELECT SUM(i.idx_tup_read) FROM pg_stat_user_indexes i
                                               WHERE i.relid = t.relid), 0)::bigint,
                    t.n_live_tup, t.n_tup_hot_upd
             FROM pg_stat_user_tables t WHERE t.schemaname = $1",
            &[&schema],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| {
            let reads = PgReads {
                seq_scans: r.get(1),
                index_scans: r.get(2),
                rows_read: r.get(3),
                live_rows: r.get(4),
                hot_updates: r.get(5),
            };
            (r.get(0), reads)
        })
        .collect()
}

/// Waits until every other connection named `application` has closed: a backend reports its
/// table statistics at latest as it exits, before it leaves `pg_stat_activity`.
async fn pg_wait_closed(client: &tokio_postgres::Client, application: &str) {
    for _ in 0..200 {
        let open: i64 = client
            .query_one(
                "SELECT COUNT(*) FROM pg_stat_activity WHERE application_name = $1 AND pid <> pg_backend_pid()",
                &[&application],
            )
            .await
            .unwrap()
            .get(0);
        if open == 0 {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the store's connections did not close");
}

/// The same operations on PostgreSQL, whose statements' plans are not visible from another
/// connection; its statistics count what the statements really read. On a 20k-user account,
/// no table holding 1000 rows or more may be scanned sequentially, nor have a tenth of its
/// rows read through an index (what a walk over the whole account would read); and a seat
/// change that leaves the user holding a seat is an update in place.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_postgres_no_request_reads_a_large_table_through() {
    use seats_store::postgres::testing::TestDatabase;
    use seats_store::postgres::{PgOptions, PgStore};

    let Some(db) = TestDatabase::create("on_postgres_no_request_reads_a_large_table_through").await else {
        return;
    };
    let schema = db.schema().to_owned();
    // The test database's URL names its connections after the schema.
    let url = db.url();
    let open = || async {
        let options = PgOptions {
            pool_size: 1,
            ..PgOptions::default()
        };
        PgStore::connect(&url, options).await.expect("connect")
    };
    let (client, connection) = tokio_postgres::connect(&db.url(), tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(connection);

    let store = open().await;
    store
        .load_seed(seed_doc(20_000), at("2030-01-01T00:00:00Z"))
        .await
        .unwrap();
    drop(store);
    pg_wait_closed(&client, &schema).await;
    let before = pg_reads(&client, &schema).await;

    let store = open().await;
    run_operations(&store, &AtomicU64::new(0)).await;
    // After five runs of a statement PostgreSQL may switch to a plan made without the
    // parameters' values (the pool's one connection prepared each statement once).
    let now = at("2030-01-01T12:00:00Z");
    for n in 0..8 {
        for (email, name, search) in [
            (None, None, Some(format!("R{n}@E"))),
            (Some(format!("user{n}@example.com")), None, None),
            (None, Some(format!("User {n}")), None),
            (None, Some(format!("User {n}")), Some(format!("user{n}"))),
            (None, None, None),
        ] {
            let filter = UserFilter { email, name, search };
            store.list_users(ACCOUNT, filter, 1, 50, now).await.unwrap();
        }
    }
    // Seat changes that leave each user holding a seat are made in place, so they write no
    // index entry (and leave the trigram indexes' pending lists alone).
    let flips: Vec<SeatEditItem> = (1000..1030)
        .filter(|i| i % 3 == 0)
        .map(|i| SeatEditItem {
            access_seat: i % 2 != 0,
            gateway_seat: true,
            seat_uid: format!("seat-{i}"),
        })
        .collect();
    let flipped = flips.len() as i64;
    store.edit_seats(ACCOUNT, flips, Actor::Operator, now).await.unwrap();
    drop(store);
    pg_wait_closed(&client, &schema).await;
    let after = pg_reads(&client, &schema).await;
    assert!(
        after["users"].hot_updates - before["users"].hot_updates >= flipped,
        "{flipped} seat flips in place: {:?} -> {:?}",
        before["users"],
        after["users"]
    );

    let large: Vec<&String> = before
        .iter()
        .filter(|(_, r)| r.live_rows >= 1000)
        .map(|(t, _)| t)
        .collect();
    assert!(
        large.contains(&&"users".to_owned()) && large.contains(&&"devices".to_owned()),
        "{before:?}"
    );
    assert!(
        after["users"].index_scans > before["users"].index_scans + 20,
        "the operations' statistics arrived: {before:?} -> {after:?}"
    );
    let mut through = Vec::new();
    for table in large {
        let (b, a) = (before[table], after[table]);
        if a.seq_scans > b.seq_scans || a.rows_read - b.rows_read >= b.live_rows / 10 {
            through.push(format!(
                "{table} ({} rows): {} sequential scans, {} rows read",
                b.live_rows,
                a.seq_scans - b.seq_scans,
                a.rows_read - b.rows_read
            ));
        }
    }
    assert!(through.is_empty(), "large tables read through:\n{}", through.join("\n"));
}

/// A reset empties the tables at once, not a row at a time through the triggers (the search
/// index, the account's figures): it costs the same on an account eight times larger.
#[tokio::test]
async fn a_reset_costs_the_same_on_an_account_eight_times_larger() {
    async fn reset(users: usize) -> u64 {
        let fixture = Fixture::new(users).await;
        fixture.steps.store(0, Ordering::SeqCst);
        fixture.store.reset(None, at("2030-01-01T00:00:00Z")).await.unwrap();
        let steps = fixture.steps.load(Ordering::SeqCst);
        assert!(fixture.store.is_empty().await.unwrap());
        steps
    }
    let small = reset(1000).await;
    let large = reset(8000).await;
    assert!(small > 0, "the reset was counted");
    assert!(
        large as f64 <= small as f64 * 1.25 + 200.0,
        "a reset's cost grew with the account: {small} -> {large} instructions"
    );
}
