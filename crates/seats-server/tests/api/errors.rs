//! Every row of the docs/contract.md §3 error table that applies to PATCH seats, field by field, and the
//! order in which the checks answer. Nothing is written when a check fails.

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::*;

const MISSING: &str = "Missing X-Auth-Key, X-Auth-Email or Authorization headers";

/// The state a failed request must leave untouched.
async fn assert_unchanged(app: &TestApp) {
    let alice = app.user(ALICE_SEAT).await;
    assert!(alice.access_seat && alice.gateway_seat);
    assert_eq!(alice.active_device_count, 2);
    assert_eq!(alice.active_session_count, 1);
    assert_eq!(alice.updated_at, alice.created_at);
    assert_eq!(app.audit_count(ACCOUNT).await, 0);
}

async fn patch_with_headers(app: &TestApp, headers: &[(&str, &str)], body: &str) -> reqwest::Response {
    let mut req = app
        .request(Method::PATCH, &TestApp::seats_path(ACCOUNT))
        .body(body.to_owned());
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    req.send().await.unwrap()
}

#[tokio::test]
async fn missing_credentials_is_9106() {
    on_each_backend(|| async {
        let app = spawn_app(&test_seed()).await;
        let body = example_body().to_string();
        assert_error(
            patch_with_headers(&app, &[], &body).await,
            400,
            &[(9106, MISSING, None)],
        )
        .await;
        assert_error(
            patch_with_headers(&app, &[("X-Auth-Email", EMAIL)], &body).await,
            400,
            &[(9106, MISSING, None)],
        )
        .await;
        assert_error(
            patch_with_headers(&app, &[("X-Auth-Key", KEY)], &body).await,
            400,
            &[(9106, MISSING, None)],
        )
        .await;
        assert_unchanged(&app).await;
    })
    .await;
}

#[tokio::test]
async fn malformed_authorization_is_6003_with_6111() {
    on_each_backend(|| async {
        let app = spawn_app(&test_seed()).await;
        let body = example_body().to_string();
        for value in [
            "Basic dXNlcjpwYXNz",
            "Bearer",
            "Bearer ",
            "Bearer bad token",
            "Bearer tök",
            TOKEN,
        ] {
            let resp = patch_with_headers(&app, &[("Authorization", value)], &body).await;
            let body = assert_error(resp, 400, &[(6003, "Invalid request headers", None)]).await;
            assert_eq!(
                body["errors"][0]["error_chain"],
                json!([{"code": 6111, "message": "Invalid format for Authorization header"}]),
                "for {value:?}"
            );
        }
        assert_unchanged(&app).await;
    })
    .await;
}

#[tokio::test]
async fn a_repeated_credential_header_is_6003_naming_it_even_when_both_copies_are_valid() {
    on_each_backend(|| async {
        let app = TestApp::builder().seed(&test_seed()).operator().start().await;
        let body = example_body().to_string();
        let bearer = format!("Bearer {TOKEN}");
        let twice = |name: &str| format!("Invalid format for {name} header: sent more than once");
        let cases: [(&[(&str, &str)], Value); 3] = [
            (
                &[("Authorization", &bearer), ("Authorization", &bearer)],
                json!([{"code": 6111, "message": twice("Authorization")}]),
            ),
            (
                &[("X-Auth-Email", EMAIL), ("X-Auth-Email", EMAIL), ("X-Auth-Key", KEY)],
                json!([{"code": 6102, "message": twice("X-Auth-Email")}]),
            ),
            (
                &[("X-Auth-Email", EMAIL), ("X-Auth-Key", KEY), ("X-Auth-Key", KEY), ("Authorization", &bearer), ("Authorization", &bearer)],
                json!([{"code": 6111, "message": twice("Authorization")}, {"code": 6103, "message": twice("X-Auth-Key")}]),
            ),
        ];
        for (headers, chain) in cases {
            let resp = patch_with_headers(&app, headers, &body).await;
            let got = assert_error(resp, 400, &[(6003, "Invalid request headers", None)]).await;
            assert_eq!(got["errors"][0]["error_chain"], chain, "for {headers:?}");
        }
        // The operator API too.
        let operator = format!("Bearer {OPERATOR_KEY}");
        let resp = app
            .request(Method::GET, "/_seats/v1/accounts")
            .header("Authorization", &operator)
            .header("Authorization", &operator)
            .send()
            .await
            .unwrap();
        let got = assert_error(resp, 400, &[(6003, "Invalid request headers", None)]).await;
        assert_eq!(got["errors"][0]["error_chain"], json!([{"code": 6111, "message": twice("Authorization")}]));
        assert_unchanged(&app).await;
    })
    .await;
}

