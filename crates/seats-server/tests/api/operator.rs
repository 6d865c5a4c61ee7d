//! The operator API (docs/contract.md §8): credentials it issues take effect at once; errors field by field.

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::*;

const P: &str = "access.api.error.invalid_request: ";

#[tokio::test]
async fn only_the_operator_key_opens_it() {
    on_each_backend(|| async {
        let app = TestApp::builder().seed(&test_seed()).operator().start().await;
        for auth in [None, Some("wrong-key"), Some(TOKEN)] {
            let mut req = app.request(Method::GET, "/_seats/v1/accounts");
            if let Some(key) = auth {
                req = req.bearer_auth(key);
            }
            assert_error(req.send().await.unwrap(), 403, &[(10000, "Authentication error", None)]).await;
        }
        let (status, body) = app.operator(Method::GET, "/accounts", None).await;
        assert_eq!(status, 200);
        assert_eq!(body["result_info"]["total_count"], 2);
    })
    .await;
}

#[tokio::test]
async fn accounts_create_get_update_and_errors() {
    on_each_backend(|| async {
        let app = TestApp::builder().seed(&test_seed()).operator().start().await;
        let (status, body) = app
            .operator(Method::POST, "/accounts", Some(json!({"name": "Generated"})))
            .await;
        assert_eq!(status, 201);
        let id = body["result"]["id"].as_str().unwrap().to_owned();
        assert!(seats_types::formats::is_account_id(&id), "{id}");
        assert_eq!(body["result"]["seat_limit"], 50, "the Free plan size by default");

        let (status, body) = app
            .operator(
                Method::PATCH,
                &format!("/accounts/{ACCOUNT}"),
                Some(json!({"seat_limit": 1})),
            )
            .await;
        assert_eq!(status, 200);
        assert_eq!(
            (
                body["result"]["seat_limit"].clone(),
                body["result"]["seats_in_use"].clone()
            ),
            (json!(1), json!(2)),
            "lowering removes nobody"
        );
        // Over the limit: no new seat, but seats can still be freed.
        let resp = app.patch_seats(&json!([item("bob", true, false)])).await;
        assert_error(
            resp,
            409,
            &[(12009, "access.api.error.seat_limit_reached: 2/1 seats in use", None)],
        )
        .await;
        assert_eq!(
            app.patch_seats(&json!([item("carol", false, false)])).await.status(),
            200
        );

        let resp = app
            .operator_raw(Method::POST, "/accounts", Some(json!({"id": ACCOUNT, "name": "dup"})))
            .await;
        assert_error(
            resp,
            409,
            &[(
                12010,
                &format!("access.api.error.conflict: account {ACCOUNT} already exists"),
                None,
            )],
        )
        .await;
        let resp = app
            .operator_raw(Method::POST, "/accounts", Some(json!({"id": "ABC", "seat_limit": -1})))
            .await;
        assert_error(
            resp,
            400,
            &[
                (
                    12006,
                    &format!("{P}id must be 32 lowercase hex characters"),
                    Some("/id"),
                ),
                (12006, &format!("{P}name is required"), Some("/name")),
                (
                    12006,
                    &format!("{P}seat_limit must be an integer between 0 and 9223372036854775807"),
                    Some("/seat_limit"),
                ),
            ],
        )
        .await;
        for (method, path) in [
            (Method::GET, "/accounts/ffffffffffffffffffffffffffffffff"),
            (Method::GET, "/accounts/nope/audit"),
            (Method::POST, "/accounts/nope/expire-seats"),
        ] {
            let resp = app.operator_raw(method, path, None).await;
            assert_eq!(resp.status(), 404);
            let (_, body) = parts(resp).await;
            assert_eq!(body["errors"][0]["code"], 12130);
        }
    })
    .await;
}

