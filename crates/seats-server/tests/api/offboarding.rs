//! Offboarding end to end (docs/api.md, "Offboarding"): a user with two seats, two sessions and
//! two devices, provisioned by an identity provider; revoke the sessions and devices, remove both
//! seats, and the API, the dashboard, the audit log, SCIM and the usage figures agree.

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::*;
use crate::identity_providers::{scim_provider, IDPS};

const SCIM_USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";

/// The identity provider seed plus a Zero Trust reader.
fn seed() -> Value {
    let mut seed = crate::identity_providers::seed();
    seed["tokens"].as_array_mut().unwrap().push(json!({"name": "zt", "value": "zt-reader", "policies": [{"effect": "allow",
        "resources": {format!("com.cloudflare.api.account.{ACCOUNT}"): "*"}, "permission_groups": [{"name": "Zero Trust Read"}]}]}));
    seed
}

/// The account's seats in use, as the operator API reports them.
async fn in_use(app: &TestApp) -> u64 {
    let (_, body) = app.operator(Method::GET, &format!("/accounts/{ACCOUNT}"), None).await;
    body["result"]["seats_in_use"].as_u64().unwrap()
}

/// The text of the dashboard page of Alice, seen by the demo token.
async fn dashboard_page(app: &TestApp, alice_id: &str) -> String {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let signed = post_sign_in(&client, app, &[("kind", "token"), ("token", TOKEN)]).await;
    assert_eq!(signed.status(), 303);
    let cookie = set_cookie(&signed, "seats_dashboard").unwrap();
    let page = client
        .get(app.url(&format!("/dashboard/accounts/{ACCOUNT}/users/{alice_id}")))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    page.text().await.unwrap()
}

#[tokio::test]
async fn offboarding_ends_sessions_devices_and_seats_and_everything_agrees() {
    on_each_backend(|| async {
        let app = TestApp::builder().seed(&seed()).operator().start().await;
        // Alice came from the identity provider: SCIM links her account user by email.
        let (idp, secret) = scim_provider(&app, true, true).await;
        let scim = app
            .client
            .post(app.url(&format!("/populations/{idp}/scim/v2/Users")))
            .bearer_auth(&secret)
            .header("content-type", "application/scim+json")
            .body(
                json!({"schemas": [SCIM_USER], "userName": "alice", "active": true,
                         "emails": [{"value": "alice@example.com", "primary": true}]})
                .to_string(),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(scim.status(), 201);
        let scim_id = scim.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
        // Two sessions (the seed's last login and one more), two devices, two seats.
        let (status, _) = app
            .operator(
                Method::POST,
                &format!("/accounts/{ACCOUNT}/logins"),
                Some(json!({"email": "alice@example.com", "via": "access"})),
            )
            .await;
        assert_eq!(status, 200);
        let alice = app.user(ALICE_SEAT).await;
        assert_eq!(
            (
                alice.access_seat,
                alice.gateway_seat,
                alice.active_session_count,
                alice.active_device_count
            ),
            (true, true, 2, 2)
        );
        let seats_before = in_use(&app).await;
        assert!(dashboard_page(&app, &alice.id).await.contains("Access sessions (2)"));

        // 1. Revoke her sessions and devices: the seats stay.
        let (status, body) = app
            .call(
                Method::POST,
                &format!("/accounts/{ACCOUNT}/access/organizations/revoke_user?devices=true"),
                Auth::Token("idp-writer"),
                Some(json!({"email": "alice@example.com"})),
            )
            .await;
        assert_eq!((status.as_u16(), body), (200, json!({"result": true, "success": true})));
        let (_, revoked) = app
            .call(
                Method::GET,
                &format!("/accounts/{ACCOUNT}/devices/registrations?status=revoked"),
                Auth::Token("zt-reader"),
                None,
            )
            .await;
        assert_eq!(revoked["result"].as_array().unwrap().len(), 2);
        assert!(revoked["result"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["user"]["id"] == alice.id.as_str()));
        let page = dashboard_page(&app, &alice.id).await;
        assert!(
            page.contains("Access sessions (0)") && page.contains("Devices (0)"),
            "{page}"
        );
        assert_eq!(in_use(&app).await, seats_before, "revoking keeps the seats");

        // 2. Remove both seats: the seat is free.
        let resp = app.patch_seats(&json!([item(ALICE_SEAT, false, false)])).await;
        assert_eq!(resp.status(), 200);

        // The API, the usage figures, the audit log, the dashboard and SCIM agree.
        let after = app.user(ALICE_SEAT).await;
        assert_eq!(
            (
                after.access_seat,
                after.gateway_seat,
                after.active_session_count,
                after.active_device_count
            ),
            (false, false, 0, 0)
        );
        let (_, sessions) = app
            .call(
                Method::GET,
                &format!("/accounts/{ACCOUNT}/access/users/{}/active_sessions", alice.id),
                Auth::Token(TOKEN),
                None,
            )
            .await;
        assert_eq!(sessions["result"], json!([]));
        assert_eq!(in_use(&app).await, seats_before - 1);
        let (_, registrations) = app
            .call(
                Method::GET,
                &format!("/accounts/{ACCOUNT}/devices/registrations?status=all"),
                Auth::Token("zt-reader"),
                None,
            )
            .await;
        assert_eq!(
            registrations["result"],
            json!([]),
            "removing the Gateway seat deletes its registrations"
        );
        let (_, audit) = app
            .operator(Method::GET, &format!("/accounts/{ACCOUNT}/audit?per_page=2"), None)
            .await;
        let events = audit["result"].as_array().unwrap();
        assert_eq!(
            (events[1]["action"].as_str(), events[1]["subject"].as_str()),
            (Some("user.revoke"), Some(alice.id.as_str()))
        );
        assert_eq!(events[1]["after"], json!({"sessions_ended": 2, "devices_revoked": 2}));
        assert_eq!(events[0]["subject"], ALICE_SEAT, "{events:?}");
        assert_eq!(events[0]["after"], json!({"access_seat": false, "gateway_seat": false}));
        let page = dashboard_page(&app, &alice.id).await;
        assert!(
            page.contains("Access sessions (0)") && page.contains("Devices (0)"),
            "{page}"
        );
        // The identity provider still has her: offboarding here is not deprovisioning there.
        let (status, listed) = app
            .call(
                Method::GET,
                &format!("{IDPS}/{idp}/scim/users"),
                Auth::Token("idp-reader"),
                None,
            )
            .await;
        assert_eq!(status, 200, "{listed}");
        let listed = listed["result"].as_array().unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(
            (
                listed[0]["id"].as_str(),
                listed[0]["emails"][0]["value"].as_str(),
                &listed[0]["active"]
            ),
            (Some(scim_id.as_str()), Some("alice@example.com"), &json!(true))
        );
        let scim_user: Value = app
            .client
            .get(app.url(&format!("/populations/{idp}/scim/v2/Users/{scim_id}")))
            .bearer_auth(&secret)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(scim_user["active"], true);
    })
    .await;
}
