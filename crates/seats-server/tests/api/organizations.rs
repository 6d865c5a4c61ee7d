//! Organization settings (docs/contract.md §7): create, read, update, the expiry setting, and errors.

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::*;

const ORG_PATH: &str = "/accounts/699d98642c564d2e855e9661899b7252/access/organizations";
const P: &str = "access.api.error.invalid_request: ";

/// The test seed plus tokens with the organization permission groups.
fn seed() -> Value {
    let mut seed = test_seed();
    for (value, group) in [
        (
            "org-writer",
            "Access: Organizations, Identity Providers, and Groups Write",
        ),
        (
            "org-reader",
            "Access: Organizations, Identity Providers, and Groups Read",
        ),
    ] {
        seed["tokens"].as_array_mut().unwrap().push(json!({"name": value, "value": value, "policies": [{"effect": "allow",
            "resources": {format!("com.cloudflare.api.account.{ACCOUNT}"): "*"}, "permission_groups": [{"name": group}]}]}));
    }
    seed
}

async fn send(app: &TestApp, method: Method, token: &str, body: Option<Value>) -> reqwest::Response {
    let mut req = app.request(method, &format!("/client/v4{ORG_PATH}")).bearer_auth(token);
    if let Some(b) = body {
        req = req.body(b.to_string());
    }
    req.send().await.unwrap()
}

#[tokio::test]
async fn create_read_update_keeps_other_fields() {
    on_each_backend(|| async {
        let app = spawn_app(&seed()).await;
        let resp = send(&app, Method::GET, "org-reader", None).await;
        assert_error(
            resp,
            404,
            &[(
                12130,
                "access.api.error.not_found: this account has no Zero Trust organization",
                Some(""),
            )],
        )
        .await;
        let resp = send(&app, Method::PUT, "org-writer", Some(json!({"name": "x"}))).await;
        assert_eq!(resp.status(), 404, "PUT does not create");

        let create = json!({"name": "Widget Corps", "auth_domain": "widgets.cloudflareaccess.com", "session_duration": "24h",
                            "login_design": {"background_color": "#c5ed1b"}, "not_in_the_schema": true});
        let (status, body) = parts(send(&app, Method::POST, "org-writer", Some(create)).await).await;
        assert_eq!(status, 201, "{body}");
        let org = &body["result"];
        assert_eq!(org["name"], "Widget Corps");
        assert_eq!(org["session_duration"], "24h");
        assert_eq!(org["login_design"], json!({"background_color": "#c5ed1b"}));
        assert_eq!(
            org["user_seat_expiration_inactive_time"],
            Value::Null,
            "expiry is off by default"
        );
        assert!(org.get("not_in_the_schema").is_none());

        let (status, body) = parts(
            send(
                &app,
                Method::PUT,
                "org-writer",
                Some(json!({"user_seat_expiration_inactive_time": "43800m"})),
            )
            .await,
        )
        .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(
            body["result"]["user_seat_expiration_inactive_time"], "43800m",
            "read back exactly as given"
        );
        assert_eq!(body["result"]["name"], "Widget Corps", "fields not given are kept");
        assert_eq!(body["result"]["session_duration"], "24h");

        // Both the Read and the Write group may read.
        for token in ["org-reader", "org-writer"] {
            let (status, body) = parts(send(&app, Method::GET, token, None).await).await;
            assert_eq!(status, 200);
            assert_eq!(body["result"]["user_seat_expiration_inactive_time"], "43800m");
        }
        // "" and null turn expiry off, reading back as null.
        for off in [json!(""), Value::Null] {
            send(
                &app,
                Method::PUT,
                "org-writer",
                Some(json!({"user_seat_expiration_inactive_time": "1h30m"})),
            )
            .await;
            let (_, body) = parts(
                send(
                    &app,
                    Method::PUT,
                    "org-writer",
                    Some(json!({"user_seat_expiration_inactive_time": off})),
                )
                .await,
            )
            .await;
            assert_eq!(body["result"]["user_seat_expiration_inactive_time"], Value::Null);
        }
    })
    .await;
}

