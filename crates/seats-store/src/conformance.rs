//! The storage conformance suite: the behaviour every [`Store`] backend must show, on a
//! fresh, empty store (SQLite always, PostgreSQL when a server is configured).
//!
//! The cases are listed once, in [`conformance_suite!`](crate::conformance_suite): a backend's
//! test file implements [`Backend`] and expands the macro, which writes one test per case.

use std::sync::Arc;

use seats_types::{SeatEditItem, Timestamp};

use crate::secret::Secret;
use crate::{seed, Actor, Conflict, Store, StoreError};

/// A fresh database of one backend, for one test.
#[async_trait::async_trait]
pub trait Backend: Send + Sync {
    /// The store the test runs on.
    fn store(&self) -> Arc<dyn Store>;
    /// Another handle on the same database, as a second process or node opens it.
    async fn another_handle(&self) -> Arc<dyn Store>;
}

/// One `#[tokio::test]` per case of the suite, on the backend that `$open` makes:
/// `async fn(test_name: &str) -> Option<impl Backend>`, `None` when the backend is not
/// available here (the opener says so; the test then passes without running).
#[macro_export]
macro_rules! conformance_suite {
    ($open:path) => {
        $crate::conformance_suite!(@one $open;
            seed_and_lookups, edit_seats_applies_and_cleans_up, a_batch_applies_each_change_in_request_order, edit_seats_is_atomic,
            logins_take_seats_until_full, expiry_sweep_frees_inactive_seats,
            invalid_seed_is_reported_in_full, list_users_filters_and_search, browse_users_by_key_set,
            dashboard_sessions_live_and_end, reset_and_restore, a_bad_import_stores_nothing,
            revoke_user_ends_sessions_and_keeps_seats, device_registrations_list_revoke_and_delete,
            physical_devices_group_registrations);
        $crate::conformance_suite!(@shared $open;
            concurrent_edits_respect_limit, concurrent_first_logins_make_one_user);
        $crate::conformance_suite!(@two $open;
            credential_changes_reach_every_handle, sweep_claims_are_once_per_period);

        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn limit_holds_across_two_handles() {
            use $crate::conformance::Backend as _;
            let Some(backend) = $open("limit_holds_across_two_handles").await else { return };
            $crate::conformance::limit_holds_across_two_handles(backend.store(), backend.another_handle().await)
                .await;
        }

        #[tokio::test]
        async fn export_import_round_trip() {
            use $crate::conformance::Backend as _;
            let (Some(source), Some(target)) = (
                $open("export_import_round_trip").await,
                $open("export_import_round_trip").await,
            ) else {
                return;
            };
            $crate::conformance::export_import_round_trip(&*source.store(), &*target.store()).await;
        }
    };
    (@one $open:path; $($name:ident),*) => {$(
        #[tokio::test]
        async fn $name() {
            use $crate::conformance::Backend as _;
            let Some(backend) = $open(stringify!($name)).await else { return };
            $crate::conformance::$name(&*backend.store()).await;
        }
    )*};
    (@shared $open:path; $($name:ident),*) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn $name() {
            use $crate::conformance::Backend as _;
            let Some(backend) = $open(stringify!($name)).await else { return };
            $crate::conformance::$name(backend.store()).await;
        }
    )*};
    (@two $open:path; $($name:ident),*) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn $name() {
            use $crate::conformance::Backend as _;
            let Some(backend) = $open(stringify!($name)).await else { return };
            $crate::conformance::$name(&*backend.store(), &*backend.another_handle().await).await;
        }
    )*};
}

/// The account every scenario uses.
pub const ACCOUNT: &str = "0123456789abcdef0123456789abcdef";

fn at(s: &str) -> Timestamp {
    s.parse().expect("test timestamp")
}

fn item(uid: &str, access: bool, gateway: bool) -> SeatEditItem {
    SeatEditItem {
        access_seat: access,
        gateway_seat: gateway,
        seat_uid: uid.into(),
    }
}

/// A seed with one account of `limit` seats and the given users `(seat_uid, access, gateway, devices)`.
pub fn seed_with(limit: u64, users: &[(&str, bool, bool, u64)]) -> seed::SeedDocument {
    let users: Vec<_> = users
        .iter()
        .enumerate()
        .map(|(i, (uid, a, g, devices))| {
            serde_json::json!({"email": format!("user{i}@example.com"), "name": format!("User {i}"),
                "seat_uid": uid, "access_seat": a, "gateway_seat": g, "active_device_count": devices,
                "last_successful_login": "2030-01-01T00:00:00Z"})
        })
        .collect();
    let doc = serde_json::json!({
        "accounts": [{"id": ACCOUNT, "name": "Conformance", "seat_limit": limit, "users": users}],
        "members": [{"email": "Admin@Example.com", "api_key": "144c9defac04969c7bfad8efaa8ea194", "accounts": [ACCOUNT]}],
        "tokens": [{"id": "tok1", "name": "t", "value": "secret-token", "policies": [{"effect": "allow",
            "resources": {"com.cloudflare.api.account.*": "*"}, "permission_groups": [{"name": "Zero Trust: Seats Write"}]}]}]
    });
    seed::parse(doc.to_string().as_bytes()).expect("conformance seed is valid")
}