#[tokio::test]
async fn malformed_email_or_key_is_6003_with_6102_and_6103() {
    on_each_backend(|| async {
        let app = spawn_app(&test_seed()).await;
        let body = example_body().to_string();
        let email_err = json!({"code": 6102, "message": "Invalid format for X-Auth-Email header"});
        let key_err = json!({"code": 6103, "message": "Invalid format for X-Auth-Key header"});
        let cases = [
            ("not-an-email", KEY, json!([email_err])),
            (EMAIL, "too-short", json!([key_err])),
            ("a@b@c", "x", json!([email_err, key_err])),
        ];
        for (email, key, chain) in cases {
            let resp = patch_with_headers(&app, &[("X-Auth-Email", email), ("X-Auth-Key", key)], &body).await;
            let body = assert_error(resp, 400, &[(6003, "Invalid request headers", None)]).await;
            assert_eq!(body["errors"][0]["error_chain"], chain, "for {email} / {key}");
        }
        assert_unchanged(&app).await;
    })
    .await;
}

#[tokio::test]
async fn service_key_alone_is_10001_and_ignored_beside_a_token() {
    on_each_backend(|| async {
        let app = spawn_app(&test_seed()).await;
        let body = example_body().to_string();
        let resp = patch_with_headers(&app, &[("X-Auth-User-Service-Key", "v1.0-abcdef")], &body).await;
        assert_error(resp, 403, &[(10001, "Unable to authenticate request", None)]).await;
        assert_unchanged(&app).await;
        let resp = patch_with_headers(
            &app,
            &[
                ("X-Auth-User-Service-Key", "v1.0-abcdef"),
                ("Authorization", &format!("Bearer {TOKEN}")),
            ],
            &body,
        )
        .await;
        assert_eq!(resp.status(), 200);
    })
    .await;
}

#[tokio::test]
async fn unknown_disabled_expired_and_future_tokens_are_9109() {
    on_each_backend(|| async {
        let app = spawn_app(&test_seed()).await;
        for token in ["no-such-token", "disabled-token", "expired-token", "future-token"] {
            let resp = app.patch_seats_as(ACCOUNT, Auth::Token(token), &example_body()).await;
            assert_error(resp, 403, &[(9109, "Invalid access token", None)]).await;
        }
        assert_unchanged(&app).await;
    })
    .await;
}

#[tokio::test]
async fn unknown_email_or_wrong_key_is_9103() {
    on_each_backend(|| async {
        let app = spawn_app(&test_seed()).await;
        for (email, key) in [("nobody@example.com", KEY), (EMAIL, "ffffffffffffffffffffffffffffffff")] {
            let resp = app
                .patch_seats_as(ACCOUNT, Auth::Key(email, key), &example_body())
                .await;
            assert_error(resp, 403, &[(9103, "Unknown X-Auth-Key or X-Auth-Email", None)]).await;
        }
        assert_unchanged(&app).await;
    })
    .await;
}

#[tokio::test]
async fn missing_permission_is_10000_also_for_unknown_accounts() {
    on_each_backend(|| async {
        let app = spawn_app(&test_seed()).await;
        let cases = [
            (ACCOUNT, Auth::Token("deny-token")), // explicit deny wins
            (ACCOUNT, Auth::Token("read-token")), // no Seats Write
            (OTHER_ACCOUNT, Auth::Token(TOKEN)),  // another account
            (
                ACCOUNT,
                Auth::Key("other@example.com", "0000000000000000000000000000000000000000"),
            ), // not a member here
            ("ffffffffffffffffffffffffffffffff", Auth::Token("wildcard-token")), // does not exist
            ("ffffffffffffffffffffffffffffffff", Auth::Token(TOKEN)),
        ];
        for (account, auth) in cases {
            let resp = app.patch_seats_as(account, auth, &example_body()).await;
            assert_error(resp, 403, &[(10000, "Authentication error", None)]).await;
        }
        assert_unchanged(&app).await;
        // The same wildcard token does reach an existing account.
        let resp = app
            .patch_seats_as(
                OTHER_ACCOUNT,
                Auth::Token("wildcard-token"),
                &json!([item("dave", true, false)]),
            )
            .await;
        assert_eq!(resp.status(), 200);
    })
    .await;
}

