//! The figures the store maintains instead of counting — seats in use, users and audit events
//! per account, each user's latest activity and whether they hold a seat, the search index —
//! equal a recount after every step of random sequences of the operations that move them, and
//! after a migration that backfills them on a database written by an older version.

use seats_store::{AccountStore, AuditStore, LoginStore, MaintenanceStore, SeatStore, UserStore};
use std::time::Duration;

use proptest::prelude::*;
use rusqlite::Connection;
use seats_store::sqlite::SqliteStore;
use seats_store::{seed, Actor, Durability, LoginMethod, LoginRequest, StoreError, UserFilter};
use seats_types::{SeatEditItem, Timestamp};

const ACCOUNTS: [&str; 2] = ["0123456789abcdef0123456789abcdef", "fedcba9876543210fedcba9876543210"];
const EMAILS: usize = 8;

#[derive(Debug, Clone)]
enum Op {
    Edit {
        account: usize,
        items: Vec<(usize, bool, bool)>,
    },
    Login {
        account: usize,
        email: usize,
        gateway: bool,
        device: usize,
    },
    Create {
        account: usize,
        email: usize,
    },
    Rename {
        account: usize,
        email: usize,
        name: usize,
    },
    Delete {
        account: usize,
        email: usize,
    },
    Limit {
        account: usize,
        limit: u64,
    },
    Advance {
        hours: u64,
    },
    Expire {
        all: bool,
        account: usize,
    },
}

fn op() -> impl Strategy<Value = Op> {
    let account = 0..ACCOUNTS.len();
    let email = 0..EMAILS;
    prop_oneof![
        4 => (account.clone(), prop::collection::vec((email.clone(), any::<bool>(), any::<bool>()), 1..4))
            .prop_map(|(account, items)| Op::Edit { account, items }),
        4 => (account.clone(), email.clone(), any::<bool>(), 0..3usize)
            .prop_map(|(account, email, gateway, device)| Op::Login { account, email, gateway, device }),
        2 => (account.clone(), email.clone()).prop_map(|(account, email)| Op::Create { account, email }),
        1 => (account.clone(), email.clone(), 0..3usize).prop_map(|(account, email, name)| Op::Rename { account, email, name }),
        2 => (account.clone(), email.clone()).prop_map(|(account, email)| Op::Delete { account, email }),
        1 => (account.clone(), 0..6u64).prop_map(|(account, limit)| Op::Limit { account, limit }),
        1 => (0..1500u64).prop_map(|hours| Op::Advance { hours }),
        1 => (any::<bool>(), account).prop_map(|(all, account)| Op::Expire { all, account }),
    ]
}

fn email(i: usize) -> String {
    format!("Person{i}@Example.com")
}

/// Two accounts with expiry on; a few users each, some holding seats and devices.
fn initial_seed(users: &[(bool, bool, u64)]) -> seed::SeedDocument {
    let accounts: Vec<_> = ACCOUNTS
        .iter()
        .map(|id| {
            let users: Vec<_> = users
                .iter()
                .enumerate()
                .map(|(i, (a, g, devices))| serde_json::json!({"email": email(i), "name": format!("P {i}"),
                    "access_seat": a, "gateway_seat": g, "active_device_count": if *g { *devices } else { 0 },
                    "last_successful_login": "2030-01-01T00:00:00Z"}))
                .collect();
            serde_json::json!({"id": id, "name": "a", "seat_limit": 4, "users": users,
                "organization": {"name": "o", "auth_domain": "o.example", "user_seat_expiration_inactive_time": "730h"}})
        })
        .collect();
    let doc = serde_json::json!({ "accounts": accounts });
    seed::parse(doc.to_string().as_bytes()).expect("valid seed")
}

