//! Cloudflare's rate limit (`--rate-limit`): per credential, `Ratelimit` and `Ratelimit-Policy`
//! on every answer, 429 971 with `Retry-After`,
//! never on the operator API or health checks; failed authentications limited per address.
//! On SQLite only: the limiter lives in the server's memory, not in storage.

use std::time::{Duration, Instant};

use reqwest::Method;
use seats_server::rate_limit::RateLimit;
use seats_server::ServerConfig;
use serde_json::json;

use crate::helpers::*;

const THROTTLED: &str = "Please wait and consider throttling your request speed";

fn limited(requests: u32, window: Duration) -> ServerConfig {
    ServerConfig {
        operator_key: Some(seats_store::secret::Secret::new(OPERATOR_KEY).hash()),
        rate_limit: Some(RateLimit { requests, window }),
        ..ServerConfig::default()
    }
}

/// `(r, t)` of the `Ratelimit` header, after checking its syntax and `Ratelimit-Policy`'s.
fn quota(resp: &reqwest::Response, limit: u32, window: Duration) -> (u64, u64) {
    let policy = resp.headers()["ratelimit-policy"].to_str().unwrap();
    assert_eq!(policy, format!("\"burst\";q={limit};w={}", window.as_secs()));
    let header = resp.headers()["ratelimit"].to_str().unwrap();
    let rest = header
        .strip_prefix("\"default\";r=")
        .unwrap_or_else(|| panic!("{header}"));
    let (r, t) = rest.split_once(";t=").unwrap_or_else(|| panic!("{header}"));
    (r.parse().unwrap(), t.parse().unwrap())
}

/// The `Retry-After` of a 429, checked field by field.
async fn assert_throttled(resp: reqwest::Response, window: Duration) -> Duration {
    let retry_after: u64 = resp.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    let (remaining, reset) = quota(&resp, 3, window);
    assert_eq!(
        (remaining, reset),
        (0, retry_after),
        "nothing left until the window ends"
    );
    assert!(
        (1..=window.as_secs().max(1)).contains(&retry_after),
        "Retry-After {retry_after} within the window"
    );
    assert_error(resp, 429, &[(971, THROTTLED, None)]).await;
    Duration::from_secs(retry_after)
}

#[tokio::test]
async fn each_credential_has_its_own_budget_answered_as_cloudflare_does() {
    let window = Duration::from_secs(2);
    let app = TestApp::builder()
        .seed(&test_seed())
        .config(limited(3, window))
        .start()
        .await;
    // Each answer says what is left of the budget, as Cloudflare's headers do.
    for left in [2, 1, 0] {
        let resp = app.patch_seats(&json!([])).await;
        assert_eq!(resp.status(), 200);
        let (remaining, reset) = quota(&resp, 3, window);
        assert_eq!(remaining, left);
        assert!((1..=2).contains(&reset), "t={reset}");
        assert!(resp.headers().get("retry-after").is_none(), "Retry-After only on a 429");
    }
    let refused = app.patch_seats(&json!([])).await;
    let told_at = Instant::now();
    let retry_after = assert_throttled(refused, window).await;
    // Every route of the Cloudflare API spends the same budget.
    let (status, _) = app
        .call(
            Method::GET,
            &format!("/accounts/{ACCOUNT}/access/users"),
            Auth::Token(TOKEN),
            None,
        )
        .await;
    assert_eq!(status, 429);
    // Another credential, the operator API and the health checks are untouched.
    assert_eq!(
        app.patch_seats_as(ACCOUNT, Auth::Key(EMAIL, KEY), &json!([]))
            .await
            .status(),
        200
    );
    for _ in 0..5 {
        let resp = app.operator_raw(Method::GET, "/accounts", None).await;
        assert_eq!(resp.status(), 200);
        assert!(
            resp.headers().get("ratelimit").is_none(),
            "the operator API is not limited"
        );
        let resp = app.request(Method::GET, "/healthz").send().await.unwrap();
        assert_eq!(resp.status(), 200);
        assert!(resp.headers().get("ratelimit").is_none());
    }
    // Nothing was written by the refused request.
    assert_eq!(app.audit_count(ACCOUNT).await, 0);
    // Waiting as told is enough.
    tokio::time::sleep((told_at + retry_after).saturating_duration_since(Instant::now())).await;
    assert_eq!(app.patch_seats(&json!([])).await.status(), 200);
}

#[tokio::test]
async fn failed_authentications_spend_the_address_budget_then_everything_from_it_waits() {
    let window = Duration::from_secs(2);
    let app = TestApp::builder()
        .seed(&test_seed())
        .config(limited(3, window))
        .start()
        .await;
    for left in [2, 1, 0] {
        let resp = app.patch_seats_as(ACCOUNT, Auth::Token("guess-0000"), &json!([])).await;
        assert_eq!(quota(&resp, 3, window).0, left, "the address's budget");
        assert_error(resp, 403, &[(9109, "Invalid access token", None)]).await;
    }
    // The guessing loop is slowed: even a right guess from this address waits.
    assert_throttled(
        app.patch_seats_as(ACCOUNT, Auth::Token("guess-0001"), &json!([])).await,
        window,
    )
    .await;
    assert_throttled(app.patch_seats(&json!([])).await, window).await;
    let (status, _) = app
        .call(Method::GET, "/user/tokens/verify", Auth::Token("guess-0002"), None)
        .await;
    assert_eq!(status, 429);
    assert_eq!(
        app.operator(Method::GET, "/accounts", None).await.0,
        200,
        "never the operator API"
    );
}

#[tokio::test]
async fn without_the_flag_there_is_no_limit() {
    let app = spawn_app(&test_seed()).await;
    for _ in 0..50 {
        let resp = app.patch_seats(&json!([])).await;
        assert_eq!(resp.status(), 200);
        assert!(resp.headers().get("ratelimit").is_none() && resp.headers().get("ratelimit-policy").is_none());
    }
}
