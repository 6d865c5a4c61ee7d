//! The test toolkit of the operator API: the request journal, asserted on the way a user's
//! test would, and fault rules (statuses, delays, resets, hangs) that leave the operator API
//! alone.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::*;

const SEATS_OP: &str = "zero-trust-seats-update-a-user-seat";

async fn spawn(journal_bodies: bool) -> TestApp {
    TestApp::builder()
        .seed(&test_seed())
        .operator()
        .resettable()
        .config(seats_server::ServerConfig {
            journal_bodies,
            ..Default::default()
        })
        .start()
        .await
}

async fn journal(app: &TestApp, query: &str) -> Vec<Value> {
    let (status, body) = app.operator(Method::GET, &format!("/journal{query}"), None).await;
    assert_eq!(status, 200, "{body}");
    body["result"].as_array().unwrap().clone()
}

async fn add_fault(app: &TestApp, rule: Value) -> String {
    let (status, body) = app.operator(Method::POST, "/faults", Some(rule)).await;
    assert_eq!(status, 201, "{body}");
    body["result"]["id"].as_str().unwrap().to_owned()
}

/// Takes Alice's Access seat and creates new@example.com: what a reset must undo.
async fn change_the_state(app: &TestApp) {
    assert_eq!(app.patch_seats(&example_body()).await.status(), 200);
    let (status, _) = app
        .call(
            Method::POST,
            &format!("/accounts/{ACCOUNT}/access/users"),
            Auth::Token(TOKEN),
            Some(json!({"email": "new@example.com"})),
        )
        .await;
    assert_eq!(status, 201);
}

/// What [`change_the_state`] did is undone.
async fn assert_changes_undone(app: &TestApp) {
    assert!(app.user(ALICE_SEAT).await.access_seat, "Alice's seat is back");
    let (_, users) = app
        .call(
            Method::GET,
            &format!("/accounts/{ACCOUNT}/access/users?email=new@example.com"),
            Auth::Token(TOKEN),
            None,
        )
        .await;
    assert_eq!(users["result"], json!([]), "the user created since is gone");
}

#[tokio::test]
async fn the_journal_says_what_a_job_sent() {
    on_each_backend(|| async {
        let app = spawn(true).await;
        let resp = app.patch_seats(&example_body()).await;
        assert_eq!(resp.status(), 200);
        let request_id = resp.headers()["x-request-id"].to_str().unwrap().to_owned();
        let (status, _) = app
            .call(
                Method::GET,
                &format!("/accounts/{ACCOUNT}/access/users"),
                Auth::Key(EMAIL, KEY),
                None,
            )
            .await;
        assert_eq!(status, 200);
        let resp = app.request(Method::GET, "/client/v4/nowhere").send().await.unwrap();
        assert_eq!(resp.status(), 404);
        app.operator(Method::GET, "/accounts", None).await;

        // "My job sent one PATCH, with these seats, as the demo token."
        let patches = journal(&app, &format!("?operation_id={SEATS_OP}")).await;
        assert_eq!(patches.len(), 1, "{patches:?}");
        let entry = &patches[0];
        assert_eq!(entry["method"], "PATCH");
        assert_eq!(entry["path"], format!("/client/v4/accounts/{ACCOUNT}/access/seats"));
        assert_eq!(entry["account_id"], ACCOUNT);
        assert_eq!(entry["credential_id"], "demo");
        assert_eq!(entry["status"], 200);
        assert_eq!(entry["request_id"], json!(request_id));
        assert_eq!(entry["request_body"], example_body());
        assert_eq!(entry["response_body"]["result"][0]["seat_uid"], ALICE_SEAT);
        assert_eq!(entry["request_bytes"], json!(example_body().to_string().len()));
        assert!(entry["response_bytes"].as_u64().unwrap() > 0);
        assert!(entry.get("fault").is_none());

        let all = journal(&app, "").await;
        let listed: Vec<(String, u64, Option<&str>)> = all
            .iter()
            .map(|e| {
                (
                    e["method"].as_str().unwrap().to_owned(),
                    e["status"].as_u64().unwrap(),
                    e["credential_id"].as_str(),
                )
            })
            .collect();
        assert_eq!(
            listed,
            [
                ("PATCH".into(), 200, Some("demo")),
                ("GET".into(), 200, Some(EMAIL)),
                ("GET".into(), 404, None)
            ],
            "oldest first; the operator API is not journaled"
        );
        assert_eq!(all[1]["operation_id"], "zero-trust-users-get-users");
        assert!(all[2].get("operation_id").is_none(), "no route, no operation");
        assert_eq!(journal(&app, "?status=404").await.len(), 1);
        assert_eq!(
            journal(&app, "?method=get&limit=1").await[0]["status"],
            404,
            "the newest"
        );
        assert_eq!(journal(&app, "?since=2999-01-01T00:00:00Z").await.len(), 0);
        let text = serde_json::to_string(&all).unwrap();
        assert!(!text.contains(TOKEN) && !text.contains(KEY), "never a credential");

        let (status, body) = app.operator(Method::DELETE, "/journal", None).await;
        assert_eq!((status.as_u16(), body["result"].clone()), (200, json!({"cleared": 3})));
        assert_eq!(journal(&app, "").await, Vec::<Value>::new());

        let resp = app
            .operator_raw(Method::GET, "/journal?status=1000&since=yesterday&limit=0", None)
            .await;
        assert_error(
            resp,
            400,
            &[
                (
                    12006,
                    "access.api.error.invalid_request: status must be an HTTP status, got \"1000\"",
                    Some("/status"),
                ),
                (
                    12006,
                    "access.api.error.invalid_request: since must be an RFC 3339 time, got \"yesterday\"",
                    Some("/since"),
                ),
                (
                    12006,
                    "access.api.error.invalid_request: limit must be an integer between 1 and 10000, got \"0\"",
                    Some("/limit"),
                ),
            ],
        )
        .await;
    })
    .await;
}