/// Every maintained figure against a recount, read through a connection of its own.
fn check_against_recount(path: &std::path::Path) -> Result<(), String> {
    let conn = Connection::open(path).map_err(|e| e.to_string())?;
    let wrong: Vec<(String, i64, i64, i64, i64, i64, i64)> = conn
        .prepare(
            "SELECT a.id, a.seats_in_use, a.user_count, a.audit_count,
               (SELECT COUNT(*) FROM users u WHERE u.account_id = a.id AND (u.access_seat OR u.gateway_seat)),
               (SELECT COUNT(*) FROM users u WHERE u.account_id = a.id),
               (SELECT COUNT(*) FROM audit_events e WHERE e.account_id = a.id)
             FROM accounts a",
        )
        .and_then(|mut s| {
            s.query_map([], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                ))
            })?
            .collect()
        })
        .map_err(|e| e.to_string())?;
    for (id, seats, users, audit, seats_n, users_n, audit_n) in wrong {
        if (seats, users, audit) != (seats_n, users_n, audit_n) {
            return Err(format!(
                "account {id}: maintained (seats, users, audit) = {:?}, recount = {:?}",
                (seats, users, audit),
                (seats_n, users_n, audit_n)
            ));
        }
    }
    let stale_activity: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM users u WHERE u.active_at <> MAX(
                COALESCE(u.last_successful_login, 0), COALESCE(u.seat_granted_at, 0),
                COALESCE((SELECT MAX(d.last_seen_at) FROM devices d WHERE d.user_id = u.id), 0))",
            [],
            |r| r.get(0),
        )
        .map_err(|e| e.to_string())?;
    if stale_activity != 0 {
        return Err(format!("{stale_activity} users with a wrong active_at"));
    }
    // The seat holders' index reads holds_seat (migration 0010), which its writers set.
    let wrong_holder: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM users WHERE holds_seat <> (access_seat OR gateway_seat)",
            [],
            |r| r.get(0),
        )
        .map_err(|e| e.to_string())?;
    if wrong_holder != 0 {
        return Err(format!("{wrong_holder} users whose holds_seat is not their seats'"));
    }
    // The external-content index answers exactly as the table it indexes.
    conn.execute_batch("INSERT INTO users_search (users_search, rank) VALUES ('integrity-check', 1)")
        .map_err(|e| format!("search index out of step: {e}"))?;
    Ok(())
}

async fn user_id(store: &SqliteStore, account: &str, i: usize, now: Timestamp) -> Option<String> {
    let filter = UserFilter {
        email: Some(email(i)),
        ..Default::default()
    };
    let (users, _) = store.list_users(account, filter, 1, 1, now).await.unwrap();
    users.into_iter().next().map(|u| u.id)
}

async fn apply(store: &SqliteStore, op: &Op, now: &mut Timestamp) {
    let actor = Actor::Operator;
    let result = match op.clone() {
        Op::Edit { account, items } => {
            let mut items: Vec<_> = items
                .into_iter()
                .map(|(i, a, g)| SeatEditItem {
                    access_seat: a,
                    gateway_seat: g,
                    seat_uid: format!("uid-{i}"),
                })
                .collect();
            items.dedup_by(|a, b| a.seat_uid == b.seat_uid);
            // Seat uids are looked up by the users' real ones.
            let mut real = Vec::new();
            for item in items {
                let i: usize = item.seat_uid[4..].parse().unwrap();
                let filter = UserFilter {
                    email: Some(email(i)),
                    ..Default::default()
                };
                let (users, _) = store.list_users(ACCOUNTS[account], filter, 1, 1, *now).await.unwrap();
                if let Some(u) = users.first() {
                    if !real.iter().any(|r: &SeatEditItem| r.seat_uid == u.seat_uid) {
                        real.push(SeatEditItem {
                            seat_uid: u.seat_uid.clone(),
                            ..item
                        });
                    }
                }
            }
            store.edit_seats(ACCOUNTS[account], real, actor, *now).await.map(drop)
        }
        Op::Login {
            account,
            email: e,
            gateway,
            device,
        } => {
            let login = LoginRequest {
                email: email(e),
                name: None,
                method: match gateway {
                    true => LoginMethod::Gateway {
                        device_id: format!("device-{device}"),
                    },
                    false => LoginMethod::Access,
                },
            };
            store.login(ACCOUNTS[account], login, actor, *now).await.map(drop)
        }
        Op::Create { account, email: e } => store
            .create_user(ACCOUNTS[account], &email(e), "created", actor, *now)
            .await
            .map(drop),
        Op::Rename {
            account,
            email: e,
            name,
        } => match user_id(store, ACCOUNTS[account], e, *now).await {
            Some(id) => store
                .rename_user(ACCOUNTS[account], &id, &format!("name {name}"), actor, *now)
                .await
                .map(drop),
            None => Ok(()),
        },
        Op::Delete { account, email: e } => match user_id(store, ACCOUNTS[account], e, *now).await {
            Some(id) => store.delete_user(ACCOUNTS[account], &id, actor, *now).await,
            None => Ok(()),
        },
        Op::Limit { account, limit } => store
            .update_account(ACCOUNTS[account], None, Some(limit), actor, *now)
            .await
            .map(drop),
        Op::Advance { hours } => {
            let by = Duration::from_secs(hours * 3600).as_micros() as i64;
            *now = Timestamp::from_unix_micros(now.unix_micros() + by).unwrap();
            Ok(())
        }
        Op::Expire { all, account } => store
            .expire_seats((!all).then_some(ACCOUNTS[account]), *now)
            .await
            .map(drop),
    };
    match result {
        Ok(()) | Err(StoreError::SeatLimit { .. }) | Err(StoreError::Conflict(_)) => {}
        Err(e) => panic!("{op:?}: {e}"),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn maintained_figures_equal_a_recount_after_every_step(
        users in prop::collection::vec((any::<bool>(), any::<bool>(), 0..3u64), 0..4),
        ops in prop::collection::vec(op(), 1..25),
    ) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("m.db");
            let store = SqliteStore::open(&path, Durability::Relaxed).unwrap();
            let mut now: Timestamp = "2030-01-01T00:00:00Z".parse().unwrap();
            store.load_seed(initial_seed(&users), now).await.unwrap();
            check_against_recount(&path).map_err(|e| TestCaseError::fail(format!("after the seed: {e}")))?;
            for (step, op) in ops.iter().enumerate() {
                apply(&store, op, &mut now).await;
                check_against_recount(&path)
                    .map_err(|e| TestCaseError::fail(format!("after step {step} {op:?}: {e}")))?;
            }
            Ok::<(), TestCaseError>(())
        })?;
    }
}