/// Seeding an empty store; lookups of tokens, members and accounts; a second seed refused.
pub async fn seed_and_lookups(store: &dyn Store) {
    assert!(store.is_empty().await.unwrap());
    store
        .load_seed(seed_with(5, &[("s1", true, true, 2)]), at("2030-01-01T00:00:00Z"))
        .await
        .unwrap();
    assert!(!store.is_empty().await.unwrap());

    let token = store
        .token_by_hash(Secret::new("secret-token").hash())
        .await
        .unwrap()
        .expect("token");
    assert_eq!(token.id, "tok1");
    assert_eq!(token.policies.len(), 1);
    assert!(store
        .token_by_hash(Secret::new("other").hash())
        .await
        .unwrap()
        .is_none());

    let member = store
        .member_by_email("admin@EXAMPLE.com")
        .await
        .unwrap()
        .expect("member");
    assert_eq!(member.email, "Admin@Example.com");
    assert_eq!(member.key_hash, Secret::new("144c9defac04969c7bfad8efaa8ea194").hash());
    assert_eq!(member.accounts, vec![ACCOUNT.to_string()]);

    let account = store.account(ACCOUNT).await.unwrap().expect("account");
    assert_eq!(account.seat_limit, 5);
    assert_eq!(store.accounts().await.unwrap(), vec![account]);
    assert!(store
        .account("ffffffffffffffffffffffffffffffff")
        .await
        .unwrap()
        .is_none());
    assert!(store.account_exists(ACCOUNT).await.unwrap());
    assert!(!store.account_exists("ffffffffffffffffffffffffffffffff").await.unwrap());

    let user = store
        .user_by_seat_uid(ACCOUNT, "s1", at("2030-01-01T01:00:00Z"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!((user.active_device_count, user.active_session_count), (2, 1));
    // The seeded session lives 24 hours.
    let later = store
        .user_by_seat_uid(ACCOUNT, "s1", at("2030-01-02T00:00:01Z"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(later.active_session_count, 0);

    let again = store.load_seed(seed_with(1, &[]), at("2030-01-01T00:00:00Z")).await;
    assert!(
        matches!(again, Err(StoreError::Conflict(Conflict::NotEmpty))),
        "{again:?}"
    );
    assert_eq!(store.account(ACCOUNT).await.unwrap().unwrap().seat_limit, 5);
}

/// Flags set as given, clean-up of sessions and devices, `updated_at` only on change, audit.
pub async fn edit_seats_applies_and_cleans_up(store: &dyn Store) {
    let t0 = at("2030-01-01T00:00:00Z");
    store
        .load_seed(
            seed_with(
                5,
                &[
                    ("both", true, true, 3),
                    ("access", true, false, 0),
                    ("none", false, false, 0),
                ],
            ),
            t0,
        )
        .await
        .unwrap();
    let t1 = at("2030-01-01T00:10:00Z");
    let actor = Actor::Token("tok1".into());
    let out = store
        .edit_seats(
            ACCOUNT,
            vec![item("access", true, false), item("both", true, false)],
            actor.clone(),
            t1,
        )
        .await
        .unwrap();
    assert_eq!(
        out.iter().map(|s| s.seat_uid.as_str()).collect::<Vec<_>>(),
        ["access", "both"]
    );
    assert_eq!(out[0].updated_at, t0, "an unchanged seat keeps its updated_at");
    assert_eq!(out[1].updated_at, t1);
    assert_eq!((out[1].access_seat, out[1].gateway_seat), (true, false));

    // Gateway off ended the devices; access stayed, so the session stays.
    let both = store.user_by_seat_uid(ACCOUNT, "both", t1).await.unwrap().unwrap();
    assert_eq!((both.active_device_count, both.active_session_count), (0, 1));

    // Access off ends the sessions; both off frees the seat.
    let t2 = at("2030-01-01T00:20:00Z");
    store
        .edit_seats(ACCOUNT, vec![item("both", false, false)], actor.clone(), t2)
        .await
        .unwrap();
    let both = store.user_by_seat_uid(ACCOUNT, "both", t2).await.unwrap().unwrap();
    assert_eq!(
        (both.access_seat, both.gateway_seat, both.active_session_count),
        (false, false, 0)
    );
    assert_eq!(both.seat_granted_at, None);
    assert_eq!(both.updated_at, t2);

    // A new seat records when it was granted.
    let t3 = at("2030-01-01T00:30:00Z");
    store
        .edit_seats(ACCOUNT, vec![item("none", false, true)], actor.clone(), t3)
        .await
        .unwrap();
    let none = store.user_by_seat_uid(ACCOUNT, "none", t3).await.unwrap().unwrap();
    assert_eq!(none.seat_granted_at, Some(t3));

    let (events, total) = store.audit_events(ACCOUNT, 1, 100).await.unwrap();
    assert_eq!(total, 3, "one event per real change: {events:?}");
    assert_eq!(events[0].subject, "none");
    assert_eq!(events[1].action, "seat.remove");
    assert_eq!(events[2].actor, actor);
    assert_eq!(
        events[2].before,
        Some(serde_json::json!({"access_seat": true, "gateway_seat": true}))
    );
    assert_eq!(
        events[2].after,
        Some(serde_json::json!({"access_seat": true, "gateway_seat": false}))
    );
}

/// A batch of every kind of change at once (a swap, a removal, a grant, an unchanged seat, a
/// freed Gateway seat): each row, its clean-up and its audit event, the events in request
/// order, a subject that needs escaping kept as sent.
pub async fn a_batch_applies_each_change_in_request_order(store: &dyn Store) {
    let t0 = at("2030-01-01T00:00:00Z");
    let odd = "s\"ü'1";
    store
        .load_seed(
            seed_with(
                5,
                &[
                    ("a", true, true, 2),
                    ("b", true, false, 0),
                    (odd, false, true, 1),
                    ("d", false, false, 0),
                    ("e", true, true, 1),
                    ("f", false, true, 3),
                ],
            ),
            t0,
        )
        .await
        .unwrap();
    assert_eq!(store.account(ACCOUNT).await.unwrap().unwrap().seats_in_use, 5);
    let t1 = at("2030-01-01T00:10:00Z");
    let actor = Actor::Token("tok1".into());
    let out = store
        .edit_seats(
            ACCOUNT,
            vec![
                item("a", false, true),
                item("b", false, false),
                item(odd, true, true),
                item("d", false, true),
                item("e", true, true),
                item("f", false, false),
            ],
            actor.clone(),
            t1,
        )
        .await
        .unwrap();
    let seats: Vec<_> = out
        .iter()
        .map(|s| (s.seat_uid.as_str(), s.access_seat, s.gateway_seat))
        .collect();
    assert_eq!(
        seats,
        [
            ("a", false, true),
            ("b", false, false),
            (odd, true, true),
            ("d", false, true),
            ("e", true, true),
            ("f", false, false)
        ]
    );
    let updated: Vec<_> = out.iter().map(|s| s.updated_at).collect();
    assert_eq!(
        updated,
        [t1, t1, t1, t1, t0, t1],
        "an unchanged seat keeps its updated_at"
    );

    // (access, gateway, sessions, devices, granted)
    let mut users = Vec::new();
    for uid in ["a", "b", odd, "d", "e", "f"] {
        let u = store.user_by_seat_uid(ACCOUNT, uid, t1).await.unwrap().unwrap();
        users.push((
            u.access_seat,
            u.gateway_seat,
            u.active_session_count,
            u.active_device_count,
            u.seat_granted_at,
        ));
    }
    assert_eq!(
        users,
        [
            (false, true, 0, 2, Some(t0)), // Access off ends the session; the seat and its grant stay
            (false, false, 0, 0, None),    // freed
            (true, true, 0, 1, Some(t0)),  // Access added: still held since t0
            (false, true, 0, 0, Some(t1)), // granted now
            (true, true, 1, 1, Some(t0)),  // unchanged
            (false, false, 0, 0, None),    // Gateway off removes the devices
        ]
    );
    assert_eq!(store.account(ACCOUNT).await.unwrap().unwrap().seats_in_use, 4);

    let (events, total) = store.audit_events(ACCOUNT, 1, 100).await.unwrap();
    assert_eq!(total, 5, "one event per changed seat: {events:?}");
    let flags = |a: bool, g: bool| Some(serde_json::json!({"access_seat": a, "gateway_seat": g}));
    let got: Vec<_> = events
        .iter()
        .map(|e| (e.subject.as_str(), e.action.as_str(), e.before.clone(), e.after.clone()))
        .collect();
    assert_eq!(
        got,
        [
            ("f", "seat.remove", flags(false, true), flags(false, false)),
            ("d", "seat.update", flags(false, false), flags(false, true)),
            (odd, "seat.update", flags(false, true), flags(true, true)),
            ("b", "seat.remove", flags(true, false), flags(false, false)),
            ("a", "seat.update", flags(true, true), flags(false, true)),
        ],
        "newest first: the batch's events in request order"
    );
    assert!(events.iter().all(|e| e.actor == actor && e.at == t1));
}

/// Unknown seat uids and the seat limit refuse the whole batch and write nothing.
pub async fn edit_seats_is_atomic(store: &dyn Store) {
    let t0 = at("2030-01-01T00:00:00Z");
    store
        .load_seed(
            seed_with(
                2,
                &[
                    ("a", true, false, 0),
                    ("b", true, false, 0),
                    ("c", false, false, 0),
                    ("d", false, false, 0),
                ],
            ),
            t0,
        )
        .await
        .unwrap();
    let actor = Actor::Operator;
    let t1 = at("2030-01-01T01:00:00Z");
    let err = store
        .edit_seats(
            ACCOUNT,
            vec![item("a", false, false), item("x", true, true), item("y", true, true)],
            actor.clone(),
            t1,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&err, StoreError::NotFound { positions } if positions == &[1, 2]),
        "{err:?}"
    );

    let err = store
        .edit_seats(
            ACCOUNT,
            vec![item("b", false, true), item("c", true, false)],
            actor.clone(),
            t1,
        )
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::SeatLimit { used: 2, limit: 2 }), "{err:?}");
    let b = store.user_by_seat_uid(ACCOUNT, "b", t1).await.unwrap().unwrap();
    assert_eq!(
        (b.access_seat, b.gateway_seat, b.updated_at),
        (true, false, t0),
        "nothing of a refused batch applies"
    );
    assert_eq!(store.audit_events(ACCOUNT, 1, 10).await.unwrap().1, 0);

    // Freeing one seat and taking another in one batch fits a full account.
    store
        .edit_seats(
            ACCOUNT,
            vec![item("a", false, false), item("c", true, true)],
            actor.clone(),
            t1,
        )
        .await
        .unwrap();
    // An account over its limit may still free seats, but not take them.
    store
        .edit_seats(ACCOUNT, vec![item("c", false, false)], actor, t1)
        .await
        .unwrap();
}

/// Concurrent batches: no update is lost and the limit is never exceeded.
pub async fn concurrent_edits_respect_limit(store: Arc<dyn Store>) {
    let uids: Vec<String> = (0..40).map(|i| format!("u{i}")).collect();
    let users: Vec<(&str, bool, bool, u64)> = uids.iter().map(|u| (u.as_str(), false, false, 0)).collect();
    store
        .load_seed(seed_with(10, &users), at("2030-01-01T00:00:00Z"))
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for (i, uid) in uids.iter().enumerate() {
        let store = store.clone();
        let uid = uid.clone();
        tasks.push(tokio::spawn(async move {
            store
                .edit_seats(
                    ACCOUNT,
                    vec![item(&uid, i % 2 == 0, true)],
                    Actor::System,
                    at("2030-01-01T00:01:00Z"),
                )
                .await
        }));
    }
    let mut granted = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => granted += 1,
            Err(StoreError::SeatLimit { limit: 10, .. }) => {}
            Err(e) => panic!("unexpected {e:?}"),
        }
    }
    assert_eq!(granted, 10);
    let mut holding = 0;
    for uid in &uids {
        let u = store
            .user_by_seat_uid(ACCOUNT, uid, at("2030-01-01T00:02:00Z"))
            .await
            .unwrap()
            .unwrap();
        holding += u64::from(u.gateway_seat);
    }
    assert_eq!(holding, 10);
    assert_eq!(store.audit_events(ACCOUNT, 1, 100).await.unwrap().1, 10);
}

fn login_req(email: &str, via: crate::Via, device: Option<&str>) -> crate::LoginRequest {
    let method = match (via, device) {
        (crate::Via::Gateway, Some(device)) => crate::LoginMethod::Gateway {
            device_id: device.into(),
        },
        (crate::Via::Gateway, None) => panic!("a gateway login needs a device"),
        (crate::Via::Access, _) => crate::LoginMethod::Access,
    };
    crate::LoginRequest {
        email: email.into(),
        name: None,
        method,
    }
}