#[tokio::test]
async fn secrets_in_bodies_are_redacted_and_bodies_are_kept_only_when_asked() {
    let app = spawn(true).await;
    // Every kind of secret field a provider's config may carry, and one that only names a token.
    let secret_fields = [
        "client_secret",
        "private_key",
        "signing_key",
        "access_token",
        "apiKey",
        "bearer",
        "credentials",
    ];
    let mut config: serde_json::Map<String, Value> = secret_fields
        .iter()
        .map(|k| (k.to_string(), json!(format!("shh-{k}"))))
        .collect();
    config.insert("token_url".into(), json!("https://idp.example/token"));
    let idp = json!({"name": "Okta", "type": "okta", "config": config, "scim_config": {"enabled": true}});
    let (status, body) = app
        .call(
            Method::POST,
            &format!("/accounts/{ACCOUNT}/access/identity_providers"),
            Auth::Key(EMAIL, KEY),
            Some(idp),
        )
        .await;
    assert_eq!(status, 201);
    let secret = body["result"]["scim_config"]["secret"].as_str().unwrap().to_owned();
    // The API stores none of them and shows them masked; the journal keeps none of them.
    let entry = &journal(&app, "?method=POST").await[0];
    for field in secret_fields {
        assert_eq!(body["result"]["config"][field], "**********", "{field}");
        assert_eq!(entry["request_body"]["config"][field], "[redacted]", "{field}");
        assert!(!serde_json::to_string(entry).unwrap().contains(&format!("shh-{field}")));
    }
    assert_eq!(body["result"]["config"]["token_url"], "https://idp.example/token");
    assert_eq!(
        entry["request_body"]["config"]["token_url"],
        "https://idp.example/token"
    );
    assert_eq!(entry["response_body"]["result"]["scim_config"]["secret"], "[redacted]");
    assert!(!serde_json::to_string(entry).unwrap().contains(&secret));

    let plain = spawn(false).await;
    plain.patch_seats(&example_body()).await;
    let entry = &journal(&plain, "").await[0];
    assert!(
        entry.get("request_body").is_none() && entry.get("response_body").is_none(),
        "{entry}"
    );
    assert_eq!(
        entry["request_bytes"],
        json!(example_body().to_string().len()),
        "sizes are kept"
    );
}