/// A database written by the previous schema (migrations 1 and 2) gets its figures backfilled.
#[tokio::test]
async fn migration_backfills_an_existing_database() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    {
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(include_str!("../migrations/sqlite/0001_init.sql"))
            .unwrap();
        conn.execute_batch(include_str!("../migrations/sqlite/0002_logins_and_organizations.sql"))
            .unwrap();
        conn.execute_batch(
            "PRAGMA user_version = 2;
             INSERT INTO accounts (id, name, seat_limit, created_at) VALUES ('0123456789abcdef0123456789abcdef', 'old', 9, 1);
             INSERT INTO users (id, account_id, email, email_key, name, seat_uid, access_seat, gateway_seat,
                                seat_granted_at, last_successful_login, created_at, updated_at) VALUES
               ('00000000-0000-4000-8000-000000000001', '0123456789abcdef0123456789abcdef', 'Ann@x.com', 'ann@x.com', 'Ann Lee', 's1', 1, 0, 5, 7, 2, 2),
               ('00000000-0000-4000-8000-000000000002', '0123456789abcdef0123456789abcdef', 'bob@x.com', 'bob@x.com', 'Bob', 's2', 0, 1, 3, NULL, 1, 1),
               ('00000000-0000-4000-8000-000000000003', '0123456789abcdef0123456789abcdef', 'cy@x.com', 'cy@x.com', 'Cy', 's3', 0, 0, NULL, NULL, 3, 3);
             INSERT INTO devices (user_id, device_id, registered_at, last_seen_at) VALUES ('00000000-0000-4000-8000-000000000002', 'd', 1, 11);
             INSERT INTO sessions (id, user_id, created_at, expires_at) VALUES ('x', '00000000-0000-4000-8000-000000000001', 1, 2);
             INSERT INTO audit_events (at, account_id, actor_kind, actor_id, action, subject) VALUES
               (1, '0123456789abcdef0123456789abcdef', 'system', 'system', 'seat.update', 's1'),
               (1, NULL, 'operator', 'operator', 'token.create', 't');",
        )
        .unwrap();
    }
    let store = SqliteStore::open(&path, Durability::Full).unwrap();
    check_against_recount(&path).unwrap();
    let account = store.account(ACCOUNTS[0]).await.unwrap().unwrap();
    assert_eq!(account.seats_in_use, 2);
    let now = "2030-01-01T00:00:00Z".parse().unwrap();
    let (users, total) = store
        .list_users(ACCOUNTS[0], UserFilter::default(), 1, 10, now)
        .await
        .unwrap();
    assert_eq!(total, 3);
    // Creation order survives the table rebuild; devices and sessions still belong to their users.
    let emails: Vec<_> = users.iter().map(|u| u.email.as_str()).collect();
    assert_eq!(emails, ["bob@x.com", "Ann@x.com", "cy@x.com"]);
    assert_eq!(users[0].active_device_count, 1);
    let search = UserFilter {
        search: Some("ANN L".into()),
        ..Default::default()
    };
    let (found, total) = store.list_users(ACCOUNTS[0], search, 1, 10, now).await.unwrap();
    assert_eq!((found.len(), total), (1, 1));
    assert_eq!(store.audit_events(ACCOUNTS[0], 1, 10).await.unwrap().1, 1);
    // Deleting a user still cascades to its devices (foreign keys are back on).
    store
        .delete_user(ACCOUNTS[0], &users[0].id, Actor::Operator, now)
        .await
        .unwrap();
    let devices: i64 = Connection::open(&path)
        .unwrap()
        .query_row("SELECT COUNT(*) FROM devices", [], |r| r.get(0))
        .unwrap();
    assert_eq!(devices, 0);
    check_against_recount(&path).unwrap();
}
