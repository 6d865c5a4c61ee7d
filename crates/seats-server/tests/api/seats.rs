//! PATCH seats: the seed documents' example and each rule of docs/contract.md §5.

use serde_json::{json, Value};

use crate::helpers::*;

fn is_api_timestamp(v: &Value) -> bool {
    let s = v.as_str().unwrap_or("");
    // 2014-01-01T05:20:00.123450Z: six fractional digits and Z.
    s.len() == 27 && s.ends_with('Z') && s.as_bytes()[19] == b'.' && s.parse::<seats_types::Timestamp>().is_ok()
}

#[tokio::test]
async fn seed_example_request_and_response_shape() {
    on_each_backend(|| async {
        let app = spawn_app(&test_seed()).await;
        let resp = app.patch_seats(&example_body()).await;
        assert_eq!(resp.headers()["content-type"], "application/json");
        let (status, body) = parts(resp).await;
        assert_eq!(status, 200);
        assert_eq!(body["success"], json!(true));
        assert_eq!(body["errors"], json!([]));
        assert_eq!(body["messages"], json!([]));
        assert_eq!(
            body["result_info"],
            json!({"count": 1, "page": 1, "per_page": 1, "total_count": 1, "total_pages": 1})
        );
        let seat = &body["result"][0];
        let keys: Vec<&str> = seat.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            ["access_seat", "created_at", "gateway_seat", "seat_uid", "updated_at"]
        );
        assert_eq!(seat["seat_uid"], json!(ALICE_SEAT));
        assert_eq!(
            (seat["access_seat"].clone(), seat["gateway_seat"].clone()),
            (json!(false), json!(false))
        );
        assert!(
            is_api_timestamp(&seat["created_at"]) && is_api_timestamp(&seat["updated_at"]),
            "{seat}"
        );
        assert_ne!(seat["created_at"], seat["updated_at"]);
    })
    .await;
}

