//! The Access identity providers API: shapes, the SCIM secret (generated once, redacted, kept
//! hashed), `scim_config` rules, permissions, and Cloudflare's SCIM listings.

use reqwest::Method;
use seats_store::secret::Secret;
use serde_json::{json, Value};

use crate::helpers::*;

pub const IDPS: &str = "/accounts/699d98642c564d2e855e9661899b7252/access/identity_providers";
const P: &str = "access.api.error.invalid_request: ";

/// The test seed plus tokens with the identity provider permission groups.
pub fn seed() -> Value {
    let mut seed = test_seed();
    for (value, group) in [
        (
            "idp-writer",
            "Access: Organizations, Identity Providers, and Groups Write",
        ),
        (
            "idp-reader",
            "Access: Organizations, Identity Providers, and Groups Read",
        ),
    ] {
        seed["tokens"].as_array_mut().unwrap().push(json!({"name": value, "value": value, "policies": [{"effect": "allow",
            "resources": {format!("com.cloudflare.api.account.{ACCOUNT}"): "*"}, "permission_groups": [{"name": group}]}]}));
    }
    seed
}

/// An Okta provider with SCIM on and the given deprovisioning flags; returns `(id, secret)`.
pub async fn scim_provider(app: &TestApp, user_deprovision: bool, seat_deprovision: bool) -> (String, String) {
    let body = json!({"name": "Okta", "type": "okta",
        "config": {"client_id": "cid", "client_secret": "very-secret", "okta_account": "https://dev.okta.com"},
        "scim_config": {"enabled": true, "user_deprovision": user_deprovision, "seat_deprovision": seat_deprovision}});
    let (status, body) = app
        .call(Method::POST, IDPS, Auth::Token("idp-writer"), Some(body))
        .await;
    assert_eq!(status, 201, "{body}");
    let result = &body["result"];
    (
        result["id"].as_str().unwrap().to_owned(),
        result["scim_config"]["secret"].as_str().unwrap().to_owned(),
    )
}