/// Logins take seats until the account is full; a refused login commits the user and a
/// failed-login record only; a user already holding a seat may log in through the other door.
pub async fn logins_take_seats_until_full(store: &dyn Store) {
    use crate::Via;
    let t0 = at("2030-01-01T00:00:00Z");
    store.load_seed(seed_with(2, &[]), t0).await.unwrap();
    let op = Actor::Operator;
    let a = store
        .login(ACCOUNT, login_req("a@x.com", Via::Access, None), op.clone(), t0)
        .await
        .unwrap();
    assert_eq!(a.refused, None);
    assert!(a.user.access_seat && !a.user.gateway_seat);
    assert_eq!(
        (a.user.active_session_count, a.user.last_successful_login),
        (1, Some(t0))
    );
    let b = store
        .login(
            ACCOUNT,
            login_req("b@x.com", Via::Gateway, Some("laptop")),
            op.clone(),
            t0,
        )
        .await
        .unwrap();
    assert_eq!((b.user.gateway_seat, b.user.active_device_count), (true, 1));

    let t1 = at("2030-01-01T01:00:00Z");
    let c = store
        .login(ACCOUNT, login_req("c@x.com", Via::Access, None), op.clone(), t1)
        .await
        .unwrap();
    assert_eq!(c.refused, Some((2, 2)));
    assert!(!c.user.access_seat && !c.user.gateway_seat);
    assert_eq!(c.user.last_successful_login, None);
    let activity = store.user_activity(ACCOUNT, &c.user.id, t1).await.unwrap().unwrap();
    assert_eq!(activity.failed_logins.len(), 1);
    assert_eq!(
        activity.failed_logins[0].result,
        crate::LoginResult::Refused {
            reason: "seat_limit_reached".into()
        }
    );
    assert!(activity.sessions.is_empty() && activity.last_login.is_none());

    // A holder of a seat is never refused: a's gateway login adds a device, takes no new seat.
    let a2 = store
        .login(
            ACCOUNT,
            login_req("A@X.com", Via::Gateway, Some("phone")),
            op.clone(),
            t1,
        )
        .await
        .unwrap();
    assert_eq!(a2.refused, None);
    let activity = store.user_activity(ACCOUNT, &a.user.id, t1).await.unwrap().unwrap();
    let devices: Vec<_> = activity
        .devices
        .iter()
        .map(|d| (d.id.as_str(), d.last_seen_at))
        .collect();
    assert_eq!(devices, [("phone", t1)], "the device a's gateway login registered");
    assert_eq!(activity.sessions.len(), 1, "a's access session is still live");
    assert_eq!(a2.user.id, a.user.id, "emails match case-insensitively");
    assert!(a2.user.access_seat && a2.user.gateway_seat);
    assert_eq!(store.account(ACCOUNT).await.unwrap().unwrap().seats_in_use, 2);
    let (users, total) = store.list_users(ACCOUNT, Default::default(), 1, 10, t1).await.unwrap();
    assert_eq!((users.len(), total), (3, 3));
}

/// Revoking a user ends its sessions (and, when asked, its devices) and keeps its seats; an
/// email no user has, or a `user_uid` of another user, changes nothing.
pub async fn revoke_user_ends_sessions_and_keeps_seats(store: &dyn Store) {
    use crate::{RevokeRequest, Via};
    let t0 = at("2030-01-01T00:00:00Z");
    store.load_seed(seed_with(5, &[]), t0).await.unwrap();
    let op = Actor::Operator;
    for login in [
        login_req("a@x.com", Via::Access, None),
        login_req("a@x.com", Via::Access, None),
        login_req("a@x.com", Via::Gateway, Some("laptop")),
        login_req("a@x.com", Via::Gateway, Some("phone")),
        login_req("b@x.com", Via::Access, None),
    ] {
        store.login(ACCOUNT, login, op.clone(), t0).await.unwrap();
    }
    let a = store
        .list_users(
            ACCOUNT,
            crate::UserFilter {
                email: Some("a@x.com".into()),
                ..Default::default()
            },
            1,
            1,
            t0,
        )
        .await
        .unwrap()
        .0
        .remove(0);
    let b = store
        .list_users(
            ACCOUNT,
            crate::UserFilter {
                email: Some("b@x.com".into()),
                ..Default::default()
            },
            1,
            1,
            t0,
        )
        .await
        .unwrap()
        .0
        .remove(0);
    assert_eq!((a.active_session_count, a.active_device_count), (2, 2));
    let audit_before = store.audit_events(ACCOUNT, 1, 1).await.unwrap().1;

    let request = |email: &str, uid: Option<&str>, devices: bool| RevokeRequest {
        email: email.into(),
        user_uid: uid.map(Into::into),
        devices,
    };
    for wrong in [
        request("nobody@x.com", None, true),
        request("a@x.com", Some(&b.id), true),
        request("a@x.com", Some(&a.seat_uid), true),
    ] {
        let refused = store.revoke_user(ACCOUNT, wrong.clone(), op.clone(), t0).await;
        assert!(
            matches!(refused, Err(StoreError::NotFound { .. })),
            "{wrong:?}: {refused:?}"
        );
    }
    let other_account = store
        .revoke_user(
            "0000000000000000000000000000000f",
            request("a@x.com", None, true),
            op.clone(),
            t0,
        )
        .await;
    assert!(
        matches!(other_account, Err(StoreError::NotFound { .. })),
        "{other_account:?}"
    );
    assert_eq!(
        store.audit_events(ACCOUNT, 1, 1).await.unwrap().1,
        audit_before,
        "nothing was recorded"
    );

    // Sessions only: the devices and the seats stay.
    let first = store
        .revoke_user(
            ACCOUNT,
            request("A@X.com", Some(&a.id.to_uppercase()), false),
            op.clone(),
            t0,
        )
        .await
        .unwrap();
    assert_eq!(
        (first.user_id.as_str(), first.sessions, first.devices),
        (a.id.as_str(), 2, 0)
    );
    let after = store.user(ACCOUNT, &a.id, t0).await.unwrap().unwrap();
    assert_eq!((after.active_session_count, after.active_device_count), (0, 2));
    assert!(after.access_seat && after.gateway_seat, "the seats stay");
    assert!(store
        .user_activity(ACCOUNT, &a.id, t0)
        .await
        .unwrap()
        .unwrap()
        .sessions
        .is_empty());

    // With devices: they go too; b is untouched; the seats in use do not move.
    let second = store
        .revoke_user(ACCOUNT, request("a@x.com", None, true), op.clone(), t0)
        .await
        .unwrap();
    assert_eq!((second.sessions, second.devices), (0, 2));
    let after = store.user(ACCOUNT, &a.id, t0).await.unwrap().unwrap();
    assert_eq!((after.active_session_count, after.active_device_count), (0, 0));
    assert!(after.access_seat && after.gateway_seat);
    assert_eq!(
        store
            .user(ACCOUNT, &b.id, t0)
            .await
            .unwrap()
            .unwrap()
            .active_session_count,
        1
    );
    assert_eq!(store.account(ACCOUNT).await.unwrap().unwrap().seats_in_use, 2);

    let (events, total) = store.audit_events(ACCOUNT, 1, 2).await.unwrap();
    assert_eq!(total, audit_before + 2);
    assert_eq!(events[0].action, "user.revoke");
    assert_eq!(events[0].subject, a.id);
    assert_eq!(
        events[0].after,
        Some(serde_json::json!({"sessions_ended": 0, "devices_revoked": 2}))
    );
    assert_eq!(
        events[1].after,
        Some(serde_json::json!({"sessions_ended": 2, "devices_revoked": 0}))
    );
}