#[tokio::test]
async fn a_one_shot_429_then_service_as_usual() {
    on_each_backend(|| async {
        let app = spawn(false).await;
        let id = add_fault(
            &app,
            json!({"match": {"operation_id": SEATS_OP}, "action": {"status": 429}, "times": 1}),
        )
        .await;
        let resp = app.patch_seats(&example_body()).await;
        assert_eq!(resp.headers()["retry-after"], "1");
        assert_error(
            resp,
            429,
            &[(971, "Please wait and consider throttling your request speed", None)],
        )
        .await;
        assert!(
            app.user(ALICE_SEAT).await.access_seat,
            "the faulted request changed nothing"
        );
        assert_eq!(app.patch_seats(&example_body()).await.status(), 200);
        assert!(!app.user(ALICE_SEAT).await.access_seat);

        let entries = journal(&app, "").await;
        assert_eq!(entries[0]["fault"], json!(id));
        assert_eq!(entries[0]["status"], 429);
        assert!(entries[1].get("fault").is_none());
        let (_, rules) = app.operator(Method::GET, "/faults", None).await;
        assert_eq!(rules["result"][0]["fired"], 1);
        assert_eq!(rules["result"][0]["remaining"], 0);
    })
    .await;
}

#[tokio::test]
async fn statuses_delays_resets_hangs_and_credentials() {
    let app = spawn(false).await;
    let users = format!("/client/v4/accounts/{ACCOUNT}/access/users");

    // A 503 for the demo token only, with Cloudflare's shape and a hint to retry.
    add_fault(
        &app,
        json!({"match": {"credential_id": "demo", "path": "/client/v4/accounts/*/access/users"},
        "action": {"status": 503, "message": "down for maintenance"}}),
    )
    .await;
    let resp = Auth::Token(TOKEN)
        .apply(app.request(Method::GET, &users))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["x-should-retry"], "true");
    assert_error(resp, 503, &[(10003, "down for maintenance", None)]).await;
    let (status, _) = app
        .call(
            Method::GET,
            &format!("/accounts/{ACCOUNT}/access/users"),
            Auth::Key(EMAIL, KEY),
            None,
        )
        .await;
    assert_eq!(status, 200, "another credential is served");

    // Never the operator API or the health checks, even with a rule on every path.
    add_fault(&app, json!({"match": {"path": "*"}, "action": {"status": 500}})).await;
    let (status, rules) = app.operator(Method::GET, "/faults", None).await;
    assert_eq!((status.as_u16(), rules["result"].as_array().unwrap().len()), (200, 2));
    assert_eq!(app.request(Method::GET, "/healthz").send().await.unwrap().status(), 200);
    let (status, body) = app.operator(Method::DELETE, "/faults", None).await;
    assert_eq!((status.as_u16(), body["result"].clone()), (200, json!({"removed": 2})));

    add_fault(
        &app,
        json!({"match": {"method": "GET", "path": "/client/v4/accounts"}, "action": {"delay_ms": 300}, "times": 1}),
    )
    .await;
    let started = Instant::now();
    let (status, _) = app.call(Method::GET, "/accounts", Auth::Token(TOKEN), None).await;
    assert_eq!(status, 200, "delayed, then served");
    assert!(started.elapsed() >= Duration::from_millis(300));

    add_fault(
        &app,
        json!({"match": {"method": "GET", "path": "/client/v4/accounts"}, "action": {"reset": true}, "times": 1}),
    )
    .await;
    let err = Auth::Token(TOKEN)
        .apply(app.request(Method::GET, "/client/v4/accounts"))
        .send()
        .await
        .unwrap_err();
    assert!(
        err.is_request() && !err.is_timeout(),
        "the connection closed unanswered: {err:?}"
    );

    add_fault(
        &app,
        json!({"match": {"method": "GET", "path": "/client/v4/accounts"}, "action": {"hang": true}, "times": 1}),
    )
    .await;
    let err = Auth::Token(TOKEN)
        .apply(app.request(Method::GET, "/client/v4/accounts"))
        .timeout(Duration::from_millis(500))
        .send()
        .await
        .unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    let (status, _) = app.call(Method::GET, "/accounts", Auth::Token(TOKEN), None).await;
    assert_eq!(status, 200, "the rules ran out");

    let resp = app
        .operator_raw(
            Method::POST,
            "/faults",
            Some(json!({"action": {"status": 200, "reset": true}, "probability": 2, "times": 0})),
        )
        .await;
    let p = "access.api.error.invalid_request: ";
    assert_error(
        resp,
        400,
        &[
            (
                12006,
                &format!("{p}status must be between 400 and 599, got 200"),
                Some("/action/status"),
            ),
            (
                12006,
                &format!("{p}choose one of status, reset and hang"),
                Some("/action"),
            ),
            (
                12006,
                &format!("{p}probability must be between 0 and 1, got 2"),
                Some("/probability"),
            ),
            (12006, &format!("{p}times must be at least 1"), Some("/times")),
        ],
    )
    .await;
    let resp = app
        .operator_raw(Method::POST, "/faults", Some(json!({"action": {"status": "soon"}})))
        .await;
    assert_error(
        resp,
        400,
        &[(
            12006,
            &format!("{p}invalid type: string \"soon\", expected u16"),
            Some("/action/status"),
        )],
    )
    .await;
    let resp = app.operator_raw(Method::DELETE, "/faults/fault-99", None).await;
    assert_error(
        resp,
        404,
        &[(
            12130,
            "access.api.error.not_found: no fault rule \"fault-99\"",
            Some(""),
        )],
    )
    .await;
}