#[tokio::test]
async fn bad_account_id_is_7003_then_7000() {
    on_each_backend(|| async {
        let app = spawn_app(&test_seed()).await;
        for id in [
            "699D98642C564D2E855E9661899B7252",
            "699d98642c564d2e855e9661899b725",
            "not-hex-at-all",
            "699d98642c564d2e855e9661899b7252ff",
        ] {
            let path = TestApp::seats_path(id);
            let resp = app.patch_seats_as(id, Auth::Token(TOKEN), &example_body()).await;
            let msg = format!("Could not route to {path}, perhaps your object identifier is invalid?");
            assert_error(resp, 400, &[(7003, &msg, None), (7000, "No route for that URI", None)]).await;
        }
        assert_unchanged(&app).await;
    })
    .await;
}

#[tokio::test]
async fn unknown_routes_are_7000_and_wrong_methods_7001_with_allow() {
    on_each_backend(|| async {
        let app = spawn_app(&test_seed()).await;
        for path in [
            "/",
            "/client/v4/nothing",
            &format!("/client/v4/accounts/{ACCOUNT}/access/seats/extra"),
            &format!("/client/v4/accounts/{ACCOUNT}/access/apps"),
        ] {
            let resp = app
                .request(Method::GET, path)
                .header("Authorization", format!("Bearer {TOKEN}"))
                .send()
                .await
                .unwrap();
            assert_error(resp, 404, &[(7000, "No route for that URI", None)]).await;
        }
        for method in [Method::GET, Method::PUT, Method::POST, Method::DELETE] {
            let resp = app
                .request(method.clone(), &TestApp::seats_path(ACCOUNT))
                .header("Authorization", format!("Bearer {TOKEN}"))
                .body(example_body().to_string())
                .send()
                .await
                .unwrap();
            assert_eq!(resp.headers()["allow"], "PATCH");
            let msg = format!("Method {method} not available for that URI.");
            assert_error(resp, 405, &[(7001, &msg, None)]).await;
        }
        // Route and method come before the account id check.
        let resp = app
            .request(Method::PUT, &TestApp::seats_path("BAD"))
            .send()
            .await
            .unwrap();
        assert_error(resp, 405, &[(7001, "Method PUT not available for that URI.", None)]).await;
        assert_unchanged(&app).await;
    })
    .await;
}

#[tokio::test]
async fn malformed_json_is_6007() {
    on_each_backend(|| async {
        let app = spawn_app(&test_seed()).await;
        for body in ["", "[", "{\"a\":}", "[{\"access_seat\": false,}]", "nul"] {
            let resp = patch_with_headers(&app, &[("Authorization", &format!("Bearer {TOKEN}"))], body).await;
            assert_error(resp, 400, &[(6007, "Malformed JSON in request body", None)]).await;
        }
        assert_unchanged(&app).await;
    })
    .await;
}

#[tokio::test]
async fn schema_problems_are_all_reported_as_12006() {
    on_each_backend(|| async {
        let app = spawn_app(&test_seed()).await;
        let body = json!([
            {"access_seat": "false", "gateway_seat": false, "seat_uid": ALICE_SEAT},
            {"gateway_seat": false},
            {"access_seat": true, "gateway_seat": true, "seat_uid": "x".repeat(37)},
            {"access_seat": true, "gateway_seat": true, "seat_uid": ALICE_SEAT},
            "seat"
        ]);
        let resp = app.patch_seats(&body).await;
        let p = "access.api.error.invalid_request: ";
        assert_error(
            resp,
            400,
            &[
                (
                    12006,
                    &format!("{p}access_seat must be a boolean"),
                    Some("/0/access_seat"),
                ),
                (12006, &format!("{p}access_seat is required"), Some("/1/access_seat")),
                (12006, &format!("{p}seat_uid is required"), Some("/1/seat_uid")),
                (
                    12006,
                    &format!("{p}seat_uid must be at most 36 characters"),
                    Some("/2/seat_uid"),
                ),
                (
                    12006,
                    &format!("{p}seat_uid \"{ALICE_SEAT}\" appears more than once (first at /0/seat_uid)"),
                    Some("/3/seat_uid"),
                ),
                (
                    12006,
                    &format!("{p}each seat must be an object with access_seat, gateway_seat and seat_uid"),
                    Some("/4"),
                ),
            ],
        )
        .await;
        let resp = app.patch_seats(&json!({"seat_uid": ALICE_SEAT})).await;
        assert_error(
            resp,
            400,
            &[(12006, &format!("{p}the body must be an array of seats"), Some(""))],
        )
        .await;
        assert_unchanged(&app).await;
    })
    .await;
}