#[tokio::test]
async fn a_provider_is_created_read_listed_updated_and_deleted() {
    on_each_backend(|| async {
        let app = spawn_app(&seed()).await;
        let (id, secret) = scim_provider(&app, true, true).await;
        assert_eq!(secret.len(), 64, "{secret}");
        assert!(secret.chars().all(|c| c.is_ascii_alphanumeric()));

        let (status, body) = app
            .call(Method::GET, &format!("{IDPS}/{id}"), Auth::Token("idp-reader"), None)
            .await;
        assert_eq!(status, 200, "{body}");
        let base = format!("http://{}/populations/{id}/scim/v2", app.addr);
        assert_eq!(
            body["result"],
            json!({"id": id, "name": "Okta", "type": "okta",
                "config": {"client_id": "cid", "client_secret": "**********", "okta_account": "https://dev.okta.com"},
                "scim_config": {"enabled": true, "seat_deprovision": true, "user_deprovision": true,
                    "scim_base_url": base, "secret": "**********"}})
        );

        // Stored as a hash only: the record holds the hash of what was shown, never the value.
        let record = app.store.identity_provider(None, &id).await.unwrap().unwrap();
        assert_eq!(record.scim.secret_hash, Some(Secret::new(secret.clone()).hash()));
        assert!(!format!("{record:?}").contains(&secret));
        assert!(!format!("{record:?}").contains("very-secret"));

        // PUT replaces name, type and config; scim_config left out keeps SCIM as it was.
        let (status, body) = app
            .call(
                Method::PUT,
                &format!("{IDPS}/{id}"),
                Auth::Token("idp-writer"),
                Some(json!({"name": "Okta prod", "type": "okta", "config": {"okta_account": "https://prod.okta.com"}})),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["result"]["name"], "Okta prod");
        assert_eq!(
            body["result"]["config"],
            json!({"okta_account": "https://prod.okta.com"})
        );
        assert_eq!(body["result"]["scim_config"]["enabled"], true);
        assert_eq!(body["result"]["scim_config"]["secret"], "**********", "not regenerated");

        let (status, body) = app
            .call(
                Method::POST,
                IDPS,
                Auth::Token("idp-writer"),
                Some(json!({"name": "One-time PIN", "type": "onetimepin", "config": {}})),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        assert_eq!(body["result"]["scim_config"]["enabled"], false);
        assert!(
            body["result"]["scim_config"].get("secret").is_none(),
            "no secret without SCIM"
        );
        let pin = body["result"]["id"].as_str().unwrap().to_owned();

        let (status, body) = app
            .call(
                Method::GET,
                &format!("{IDPS}?per_page=1"),
                Auth::Token("idp-reader"),
                None,
            )
            .await;
        assert_eq!(status, 200);
        assert_eq!(body["result"].as_array().unwrap().len(), 1);
        assert_eq!(body["result"][0]["id"], json!(id), "creation order");
        assert_eq!(
            body["result_info"],
            json!({"page": 1, "per_page": 1, "count": 1, "total_count": 2, "total_pages": 2})
        );
        let (_, body) = app
            .call(
                Method::GET,
                &format!("{IDPS}?scim_enabled=true"),
                Auth::Token("idp-reader"),
                None,
            )
            .await;
        assert_eq!(body["result"].as_array().unwrap().len(), 1);
        assert_eq!(body["result"][0]["id"], json!(id));

        // Turning SCIM on later generates the secret then, once.
        let (_, body) = app
            .call(
                Method::PUT,
                &format!("{IDPS}/{pin}"),
                Auth::Token("idp-writer"),
                Some(json!({"name": "PIN", "type": "onetimepin", "config": {}, "scim_config": {"enabled": true}})),
            )
            .await;
        assert_eq!(
            body["result"]["scim_config"]["secret"].as_str().unwrap().len(),
            64,
            "{body}"
        );
        let (_, body) = app
            .call(
                Method::PUT,
                &format!("{IDPS}/{pin}"),
                Auth::Token("idp-writer"),
                Some(json!({"name": "PIN", "type": "onetimepin", "config": {}, "scim_config": {"enabled": true}})),
            )
            .await;
        assert_eq!(body["result"]["scim_config"]["secret"], "**********");

        let (status, body) = app
            .call(
                Method::DELETE,
                &format!("{IDPS}/{pin}"),
                Auth::Token("idp-writer"),
                None,
            )
            .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["result"], json!({"id": pin}));
        let resp = Auth::Token("idp-reader")
            .apply(app.request(Method::GET, &format!("/client/v4{IDPS}/{pin}")))
            .send()
            .await
            .unwrap();
        assert_error(
            resp,
            404,
            &[(
                12130,
                &format!("access.api.error.not_found: no identity provider with id \"{pin}\" in this account"),
                Some(""),
            )],
        )
        .await;

        let events = app.store.audit_events(ACCOUNT, 1, 100).await.unwrap().0;
        let actions: Vec<&str> = events.iter().map(|e| e.action.as_str()).collect();
        assert_eq!(
            actions,
            [
                "identity_provider.delete",
                "identity_provider.update",
                "identity_provider.create",
                "identity_provider.update",
                "identity_provider.create"
            ],
            "newest first; an update that changes nothing is not audited"
        );
        assert!(!events.iter().any(|e| format!("{:?}", e.after).contains(&secret)));
    })
    .await;
}