#[tokio::test]
async fn tokens_take_effect_at_once() {
    on_each_backend(|| async {
        let app = TestApp::builder().seed(&test_seed()).operator().start().await;
        let policies = json!([{"effect": "allow", "resources": {format!("com.cloudflare.api.account.{ACCOUNT}"): "*"},
            "permission_groups": [{"name": "Zero Trust: Seats Write"}]}]);
        let (status, body) = app
            .operator(
                Method::POST,
                "/tokens",
                Some(json!({"name": "ci", "policies": policies})),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        let value = body["result"]["value"].as_str().unwrap().to_owned();
        let id = body["result"]["id"].as_str().unwrap().to_owned();
        assert_eq!(value.len(), 40);
        assert_eq!(
            app.patch_seats_as(ACCOUNT, Auth::Token(&value), &json!([]))
                .await
                .status(),
            200
        );

        let (_, list) = app.operator(Method::GET, "/tokens", None).await;
        assert!(
            list["result"]
                .as_array()
                .unwrap()
                .iter()
                .all(|t| t.get("value").is_none()),
            "values are never listed"
        );
        assert!(!list.to_string().contains(&value));

        let (status, body) = app
            .operator(
                Method::PATCH,
                &format!("/tokens/{id}"),
                Some(json!({"status": "disabled"})),
            )
            .await;
        assert_eq!(
            (status.as_u16(), body["result"]["status"].clone()),
            (200, json!("disabled"))
        );
        let resp = app.patch_seats_as(ACCOUNT, Auth::Token(&value), &json!([])).await;
        assert_error(resp, 403, &[(9109, "Invalid access token", None)]).await;
        let (_, verify) = app
            .call(Method::GET, "/user/tokens/verify", Auth::Token(&value), None)
            .await;
        assert_eq!(verify["result"]["status"], "disabled");

        app.operator(
            Method::PATCH,
            &format!("/tokens/{id}"),
            Some(json!({"status": "active"})),
        )
        .await;
        assert_eq!(
            app.patch_seats_as(ACCOUNT, Auth::Token(&value), &json!([]))
                .await
                .status(),
            200
        );
        let (status, _) = app.operator(Method::DELETE, &format!("/tokens/{id}"), None).await;
        assert_eq!(status, 200);
        let resp = app.patch_seats_as(ACCOUNT, Auth::Token(&value), &json!([])).await;
        assert_error(resp, 403, &[(9109, "Invalid access token", None)]).await;

        let resp = app
            .operator_raw(
                Method::POST,
                "/tokens",
                Some(
                    json!({"name": "bad", "value": "has space", "policies": [{"effect": "allow",
                "resources": {"com.cloudflare.api.zone.*": "*"}, "permission_groups": [{"name": "DNS Write"}]}]}),
                ),
            )
            .await;
        assert_error(
            resp,
            400,
            &[
                (12006, &format!("{P}value must be 1-255 characters of [A-Za-z0-9._~+/=-]"), Some("/value")),
                (12006, &format!("{P}unsupported resource com.cloudflare.api.zone.*: use com.cloudflare.api.account.<account id> or com.cloudflare.api.account.*"), Some("/policies/0/resources/com.cloudflare.api.zone.*")),
                (12006, &format!("{P}unknown permission group \"DNS Write\""), Some("/policies/0/permission_groups/0/name")),
            ],
        )
        .await;
        let resp = app
            .operator_raw(Method::PATCH, "/tokens/nope", Some(json!({"status": "active"})))
            .await;
        assert_error(
            resp,
            404,
            &[(12130, "access.api.error.not_found: no token \"nope\"", Some(""))],
        )
        .await;
    })
    .await;
}

#[tokio::test]
async fn members_take_effect_at_once() {
    on_each_backend(|| async {
        let app = TestApp::builder().seed(&test_seed()).operator().start().await;
        let (status, body) = app
            .operator(
                Method::POST,
                "/members",
                Some(json!({"email": "ops@example.com", "accounts": [ACCOUNT]})),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        let key = body["result"]["api_key"].as_str().unwrap().to_owned();
        assert_eq!(
            app.patch_seats_as(ACCOUNT, Auth::Key("ops@example.com", &key), &json!([]))
                .await
                .status(),
            200
        );
        let (_, list) = app.operator(Method::GET, "/members", None).await;
        assert!(!list.to_string().contains(&key), "keys are never listed");
        assert_eq!(
            app.operator(Method::DELETE, "/members/ops@example.com", None).await.0,
            200
        );
        let resp = app
            .patch_seats_as(ACCOUNT, Auth::Key("ops@example.com", &key), &json!([]))
            .await;
        assert_error(resp, 403, &[(9103, "Unknown X-Auth-Key or X-Auth-Email", None)]).await;

        let resp = app
            .operator_raw(Method::POST, "/members", Some(json!({"email": EMAIL, "accounts": []})))
            .await;
        assert_error(
            resp,
            409,
            &[(
                12010,
                &format!("access.api.error.conflict: member {EMAIL} already exists"),
                None,
            )],
        )
        .await;
        let resp = app
            .operator_raw(
                Method::POST,
                "/members",
                Some(json!({"email": "new@example.com", "accounts": [ACCOUNT, "ffffffffffffffffffffffffffffffff"]})),
            )
            .await;
        assert_error(
            resp,
            404,
            &[(
                12130,
                "access.api.error.not_found: no account \"ffffffffffffffffffffffffffffffff\"",
                Some("/accounts/1"),
            )],
        )
        .await;
    })
    .await;
}

#[tokio::test]
async fn login_rules_and_errors() {
    on_each_backend(|| async {
        let app = TestApp::builder().seed(&test_seed()).operator().start().await;
        let logins = format!("/accounts/{ACCOUNT}/logins");
        let resp = app
            .operator_raw(
                Method::POST,
                &logins,
                Some(json!({"email": "x@example.com", "via": "gateway"})),
            )
            .await;
        assert_error(
            resp,
            400,
            &[(
                12006,
                &format!("{P}a gateway login needs a device_id"),
                Some("/device_id"),
            )],
        )
        .await;
        let resp = app
            .operator_raw(Method::POST, &logins, Some(json!({"email": "nope", "via": "vpn"})))
            .await;
        assert_error(
            resp,
            400,
            &[
                (
                    12006,
                    &format!("{P}email must be a valid email address"),
                    Some("/email"),
                ),
                (
                    12006,
                    &format!("{P}via must be access or gateway, got \"vpn\""),
                    Some("/via"),
                ),
            ],
        )
        .await;
        let resp = app
            .operator_raw(
                Method::POST,
                "/accounts/ffffffffffffffffffffffffffffffff/logins",
                Some(json!({"email": "x@example.com", "via": "access"})),
            )
            .await;
        assert_error(
            resp,
            404,
            &[(
                12130,
                "access.api.error.not_found: no account \"ffffffffffffffffffffffffffffffff\"",
                Some(""),
            )],
        )
        .await;

        // A login updates the name if given and records the time; a gateway login registers a device.
        let (status, body) = app
            .operator(
                Method::POST,
                &format!("/accounts/{ACCOUNT}/logins"),
                Some(json!({"email": "BOB@example.com", "name": "Robert", "via": "gateway", "device_id": "laptop"})),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        let bob = &body["result"];
        assert_eq!(
            (
                bob["email"].clone(),
                bob["name"].clone(),
                bob["gateway_seat"].clone(),
                bob["active_device_count"].clone()
            ),
            (json!("bob@example.com"), json!("Robert"), json!(true), json!(1))
        );
        assert_ne!(bob["last_successful_login"], Value::Null);

        // Without --manual-clock the clock cannot move; GET still reads it.
        let plain = TestApp::builder()
            .seed(&test_seed())
            .config(seats_server::ServerConfig {
                operator_key: Some(seats_store::secret::Secret::new(OPERATOR_KEY).hash()),
                ..Default::default()
            })
            .start()
            .await;
        let (status, _) = plain.operator(Method::GET, "/clock", None).await;
        assert_eq!(status, 200);
        let resp = plain
            .operator_raw(Method::POST, "/clock", Some(json!({"advance": "1h"})))
            .await;
        assert_error(
            resp,
            400,
            &[(
                12006,
                &format!("{P}the clock is the system clock; start the server with --manual-clock to move it"),
                Some(""),
            )],
        )
        .await;
        let resp = app
            .operator_raw(Method::POST, "/clock", Some(json!({"advance": "-1h"})))
            .await;
        assert_error(
            resp,
            400,
            &[(
                12006,
                &format!("{P}advance must be a positive Go duration such as 800h: duration \"-1h\" is negative"),
                Some("/advance"),
            )],
        )
        .await;
    })
    .await;
}

#[tokio::test]
async fn the_manual_clock_drives_token_validity() {
    on_each_backend(|| async {
        let mut seed = test_seed();
        seed["tokens"].as_array_mut().unwrap().push(json!({"name": "soon", "value": "valid-soon", "not_before": "2000-01-01T00:00:00Z",
            "expires_on": now_plus_hours(48), "policies": [{"effect": "allow",
            "resources": {"com.cloudflare.api.account.*": "*"}, "permission_groups": [{"name": "Zero Trust: Seats Write"}]}]}));
        let app = TestApp::builder().seed(&seed).operator().start().await;
        assert_eq!(
            app.patch_seats_as(ACCOUNT, Auth::Token("valid-soon"), &json!([]))
                .await
                .status(),
            200
        );
        app.operator(Method::POST, "/clock", Some(json!({"advance": "49h"})))
            .await;
        let resp = app.patch_seats_as(ACCOUNT, Auth::Token("valid-soon"), &json!([])).await;
        assert_error(resp, 403, &[(9109, "Invalid access token", None)]).await;
        let (_, body) = app
            .call(Method::GET, "/user/tokens/verify", Auth::Token("valid-soon"), None)
            .await;
        assert_eq!(body["result"]["status"], "expired");
    })
    .await;
}

fn now_plus_hours(hours: i64) -> String {
    let now = seats_server::Clock::now(&seats_server::SystemClock).unix_micros();
    seats_types::Timestamp::from_unix_micros(now + hours * 3_600_000_000)
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn the_manual_clock_stops_before_year_9999_and_never_wraps() {
    let app = TestApp::builder().seed(&test_seed()).operator().start().await;
    // 7,900 years in steps the clock accepts, then one that would pass the edge.
    for _ in 0..79 {
        let (status, body) = app
            .operator(Method::POST, "/clock", Some(json!({"advance": "876000h"})))
            .await;
        assert_eq!(status, 200, "{body}");
    }
    let (_, before) = app.operator(Method::GET, "/clock", None).await;
    let shown = before["result"]["now"].as_str().unwrap().to_owned();
    assert!(shown.starts_with("99"), "{shown}");
    let resp = app
        .operator_raw(Method::POST, "/clock", Some(json!({"advance": "876000h"})))
        .await;
    // The message names the time shown, which moves: every other field is checked exactly.
    let (status, body) = parts(resp).await;
    assert_eq!(status, 400);
    assert_eq!(
        (&body["success"], &body["result"]),
        (&json!(false), &Value::Null),
        "{body}"
    );
    assert_eq!(body["errors"].as_array().unwrap().len(), 1, "{body}");
    assert_eq!(body["errors"][0]["code"], json!(12006));
    assert_eq!(body["errors"][0]["source"]["pointer"], json!("/advance"));
    let message = body["errors"][0]["message"].as_str().unwrap();
    assert!(
        message.starts_with(&format!(
            "{P}advance would move the clock past 9999-01-01T00:00:00.000000Z, the latest time it can show (it shows {}",
            &shown[..10]
        )),
        "{message}"
    );
    let (_, after) = app.operator(Method::GET, "/clock", None).await;
    let now = after["result"]["now"].as_str().unwrap();
    assert_eq!(&now[..13], &shown[..13], "the refused advance did not move the clock");
    // A change at the edge is stamped with the edge's time, written in RFC 3339.
    let resp = app.patch_seats(&json!([item(ALICE_SEAT, false, true)])).await;
    let (status, body) = parts(resp).await;
    assert_eq!(status, 200, "{body}");
    let stamped = body["result"][0]["updated_at"].as_str().unwrap();
    assert_eq!(&stamped[..13], &shown[..13], "{stamped}");
    assert!(stamped.parse::<seats_types::Timestamp>().is_ok(), "{stamped}");
}
