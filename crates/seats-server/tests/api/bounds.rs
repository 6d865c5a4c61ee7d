//! Bounded input on every write route: each field is tried at its bound (accepted), just past
//! it and with values of every JSON type drawn from a seeded generator. Whatever is sent, the
//! answer is never a 5xx; a refusal is 400 12006 naming the field, and leaves the whole state
//! as it was (compared through a full export of the store).

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::*;

/// Everything the store holds, in export order.
async fn state(app: &TestApp) -> Vec<seats_store::export::Record> {
    app.store.export_records().await.unwrap()
}

/// One write route and the body it is sent, with one field replaced.
struct Route {
    method: Method,
    /// Under `/client/v4` (with the member's key) or, starting with `/_seats`, the operator API.
    path: String,
    body: Value,
}

impl Route {
    async fn send(&self, app: &TestApp, field: &str, value: &Value) -> (StatusCode, Value) {
        let mut body = self.body.clone();
        body[field] = value.clone();
        match self.path.strip_prefix("/_seats/v1") {
            Some(path) => app.operator(self.method.clone(), path, Some(body)).await,
            None => {
                app.call(self.method.clone(), &self.path, Auth::Key(EMAIL, KEY), Some(body))
                    .await
            }
        }
    }
}

/// A field of a route: values past its bound with the problem each causes, and a value at it.
type Case<'a> = (Route, &'a str, Vec<(Value, &'a str)>, Value);

fn route(method: Method, path: &str, body: Value) -> Route {
    Route {
        method,
        path: path.to_owned(),
        body,
    }
}

/// Values of every JSON type, from a seeded generator: control characters and long strings
/// included, numbers around the int64 and uint64 edges, floats, arrays and objects.
fn arbitrary(rng: &mut StdRng) -> Value {
    match rng.random_range(0..9) {
        0 => Value::Null,
        1 => json!(rng.random::<bool>()),
        2 => json!(rng.random::<i64>()),
        3 => json!(rng.random::<u64>()),
        4 => json!(rng.random::<f64>() * 1e30),
        5 => {
            let len = [0, 1, 64, 255, 256, 5000][rng.random_range(0..6)];
            json!((0..len)
                .map(|_| char::from_u32(rng.random_range(0..0x300)).unwrap_or('x'))
                .collect::<String>())
        }
        6 => json!([1, "a", null]),
        7 => json!({"nested": {"deep": [true]}}),
        _ => json!(["9223372036854775808", "-1", "1e400", "\u{0}", "a@b", "<a@example.com>"][rng.random_range(0..6)]),
    }
}

#[tokio::test]
async fn every_write_route_refuses_out_of_bound_values_cleanly_and_accepts_the_bound() {
    on_each_backend(|| async {
        let app = TestApp::builder().seed(&test_seed()).operator().start().await;
        let users = format!("/accounts/{ACCOUNT}/access/users");
        let alice = app.user(ALICE_SEAT).await;
        let user = format!("{users}/{}", alice.id);
        let account = format!("/_seats/v1/accounts/{ACCOUNT}");
        let logins = format!("{account}/logins");
        let organizations = format!("/accounts/{ACCOUNT}/access/organizations");
        let name_255 = json!("é".repeat(255));
        let name_256 = json!("é".repeat(256));
        let local_64 = "l".repeat(64);

        let cases: Vec<Case> = vec![
            (
                route(Method::POST, &users, json!({"email": "new@example.com", "name": "New"})),
                "name",
                vec![
                    (name_256.clone(), "name must be at most 255 characters"),
                    (json!("a\u{0}b"), "name must not contain control characters"),
                    (json!("line\nbreak"), "name must not contain control characters"),
                ],
                name_255.clone(),
            ),
            (
                route(Method::POST, &users, json!({"email": "x@example.com", "name": "New"})),
                "email",
                vec![
                    (json!("<a@example.com>"), "email must be a valid email address"),
                    (json!("a@example..com"), "email must be a valid email address"),
                    (json!("a@-example.com"), "email must be a valid email address"),
                    (json!(format!("{local_64}l@example.com")), "email must be a valid email address"),
                ],
                json!(format!("{local_64}@example.com")),
            ),
            (
                route(Method::PUT, &user, json!({"email": "alice@example.com", "name": "Alice"})),
                "name",
                vec![(name_256.clone(), "name must be at most 255 characters")],
                name_255.clone(),
            ),
            (
                route(Method::POST, "/_seats/v1/accounts", json!({"name": "Acme", "seat_limit": 5})),
                "seat_limit",
                vec![
                    (json!(9_223_372_036_854_775_808u64), "seat_limit must be an integer between 0 and 9223372036854775807"),
                    (json!(u64::MAX), "seat_limit must be an integer between 0 and 9223372036854775807"),
                    (json!(-1), "seat_limit must be an integer between 0 and 9223372036854775807"),
                    (json!(1.5), "seat_limit must be an integer between 0 and 9223372036854775807"),
                ],
                json!(i64::MAX),
            ),
            (
                route(Method::POST, "/_seats/v1/accounts", json!({"name": "Acme", "seat_limit": 5})),
                "name",
                vec![(name_256.clone(), "name must be at most 255 characters")],
                name_255.clone(),
            ),
            (
                route(Method::PATCH, &account, json!({})),
                "seat_limit",
                vec![(json!(u64::MAX), "seat_limit must be an integer between 0 and 9223372036854775807")],
                json!(i64::MAX),
            ),
            (
                route(Method::POST, &logins, json!({"email": "dave2@example.com", "via": "access"})),
                "device_id",
                vec![
                    (json!("d".repeat(129)), "device_id must be at most 128 characters"),
                    (json!("dev\u{0}ice"), "device_id must not contain control characters"),
                ],
                json!("d".repeat(128)),
            ),
            (
                route(Method::POST, "/_seats/v1/tokens", json!({"name": "t", "policies": []})),
                "name",
                vec![(name_256.clone(), "name must be at most 255 characters")],
                name_255.clone(),
            ),
            (
                route(Method::PUT, &organizations, json!({"name": "Org", "auth_domain": "org.cloudflareaccess.com"})),
                "auth_domain",
                vec![
                    (Value::Null, "auth_domain is required and cannot be null"),
                    (json!("-org.example"), "auth_domain must be a host name such as team.cloudflareaccess.com"),
                    (json!("org..example"), "auth_domain must be a host name such as team.cloudflareaccess.com"),
                ],
                json!(format!("{}.example", "a".repeat(63))),
            ),
            (
                route(Method::PUT, &organizations, json!({"name": "Org", "auth_domain": "org.cloudflareaccess.com"})),
                "name",
                vec![
                    (Value::Null, "name is required and cannot be null"),
                    (name_256.clone(), "name must be at most 255 characters"),
                ],
                name_255.clone(),
            ),
            (
                route(Method::POST, "/_seats/v1/members", json!({"email": "m@example.com", "accounts": [ACCOUNT]})),
                "email",
                vec![
                    (json!("<m@example.com>"), "email must be a valid email address"),
                    (json!("m@exa\u{0}mple.com"), "email must be a valid email address"),
                ],
                json!(format!("{local_64}@example.com")),
            ),
            (
                route(Method::PATCH, "/_seats/v1/tokens/readonly", json!({})),
                "status",
                vec![(json!("paused"), "status must be active or disabled, got \"paused\"")],
                json!("disabled"),
            ),
            (
                route(Method::POST, "/_seats/v1/clock", json!({})),
                "advance",
                // Past what a Go duration holds (about 292 years; the year-9999 edge of the clock
                // is tested in operator.rs).
                vec![(
                    json!("876000000h"),
                    "advance must be a positive Go duration such as 800h: invalid duration \"876000000h\"",
                )],
                json!("1h"),
            ),
        ];
        // PUT organizations needs one to exist.
        let (status, body) = app
            .call(
                Method::POST,
                &organizations,
                Auth::Key(EMAIL, KEY),
                Some(json!({"name": "Org", "auth_domain": "org.cloudflareaccess.com"})),
            )
            .await;
        assert_eq!(status, 201, "{body}");

        let mut rng = StdRng::seed_from_u64(9);
        for (route, field, past, at) in &cases {
            let what = format!("{} {} {field}", route.method, route.path);
            let (status, body) = route.send(&app, field, at).await;
            assert!(status.is_success(), "{what} at its bound: {status} {body}");
            if let Some(stored) = body["result"].get(*field) {
                assert_eq!(stored, at, "{what} is stored as sent");
            }
            for (value, problem) in past {
                let before = state(&app).await;
                let (status, body) = route.send(&app, field, value).await;
                assert_eq!(status, 400, "{what} = {value}: {body}");
                let errors = body["errors"].as_array().unwrap();
                assert_eq!(errors.len(), 1, "{what} = {value}: {body}");
                assert_eq!(errors[0]["code"], json!(12006), "{what} = {value}");
                assert_eq!(errors[0]["source"]["pointer"], json!(format!("/{field}")), "{what} = {value}");
                assert_eq!(
                    errors[0]["message"],
                    json!(format!("access.api.error.invalid_request: {problem}")),
                    "{what} = {value}"
                );
                assert!(state(&app).await == before, "{what} = {value} changed the state");
            }
            for _ in 0..12 {
                let value = arbitrary(&mut rng);
                let before = state(&app).await;
                let (status, body) = route.send(&app, field, &value).await;
                assert!(!status.is_server_error(), "{what} = {value}: {status} {body}");
                if !status.is_success() {
                    // A value within bounds may pass the checks and meet a duplicate (12010).
                    let code = &body["errors"][0]["code"];
                    assert!(code == &json!(12006) || code == &json!(12010), "{what} = {value}: {body}");
                    assert!(state(&app).await == before, "{what} = {value} changed the state");
                }
            }
        }

        // Filters of the users list: the text rule of the fields they match (a NUL reached
        // PostgreSQL and came back as a 500).
        let long = "x".repeat(256);
        for (query, pointer, problem) in [
            ("search=a%00b", "/search", "search must not contain control characters"),
            ("email=a%00b@example.com", "/email", "email must not contain control characters"),
            ("name=%0A", "/name", "name must not contain control characters"),
            (&*format!("name={long}"), "/name", "name must be at most 255 characters"),
        ] {
            let (status, body) = app
                .call(Method::GET, &format!("{users}?{query}"), Auth::Key(EMAIL, KEY), None)
                .await;
            assert_eq!(status, 400, "{query}: {body}");
            assert_eq!(
                body["errors"],
                json!([{"code": 12006, "message": format!("access.api.error.invalid_request: {problem}"),
                    "source": {"pointer": pointer}}]),
                "{query}"
            );
        }
        let (status, body) = app
            .call(Method::GET, &format!("{users}?search={}", "é".repeat(255)), Auth::Key(EMAIL, KEY), None)
            .await;
        // The two users named at the bound above.
        assert_eq!(status, 200, "{body}");
        let found: Vec<&str> = body["result"].as_array().unwrap().iter().map(|u| u["email"].as_str().unwrap()).collect();
        assert_eq!(found, ["alice@example.com", "new@example.com"], "{body}");

        // Ids in operator paths that no record can have: 404, never a 500.
        for (method, path) in [
            (Method::GET, "/accounts/a%00b"),
            (Method::PATCH, "/accounts/a%00b"),
            (Method::GET, "/accounts/a%00b/audit"),
            (Method::POST, "/accounts/a%00b/logins"),
            (Method::POST, "/accounts/a%00b/expire-seats"),
            (Method::PATCH, "/tokens/a%00b"),
            (Method::DELETE, "/tokens/a%00b"),
            (Method::DELETE, "/members/a%00b@example.com"),
        ] {
            let body = (method != Method::GET && method != Method::DELETE)
                .then(|| json!({"email": "z@example.com", "via": "access", "status": "active"}));
            let (status, got) = app.operator(method.clone(), path, body).await;
            assert_eq!(status, 404, "{method} {path}: {got}");
            assert_eq!(got["errors"][0]["code"], json!(12130), "{method} {path}: {got}");
        }

        // Pages: int64 as Cloudflare types them; the largest is an empty page, one more is 400.
        let audit = format!("/accounts/{ACCOUNT}/audit");
        for (path, operator) in [(users.as_str(), false), ("/accounts", false), (audit.as_str(), true), ("/accounts", true)] {
            for (page, ok) in [("9223372036854775807", true), ("9223372036854775808", false), ("18446744073709551616", false)] {
                let query = format!("{path}?page={page}&per_page=1000");
                let (status, body) = if operator {
                    app.operator(Method::GET, &query, None).await
                } else {
                    app.call(Method::GET, &query, Auth::Key(EMAIL, KEY), None).await
                };
                if ok {
                    assert_eq!(status, 200, "{query}: {body}");
                    assert_eq!(body["result"], json!([]), "{query}");
                } else {
                    assert_eq!(status, 400, "{query}: {body}");
                    assert_eq!(body["errors"][0]["source"]["pointer"], json!("/page"), "{query}");
                    assert_eq!(
                        body["errors"][0]["message"],
                        json!(format!(
                            "access.api.error.invalid_request: page must be an integer between 1 and 9223372036854775807, got \"{page}\""
                        )),
                        "{query}"
                    );
                }
            }
        }
    })
    .await;
}