/// Device registrations: listed with filters, sorts and pages; revoked ones stop counting as
/// devices and can be unrevoked; deleted ones are gone; ids the account does not have change
/// nothing.
pub async fn device_registrations_list_revoke_and_delete(store: &dyn Store) {
    use crate::device::{RegistrationFilter, RegistrationSort, RegistrationStatus};
    use crate::Via;
    let t = |h: u32| at(&format!("2030-01-01T{h:02}:00:00Z"));
    store.load_seed(seed_with(5, &[]), t(0)).await.unwrap();
    let op = Actor::Operator;
    for (email, device, h) in [
        ("a@x.com", "laptop", 1),
        ("a@x.com", "phone", 2),
        ("a@x.com", "tablet", 3),
        ("b@x.com", "desk", 4),
    ] {
        store
            .login(ACCOUNT, login_req(email, Via::Gateway, Some(device)), op.clone(), t(h))
            .await
            .unwrap();
    }
    let list = |filter: RegistrationFilter, offset: u64, limit: u64| async move {
        store.registrations(ACCOUNT, filter, offset, limit).await.unwrap()
    };
    let devices =
        |regs: &[crate::device::RegistrationRecord]| regs.iter().map(|r| r.device_id.clone()).collect::<Vec<_>>();
    let all = list(RegistrationFilter::default(), 0, 100).await;
    assert_eq!(
        devices(&all),
        ["laptop", "phone", "tablet", "desk"],
        "in creation order"
    );
    let a_id = all[0].user_id.clone();
    assert_eq!(
        (all[0].user_email.as_str(), all[0].last_seen_at, all[0].revoked_at),
        ("a@x.com", t(1), None)
    );
    let id_of = |device: &str| all.iter().find(|r| r.device_id == device).unwrap().id.clone();

    let by_user = RegistrationFilter {
        user_ids: vec![a_id.to_uppercase()],
        ..Default::default()
    };
    assert_eq!(devices(&list(by_user, 0, 100).await), ["laptop", "phone", "tablet"]);
    let by_device = RegistrationFilter {
        device_id: Some("phone".into()),
        ..Default::default()
    };
    assert_eq!(devices(&list(by_device, 0, 100).await), ["phone"]);
    let by_search = RegistrationFilter {
        search: Some("B@X".into()),
        ..Default::default()
    };
    assert_eq!(devices(&list(by_search, 0, 100).await), ["desk"]);
    let literal = RegistrationFilter {
        search: Some("%".into()),
        ..Default::default()
    };
    assert!(list(literal, 0, 100).await.is_empty(), "% is literal");
    let seen = RegistrationFilter {
        seen_after: Some(t(1)),
        seen_before: Some(t(4)),
        ..Default::default()
    };
    assert_eq!(devices(&list(seen, 0, 100).await), ["phone", "tablet"]);
    let newest = RegistrationFilter {
        sort: RegistrationSort::LastSeenAt,
        descending: true,
        ..Default::default()
    };
    assert_eq!(
        devices(&list(newest.clone(), 1, 2).await),
        ["tablet", "phone"],
        "a page of the order"
    );
    let by_ids = RegistrationFilter {
        ids: vec![id_of("desk"), id_of("laptop")],
        sort: RegistrationSort::UserEmail,
        ..Default::default()
    };
    assert_eq!(devices(&list(by_ids, 0, 100).await), ["laptop", "desk"]);

    // Unknown ids, or ids of another account, change nothing.
    let refused = store
        .set_registrations_revoked(ACCOUNT, vec![id_of("laptop"), "nope".into()], true, op.clone(), t(5))
        .await;
    assert!(
        matches!(&refused, Err(StoreError::NotFound { positions }) if positions == &[1]),
        "{refused:?}"
    );
    let elsewhere = store
        .set_registrations_revoked(
            "0000000000000000000000000000000f",
            vec![id_of("laptop")],
            true,
            op.clone(),
            t(5),
        )
        .await;
    assert!(
        matches!(&elsewhere, Err(StoreError::NotFound { positions }) if positions == &[0]),
        "{elsewhere:?}"
    );
    assert!(store
        .registration(ACCOUNT, &id_of("laptop"))
        .await
        .unwrap()
        .unwrap()
        .revoked_at
        .is_none());
    let audit_before = store.audit_events(ACCOUNT, 1, 1).await.unwrap().1;

    // Revoked: still listed as revoked, no longer a device of the user.
    store
        .set_registrations_revoked(ACCOUNT, vec![id_of("laptop"), id_of("phone")], true, op.clone(), t(5))
        .await
        .unwrap();
    let user = store.user(ACCOUNT, &a_id, t(5)).await.unwrap().unwrap();
    assert_eq!(user.active_device_count, 1);
    let activity = store.user_activity(ACCOUNT, &a_id, t(5)).await.unwrap().unwrap();
    assert_eq!(
        activity.devices.iter().map(|d| d.id.as_str()).collect::<Vec<_>>(),
        ["tablet"]
    );
    assert_eq!(
        devices(&list(RegistrationFilter::default(), 0, 100).await),
        ["tablet", "desk"]
    );
    let revoked = list(
        RegistrationFilter {
            status: RegistrationStatus::Revoked,
            ..Default::default()
        },
        0,
        100,
    )
    .await;
    assert_eq!(devices(&revoked), ["laptop", "phone"]);
    assert!(revoked.iter().all(|r| r.revoked_at == Some(t(5))));
    let every = RegistrationFilter {
        status: RegistrationStatus::All,
        ..Default::default()
    };
    assert_eq!(list(every.clone(), 0, 100).await.len(), 4);

    // Unrevoked: it counts again. Deleted: it is gone.
    store
        .set_registrations_revoked(ACCOUNT, vec![id_of("phone")], false, op.clone(), t(6))
        .await
        .unwrap();
    assert_eq!(
        store
            .user(ACCOUNT, &a_id, t(6))
            .await
            .unwrap()
            .unwrap()
            .active_device_count,
        2
    );
    store
        .delete_registrations(ACCOUNT, vec![id_of("tablet")], op.clone(), t(7))
        .await
        .unwrap();
    assert_eq!(store.registration(ACCOUNT, &id_of("tablet")).await.unwrap(), None);
    assert_eq!(devices(&list(every, 0, 100).await), ["laptop", "phone", "desk"]);
    assert_eq!(
        store
            .user(ACCOUNT, &a_id, t(7))
            .await
            .unwrap()
            .unwrap()
            .active_device_count,
        1
    );

    let (events, total) = store.audit_events(ACCOUNT, 1, 4).await.unwrap();
    assert_eq!(total, audit_before + 4);
    let actions: Vec<(&str, &str)> = events.iter().map(|e| (e.action.as_str(), e.subject.as_str())).collect();
    let (laptop, phone, tablet) = (id_of("laptop"), id_of("phone"), id_of("tablet"));
    assert_eq!(
        actions,
        [
            ("device.delete", tablet.as_str()),
            ("device.unrevoke", phone.as_str()),
            ("device.revoke", phone.as_str()),
            ("device.revoke", laptop.as_str()),
        ]
    );
}

/// Physical devices: the WARP devices behind registrations, one per device id however many
/// users registered it; revoking or deleting one does so to all its registrations.
pub async fn physical_devices_group_registrations(store: &dyn Store) {
    use crate::device::{ActiveRegistrations, PhysicalDeviceFilter, PhysicalDeviceSort};
    use crate::Via;
    let t = |h: u32| at(&format!("2030-01-01T{h:02}:00:00Z"));
    store.load_seed(seed_with(5, &[]), t(0)).await.unwrap();
    let op = Actor::Operator;
    for (email, device, h) in [
        ("a@x.com", "laptop", 1),
        ("a@x.com", "phone", 2),
        ("b@x.com", "laptop", 3),
    ] {
        store
            .login(ACCOUNT, login_req(email, Via::Gateway, Some(device)), op.clone(), t(h))
            .await
            .unwrap();
    }
    let list =
        |filter: PhysicalDeviceFilter| async move { store.physical_devices(ACCOUNT, filter, 0, 100).await.unwrap() };
    let ids =
        |devices: &[crate::device::PhysicalDeviceRecord]| devices.iter().map(|d| d.id.clone()).collect::<Vec<_>>();
    let all = list(Default::default()).await;
    assert_eq!(ids(&all), ["laptop", "phone"], "by first registration");
    let laptop = &all[0];
    assert_eq!(
        (laptop.active_registrations, laptop.created_at, laptop.last_seen_at),
        (2, t(1), t(3))
    );
    assert_eq!(laptop.last_seen_user_email, "b@x.com", "the user seen last");
    assert_eq!(
        store.physical_device(ACCOUNT, "laptop").await.unwrap().as_ref(),
        Some(laptop)
    );
    assert_eq!(store.physical_device(ACCOUNT, "nope").await.unwrap(), None);
    let newest = PhysicalDeviceFilter {
        sort: PhysicalDeviceSort::LastSeenAt,
        descending: true,
        ..Default::default()
    };
    assert_eq!(ids(&list(newest).await), ["laptop", "phone"]);
    let phone_only = PhysicalDeviceFilter {
        search: Some("A@X".into()),
        seen_before: Some(t(3)),
        ..Default::default()
    };
    assert_eq!(ids(&list(phone_only).await), ["phone"]);
    let last_seen_by_a = PhysicalDeviceFilter {
        last_seen_user_email: Some("A@x.com".into()),
        ..Default::default()
    };
    assert_eq!(
        ids(&list(last_seen_by_a).await),
        ["phone"],
        "b was seen on the laptop last"
    );

    let refused = store
        .end_physical_device(ACCOUNT, "nope", false, op.clone(), t(4))
        .await;
    assert!(matches!(refused, Err(StoreError::NotFound { .. })), "{refused:?}");
    store
        .end_physical_device(ACCOUNT, "laptop", false, op.clone(), t(4))
        .await
        .unwrap();
    let laptop = store.physical_device(ACCOUNT, "laptop").await.unwrap().unwrap();
    assert_eq!(laptop.active_registrations, 0, "both registrations revoked");
    let active = PhysicalDeviceFilter {
        active_registrations: ActiveRegistrations::Only,
        ..Default::default()
    };
    assert_eq!(ids(&list(active).await), ["phone"]);
    let inactive = PhysicalDeviceFilter {
        active_registrations: ActiveRegistrations::Exclude,
        ..Default::default()
    };
    assert_eq!(ids(&list(inactive).await), ["laptop"]);
    store
        .end_physical_device(ACCOUNT, "phone", true, op.clone(), t(5))
        .await
        .unwrap();
    assert_eq!(ids(&list(Default::default()).await), ["laptop"]);
    let (events, _) = store.audit_events(ACCOUNT, 1, 3).await.unwrap();
    let actions: Vec<&str> = events.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["device.delete", "device.revoke", "device.revoke"]);
}

