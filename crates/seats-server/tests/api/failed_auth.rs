//! The failed-authentication limit (`--failed-auth-limit`, on by default): wrong secrets count
//! per client address on the API, the operator API, SCIM and the dashboard; past the limit
//! that address is refused (the right secret too) while others are served. On SQLite only:
//! the counts live in the server's memory.

use std::time::Duration;

use reqwest::Method;
use seats_server::rate_limit::RateLimit;
use seats_server::ServerConfig;
use serde_json::Value;

use crate::helpers::*;
use crate::identity_providers::{scim_provider, seed};

const THROTTLED: &str = "Please wait and consider throttling your request speed";

fn limited(failures: u32) -> ServerConfig {
    ServerConfig {
        operator_key: Some(seats_store::secret::Secret::new(OPERATOR_KEY).hash()),
        failed_auth_limit: Some(RateLimit {
            requests: failures,
            window: Duration::from_secs(300),
        }),
        ..ServerConfig::default()
    }
}

/// A client whose connections come from `source` (a loopback address).
fn client_from(source: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(source.parse::<std::net::IpAddr>().unwrap())
        .build()
        .unwrap()
}

async fn assert_refused(resp: reqwest::Response) {
    let retry_after: u64 = resp.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=300).contains(&retry_after), "{retry_after}");
    assert_error(resp, 429, &[(971, THROTTLED, None)]).await;
}

#[test]
fn the_limit_is_on_by_default() {
    assert_eq!(
        ServerConfig::default().failed_auth_limit,
        Some(RateLimit {
            requests: 30,
            window: Duration::from_secs(300)
        })
    );
}

#[tokio::test]
async fn wrong_tokens_and_keys_spend_the_address_then_even_the_right_one_waits() {
    let app = TestApp::builder().seed(&test_seed()).config(limited(3)).start().await;
    let users = format!("/accounts/{ACCOUNT}/access/users");
    // Requests without a credential, or with a malformed one, guess nothing.
    for _ in 0..5 {
        let resp = app
            .request(Method::GET, &format!("/client/v4{users}"))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 400);
    }
    let wrong_token = "Sn3lZJTBX6kkg7OdcBUAxOO963GEIyGQqnFTOFYZ";
    for _ in 0..2 {
        let (status, body) = app.call(Method::GET, &users, Auth::Token(wrong_token), None).await;
        assert_eq!((status.as_u16(), body["errors"][0]["code"].as_i64()), (403, Some(9109)));
    }
    let (status, body) = app
        .call(
            Method::GET,
            &users,
            Auth::Key(EMAIL, "0000000000000000000000000000000000000"),
            None,
        )
        .await;
    assert_eq!(
        (status.as_u16(), body["errors"][0]["code"].as_i64()),
        (403, Some(9103)),
        "{body}"
    );
    // Three failures: the right token from this address waits.
    let resp = Auth::Token(TOKEN)
        .apply(app.request(Method::GET, &format!("/client/v4{users}")))
        .send()
        .await
        .unwrap();
    assert_refused(resp).await;
    // Another address is served.
    let resp = Auth::Token(TOKEN)
        .apply(client_from("127.0.0.2").get(app.url(&format!("/client/v4{users}"))))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
}

#[tokio::test]
async fn wrong_operator_keys_spend_the_address() {
    let app = TestApp::builder().seed(&test_seed()).config(limited(3)).start().await;
    let accounts = app.url("/_seats/v1/accounts");
    let client = reqwest::Client::new();
    // No key at all guesses nothing.
    for _ in 0..5 {
        assert_eq!(client.get(&accounts).send().await.unwrap().status(), 403);
    }
    for _ in 0..3 {
        let resp = client.get(&accounts).bearer_auth("not-the-key").send().await.unwrap();
        assert_error(resp, 403, &[(10000, "Authentication error", None)]).await;
    }
    let resp = client.get(&accounts).bearer_auth(OPERATOR_KEY).send().await.unwrap();
    assert_refused(resp).await;
    let resp = client_from("127.0.0.2")
        .get(&accounts)
        .bearer_auth(OPERATOR_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
}

#[tokio::test]
async fn wrong_scim_secrets_spend_the_address_answered_the_scim_way() {
    let app = TestApp::builder().seed(&seed()).config(limited(3)).start().await;
    let (id, secret) = scim_provider(&app, false, false).await;
    let users = app.url(&format!("/populations/{id}/scim/v2/Users"));
    let unknown = app.url("/populations/00000000-0000-4000-8000-000000000000/scim/v2/Users");
    let client = reqwest::Client::new();
    for url in [&users, &users, &unknown] {
        let resp = client.get(url).bearer_auth("wrong").send().await.unwrap();
        assert_eq!(resp.status(), 401);
    }
    let resp = client.get(&users).bearer_auth(&secret).send().await.unwrap();
    assert_eq!(resp.status(), 429);
    let retry_after: u64 = resp.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=300).contains(&retry_after));
    assert_eq!(resp.headers()["content-type"], "application/scim+json");
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["schemas"][0], "urn:ietf:params:scim:api:messages:2.0:Error");
    assert_eq!(body["status"], "429");
    assert_eq!(
        body["detail"],
        format!("too many failed authentications from this address; retry in {retry_after} s")
    );
    let resp = client_from("127.0.0.2")
        .get(&users)
        .bearer_auth(&secret)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
}