#[tokio::test]
async fn bad_bodies_are_refused_field_by_field_and_change_nothing() {
    on_each_backend(|| async {
        let app = spawn_app(&seed()).await;
        let cases = [
            (
                json!({"name": "x", "type": "okta", "config": {}, "scim_config": {"enabled": true, "seat_deprovision": true}}),
                vec![("/scim_config/seat_deprovision", "seat_deprovision cannot be enabled unless user_deprovision is also enabled")],
            ),
            (
                json!({"type": "ldap", "config": [], "scim_config": {"enabled": "yes", "identity_update_behavior": "sometimes"}}),
                vec![
                    ("/name", "name is required"),
                    ("/type", "type must be one of onetimepin, azureAD, saml, centrify, facebook, github, google-apps, google, linkedin, oidc, okta, onelogin, pingone, yandex, cloudflare"),
                    ("/config", "config must be an object"),
                    ("/scim_config/enabled", "enabled must be a boolean"),
                    ("/scim_config/identity_update_behavior", "identity_update_behavior must be automatic, reauth or no_action"),
                ],
            ),
            (
                json!({"name": "x", "type": "saml", "scim_config": {"surprise": 1}}),
                vec![("/config", "config is required"), ("/scim_config/surprise", "unknown SCIM setting \"surprise\"")],
            ),
        ];
        for (body, problems) in cases {
            let resp = Auth::Token("idp-writer")
                .apply(app.request(Method::POST, &format!("/client/v4{IDPS}")))
                .body(body.to_string())
                .send()
                .await
                .unwrap();
            let expected: Vec<(i64, String, Option<&str>)> =
                problems.iter().map(|(p, m)| (12006, format!("{P}{m}"), Some(*p))).collect();
            let expected: Vec<(i64, &str, Option<&str>)> = expected.iter().map(|(c, m, p)| (*c, m.as_str(), *p)).collect();
            assert_error(resp, 400, &expected).await;
        }
        let (_, body) = app.call(Method::GET, IDPS, Auth::Token("idp-reader"), None).await;
        assert_eq!(body["result"], json!([]), "nothing was created");

        // The same rule holds on update, against the stored flags.
        let (id, _) = scim_provider(&app, true, false).await;
        let resp = Auth::Token("idp-writer")
            .apply(app.request(Method::PUT, &format!("/client/v4{IDPS}/{id}")))
            .body(json!({"name": "x", "type": "okta", "config": {}, "scim_config": {"user_deprovision": false, "seat_deprovision": true}}).to_string())
            .send()
            .await
            .unwrap();
        assert_error(resp, 400, &[(12006, &format!("{P}seat_deprovision cannot be enabled unless user_deprovision is also enabled"), Some("/scim_config/seat_deprovision"))]).await;
        let (_, body) = app.call(Method::GET, &format!("{IDPS}/{id}"), Auth::Token("idp-reader"), None).await;
        assert_eq!(body["result"]["scim_config"]["user_deprovision"], true, "unchanged");
    })
    .await;
}

#[tokio::test]
async fn reading_needs_the_read_or_write_group_and_changing_the_write_group() {
    on_each_backend(|| async {
        let app = spawn_app(&seed()).await;
        let (id, _) = scim_provider(&app, false, false).await;
        let body = json!({"name": "x", "type": "okta", "config": {}});
        for (method, path, body) in [
            (Method::POST, IDPS.to_owned(), Some(body.clone())),
            (Method::PUT, format!("{IDPS}/{id}"), Some(body.clone())),
            (Method::DELETE, format!("{IDPS}/{id}"), None),
            (Method::POST, format!("{IDPS}/{id}/refresh_scim_secret"), None),
        ] {
            let mut req = Auth::Token("idp-reader").apply(app.request(method.clone(), &format!("/client/v4{path}")));
            if let Some(b) = body {
                req = req.body(b.to_string());
            }
            assert_error(req.send().await.unwrap(), 403, &[(10000, "Authentication error", None)]).await;
        }
        for path in [
            IDPS.to_owned(),
            format!("{IDPS}/{id}"),
            format!("{IDPS}/{id}/scim/users"),
            format!("{IDPS}/{id}/scim/groups"),
        ] {
            let resp = Auth::Token(TOKEN)
                .apply(app.request(Method::GET, &format!("/client/v4{path}")))
                .send()
                .await
                .unwrap();
            assert_error(resp, 403, &[(10000, "Authentication error", None)]).await;
            let (status, _) = app.call(Method::GET, &path, Auth::Token("idp-reader"), None).await;
            assert_eq!(status, 200, "{path}");
        }
        // Another account's provider is not found, not forbidden.
        let (status, _) = app
            .call(
                Method::GET,
                &format!("/accounts/{OTHER_ACCOUNT}/access/identity_providers/{id}"),
                Auth::Key("other@example.com", "0000000000000000000000000000000000000000"),
                None,
            )
            .await;
        assert_eq!(status, 404);
    })
    .await;
}

#[tokio::test]
async fn scim_base_urls_follow_the_public_url_when_one_is_set() {
    let config = seats_server::ServerConfig {
        public_url: Some("https://seats.example.com/".parse().unwrap()),
        ..Default::default()
    };
    let app = TestApp::builder().seed(&seed()).config(config).start().await;
    let (id, _) = scim_provider(&app, false, false).await;
    // Whatever Host the request names.
    let (status, body) = app
        .call(Method::GET, &format!("{IDPS}/{id}"), Auth::Token("idp-reader"), None)
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["result"]["scim_config"]["scim_base_url"],
        format!("https://seats.example.com/populations/{id}/scim/v2")
    );
}
