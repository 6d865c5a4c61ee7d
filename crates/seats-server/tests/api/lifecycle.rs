//! The seat lifecycle story (docs/contract.md §6–8) against the real server, driven by the operator API
//! and the Cloudflare API together, with a manual clock.

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::*;

const ACME: &str = "acce55acce55acce55acce55acce55ac";
const ACME_TOKEN: &str = "acme-admin-token";

/// An empty deployment: no accounts, just the operator.
pub fn empty_seed() -> Value {
    json!({})
}

async fn login(app: &TestApp, email: &str, via: &str) -> (reqwest::StatusCode, Value) {
    let mut body = json!({"email": email, "via": via});
    if via == "gateway" {
        body["device_id"] = json!(format!("device-of-{email}"));
    }
    app.operator(Method::POST, &format!("/accounts/{ACME}/logins"), Some(body))
        .await
}

async fn seats_in_use(app: &TestApp) -> u64 {
    let (_, body) = app.operator(Method::GET, &format!("/accounts/{ACME}"), None).await;
    body["result"]["seats_in_use"].as_u64().unwrap()
}

async fn user_by_email(app: &TestApp, email: &str) -> Value {
    let (status, body) = app
        .call(
            Method::GET,
            &format!("/accounts/{ACME}/access/users?email={email}"),
            Auth::Token(ACME_TOKEN),
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["result_info"]["total_count"], 1, "{body}");
    body["result"][0].clone()
}