#[tokio::test]
async fn reset_goes_back_to_the_start_seed_and_clears_faults_journal_and_clock() {
    on_each_backend(|| async {
        let app = spawn(false).await;
        change_the_state(&app).await;
        add_fault(
            &app,
            json!({"match": {"path": "/client/v4/accounts"}, "action": {"status": 500}}),
        )
        .await;
        let (_, clock) = app
            .operator(Method::POST, "/clock", Some(json!({"advance": "800h"})))
            .await;
        let advanced = clock["result"]["now"].as_str().unwrap().to_owned();

        let (status, body) = app.operator(Method::POST, "/reset", None).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["result"], json!({"accounts": 2, "users": 5}));
        assert_changes_undone(&app).await;
        let (_, rules) = app.operator(Method::GET, "/faults", None).await;
        assert_eq!(rules["result"], json!([]));
        let (status, _) = app.call(Method::GET, "/accounts", Auth::Token(TOKEN), None).await;
        assert_eq!(status, 200, "the fault is gone");
        assert_eq!(journal(&app, "").await.len(), 2, "cleared, then the two requests above");
        let (_, clock) = app.operator(Method::GET, "/clock", None).await;
        assert!(
            clock["result"]["now"].as_str().unwrap() < advanced.as_str(),
            "back to the real time"
        );
        assert_eq!(app.audit_count(ACCOUNT).await, 0);
    })
    .await;
}

#[tokio::test]
async fn a_reset_to_the_same_seed_puts_back_the_last_load_and_a_changed_seed_loads_again() {
    on_each_backend(|| async {
        // The seed a reset reads, as a file would be: a test changes it between resets.
        let text = Arc::new(Mutex::new(test_seed().to_string()));
        let source: seats_server::toolkit::snapshots::SeedSource = {
            let text = text.clone();
            Arc::new(move || Ok(seats_store::seed::parse(text.lock().unwrap().as_bytes()).expect("valid seed")))
        };
        let app = TestApp::builder()
            .seed(&test_seed())
            .operator()
            .start_seed(source)
            .start()
            .await;
        let reset = || async {
            let (status, body) = app.operator(Method::POST, "/reset", None).await;
            assert_eq!(status, 200, "{body}");
            body["result"].clone()
        };

        assert_eq!(reset().await, json!({"accounts": 2, "users": 5}));
        let first = app.user("bob").await;
        for _ in 0..2 {
            change_the_state(&app).await;
            assert_eq!(reset().await, json!({"accounts": 2, "users": 5}));
            assert_changes_undone(&app).await;
            assert_eq!(app.audit_count(ACCOUNT).await, 0);
            let again = app.user("bob").await;
            if seats_store::testing::backend() == seats_store::testing::Backend::Sqlite {
                // Put back from the image of the first reset's load: the times the seed
                // leaves unset are that load's.
                assert_eq!(
                    (again.id.as_str(), again.created_at),
                    (first.id.as_str(), first.created_at)
                );
            } else {
                assert!(
                    again.created_at > first.created_at,
                    "PostgreSQL loads the seed at every reset"
                );
            }
        }

        // The seed changed (another user): the next reset loads it, not the image.
        let mut changed = test_seed();
        changed["accounts"][0]["users"].as_array_mut().unwrap().push(
            json!({"email": "frank@example.com", "seat_uid": "frank", "access_seat": true, "gateway_seat": false}),
        );
        *text.lock().unwrap() = changed.to_string();
        assert_eq!(reset().await, json!({"accounts": 2, "users": 6}));
        assert!(app.user("frank").await.access_seat);
        assert!(app.user("bob").await.created_at > first.created_at, "loaded anew");
        // And that load's image serves the next reset.
        assert_eq!(
            app.patch_seats(&json!([{"seat_uid": "frank", "access_seat": false, "gateway_seat": false}]))
                .await
                .status(),
            200
        );
        assert_eq!(reset().await, json!({"accounts": 2, "users": 6}));
        assert!(app.user("frank").await.access_seat);
    })
    .await;
}