/// Concurrent first logins of one email make one user.
pub async fn concurrent_first_logins_make_one_user(store: Arc<dyn Store>) {
    store
        .load_seed(seed_with(10, &[]), at("2030-01-01T00:00:00Z"))
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            store
                .login(
                    ACCOUNT,
                    login_req("same@x.com", crate::Via::Access, None),
                    Actor::Operator,
                    at("2030-01-01T00:00:01Z"),
                )
                .await
        }));
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    let (users, total) = store
        .list_users(ACCOUNT, Default::default(), 1, 10, at("2030-01-01T00:00:02Z"))
        .await
        .unwrap();
    assert_eq!(total, 1, "{users:?}");
    assert_eq!(users[0].active_session_count, 20);
}

/// The sweep frees seats of users inactive longer than the window, counting logins, device
/// activity and seat grants, and audits each removal as `system`.
pub async fn expiry_sweep_frees_inactive_seats(store: &dyn Store) {
    use crate::Via;
    let t0 = at("2030-01-01T00:00:00Z");
    store.load_seed(seed_with(10, &[]), t0).await.unwrap();
    let op = Actor::Operator;
    store
        .login(ACCOUNT, login_req("old@x.com", Via::Access, None), op.clone(), t0)
        .await
        .unwrap();
    store
        .login(ACCOUNT, login_req("idle@x.com", Via::Access, None), op.clone(), t0)
        .await
        .unwrap();
    store
        .login(
            ACCOUNT,
            login_req("dev@x.com", Via::Gateway, Some("d1")),
            op.clone(),
            t0,
        )
        .await
        .unwrap();
    // Nothing expires without a setting.
    assert!(store
        .expire_seats(None, at("2031-01-01T00:00:00Z"))
        .await
        .unwrap()
        .is_empty());
    let mut fields = serde_json::Map::new();
    fields.insert("user_seat_expiration_inactive_time".into(), "730h".into());
    store
        .put_organization(ACCOUNT, fields, crate::OrganizationChange::Create, op.clone(), t0)
        .await
        .unwrap();
    // dev's device checks in later: that is activity.
    let t_dev = at("2030-01-20T00:00:00Z");
    store
        .login(
            ACCOUNT,
            login_req("dev@x.com", Via::Gateway, Some("d1")),
            op.clone(),
            t_dev,
        )
        .await
        .unwrap();

    let t1 = at("2030-02-01T00:00:00Z"); // 744 h after t0, 288 h after t_dev
    let removed = store.expire_seats(Some(ACCOUNT), t1).await.unwrap();
    assert_eq!(removed.len(), 2, "old and idle, not dev: {removed:?}");
    let (users, _) = store
        .list_users(
            ACCOUNT,
            crate::UserFilter {
                email: Some("old@x.com".into()),
                ..Default::default()
            },
            1,
            10,
            t1,
        )
        .await
        .unwrap();
    assert!(
        removed.contains(&(ACCOUNT.to_string(), users[0].seat_uid.clone())),
        "{removed:?}"
    );
    assert!(!users[0].access_seat && users[0].active_session_count == 0);
    // One event per freed seat, in the order they were freed (newest first here).
    let (events, _) = store.audit_events(ACCOUNT, 1, 2).await.unwrap();
    let expired: Vec<_> = removed.iter().rev().map(|(_, uid)| uid.as_str()).collect();
    let subjects: Vec<_> = events.iter().map(|e| e.subject.as_str()).collect();
    assert_eq!(subjects, expired);
    let access_only = Some(serde_json::json!({"access_seat": true, "gateway_seat": false}));
    let nothing = Some(serde_json::json!({"access_seat": false, "gateway_seat": false}));
    for e in &events {
        assert_eq!(
            (e.action.as_str(), &e.actor, &e.before, &e.after),
            ("seat.expire", &Actor::System, &access_only, &nothing)
        );
    }
    assert!(
        store.expire_seats(Some(ACCOUNT), t1).await.unwrap().is_empty(),
        "a second sweep finds nothing"
    );
}

/// Two handles on one database stand for two processes (or nodes): the limit holds across
/// them, because it is checked inside the write transaction, not by an in-process lock.
pub async fn limit_holds_across_two_handles(a: Arc<dyn Store>, b: Arc<dyn Store>) {
    let uids: Vec<String> = (0..20).map(|i| format!("u{i}")).collect();
    let users: Vec<_> = uids.iter().map(|u| (u.as_str(), false, false, 0)).collect();
    a.load_seed(seed_with(5, &users), at("2030-01-01T00:00:00Z"))
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for (i, uid) in uids.iter().enumerate() {
        let store = if i % 2 == 0 { a.clone() } else { b.clone() };
        let uid = uid.clone();
        tasks.push(tokio::spawn(async move {
            store
                .edit_seats(
                    ACCOUNT,
                    vec![item(&uid, true, false)],
                    Actor::System,
                    at("2030-01-01T00:01:00Z"),
                )
                .await
        }));
    }
    let mut ok = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => ok += 1,
            Err(StoreError::SeatLimit { limit: 5, .. }) => {}
            Err(e) => panic!("unexpected {e:?}"),
        }
    }
    assert_eq!(ok, 5);
    assert_eq!(b.account(ACCOUNT).await.unwrap().unwrap().seats_in_use, 5);
    let (_, total) = a.audit_events(ACCOUNT, 1, 100).await.unwrap();
    assert_eq!(total, 5);
}