#[tokio::test]
async fn organization_error_paths() {
    on_each_backend(|| async {
        let app = spawn_app(&seed()).await;
        let resp = send(&app, Method::POST, "org-writer", Some(json!({"name": "x"}))).await;
        assert_error(
            resp,
            400,
            &[(12006, &format!("{P}auth_domain is required"), Some("/auth_domain"))],
        )
        .await;
        let ok = json!({"name": "x", "auth_domain": "x.cloudflareaccess.com"});
        assert_eq!(
            send(&app, Method::POST, "org-writer", Some(ok.clone())).await.status(),
            201
        );
        let resp = send(&app, Method::POST, "org-writer", Some(ok)).await;
        assert_error(
            resp,
            409,
            &[(
                12010,
                "access.api.error.conflict: the account already has an organization",
                None,
            )],
        )
        .await;

        let resp = send(
            &app,
            Method::PUT,
            "org-writer",
            Some(json!({"user_seat_expiration_inactive_time": "729h", "is_ui_read_only": "no"})),
        )
        .await;
        assert_error(
            resp,
            400,
            &[
                (
                    12006,
                    &format!("{P}is_ui_read_only must be a boolean"),
                    Some("/is_ui_read_only"),
                ),
                (
                    12006,
                    &format!("{P}user_seat_expiration_inactive_time must be at least 730h, got \"729h\""),
                    Some("/user_seat_expiration_inactive_time"),
                ),
            ],
        )
        .await;
        let resp = send(
            &app,
            Method::PUT,
            "org-writer",
            Some(json!({"user_seat_expiration_inactive_time": "1 month"})),
        )
        .await;
        assert_error(
            resp,
            400,
            &[(
                12006,
                &format!("{P}user_seat_expiration_inactive_time: unknown unit \" month\" in duration \"1 month\""),
                Some("/user_seat_expiration_inactive_time"),
            )],
        )
        .await;

        // Reading needs the Read or Write group; writing needs Write.
        assert_error(
            send(&app, Method::GET, TOKEN, None).await,
            403,
            &[(10000, "Authentication error", None)],
        )
        .await;
        let resp = send(&app, Method::PUT, "org-reader", Some(json!({"name": "y"}))).await;
        assert_error(resp, 403, &[(10000, "Authentication error", None)]).await;
        let (_, body) = parts(send(&app, Method::GET, "org-reader", None).await).await;
        assert_eq!(body["result"]["name"], "x", "nothing changed");
    })
    .await;
}

