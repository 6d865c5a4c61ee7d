//! The users API (docs/contract.md §6): pagination, filters, CRUD and every error path.

use std::collections::HashSet;

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::*;

fn many_users(n: usize) -> Value {
    let mut seed = test_seed();
    let users: Vec<Value> = (0..n)
        .map(|i| json!({"email": format!("user{i:04}@example.com"), "name": format!("User {i:04}"), "seat_uid": format!("s{i}")}))
        .collect();
    seed["accounts"][1]["users"] = json!(users);
    seed["accounts"][1]["seat_limit"] = json!(n);
    seed
}

async fn list(app: &TestApp, account: &str, query: &str) -> (u16, Value) {
    let (status, body) = app
        .call(
            Method::GET,
            &format!("/accounts/{account}/access/users{query}"),
            Auth::Token("wildcard-reader"),
            None,
        )
        .await;
    (status.as_u16(), body)
}

/// The test seed plus a token that may read users on every account.
fn with_reader(mut seed: Value) -> Value {
    seed["tokens"]
        .as_array_mut()
        .unwrap()
        .push(json!({"name": "reader", "value": "wildcard-reader", "policies": [
        {"effect": "allow", "resources": {"com.cloudflare.api.account.*": "*"},
         "permission_groups": [{"name": "Access: Audit Logs Read"}, {"name": "Zero Trust: Seats Write"}]}]}));
    seed
}

#[tokio::test]
async fn pages_of_1000_1000_500_cover_2500_users_once() {
    on_each_backend(|| async {
        let app = spawn_app(&with_reader(many_users(2500))).await;
        let mut seen = HashSet::new();
        let mut order = Vec::new();
        for (page, expected) in [(1, 1000), (2, 1000), (3, 500)] {
            let (status, body) = list(&app, OTHER_ACCOUNT, &format!("?page={page}&per_page=1000")).await;
            assert_eq!(status, 200);
            assert_eq!(
                body["result_info"],
                json!({"count": expected, "page": page, "per_page": 1000, "total_count": 2500, "total_pages": 3})
            );
            for u in body["result"].as_array().unwrap() {
                assert!(seen.insert(u["id"].as_str().unwrap().to_owned()), "user twice: {u}");
                order.push((
                    u["created_at"].as_str().unwrap().to_owned(),
                    u["id"].as_str().unwrap().to_owned(),
                ));
            }
        }
        assert_eq!(seen.len(), 2500);
        let mut sorted = order.clone();
        sorted.sort();
        assert_eq!(order, sorted, "ordered by created_at, then id");
        // Past the last page: empty, not an error (the SDKs stop there).
        let (status, body) = list(&app, OTHER_ACCOUNT, "?page=4&per_page=1000").await;
        assert_eq!(status, 200);
        assert_eq!(body["result"], json!([]));
        assert_eq!(body["result_info"]["total_count"], 2500);
        // The default page size is 1000.
        let (_, body) = list(&app, OTHER_ACCOUNT, "").await;
        assert_eq!(body["result_info"]["per_page"], 1000);
        assert_eq!(body["result"].as_array().unwrap().len(), 1000);
    })
    .await;
}

#[tokio::test]
async fn filters_and_search() {
    on_each_backend(|| async {
        let mut seed = with_reader(test_seed());
        let users = seed["accounts"][0]["users"].as_array_mut().unwrap();
        users.push(json!({"email": "Percent%Sign@example.com", "name": "100% Sure", "seat_uid": "pct"}));
        users.push(json!({"email": "under_score@example.com", "name": "Under Score", "seat_uid": "und"}));
        users.push(json!({"email": "underxscore@example.com", "name": "Other", "seat_uid": "undx"}));
        let app = spawn_app(&seed).await;
        let emails = |body: &Value| -> Vec<String> {
            body["result"]
                .as_array()
                .unwrap()
                .iter()
                .map(|u| u["email"].as_str().unwrap().to_owned())
                .collect()
        };
        let (_, body) = list(&app, ACCOUNT, "?email=ALICE@example.com").await;
        assert_eq!(
            emails(&body),
            ["alice@example.com"],
            "email is exact, ASCII case-insensitive"
        );
        let (_, body) = list(&app, ACCOUNT, "?email=alice").await;
        assert_eq!(body["result_info"]["total_count"], 0, "not a substring match");
        let (_, body) = list(&app, ACCOUNT, "?name=Bob").await;
        assert_eq!(emails(&body), ["bob@example.com"]);
        let (_, body) = list(&app, ACCOUNT, "?name=bob").await;
        assert_eq!(body["result_info"]["total_count"], 0, "name is exact");
        let (_, body) = list(&app, ACCOUNT, "?search=CAROL").await;
        assert_eq!(emails(&body), ["carol@example.com"]);
        let (_, body) = list(&app, ACCOUNT, "?search=%25").await;
        assert_eq!(emails(&body), ["Percent%Sign@example.com"], "% is literal");
        let (_, body) = list(&app, ACCOUNT, "?search=r_s").await;
        assert_eq!(emails(&body), ["under_score@example.com"], "_ is literal");
        let (_, body) = list(&app, ACCOUNT, "?search=sure").await;
        assert_eq!(emails(&body), ["Percent%Sign@example.com"], "search covers names");
        let (_, body) = list(&app, ACCOUNT, "?search=example.com&per_page=2").await;
        assert_eq!(
            body["result_info"],
            json!({"count": 2, "page": 1, "per_page": 2, "total_count": 6, "total_pages": 3})
        );
    })
    .await;
}