/// Credentials are served from memory. A change made through one handle is seen by its next
/// lookup, and by another handle on the same database within `RECHECK_AFTER`.
pub async fn credential_changes_reach_every_handle(here: &dyn Store, elsewhere: &dyn Store) {
    use crate::credentials::RECHECK_AFTER;
    use seats_types::TokenStatus;

    let now = at("2030-01-01T00:00:00Z");
    here.load_seed(seed_with(5, &[]), now).await.unwrap();
    async fn status(store: &dyn Store) -> Option<TokenStatus> {
        let hash = Secret::new("secret-token").hash();
        store.token_by_hash(hash).await.unwrap().map(|t| t.status)
    }
    async fn seen_within(store: &dyn Store, want: Option<TokenStatus>) {
        let started = std::time::Instant::now();
        while status(store).await != want {
            assert!(
                started.elapsed() < RECHECK_AFTER * 3,
                "the other handle never saw {want:?}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }
    assert_eq!(status(here).await, Some(TokenStatus::Active));
    assert_eq!(status(elsewhere).await, Some(TokenStatus::Active));

    here.set_token_status("tok1", TokenStatus::Disabled, Actor::Operator, now)
        .await
        .unwrap();
    assert_eq!(status(here).await, Some(TokenStatus::Disabled), "at once, here");
    seen_within(elsewhere, Some(TokenStatus::Disabled)).await;

    here.delete_token("tok1", Actor::Operator, now).await.unwrap();
    assert_eq!(status(here).await, None, "a deleted token is gone at once");
    seen_within(elsewhere, None).await;
    let member = here.member_by_email("admin@example.com").await.unwrap().unwrap();
    assert_eq!(member.accounts, [ACCOUNT]);
    here.delete_member("admin@example.com", Actor::Operator, now)
        .await
        .unwrap();
    assert!(here.member_by_email("admin@example.com").await.unwrap().is_none());
}

/// A loader finds what only the whole seed shows (duplicates) with the places `seed::parse`
/// gives, and stores nothing of an invalid seed; a valid seed loads afterwards.
pub async fn invalid_seed_is_reported_in_full(store: &dyn Store) {
    let doc = r#"{"tokens": [{"name": "t", "value": "tok", "policies": []}],
        "accounts": [{"users": [{"email": "a@x.com", "seat_uid": "s1"}, {"email": "A@X.com", "seat_uid": "s2"},
                                 {"email": "b@x.com", "seat_uid": "s1", "access_seat": true, "gateway_seat": true}],
                      "id": "0123456789abcdef0123456789abcdef", "name": "x", "seat_limit": 0},
                     {"id": "fedcba9876543210fedcba9876543210", "name": "y", "users": [
                        {"email": "c@x.com", "id": "00000000-0000-4000-8000-000000000001"},
                        {"email": "d@x.com", "id": "00000000-0000-4000-8000-000000000001"}]},
                     {"id": "fedcba9876543210fedcba9876543210", "name": "again"}]}"#;
    let expected = [
        "/accounts/0/users/1/email: duplicate email A@X.com (first at /accounts/0/users/0)",
        "/accounts/0/users/2/seat_uid: duplicate seat_uid s1 (first at /accounts/0/users/0)",
        "/accounts/0/seat_limit: account over its limit: 1 users hold a seat, seat_limit is 0",
        "/accounts/1/users/1/id: duplicate user id 00000000-0000-4000-8000-000000000001",
    ];
    let in_memory = seed::parse(doc.as_bytes()).unwrap_err();
    let loaded = store
        .load_seed(seed::SeedDocument::from_bytes(doc), at("2030-01-01T00:00:00Z"))
        .await;
    let Err(StoreError::InvalidSeed(e)) = loaded else {
        panic!("{loaded:?}")
    };
    let lines: Vec<String> = e.problems.iter().map(|p| p.to_string()).collect();
    assert_eq!(lines[..4], expected[..4], "{lines:#?}");
    assert!(
        lines[4].starts_with("/accounts/2/id: duplicate account id"),
        "{lines:#?}"
    );
    assert_eq!(e, in_memory, "the loader and the in-memory check agree");
    assert!(store.is_empty().await.unwrap(), "nothing of the seed was stored");

    store
        .load_seed(seed_with(2, &[("u1", true, false, 0)]), at("2030-01-01T00:00:00Z"))
        .await
        .unwrap();
    assert_eq!(store.account(ACCOUNT).await.unwrap().unwrap().seats_in_use, 1);
}

/// Browsing by key set: creation order forward and backward from a key, the seat filters,
/// a search, a short page where the scan runs out, and pages that join up with no gap or
/// repeat.
pub async fn browse_users_by_key_set(store: &dyn Store) {
    use crate::browse::{SeatFilter, UserBrowse, UserKey};
    let t0 = at("2030-01-01T00:00:00Z");
    // u0..u9: access on even, gateway on multiples of three; all created at the same instant,
    // so the id breaks the tie.
    let users: Vec<(String, bool, bool, u64)> = (0..10).map(|i| (format!("s{i}"), i % 2 == 0, i % 3 == 0, 0)).collect();
    let refs: Vec<(&str, bool, bool, u64)> = users.iter().map(|(u, a, g, d)| (u.as_str(), *a, *g, *d)).collect();
    store.load_seed(seed_with(10, &refs), t0).await.unwrap();
    let (all, _) = store.list_users(ACCOUNT, Default::default(), 1, 100, t0).await.unwrap();
    let order: Vec<String> = all.iter().map(|u| u.seat_uid.clone()).collect();
    let key_of = |uid: &str| UserKey::of(all.iter().find(|u| u.seat_uid == uid).unwrap());
    let page =
        |seat: SeatFilter, from: Option<UserKey>, backward: bool, limit: u64, scan: u64, search: Option<&str>| {
            let browse = UserBrowse {
                search: search.map(str::to_owned),
                seat,
                from,
                backward,
                limit,
                scan,
            };
            async move { store.browse_users(ACCOUNT, browse, t0).await.unwrap() }
        };
    let uids = |p: &crate::browse::UserBrowsePage| p.users.iter().map(|u| u.seat_uid.clone()).collect::<Vec<_>>();

    // Forward through everything, three at a time: the pages join up.
    let mut seen = Vec::new();
    let mut from = None;
    loop {
        let p = page(SeatFilter::Any, from.clone(), false, 3, 100, None).await;
        assert!(p.users.len() <= 3);
        seen.extend(uids(&p));
        match p.resume {
            Some(k) => from = Some(k),
            None => break,
        }
    }
    assert_eq!(seen, order, "forward pages cover every user once, in creation order");

    // Backward from the end, then from a key.
    let last = page(SeatFilter::Any, None, true, 3, 100, None).await;
    assert_eq!(uids(&last), order[7..], "the last page, in creation order");
    let before = page(SeatFilter::Any, Some(key_of(&order[7])), true, 3, 100, None).await;
    assert_eq!(uids(&before), order[4..7]);
    assert_eq!(
        before.resume,
        Some(key_of(&order[4])),
        "going on backward starts before its first user"
    );
    assert_eq!(before.first, Some(key_of(&order[6])));

    // Seat filters.
    let holders = |f: fn(&(String, bool, bool, u64)) -> bool| -> Vec<String> {
        let wanted: Vec<&String> = users.iter().filter(|u| f(u)).map(|u| &u.0).collect();
        order.iter().filter(|u| wanted.contains(u)).cloned().collect()
    };
    for (filter, expected) in [
        (SeatFilter::Access, holders(|u| u.1)),
        (SeatFilter::Gateway, holders(|u| u.2)),
        (SeatFilter::Holding, holders(|u| u.1 || u.2)),
        (SeatFilter::None, holders(|u| !u.1 && !u.2)),
    ] {
        let p = page(filter, None, false, 100, 100, None).await;
        assert_eq!(uids(&p), expected, "{filter:?}");
        assert!(p.users.iter().all(|u| match filter {
            SeatFilter::Access => u.access_seat,
            SeatFilter::Gateway => u.gateway_seat,
            SeatFilter::Holding => u.access_seat || u.gateway_seat,
            _ => !u.access_seat && !u.gateway_seat,
        }));
    }

    // The scan bounds the rows read: a short page, and where to go on from.
    let none = holders(|u| !u.1 && !u.2);
    let p = page(SeatFilter::None, None, false, 100, 4, None).await;
    assert_eq!(
        uids(&p),
        none.iter()
            .filter(|u| order[..4].contains(u))
            .cloned()
            .collect::<Vec<_>>()
    );
    assert_eq!(p.resume, Some(key_of(&order[3])), "resumes after the fourth row read");
    let rest = page(SeatFilter::None, p.resume.clone(), false, 100, 100, None).await;
    assert_eq!([uids(&p), uids(&rest)].concat(), none, "no match lost between the two");

    // A search narrows as the API's does; the seat filter applies on top.
    let p = page(SeatFilter::Any, None, false, 100, 100, Some("USER1")).await;
    assert_eq!(p.users.len(), 1, "user1@ only (user10 does not exist)");
    assert_eq!(p.users[0].email, "user1@example.com");
    let p = page(SeatFilter::Access, None, false, 100, 100, Some("example.com")).await;
    assert_eq!(uids(&p), holders(|u| u.1));
    assert_eq!(
        page(SeatFilter::Any, None, false, 10, 10, Some("nobody")).await.users,
        vec![]
    );
    // Another account's users never show.
    let other = UserBrowse {
        search: None,
        seat: SeatFilter::Any,
        from: None,
        backward: false,
        limit: 10,
        scan: 10,
    };
    assert!(store
        .browse_users("ffffffffffffffffffffffffffffffff", other, t0)
        .await
        .unwrap()
        .users
        .is_empty());
}

/// Filters by email, name and substring search, with SQLite's rules on every backend: ASCII
/// case folding only, `%` and `_` taken literally; creation order, paging and totals.
pub async fn list_users_filters_and_search(store: &dyn Store) {
    let t0 = at("2030-01-01T00:00:00Z");
    store.load_seed(seed_with(10, &[]), t0).await.unwrap();
    let names = [
        ("ann@example.com", "Ann Lee"),
        ("BOB@Example.com", "Bob_Smith"),
        ("carl@example.org", "Carl 100%"),
        ("dora@example.com", "Dóra Émile"),
        ("eve@sample.net", "Eve"),
    ];
    for (i, (email, name)) in names.iter().enumerate() {
        let when = at(&format!("2030-01-01T00:0{i}:00Z"));
        store
            .create_user(ACCOUNT, email, name, Actor::Operator, when)
            .await
            .unwrap();
    }
    let list = |filter: crate::UserFilter, page: u64, per_page: u64| async move {
        let (users, total) = store.list_users(ACCOUNT, filter, page, per_page, t0).await.unwrap();
        (users.into_iter().map(|u| u.email).collect::<Vec<_>>(), total)
    };
    let search = |s: &str| crate::UserFilter {
        search: Some(s.into()),
        ..Default::default()
    };
    assert_eq!(
        list(Default::default(), 2, 2).await,
        (vec!["carl@example.org".to_string(), "dora@example.com".into()], 5),
        "creation order, paged, with the account's total"
    );
    assert_eq!(list(search("EXAMPLE.COM"), 1, 10).await.1, 3, "ASCII case folding");
    assert_eq!(list(search("ample"), 1, 10).await.1, 5, "matches inside words");
    assert_eq!(
        list(search("b_s"), 1, 10).await.0,
        ["BOB@Example.com"],
        "`_` is literal"
    );
    assert_eq!(list(search("b%s"), 1, 10).await.1, 0, "`%` is literal");
    assert_eq!(list(search("0%"), 1, 10).await.0, ["carl@example.org"]);
    assert_eq!(list(search("óra"), 1, 10).await.1, 1);
    assert_eq!(list(search("ÉMILE"), 1, 10).await.1, 1, "ASCII letters fold");
    assert_eq!(list(search("émile"), 1, 10).await.1, 0, "others do not");
    assert_eq!(list(search("ve"), 1, 10).await.0, ["eve@sample.net"], "two letters");
    let by_email = crate::UserFilter {
        email: Some("bob@EXAMPLE.com".into()),
        ..Default::default()
    };
    assert_eq!(list(by_email, 1, 10).await, (vec!["BOB@Example.com".to_string()], 1));
    let by_name = crate::UserFilter {
        name: Some("Eve".into()),
        search: Some("sample".into()),
        ..Default::default()
    };
    assert_eq!(list(by_name, 1, 10).await, (vec!["eve@sample.net".to_string()], 1));
    let exact_name = crate::UserFilter {
        name: Some("eve".into()),
        ..Default::default()
    };
    assert_eq!(list(exact_name, 1, 10).await.1, 0, "names match exactly");
}

/// The periodic sweep is claimed once per period by whichever handle asks first.
pub async fn sweep_claims_are_once_per_period(a: &dyn Store, b: &dyn Store) {
    let t = |s: &str| at(s);
    assert!(a
        .claim_sweep(t("2030-01-01T00:00:00Z"), t("2030-01-01T01:00:00Z"))
        .await
        .unwrap());
    assert!(!b
        .claim_sweep(t("2030-01-01T00:00:00Z"), t("2030-01-01T01:00:00Z"))
        .await
        .unwrap());
    assert!(!b
        .claim_sweep(t("2030-01-01T00:30:00Z"), t("2030-01-01T01:30:00Z"))
        .await
        .unwrap());
    assert!(b
        .claim_sweep(t("2030-01-01T01:00:00Z"), t("2030-01-01T02:00:00Z"))
        .await
        .unwrap());
    assert!(!a
        .claim_sweep(t("2030-01-01T01:00:00Z"), t("2030-01-01T02:00:00Z"))
        .await
        .unwrap());
    // A server whose clock runs a little behind does not take the period again.
    assert!(!a
        .claim_sweep(t("2030-01-01T00:59:00Z"), t("2030-01-01T01:59:00Z"))
        .await
        .unwrap());
    // A clock moved back (say, a server that ran a manual clock into the future) claims again.
    assert!(a
        .claim_sweep(t("2029-06-01T00:00:00Z"), t("2029-06-01T01:00:00Z"))
        .await
        .unwrap());
}

/// Every record of a store's export.
pub async fn export_all(store: &dyn Store) -> Vec<crate::export::Record> {
    // Fails if the count the export returns is not the number of records that arrived.
    store.export_records().await.unwrap()
}

/// Loads records into a store through its import.
pub async fn import_all(
    store: &dyn Store,
    records: Vec<crate::export::Record>,
) -> crate::StoreResult<crate::export::ImportSummary> {
    let (tx, rx) = tokio::sync::mpsc::channel(64);
    let feed = async move {
        for r in records {
            if tx.send(r).await.is_err() {
                break;
            }
        }
    };
    let (summary, ()) = tokio::join!(store.import(rx), feed);
    summary
}

/// A state with something in every table moves from `source` to an empty `target` (of either
/// backend) through export and import, and exports again identically: nothing is lost, and
/// what the target maintains itself (seats in use, counts, activity) agrees.
pub async fn export_import_round_trip(source: &dyn Store, target: &dyn Store) {
    use crate::Via;
    let t0 = at("2030-01-01T00:00:00Z");
    source
        .load_seed(seed_with(3, &[("s1", true, true, 2), ("s2", false, false, 0)]), t0)
        .await
        .unwrap();
    let op = Actor::Operator;
    source
        .edit_seats(ACCOUNT, vec![item("s1", false, true)], Actor::Token("tok1".into()), t0)
        .await
        .unwrap();
    source
        .login(ACCOUNT, login_req("l@x.com", Via::Gateway, Some("pc")), op.clone(), t0)
        .await
        .unwrap();
    source
        .login(ACCOUNT, login_req("m@x.com", Via::Access, None), op.clone(), t0)
        .await
        .unwrap();
    let refused = source
        .login(ACCOUNT, login_req("n@x.com", Via::Access, None), op.clone(), t0)
        .await
        .unwrap();
    assert!(
        refused.refused.is_some(),
        "the account is full: a refused login is recorded too"
    );
    let mut fields = serde_json::Map::new();
    fields.insert("user_seat_expiration_inactive_time".into(), "730h".into());
    source
        .put_organization(ACCOUNT, fields, crate::OrganizationChange::Create, op.clone(), t0)
        .await
        .unwrap();
    source
        .set_token_status("tok1", seats_types::TokenStatus::Disabled, op.clone(), t0)
        .await
        .unwrap();
    assert!(source.claim_sweep(t0, at("2030-01-01T01:00:00Z")).await.unwrap());
    let provider = source
        .create_identity_provider(
            ACCOUNT,
            crate::identity_provider::IdentityProviderWrite {
                name: "Okta".into(),
                kind: "okta".into(),
                config: serde_json::json!({"okta_account": "https://x.okta.com"})
                    .as_object()
                    .unwrap()
                    .clone(),
                scim_flags: crate::identity_provider::ScimFlags {
                    enabled: Some(true),
                    ..Default::default()
                },
                new_secret_hash: Some(crate::secret::Secret::new("scim-secret").hash()),
            },
            op.clone(),
            t0,
        )
        .await
        .unwrap();
    let scim_user = |name: &str, email: &str| {
        crate::identity_provider::ScimUserWrite::from_resource(
            serde_json::json!({"userName": name, "externalId": format!("ext-{name}"),
                "emails": [{"value": email, "primary": true}], "name": {"givenName": name}})
            .as_object()
            .unwrap()
            .clone(),
        )
    };
    let linked = source
        .put_scim_user(&provider.id, None, scim_user("m", "m@x.com"), None, t0)
        .await
        .unwrap();
    source
        .put_scim_user(&provider.id, None, scim_user("new", "new@x.com"), None, t0)
        .await
        .unwrap();
    source
        .put_scim_group(
            &provider.id,
            None,
            crate::identity_provider::ScimGroupWrite {
                resource: serde_json::json!({"displayName": "Eng"}).as_object().unwrap().clone(),
                display_name: "Eng".into(),
                external_id: Some("g1".into()),
                members: vec![linked.id.clone()],
            },
            None,
            t0,
        )
        .await
        .unwrap();

    let exported = export_all(source).await;
    assert!(matches!(exported[0], crate::export::Record::Header(_)));
    assert_eq!(
        exported.last(),
        Some(&crate::export::Record::end(exported.len() as u64 - 2))
    );
    for kind in [
        "account",
        "user",
        "device",
        "session",
        "login",
        "member",
        "token",
        "identity_provider",
        "scim_user",
        "scim_group",
        "audit",
        "sweep_schedule",
    ] {
        assert!(
            exported
                .iter()
                .any(|r| serde_json::to_value(r).unwrap()["record"] == kind),
            "the export holds a {kind}"
        );
    }
    let summary = import_all(target, exported.clone()).await.unwrap();
    assert_eq!((summary.accounts, summary.users), (1, 6), "new@x.com came with SCIM");
    assert_eq!(export_all(target).await, exported, "the target exports the same state");

    let (a, b) = (
        source.account(ACCOUNT).await.unwrap().unwrap(),
        target.account(ACCOUNT).await.unwrap().unwrap(),
    );
    assert_eq!(a, b);
    assert_eq!(b.seats_in_use, 3);
    let (events, total) = target.audit_events(ACCOUNT, 1, 100).await.unwrap();
    assert_eq!((events, total), source.audit_events(ACCOUNT, 1, 100).await.unwrap());
    let token = target
        .token_by_hash(Secret::new("secret-token").hash())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(token.status, seats_types::TokenStatus::Disabled);
    let member = target.member_by_email("admin@example.com").await.unwrap().unwrap();
    assert_eq!(member.key_hash, Secret::new("144c9defac04969c7bfad8efaa8ea194").hash());
    let (users, _) = source.list_users(ACCOUNT, Default::default(), 1, 10, t0).await.unwrap();
    assert_eq!(
        target
            .list_users(ACCOUNT, Default::default(), 1, 10, t0)
            .await
            .unwrap()
            .0,
        users
    );
    for u in &users {
        assert_eq!(
            target.user_activity(ACCOUNT, &u.id, t0).await.unwrap(),
            source.user_activity(ACCOUNT, &u.id, t0).await.unwrap()
        );
    }
    // The search index was built from the imported rows.
    let search = crate::UserFilter {
        search: Some(users[0].name.chars().take(3).collect()),
        ..Default::default()
    };
    let found = target.list_users(ACCOUNT, search.clone(), 1, 10, t0).await.unwrap();
    assert!(found.1 >= 1, "{found:?}");
    assert_eq!(found, source.list_users(ACCOUNT, search, 1, 10, t0).await.unwrap());
    // The sweep schedule came along; new audit events follow the imported ones.
    assert!(!target.claim_sweep(t0, at("2030-01-01T01:00:00Z")).await.unwrap());
    target
        .edit_seats(ACCOUNT, vec![item("s1", false, false)], op.clone(), t0)
        .await
        .unwrap();
    let (events, _) = target.audit_events(ACCOUNT, 1, 2).await.unwrap();
    assert!(events[0].seq > events[1].seq, "{events:?}");

    // Only into an empty database, and only an export.
    let again = import_all(target, exported).await;
    assert!(
        matches!(again, Err(StoreError::Conflict(Conflict::NotEmpty))),
        "{again:?}"
    );
}

/// An import that is not an export, or breaks off, leaves the database empty.
pub async fn a_bad_import_stores_nothing(store: &dyn Store) {
    use crate::export::Record;
    let not_export = import_all(
        store,
        vec![Record::SweepSchedule(crate::export::SweepSchedule { next_due: 0 })],
    )
    .await;
    assert!(
        matches!(&not_export, Err(StoreError::Conflict(Conflict::NotAnExport(m))) if m.contains("header")),
        "{not_export:?}"
    );
    let account = |id: &str| {
        Record::Account(crate::export::Account {
            id: id.into(),
            name: "a".into(),
            seat_limit: 1,
            organization: None,
            organization_created_at: None,
            organization_updated_at: None,
            created_at: 0,
        })
    };
    // The second account repeats the first: the database refuses it, and all goes.
    let broken = import_all(
        store,
        vec![Record::header(), account("a1"), account("a1"), Record::end(2)],
    )
    .await;
    assert!(broken.is_err(), "{broken:?}");
    assert!(store.is_empty().await.unwrap());
    // A file cut short (no end record) stores nothing, even where every record is sound.
    let cut = import_all(store, vec![Record::header(), account("a1")]).await;
    assert!(
        matches!(&cut, Err(StoreError::Conflict(Conflict::NotAnExport(m))) if m.contains("incomplete")),
        "{cut:?}"
    );
    assert!(store.is_empty().await.unwrap());
    let miscounted = import_all(store, vec![Record::header(), account("a1"), Record::end(5)]).await;
    assert!(
        matches!(&miscounted, Err(StoreError::Conflict(Conflict::NotAnExport(m))) if m.contains("counts 5")),
        "{miscounted:?}"
    );
    assert!(store.is_empty().await.unwrap());
}

/// A snapshot (an export) restores exactly, whatever happened since; a reset leaves the
/// start seed alone, or nothing; tokens created since stop working at once.
pub async fn reset_and_restore(store: &dyn Store) {
    let t0 = at("2030-01-01T00:00:00Z");
    store
        .load_seed(seed_with(5, &[("s1", true, true, 1), ("s2", false, false, 0)]), t0)
        .await
        .unwrap();
    let snapshot = export_all(store).await;

    let op = Actor::Operator;
    store
        .edit_seats(
            ACCOUNT,
            vec![item("s1", false, false), item("s2", true, false)],
            op.clone(),
            t0,
        )
        .await
        .unwrap();
    store
        .create_user(ACCOUNT, "late@x.com", "Late", op.clone(), t0)
        .await
        .unwrap();
    let token = crate::NewToken {
        id: "late-token".into(),
        name: "late".into(),
        value_hash: crate::secret::Secret::new("late-value").hash(),
        policies: vec![],
        not_before: None,
        expires_on: None,
    };
    store.create_token(token, op.clone(), t0).await.unwrap();
    assert!(store
        .token_by_hash(crate::secret::Secret::new("late-value").hash())
        .await
        .unwrap()
        .is_some());

    let (tx, rx) = tokio::sync::mpsc::channel(64);
    let feed = async {
        for r in snapshot.clone() {
            tx.send(r).await.unwrap();
        }
        drop(tx);
    };
    let (summary, ()) = tokio::join!(store.restore(rx), feed);
    assert_eq!(summary.unwrap().users, 2);
    assert_eq!(export_all(store).await, snapshot, "exactly the state of the snapshot");
    assert!(
        store
            .token_by_hash(crate::secret::Secret::new("late-value").hash())
            .await
            .unwrap()
            .is_none(),
        "a token created after the snapshot is gone at once"
    );
    let account = store.account(ACCOUNT).await.unwrap().unwrap();
    assert_eq!(account.seats_in_use, 1, "maintained figures follow the restored rows");
    let search = crate::UserFilter {
        search: Some("USER1@EXAMPLE".into()),
        ..Default::default()
    };
    let (found, total) = store.list_users(ACCOUNT, search, 1, 10, t0).await.unwrap();
    assert_eq!(
        (found.len(), total),
        (1, 1),
        "the search index follows the restored rows"
    );
    let late = crate::UserFilter {
        search: Some("late@x".into()),
        ..Default::default()
    };
    assert_eq!(store.list_users(ACCOUNT, late, 1, 10, t0).await.unwrap().1, 0);

    let summary = store
        .reset(Some(seed_with(9, &[("r1", true, false, 0)])), t0)
        .await
        .unwrap();
    assert_eq!(summary.users, 1);
    let account = store.account(ACCOUNT).await.unwrap().unwrap();
    assert_eq!((account.seat_limit, account.seats_in_use), (9, 1));
    let (users, total) = store.list_users(ACCOUNT, Default::default(), 1, 10, t0).await.unwrap();
    assert_eq!((users.len(), total), (1, 1));
    assert_eq!(
        store.audit_events(ACCOUNT, 1, 10).await.unwrap().1,
        0,
        "the audit log starts over"
    );

    store.reset(None, t0).await.unwrap();
    assert!(store.is_empty().await.unwrap());
    assert!(store.account(ACCOUNT).await.unwrap().is_none());
}

/// Dashboard sessions: kept, read back, touched and deleted; ended ones and the oldest of a
/// credential past its cap go when a new one is kept.
pub async fn dashboard_sessions_live_and_end(store: &dyn Store) {
    use crate::dashboard_session::{DashboardSession, SessionCredential, MAX_SESSIONS_PER_CREDENTIAL};
    let t0 = at("2030-01-01T00:00:00Z");
    let micros = |s: i64| Timestamp::from_unix_micros(t0.unix_micros() + s * 1_000_000).unwrap();
    let session = |n: usize, credential: SessionCredential, created: i64| DashboardSession {
        id_hash: Secret::new(format!("session {n}")).hash(),
        credential,
        created_at: micros(created),
        last_seen_at: micros(created),
        expires_at: micros(created + 3600),
    };
    let token = SessionCredential::Token(Secret::new("a token").hash());
    let key = SessionCredential::Key {
        email: "admin@example.com".into(),
        key: Secret::new("a key").hash(),
    };
    let operator = SessionCredential::Operator(Secret::new("operator").hash());
    for (n, credential) in [(1, &token), (2, &key), (3, &operator)] {
        let s = session(n, credential.clone(), 0);
        store.create_dashboard_session(s.clone(), micros(-60)).await.unwrap();
        assert_eq!(store.dashboard_session(s.id_hash).await.unwrap(), Some(s));
    }
    let first = session(1, token.clone(), 0);
    store.touch_dashboard_session(first.id_hash, micros(30)).await.unwrap();
    let read = store.dashboard_session(first.id_hash).await.unwrap().unwrap();
    assert_eq!(read.last_seen_at, micros(30));
    assert_eq!(read.created_at, micros(0));
    store.delete_dashboard_session(first.id_hash).await.unwrap();
    assert_eq!(store.dashboard_session(first.id_hash).await.unwrap(), None);
    store.delete_dashboard_session(first.id_hash).await.unwrap();

    // A session kept later: the key's (idle since 0) goes, the operator's (expired) too.
    let later = session(4, token.clone(), 4000);
    store
        .create_dashboard_session(later.clone(), micros(100))
        .await
        .unwrap();
    for gone in [2, 3] {
        assert_eq!(
            store
                .dashboard_session(Secret::new(format!("session {gone}")).hash())
                .await
                .unwrap(),
            None,
            "session {gone} ended"
        );
    }
    // One credential's sessions past the cap: the oldest go.
    for n in 0..MAX_SESSIONS_PER_CREDENTIAL + 2 {
        let s = session(100 + n, token.clone(), 4001 + n as i64);
        store.create_dashboard_session(s, micros(100)).await.unwrap();
    }
    assert_eq!(
        store.dashboard_session(later.id_hash).await.unwrap(),
        None,
        "the oldest went"
    );
    assert_eq!(
        store
            .dashboard_session(Secret::new("session 100").hash())
            .await
            .unwrap(),
        None
    );
    // A server key: the first candidate stays, whoever asks next.
    let first = store.server_key("dashboard", [1; 32]).await.unwrap();
    assert_eq!(first, [1; 32]);
    assert_eq!(store.server_key("dashboard", [2; 32]).await.unwrap(), [1; 32]);
    assert_eq!(store.server_key("other", [3; 32]).await.unwrap(), [3; 32]);
    for n in [102, 100 + MAX_SESSIONS_PER_CREDENTIAL + 1] {
        assert!(
            store
                .dashboard_session(Secret::new(format!("session {n}")).hash())
                .await
                .unwrap()
                .is_some(),
            "session {n} kept"
        );
    }
}