#[tokio::test]
async fn oversize_body_is_413_12007() {
    on_each_backend(|| async {
        let config = seats_server::ServerConfig {
            max_body_bytes: 256,
            ..Default::default()
        };
        let app = TestApp::builder().seed(&test_seed()).config(config).start().await;
        let items: Vec<Value> = (0..10).map(|i| item(&format!("seat-{i}"), true, true)).collect();
        let resp = app.patch_seats(&json!(items)).await;
        assert_error(
            resp,
            413,
            &[(
                12007,
                "access.api.error.payload_too_large: request body is larger than 256 bytes",
                Some(""),
            )],
        )
        .await;
        assert_unchanged(&app).await;
    })
    .await;
}

#[tokio::test]
async fn unknown_seat_uids_are_all_reported_as_12130() {
    on_each_backend(|| async {
        let app = spawn_app(&test_seed()).await;
        // `dave` exists, but in another account.
        let body = json!([
            item(ALICE_SEAT, false, false),
            item("nope", true, true),
            item("dave", false, false)
        ]);
        let resp = app.patch_seats(&body).await;
        assert_error(
            resp,
            404,
            &[
                (
                    12130,
                    "access.api.error.not_found: no seat with seat_uid \"nope\" in this account",
                    Some("/1/seat_uid"),
                ),
                (
                    12130,
                    "access.api.error.not_found: no seat with seat_uid \"dave\" in this account",
                    Some("/2/seat_uid"),
                ),
            ],
        )
        .await;
        assert_unchanged(&app).await;
    })
    .await;
}

#[tokio::test]
async fn seat_limit_is_409_12009_and_not_retryable() {
    on_each_backend(|| async {
        let app = spawn_app(&test_seed()).await;
        // OTHER_ACCOUNT: limit 1, dave holds it; erin would be the second.
        let resp = app
            .patch_seats_as(
                OTHER_ACCOUNT,
                Auth::Token("wildcard-token"),
                &json!([item("erin", true, false)]),
            )
            .await;
        assert_eq!(resp.headers()["x-should-retry"], "false");
        assert_error(
            resp,
            409,
            &[(12009, "access.api.error.seat_limit_reached: 1/1 seats in use", None)],
        )
        .await;
        let erin = app.user_in(OTHER_ACCOUNT, "erin").await;
        assert!(!erin.access_seat && !erin.gateway_seat);
        assert_eq!(app.audit_count(OTHER_ACCOUNT).await, 0);
    })
    .await;
}

#[tokio::test]
async fn internal_errors_are_10002_and_leak_nothing() {
    on_each_backend(|| async {
        let app = spawn_app(&test_seed()).await;
        // A real fault: the database refuses every change to users.
        app.db.break_users().await;
        let resp = app.patch_seats(&example_body()).await;
        let body = assert_error(resp, 500, &[(10002, "Internal error", None)]).await;
        let text = body.to_string();
        assert!(
            !text.contains("disk on fire") && !text.contains("users") && !text.contains("/var"),
            "{text}"
        );
        app.db.unbreak_users().await;
        assert_unchanged(&app).await;
        // The writer recovers once the fault is gone.
        assert_eq!(app.patch_seats(&example_body()).await.status(), 200);
    })
    .await;
}

/// The first stage that fails answers alone (docs/contract.md §3, order of checks).
#[tokio::test]
async fn checks_answer_in_order() {
    on_each_backend(|| async {
        let app = spawn_app(&test_seed()).await;
        // Account id before credentials.
        let resp = app.patch_seats_as("BAD", Auth::None, &json!("x")).await;
        assert_eq!(parts(resp).await.1["errors"][0]["code"], 7003);
        // Credentials before the body.
        let resp = patch_with_headers(&app, &[], "{").await;
        assert_eq!(parts(resp).await.1["errors"][0]["code"], 9106);
        // Validity before permission and body.
        let resp = patch_with_headers(&app, &[("Authorization", "Bearer disabled-token")], "{").await;
        assert_eq!(parts(resp).await.1["errors"][0]["code"], 9109);
        // Permission before the body.
        let resp = patch_with_headers(&app, &[("Authorization", "Bearer read-token")], "{").await;
        assert_eq!(parts(resp).await.1["errors"][0]["code"], 10000);
        // Schema before lookups: an unknown seat next to a bad item reports only the schema.
        let resp = app
            .patch_seats(&json!([item("nope", true, true), {"seat_uid": 1}]))
            .await;
        let body = parts(resp).await.1;
        assert!(
            body["errors"].as_array().unwrap().iter().all(|e| e["code"] == 12006),
            "{body}"
        );
        // Lookups before the seat limit.
        let resp = app
            .patch_seats_as(
                OTHER_ACCOUNT,
                Auth::Token("wildcard-token"),
                &json!([item("erin", true, true), item("nope", true, true)]),
            )
            .await;
        assert_eq!(parts(resp).await.1["errors"][0]["code"], 12130);
        assert_unchanged(&app).await;
    })
    .await;
}