#[tokio::test]
async fn snapshots_restore_exactly_while_requests_keep_arriving() {
    on_each_backend(|| async {
        let app = spawn(false).await;
        let (status, body) = app.operator(Method::POST, "/snapshots", Some(json!({"name": "before-offboarding"}))).await;
        assert_eq!(status, 201, "{body}");
        assert_eq!(body["result"]["name"], "before-offboarding");
        assert!(body["result"]["records"].as_u64().unwrap() > 5);

        assert_eq!(app.patch_seats(&example_body()).await.status(), 200);
        assert!(!app.user(ALICE_SEAT).await.access_seat);

        // Readers keep reading while the restore runs: each sees Alice with or without her
        // seat, as one state or the other, never an error or a half-restored account.
        let reader = {
            let client = app.client.clone();
            let url = app.url(&format!("/client/v4/accounts/{ACCOUNT}/access/users?email=alice@example.com"));
            tokio::spawn(async move {
                let mut seen = Vec::new();
                for _ in 0..40 {
                    let resp = client.get(&url).bearer_auth(TOKEN).send().await.unwrap();
                    assert_eq!(resp.status(), 200);
                    let body: Value = resp.json().await.unwrap();
                    assert_eq!(body["result"].as_array().unwrap().len(), 1, "{body}");
                    seen.push(body["result"][0]["access_seat"].as_bool().unwrap());
                }
                seen
            })
        };
        let (status, body) = app.operator(Method::POST, "/snapshots/before-offboarding/restore", None).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["result"], json!({"accounts": 2, "users": 5}));
        let seen = reader.await.unwrap();
        assert!(seen.windows(2).all(|w| w[0] <= w[1]), "before, then after, never back: {seen:?}");
        assert!(app.user(ALICE_SEAT).await.access_seat, "restored");

        let (_, list) = app.operator(Method::GET, "/snapshots", None).await;
        assert_eq!(list["result"].as_array().unwrap().len(), 1);
        let resp = app.operator_raw(Method::POST, "/snapshots", Some(json!({"name": "before-offboarding"}))).await;
        assert_error(resp, 409, &[(12010, "access.api.error.conflict: a snapshot named before-offboarding exists", None)]).await;
        let resp = app.operator_raw(Method::POST, "/snapshots", Some(json!({"name": "no spaces"}))).await;
        assert_error(
            resp,
            400,
            &[(12006, "access.api.error.invalid_request: name must be 1 to 64 letters, digits, '.', '_' or '-', got \"no spaces\"", Some("/name"))],
        )
        .await;
        let (status, _) = app.operator(Method::DELETE, "/snapshots/before-offboarding", None).await;
        assert_eq!(status, 200);
        let resp = app.operator_raw(Method::POST, "/snapshots/before-offboarding/restore", None).await;
        assert_error(resp, 404, &[(12130, "access.api.error.not_found: no snapshot \"before-offboarding\"", Some(""))]).await;
    })
    .await;
}