#[tokio::test]
async fn works_with_email_and_key_and_any_content_type() {
    on_each_backend(|| async {
        let app = spawn_app(&test_seed()).await;
        let resp = app
            .patch_seats_as(ACCOUNT, Auth::Key(EMAIL, KEY), &json!([item("bob", true, false)]))
            .await;
        assert_eq!(resp.status(), 200);
        // Emails compare case-insensitively; a form content type (curl -d without -H) is read as JSON.
        let resp = app
            .request(reqwest::Method::PATCH, &TestApp::seats_path(ACCOUNT))
            .header("X-Auth-Email", "USER@example.com")
            .header("X-Auth-Key", KEY)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(json!([item("bob", false, true)]).to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        let bob = app.user("bob").await;
        assert_eq!((bob.access_seat, bob.gateway_seat), (false, true));
        let events = app.store.audit_events(ACCOUNT, 1, 10).await.unwrap().0;
        assert_eq!(events[0].actor, seats_store::Actor::Member(EMAIL.into()));
    })
    .await;
}

#[tokio::test]
async fn empty_array_is_an_empty_result() {
    on_each_backend(|| async {
        let app = spawn_app(&test_seed()).await;
        let (status, body) = parts(app.patch_seats(&json!([])).await).await;
        assert_eq!(status, 200);
        assert_eq!(
            body,
            json!({"success": true, "errors": [], "messages": [], "result": [],
               "result_info": {"count": 0, "page": 1, "per_page": 0, "total_count": 0, "total_pages": 1}})
        );
    })
    .await;
}

#[tokio::test]
async fn at_most_max_batch_items() {
    on_each_backend(|| async {
        let users: Vec<Value> = (0..1000)
            .map(|i| json!({"email": format!("u{i}@x.com"), "seat_uid": format!("s{i}")}))
            .collect();
        let seed = json!({"accounts": [{"id": ACCOUNT, "name": "big", "seat_limit": 1000, "users": users}],
        "tokens": test_seed()["tokens"].clone()});
        let app = spawn_app(&seed).await;
        let items: Vec<Value> = (0..1000).map(|i| item(&format!("s{i}"), true, false)).collect();
        let (status, body) = parts(app.patch_seats(&json!(items)).await).await;
        assert_eq!(status, 200);
        assert_eq!(body["result"].as_array().unwrap().len(), 1000);
        assert_eq!(body["result_info"]["count"], 1000);
        let mut items = items;
        items.push(item("s0", false, false));
        assert_error(
            app.patch_seats(&json!(items)).await,
            400,
            &[(
                12006,
                "access.api.error.invalid_request: at most 1000 seats per request, got 1001",
                Some(""),
            )],
        )
        .await;
    })
    .await;
}

#[tokio::test]
async fn result_is_in_request_order_and_flags_are_set_as_given() {
    on_each_backend(|| async {
        let app = spawn_app(&test_seed()).await;
        let body = json!([
            item("carol", false, true),
            item("bob", true, false),
            item(ALICE_SEAT, true, false)
        ]);
        let (_, resp) = parts(app.patch_seats(&body).await).await;
        let got: Vec<(Value, Value, Value)> = resp["result"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                (
                    s["seat_uid"].clone(),
                    s["access_seat"].clone(),
                    s["gateway_seat"].clone(),
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                (json!("carol"), json!(false), json!(true)),
                (json!("bob"), json!(true), json!(false)),
                (json!(ALICE_SEAT), json!(true), json!(false)),
            ]
        );
        for uid in ["carol", "bob", ALICE_SEAT] {
            let u = app.user(uid).await;
            let expected = body.as_array().unwrap().iter().find(|i| i["seat_uid"] == uid).unwrap();
            assert_eq!(json!(u.access_seat), expected["access_seat"]);
            assert_eq!(json!(u.gateway_seat), expected["gateway_seat"]);
        }
    })
    .await;
}

#[tokio::test]
async fn access_off_ends_sessions_gateway_off_ends_devices_both_off_frees_the_seat() {
    on_each_backend(|| async {
        let app = spawn_app(&test_seed()).await;
        let alice = app.user(ALICE_SEAT).await;
        assert_eq!((alice.active_device_count, alice.active_session_count), (2, 1));

        app.patch_seats(&json!([item(ALICE_SEAT, false, true)])).await;
        let alice = app.user(ALICE_SEAT).await;
        assert_eq!((alice.active_device_count, alice.active_session_count), (2, 0));

        app.patch_seats(&json!([item(ALICE_SEAT, false, false)])).await;
        let alice = app.user(ALICE_SEAT).await;
        assert_eq!((alice.active_device_count, alice.active_session_count), (0, 0));
        assert_eq!(alice.seat_granted_at, None, "the seat is freed");
        assert_eq!(alice.email, "alice@example.com", "the user record stays");
    })
    .await;
}

#[tokio::test]
async fn updated_at_changes_only_on_a_real_change_so_retries_repeat_the_body() {
    on_each_backend(|| async {
        let app = spawn_app(&test_seed()).await;
        let body = json!([item("carol", true, false)]); // carol already has exactly this
        let (_, first) = parts(app.patch_seats(&body).await).await;
        assert_eq!(first["result"][0]["created_at"], first["result"][0]["updated_at"]);
        assert_eq!(app.audit_count(ACCOUNT).await, 0, "a no-op is not audited");

        let change = example_body();
        let (_, changed) = parts(app.patch_seats(&change).await).await;
        let (_, retried) = parts(app.patch_seats(&change).await).await;
        assert_eq!(changed, retried, "a retried request returns the same body");
        assert_eq!(app.audit_count(ACCOUNT).await, 1);
    })
    .await;
}

#[tokio::test]
async fn limit_is_judged_on_the_state_after_the_batch() {
    on_each_backend(|| async {
        // OTHER_ACCOUNT has limit 1 and dave holds it.
        let app = spawn_app(&test_seed()).await;
        let wildcard = Auth::Token("wildcard-token");
        // Free one and take one in the same batch: fits.
        let resp = app
            .patch_seats_as(
                OTHER_ACCOUNT,
                wildcard,
                &json!([item("erin", true, true), item("dave", false, false)]),
            )
            .await;
        assert_eq!(resp.status(), 200);
        assert!(app.user_in(OTHER_ACCOUNT, "erin").await.gateway_seat);
        // Changing flags of a seat already held does not take another.
        let resp = app
            .patch_seats_as(OTHER_ACCOUNT, wildcard, &json!([item("erin", false, true)]))
            .await;
        assert_eq!(resp.status(), 200);
        // Taking a second seat fails and the whole batch is refused.
        let resp = app
            .patch_seats_as(
                OTHER_ACCOUNT,
                wildcard,
                &json!([item("erin", true, true), item("dave", true, false)]),
            )
            .await;
        assert_error(
            resp,
            409,
            &[(12009, "access.api.error.seat_limit_reached: 1/1 seats in use", None)],
        )
        .await;
        let erin = app.user_in(OTHER_ACCOUNT, "erin").await;
        assert_eq!(
            (erin.access_seat, erin.gateway_seat),
            (false, true),
            "no part of a refused batch applies"
        );
    })
    .await;
}

#[tokio::test]
async fn an_account_over_its_limit_can_still_free_seats() {
    on_each_backend(|| async {
        let seed = json!({
            "accounts": [{"id": ACCOUNT, "name": "x", "seat_limit": 2, "users": [
                {"email": "a@x.com", "seat_uid": "a", "access_seat": true},
                {"email": "b@x.com", "seat_uid": "b", "access_seat": true},
                {"email": "c@x.com", "seat_uid": "c"}]}],
            "tokens": test_seed()["tokens"].clone()
        });
        let app = spawn_app(&seed).await;
        // Lower the limit below usage, as an operator would.
        app.db.execute("UPDATE accounts SET seat_limit = 1").await;
        let resp = app.patch_seats(&json!([item("a", false, false)])).await;
        assert_eq!(resp.status(), 200, "freeing is allowed while over the limit");
        let resp = app
            .patch_seats(&json!([
                item("b", false, false),
                item("c", true, false),
                item("a", true, false)
            ]))
            .await;
        assert_error(
            resp,
            409,
            &[(12009, "access.api.error.seat_limit_reached: 1/1 seats in use", None)],
        )
        .await;
    })
    .await;
}

#[tokio::test]
async fn every_change_is_audited_with_its_actor() {
    on_each_backend(|| async {
        let app = spawn_app(&test_seed()).await;
        app.patch_seats(&json!([
            item("bob", true, true),
            item("carol", true, false),
            item(ALICE_SEAT, false, false)
        ]))
        .await;
        let (events, total) = app.store.audit_events(ACCOUNT, 1, 10).await.unwrap();
        assert_eq!(total, 2, "carol did not change");
        assert_eq!(events[0].subject, ALICE_SEAT);
        assert_eq!(events[0].action, "seat.remove");
        assert_eq!(events[1].subject, "bob");
        assert_eq!(events[1].action, "seat.update");
        assert_eq!(
            events[1].before,
            Some(json!({"access_seat": false, "gateway_seat": false}))
        );
        assert_eq!(
            events[1].after,
            Some(json!({"access_seat": true, "gateway_seat": true}))
        );
        assert!(events
            .iter()
            .all(|e| e.actor == seats_store::Actor::Token("demo".into())));
    })
    .await;
}