#[tokio::test]
async fn seat_lifecycle_story() {
    on_each_backend(|| async {
        let app = TestApp::builder().seed(&empty_seed()).operator().start().await;

        // An account with three seats, and a token to administer it.
        let (status, body) = app
            .operator(
                Method::POST,
                "/accounts",
                Some(json!({"id": ACME, "name": "Acme", "seat_limit": 3})),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        assert_eq!(body["result"]["seats_in_use"], 0);
        let groups = [
            "Zero Trust: Seats Write",
            "Access: Audit Logs Read",
            "Access: Organizations, Identity Providers, and Groups Write",
        ];
        let policies = json!([{"effect": "allow", "resources": {format!("com.cloudflare.api.account.{ACME}"): "*"},
            "permission_groups": groups.iter().map(|g| json!({"name": g})).collect::<Vec<_>>()}]);
        let (status, body) = app
            .operator(
                Method::POST,
                "/tokens",
                Some(json!({"id": "acme-admin", "name": "acme admin", "value": ACME_TOKEN, "policies": policies})),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        assert_eq!(
            body["result"]["value"], ACME_TOKEN,
            "the value is shown once, at creation"
        );

        // Three logins take the three seats.
        for (email, via) in [
            ("ann@acme.test", "access"),
            ("bob@acme.test", "access"),
            ("cy@acme.test", "gateway"),
        ] {
            let (status, body) = login(&app, email, via).await;
            assert_eq!(status, 200, "{body}");
            assert_eq!(body["result"]["email"], email);
            assert_eq!(body["result"][format!("{via}_seat")], true);
        }
        assert_eq!(seats_in_use(&app).await, 3);
        let cy = user_by_email(&app, "cy@acme.test").await;
        assert_eq!(cy["active_device_count"], 1);

        // A fourth is refused; the user exists, holds no seat, and the refusal is recorded.
        let resp = app
            .operator_raw(
                Method::POST,
                &format!("/accounts/{ACME}/logins"),
                Some(json!({"email": "dee@acme.test", "name": "Dee", "via": "access"})),
            )
            .await;
        assert_eq!(resp.headers()["x-should-retry"], "false");
        assert_error(
            resp,
            409,
            &[(12009, "access.api.error.seat_limit_reached: 3/3 seats in use", None)],
        )
        .await;
        let dee = user_by_email(&app, "dee@acme.test").await;
        assert_eq!(
            (
                dee["access_seat"].clone(),
                dee["gateway_seat"].clone(),
                dee["name"].clone()
            ),
            (json!(false), json!(false), json!("Dee"))
        );
        assert_eq!(dee["last_successful_login"], Value::Null);
        let dee_id = dee["id"].as_str().unwrap().to_owned();
        let (status, failed) = app
            .call(
                Method::GET,
                &format!("/accounts/{ACME}/access/users/{dee_id}/failed_logins"),
                Auth::Token(ACME_TOKEN),
                None,
            )
            .await;
        assert_eq!(status, 200);
        assert_eq!(failed["result"].as_array().unwrap().len(), 1);
        assert_eq!(failed["result"][0]["metadata"]["reason"], "seat_limit_reached");
        assert_eq!(failed["result"][0]["metadata"]["via"], "access");
        assert_eq!(failed["result"][0]["metadata"]["user_email"], "dee@acme.test");
        assert_eq!(seats_in_use(&app).await, 3);

        // An admin frees Ann's seat with the Cloudflare API; Dee's next login succeeds.
        let ann = user_by_email(&app, "ann@acme.test").await;
        let (status, body) = app
            .call(
                Method::PATCH,
                &format!("/accounts/{ACME}/access/seats"),
                Auth::Token(ACME_TOKEN),
                Some(json!([{"access_seat": false, "gateway_seat": false, "seat_uid": ann["seat_uid"]}])),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(seats_in_use(&app).await, 2);
        let (status, body) = login(&app, "dee@acme.test", "access").await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(seats_in_use(&app).await, 3);
        let (_, sessions) = app
            .call(
                Method::GET,
                &format!("/accounts/{ACME}/access/users/{dee_id}/active_sessions"),
                Auth::Token(ACME_TOKEN),
                None,
            )
            .await;
        assert_eq!(sessions["result"].as_array().unwrap().len(), 1);
        let (_, identity) = app
            .call(
                Method::GET,
                &format!("/accounts/{ACME}/access/users/{dee_id}/last_seen_identity"),
                Auth::Token(ACME_TOKEN),
                None,
            )
            .await;
        assert_eq!(
            (
                identity["result"]["email"].clone(),
                identity["result"]["user_uuid"].clone()
            ),
            (json!("dee@acme.test"), json!(dee_id))
        );

        // Seats expire after 730 h of inactivity.
        let (status, body) = app
            .call(
                Method::POST,
                &format!("/accounts/{ACME}/access/organizations"),
                Auth::Token(ACME_TOKEN),
                Some(json!({"name": "Acme", "auth_domain": "acme.cloudflareaccess.com", "user_seat_expiration_inactive_time": "730h"})),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        assert_eq!(body["result"]["user_seat_expiration_inactive_time"], "730h");

        // 800 hours later, the sweep that falls due frees every inactive seat.
        let (_, before) = app.operator(Method::GET, "/clock", None).await;
        let (status, after) = app
            .operator(Method::POST, "/clock", Some(json!({"advance": "800h"})))
            .await;
        assert_eq!(status, 200, "{after}");
        let moved = after["result"]["now"]
            .as_str()
            .unwrap()
            .parse::<seats_types::Timestamp>()
            .unwrap()
            .unix_micros()
            - before["result"]["now"]
                .as_str()
                .unwrap()
                .parse::<seats_types::Timestamp>()
                .unwrap()
                .unix_micros();
        assert!(moved >= 800 * 3_600_000_000, "{moved}");
        assert_eq!(seats_in_use(&app).await, 0);
        let (_, users) = app
            .call(
                Method::GET,
                &format!("/accounts/{ACME}/access/users"),
                Auth::Token(ACME_TOKEN),
                None,
            )
            .await;
        for u in users["result"].as_array().unwrap() {
            assert_eq!(
                (
                    u["access_seat"].clone(),
                    u["gateway_seat"].clone(),
                    u["active_device_count"].clone()
                ),
                (json!(false), json!(false), json!(0)),
                "{u}"
            );
        }
        // Sessions ended too, and the token issued 800 h ago is still valid (no expiry set).
        let (_, sessions) = app
            .call(
                Method::GET,
                &format!("/accounts/{ACME}/access/users/{dee_id}/active_sessions"),
                Auth::Token(ACME_TOKEN),
                None,
            )
            .await;
        assert_eq!(sessions["result"], json!([]));

        // The audit log tells the whole story, newest first, with actors.
        let (status, audit) = app
            .operator(Method::GET, &format!("/accounts/{ACME}/audit?per_page=100"), None)
            .await;
        assert_eq!(status, 200);
        let mut steps: Vec<(String, String)> = audit["result"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e["action"].as_str().unwrap().to_owned(),
                    e["actor"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        steps.reverse();
        let expected: Vec<(&str, &str)> = vec![
            ("account.create", "operator"),
            ("user.create", "operator"),
            ("seat.grant", "operator"),
            ("user.create", "operator"),
            ("seat.grant", "operator"),
            ("user.create", "operator"),
            ("seat.grant", "operator"),
            ("user.create", "operator"),
            ("login.refused", "operator"),
            ("seat.remove", "acme-admin"),
            ("seat.grant", "operator"),
            ("organization.create", "acme-admin"),
            ("seat.expire", "system"),
            ("seat.expire", "system"),
            ("seat.expire", "system"),
        ];
        let expected: Vec<(String, String)> = expected
            .into_iter()
            .map(|(a, b)| (a.to_owned(), b.to_owned()))
            .collect();
        assert_eq!(steps, expected);
        assert_eq!(audit["result_info"]["total_count"], 15);
        let actor_types: Vec<&str> = audit["result"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["actor_type"].as_str().unwrap())
            .collect();
        assert_eq!(&actor_types[..3], ["system", "system", "system"]);
    })
    .await;
}
