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