#[tokio::test]
async fn an_unknown_provider_and_a_wrong_secret_look_the_same() {
    let app = spawn_app(&seed()).await;
    let (id, _) = scim_provider(&app, false, false).await;
    let client = reqwest::Client::new();
    let mut answers = Vec::new();
    for provider in [id.as_str(), "00000000-0000-4000-8000-000000000000", "not-a-uuid"] {
        let resp = client
            .get(app.url(&format!("/populations/{provider}/scim/v2/Users")))
            .bearer_auth("wrong")
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        let challenge = resp.headers()["www-authenticate"].to_str().unwrap().to_owned();
        let body: Value = resp.json().await.unwrap();
        answers.push((status, challenge, body));
    }
    assert_eq!(answers[0].0, 401);
    assert_eq!(
        answers[0].2["detail"],
        "the SCIM secret is not valid for this identity provider"
    );
    assert_eq!(answers[1], answers[0]);
    assert_eq!(answers[2], answers[0]);
}

#[tokio::test]
async fn wrong_operator_keys_at_the_dashboard_sign_in_count_too() {
    let app = TestApp::builder().seed(&test_seed()).config(limited(2)).start().await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    // One sign-in form per attempt, as a browser gets them.
    for _ in 0..2 {
        assert_eq!(
            post_sign_in(&client, &app, &[("kind", "operator"), ("key", "not-the-key")])
                .await
                .status(),
            403
        );
    }
    let refused = post_sign_in(&client, &app, &[("kind", "operator"), ("key", OPERATOR_KEY)]).await;
    assert_eq!(refused.status(), 429);
    assert!(refused
        .headers()
        .get("set-cookie")
        .is_some_and(|c| c.to_str().unwrap().starts_with("seats_dashboard_sign_in=")));
    let text = refused.text().await.unwrap();
    assert!(text.contains("Error 971"), "{text}");
}

#[tokio::test]
async fn a_target_guessed_at_from_many_addresses_is_refused_to_all() {
    let config = ServerConfig {
        failed_auth_target_limit: Some(RateLimit {
            requests: 2,
            window: Duration::from_secs(300),
        }),
        ..limited(100)
    };
    let app = TestApp::builder().seed(&test_seed()).config(config).start().await;
    let accounts = app.url("/_seats/v1/accounts");
    for source in ["127.0.0.2", "127.0.0.3"] {
        let resp = client_from(source)
            .get(&accounts)
            .bearer_auth("not-the-key")
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 403);
    }
    // A third address, with the right key: the operator key is spent for now.
    let resp = client_from("127.0.0.4")
        .get(&accounts)
        .bearer_auth(OPERATOR_KEY)
        .send()
        .await
        .unwrap();
    assert_refused(resp).await;
    // Other targets are not: a member's key, a token.
    let users = format!("/accounts/{ACCOUNT}/access/users");
    let (status, _) = app.call(Method::GET, &users, Auth::Key(EMAIL, KEY), None).await;
    assert_eq!(status, 200);
    // A member's key is a target of its own.
    for source in ["127.0.0.5", "127.0.0.6"] {
        let resp = Auth::Key(EMAIL, "0000000000000000000000000000000000000")
            .apply(client_from(source).get(app.url(&format!("/client/v4{users}"))))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 403);
    }
    let (status, _) = app.call(Method::GET, &users, Auth::Key(EMAIL, KEY), None).await;
    assert_eq!(status, 429, "the member's key is spent");
    let (status, _) = app.call(Method::GET, &users, Auth::Token(TOKEN), None).await;
    assert_eq!(status, 200, "a token names no target");
}