/// The exact bodies of the error table, in one reviewable snapshot.
#[tokio::test]
async fn error_table_snapshot() {
    on_each_backend(|| async {
        let app = spawn_app(&test_seed()).await;
        let token = format!("Bearer {TOKEN}");
        let body = example_body().to_string();
        let mut table = serde_json::Map::new();
        let mut record = |name: &str, status: u16, body: Value| {
            table.insert(name.to_owned(), json!({"status": status, "body": body}));
        };
        // (name, headers, path, body)
        type Case<'a> = (&'a str, Vec<(&'a str, &'a str)>, String, String);
        let cases: Vec<Case> = vec![
            (
                "9106 no credentials",
                vec![],
                TestApp::seats_path(ACCOUNT),
                body.clone(),
            ),
            (
                "6003 bad authorization",
                vec![("Authorization", "Token x")],
                TestApp::seats_path(ACCOUNT),
                body.clone(),
            ),
            (
                "6003 bad email and key",
                vec![("X-Auth-Email", "x"), ("X-Auth-Key", "y")],
                TestApp::seats_path(ACCOUNT),
                body.clone(),
            ),
            (
                "10001 service key",
                vec![("X-Auth-User-Service-Key", "v1.0-x")],
                TestApp::seats_path(ACCOUNT),
                body.clone(),
            ),
            (
                "9109 invalid token",
                vec![("Authorization", "Bearer nope")],
                TestApp::seats_path(ACCOUNT),
                body.clone(),
            ),
            (
                "9103 unknown key",
                vec![("X-Auth-Email", "x@y.z"), ("X-Auth-Key", KEY)],
                TestApp::seats_path(ACCOUNT),
                body.clone(),
            ),
            (
                "10000 no permission",
                vec![("Authorization", "Bearer read-token")],
                TestApp::seats_path(ACCOUNT),
                body.clone(),
            ),
            (
                "7003 bad account id",
                vec![("Authorization", &token)],
                TestApp::seats_path("abc"),
                body.clone(),
            ),
            (
                "6007 malformed json",
                vec![("Authorization", &token)],
                TestApp::seats_path(ACCOUNT),
                "[{".into(),
            ),
            (
                "12006 schema",
                vec![("Authorization", &token)],
                TestApp::seats_path(ACCOUNT),
                "[{\"seat_uid\":\"\"}]".into(),
            ),
            (
                "12130 unknown seat",
                vec![("Authorization", &token)],
                TestApp::seats_path(ACCOUNT),
                json!([item("nope", true, true)]).to_string(),
            ),
        ];
        for (name, headers, path, body) in cases {
            let mut req = app.request(Method::PATCH, &path).body(body);
            for (k, v) in headers {
                req = req.header(k, v);
            }
            let (status, body) = parts(req.send().await.unwrap()).await;
            record(name, status.as_u16(), body);
        }
        let (status, body) = parts(app.request(Method::GET, "/nope").send().await.unwrap()).await;
        record("7000 no route", status.as_u16(), body);
        let (status, body) = parts(
            app.request(Method::DELETE, &TestApp::seats_path(ACCOUNT))
                .send()
                .await
                .unwrap(),
        )
        .await;
        record("7001 method", status.as_u16(), body);
        let resp = app
            .patch_seats_as(
                OTHER_ACCOUNT,
                Auth::Token("wildcard-token"),
                &json!([item("erin", true, false)]),
            )
            .await;
        let (status, body) = parts(resp).await;
        record("12009 seat limit", status.as_u16(), body);
        insta::assert_json_snapshot!("error_table_snapshot", Value::Object(table));
    })
    .await;
}