#[tokio::test]
async fn bad_query_values_name_the_parameter() {
    on_each_backend(|| async {
        let app = spawn_app(&with_reader(test_seed())).await;
        let p = "access.api.error.invalid_request: ";
        for (query, pointer, message) in [
            (
                "?page=0",
                "/page",
                "page must be an integer between 1 and 9223372036854775807, got \"0\"",
            ),
            (
                "?per_page=5000",
                "/per_page",
                "per_page must be an integer between 1 and 1000, got \"5000\"",
            ),
            (
                "?page=x",
                "/page",
                "page must be an integer between 1 and 9223372036854775807, got \"x\"",
            ),
        ] {
            let resp = Auth::Token("wildcard-reader")
                .apply(app.request(
                    Method::GET,
                    &format!("/client/v4/accounts/{ACCOUNT}/access/users{query}"),
                ))
                .send()
                .await
                .unwrap();
            assert_error(resp, 400, &[(12006, &format!("{p}{message}"), Some(pointer))]).await;
        }
    })
    .await;
}

#[tokio::test]
async fn create_get_update_delete() {
    on_each_backend(|| async {
        let app = spawn_app(&with_reader(test_seed())).await;
        let auth = Auth::Token("wildcard-reader");
        let users = format!("/accounts/{ACCOUNT}/access/users");
        let (status, body) = app
            .call(
                Method::POST,
                &users,
                auth,
                Some(json!({"email": "new@example.com", "name": "New"})),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        let user = body["result"].clone();
        let id = user["id"].as_str().unwrap().to_owned();
        assert_eq!(user["uid"], user["id"]);
        assert_eq!(
            (user["access_seat"].clone(), user["gateway_seat"].clone()),
            (json!(false), json!(false)),
            "a new user holds no seat"
        );
        assert_eq!(user["last_successful_login"], Value::Null);
        assert_eq!(user["active_device_count"], 0);
        assert_eq!(user["seat_uid"].as_str().unwrap().len(), 36);

        let (status, body) = app.call(Method::GET, &format!("{users}/{id}"), auth, None).await;
        assert_eq!((status.as_u16(), body["result"].clone()), (200, user.clone()));

        let (status, body) = app
            .call(
                Method::PUT,
                &format!("{users}/{id}"),
                auth,
                Some(json!({"email": "NEW@example.com", "name": "Renamed"})),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["result"]["name"], "Renamed");
        assert_eq!(body["result"]["email"], "new@example.com");
        assert_ne!(body["result"]["updated_at"], user["updated_at"]);

        let (status, body) = app.call(Method::DELETE, &format!("{users}/{id}"), auth, None).await;
        assert_eq!(status, 202);
        assert_eq!(
            body,
            json!({"success": true, "errors": [], "messages": [], "result": null})
        );
        let resp = auth
            .apply(app.request(Method::GET, &format!("/client/v4{users}/{id}")))
            .send()
            .await
            .unwrap();
        let msg = format!("access.api.error.not_found: no user with id \"{id}\" in this account");
        assert_error(resp, 404, &[(12130, &msg, Some(""))]).await;
    })
    .await;
}

#[tokio::test]
async fn delete_frees_the_seat_and_ends_sessions_and_devices() {
    on_each_backend(|| async {
        let app = spawn_app(&with_reader(test_seed())).await;
        let alice = app.user(ALICE_SEAT).await;
        assert_eq!((alice.active_device_count, alice.active_session_count), (2, 1));
        let (status, _) = app
            .call(
                Method::DELETE,
                &format!("/accounts/{ACCOUNT}/access/users/{}", alice.id),
                Auth::Token("wildcard-reader"),
                None,
            )
            .await;
        assert_eq!(status, 202);
        let count = |sql| app.db.count(sql, &alice.id);
        assert_eq!(count("SELECT COUNT(*) FROM devices WHERE user_id = $1").await, 0);
        assert_eq!(count("SELECT COUNT(*) FROM sessions WHERE user_id = $1").await, 0);
        assert_eq!(count("SELECT COUNT(*) FROM users WHERE id = $1").await, 0);
        assert_eq!(
            app.store.account(ACCOUNT).await.unwrap().unwrap().seats_in_use,
            1,
            "only carol still holds one"
        );
    })
    .await;
}

#[tokio::test]
async fn user_error_paths() {
    on_each_backend(|| async {
        let app = spawn_app(&with_reader(test_seed())).await;
        let auth = Auth::Token("wildcard-reader");
        let users = format!("/client/v4/accounts/{ACCOUNT}/access/users");
        let p = "access.api.error.invalid_request: ";
        let send = |method: Method, path: String, body: Option<Value>| {
            let mut req = auth.apply(app.request(method, &path));
            if let Some(b) = body {
                req = req.body(b.to_string());
            }
            async move { req.send().await.unwrap() }
        };

        let resp = send(
            Method::POST,
            users.clone(),
            Some(json!({"name": 5, "email": "not-an-email"})),
        )
        .await;
        assert_error(
            resp,
            400,
            &[
                (
                    12006,
                    &format!("{p}email must be a valid email address"),
                    Some("/email"),
                ),
                (12006, &format!("{p}name must be a string"), Some("/name")),
            ],
        )
        .await;
        let resp = send(Method::POST, users.clone(), Some(json!({"email": "BOB@example.com"}))).await;
        assert_eq!(resp.headers()["x-should-retry"], "false");
        assert_error(
            resp,
            409,
            &[(
                12010,
                "access.api.error.conflict: a user with email BOB@example.com already exists",
                None,
            )],
        )
        .await;
        let resp = send(Method::POST, users.clone(), Some(json!(["not", "an", "object"]))).await;
        assert_error(
            resp,
            400,
            &[(12006, &format!("{p}the body must be a JSON object"), Some(""))],
        )
        .await;

        let bob = app.user("bob").await;
        let resp = send(
            Method::PUT,
            format!("{users}/{}", bob.id),
            Some(json!({"email": "robert@example.com", "name": "Rob"})),
        )
        .await;
        assert_error(
            resp,
            400,
            &[(
                12006,
                &format!("{p}email cannot be changed (the user's email is bob@example.com)"),
                Some("/email"),
            )],
        )
        .await;
        let resp = send(
            Method::PUT,
            format!("{users}/{}", bob.id),
            Some(json!({"email": "bob@example.com"})),
        )
        .await;
        assert_error(resp, 400, &[(12006, &format!("{p}name is required"), Some("/name"))]).await;

        for bad in ["not-a-uuid", "00000000-0000-0000-0000-000000000000"] {
            let msg = format!("access.api.error.not_found: no user with id \"{bad}\" in this account");
            for (method, suffix) in [
                (Method::GET, ""),
                (Method::DELETE, ""),
                (Method::GET, "/active_sessions"),
                (Method::GET, "/failed_logins"),
            ] {
                let resp = send(method, format!("{users}/{bad}{suffix}"), None).await;
                assert_error(resp, 404, &[(12130, &msg, Some(""))]).await;
            }
        }
        // A user of another account is not found here.
        let dave = app.user_in(OTHER_ACCOUNT, "dave").await;
        let resp = send(Method::GET, format!("{users}/{}", dave.id), None).await;
        assert_eq!(resp.status(), 404);
        // Never logged in: no identity yet.
        let resp = send(Method::GET, format!("{users}/{}/last_seen_identity", bob.id), None).await;
        assert_error(
            resp,
            404,
            &[(
                12130,
                &format!("access.api.error.not_found: no login recorded for user {}", bob.id),
                Some(""),
            )],
        )
        .await;

        // Permissions: reading users needs Audit Logs Read; writing needs Seats Write.
        let resp = Auth::Token("wildcard-token")
            .apply(app.request(Method::GET, &users))
            .send()
            .await
            .unwrap();
        assert_error(resp, 403, &[(10000, "Authentication error", None)]).await;
        let resp = Auth::Token("read-token")
            .apply(app.request(Method::POST, &users))
            .body(json!({"email": "x@example.com"}).to_string())
            .send()
            .await
            .unwrap();
        assert_error(resp, 403, &[(10000, "Authentication error", None)]).await;
        // Permission is checked before the query and the body.
        let resp = Auth::Token("wildcard-token")
            .apply(app.request(Method::GET, &format!("{users}?page=0")))
            .send()
            .await
            .unwrap();
        assert_error(resp, 403, &[(10000, "Authentication error", None)]).await;
        assert_eq!(app.audit_count(ACCOUNT).await, 0, "nothing was written");
    })
    .await;
}