/// `POST …/access/organizations/revoke_user`: the user's sessions end (and with `devices`, its
/// devices), its seats stay, the audit log records it; bad input changes nothing.
#[tokio::test]
async fn revoke_user_ends_sessions_and_keeps_seats() {
    on_each_backend(|| async {
        let app = TestApp::builder().seed(&seed()).operator().start().await;
        for via in ["access", "access"] {
            let (status, body) = app
                .operator(
                    Method::POST,
                    &format!("/accounts/{ACCOUNT}/logins"),
                    Some(json!({"email": "alice@example.com", "via": via})),
                )
                .await;
            assert_eq!(status, 200, "{body}");
        }
        let alice = app.user(ALICE_SEAT).await;
        let carol = app.user("carol").await;
        // One session from the seed's last login, two from these.
        assert_eq!((alice.active_session_count, alice.active_device_count), (3, 2));
        let revoke = format!("/client/v4{ORG_PATH}/revoke_user");
        let post = |token: &'static str, query: &'static str, body: String| {
            app.request(Method::POST, &format!("{revoke}{query}"))
                .bearer_auth(token)
                .body(body)
                .send()
        };
        let audit = app.audit_count(ACCOUNT).await;

        // Bad input, each answered in the envelope with its pointer; nothing changes.
        let cases: Vec<(&str, Value, u16, i64, String, &str)> = vec![
            ("", json!({}), 400, 12006, format!("{P}email is required"), "/email"),
            ("", json!({"email": 7}), 400, 12006, format!("{P}email must be a string"), "/email"),
            ("", json!({"email": "alice@example.com", "devices": "yes"}), 400, 12006,
             format!("{P}devices must be true or false"), "/devices"),
            ("", json!({"email": "alice@example.com", "warp_session_reauth": 1}), 400, 12006,
             format!("{P}warp_session_reauth must be true or false"), "/warp_session_reauth"),
            ("?devices=yes", json!({"email": "alice@example.com"}), 400, 12006,
             format!("{P}devices must be true or false, got \"yes\""), "/devices"),
            ("", json!(["alice@example.com"]), 400, 12006, format!("{P}the body must be a JSON object"), ""),
            ("", json!({"email": "nobody@example.com"}), 404, 12130,
             "access.api.error.not_found: no user with email \"nobody@example.com\" in this account".into(), "/email"),
            // dave is a user of another account; alice's seat uid is not her id.
            ("", json!({"email": "dave@example.com"}), 404, 12130,
             "access.api.error.not_found: no user with email \"dave@example.com\" in this account".into(), "/email"),
            ("", json!({"email": "alice@example.com", "user_uid": ALICE_SEAT}), 404, 12130,
             format!("access.api.error.not_found: no user with email \"alice@example.com\" and user_uid \"{ALICE_SEAT}\" in this account"),
             "/user_uid"),
            ("", json!({"email": "alice@example.com", "user_uid": carol.id}), 404, 12130,
             format!("access.api.error.not_found: no user with email \"alice@example.com\" and user_uid \"{}\" in this account", carol.id),
             "/user_uid"),
        ];
        for (query, body, status, code, message, pointer) in cases {
            let resp = post("org-writer", query, body.to_string()).await.unwrap();
            assert_error(resp, status, &[(code, &message, Some(pointer))]).await;
        }
        // Reading the organization is not enough, nor is Seats Write.
        for token in ["org-reader", TOKEN] {
            let resp = post(token, "", json!({"email": "alice@example.com"}).to_string()).await.unwrap();
            assert_error(resp, 403, &[(10000, "Authentication error", None)]).await;
        }
        assert_eq!(app.audit_count(ACCOUNT).await, audit, "nothing was recorded");
        assert_eq!(app.user(ALICE_SEAT).await, alice, "nothing changed");

        // Sessions only: Cloudflare's answer, the sessions gone, devices and seats kept.
        let resp = post("org-writer", "", json!({"email": "ALICE@example.com", "user_uid": alice.id,
                                                 "warp_session_reauth": true}).to_string())
            .await
            .unwrap();
        let (status, body) = parts(resp).await;
        assert_eq!((status.as_u16(), body), (200, json!({"result": true, "success": true})));
        let after = app.user(ALICE_SEAT).await;
        assert_eq!((after.active_session_count, after.active_device_count), (0, 2));
        assert!(after.access_seat && after.gateway_seat);
        let (status, sessions) = app
            .call(
                Method::GET,
                &format!("/accounts/{ACCOUNT}/access/users/{}/active_sessions", alice.id),
                Auth::Token(TOKEN),
                None,
            )
            .await;
        assert_eq!((status.as_u16(), &sessions["result"]), (200, &json!([])), "{sessions}");

        // devices in the query string, as the SDKs send `query_devices`.
        let resp = post("org-writer", "?devices=true", json!({"email": "alice@example.com"}).to_string())
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        let after = app.user(ALICE_SEAT).await;
        assert_eq!((after.active_session_count, after.active_device_count), (0, 0));
        assert!(after.access_seat && after.gateway_seat, "the seats stay");

        let (status, events) = app
            .operator(Method::GET, &format!("/accounts/{ACCOUNT}/audit?per_page=2"), None)
            .await;
        assert_eq!(status, 200, "{events}");
        let events = events["result"].as_array().unwrap();
        assert_eq!(events[0]["action"], "user.revoke");
        assert_eq!(events[0]["subject"], alice.id.as_str());
        assert_eq!(events[0]["after"], json!({"sessions_ended": 0, "devices_revoked": 2}));
        assert_eq!(events[1]["after"], json!({"sessions_ended": 3, "devices_revoked": 0}));
        assert_eq!(app.audit_count(ACCOUNT).await, audit + 2);
    })
    .await;
}
