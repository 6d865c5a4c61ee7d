//! The routes around PATCH: health, readiness, request ids, accounts, token verification.

use reqwest::Method;
use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn health_and_readiness() {
    on_each_backend(|| async {
        let app = spawn_app(&test_seed()).await;
        let (status, body) = parts(app.request(Method::GET, "/healthz").send().await.unwrap()).await;
        assert_eq!((status.as_u16(), body["result"]["status"].clone()), (200, json!("ok")));
        let (status, body) = parts(app.request(Method::GET, "/readyz").send().await.unwrap()).await;
        assert_eq!((status.as_u16(), body["success"].clone()), (200, json!(true)));
        // A real fault: the schema the store reads is gone.
        app.db.execute("ALTER TABLE accounts RENAME TO accounts_gone").await;
        let resp = app.request(Method::GET, "/readyz").send().await.unwrap();
        assert_error(resp, 503, &[(10002, "storage unavailable", None)]).await;
        app.db.execute("ALTER TABLE accounts_gone RENAME TO accounts").await;
        assert_eq!(app.request(Method::GET, "/readyz").send().await.unwrap().status(), 200);
    })
    .await;
}

#[tokio::test]
async fn request_ids_are_generated_or_echoed_when_safe() {
    on_each_backend(|| async {
        let app = spawn_app(&test_seed()).await;
        let resp = app.request(Method::GET, "/nope").send().await.unwrap();
        let id = resp.headers()["x-request-id"].to_str().unwrap().to_owned();
        assert_eq!(id.len(), 36, "a UUID: {id}");
        let resp = app.patch_seats_as(ACCOUNT, Auth::None, &example_body()).await;
        assert!(resp.headers().contains_key("x-request-id"), "errors carry one too");
        let resp = app
            .request(Method::GET, "/healthz")
            .header("x-request-id", "trace-me-42")
            .send()
            .await
            .unwrap();
        assert_eq!(resp.headers()["x-request-id"], "trace-me-42");
        let longest = "a".repeat(128);
        let with_id = |ids: Vec<String>| {
            let mut req = app.request(Method::GET, "/healthz");
            for id in ids {
                req = req.header("x-request-id", id);
            }
            async move {
                let resp = req.send().await.unwrap();
                let echoed: Vec<String> = resp
                    .headers()
                    .get_all("x-request-id")
                    .iter()
                    .map(|v| v.to_str().unwrap().to_owned())
                    .collect();
                echoed
            }
        };
        assert_eq!(with_id(vec![longest.clone()]).await, std::slice::from_ref(&longest));
        assert_eq!(with_id(vec!["a.b:c_d-9".into()]).await, ["a.b:c_d-9"]);
        // Too long, characters that could forge a log field, or two of them: replaced.
        for ids in [
            vec![format!("{longest}a")],
            vec![r#"x status=200 account_id="forged""#.to_owned()],
            vec!["tab\there".to_owned()],
            vec!["one".to_owned(), "two".to_owned()],
        ] {
            let echoed = with_id(ids.clone()).await;
            assert_eq!(echoed.len(), 1, "{ids:?}: {echoed:?}");
            assert_eq!(echoed[0].len(), 36, "{ids:?}: a generated UUID, not {echoed:?}");
            assert!(!ids.contains(&echoed[0]));
        }
    })
    .await;
}

#[tokio::test]
async fn accounts_lists_what_the_credential_reaches() {
    on_each_backend(|| async {
        let app = spawn_app(&test_seed()).await;
        let list = |auth: Auth<'static>, query: &'static str| {
            let req = auth.apply(app.request(Method::GET, &format!("/client/v4/accounts{query}")));
            async move { parts(req.send().await.unwrap()).await }
        };
        let (status, body) = list(Auth::Token(TOKEN), "").await;
        assert_eq!(status, 200);
        assert_eq!(body["result"].as_array().unwrap().len(), 1);
        assert_eq!(body["result"][0]["id"], ACCOUNT);
        assert_eq!(body["result"][0]["name"], "Example account");
        assert_eq!(
            body["result_info"],
            json!({"count": 1, "page": 1, "per_page": 1000, "total_count": 1, "total_pages": 1})
        );

        // Ordered by creation, then id: both were seeded together.
        let (_, body) = list(Auth::Token("wildcard-token"), "?per_page=1&page=2").await;
        assert_eq!(body["result"][0]["id"], ACCOUNT);
        assert_eq!(
            body["result_info"],
            json!({"count": 1, "page": 2, "per_page": 1, "total_count": 2, "total_pages": 2})
        );
        let (_, body) = list(Auth::Token("wildcard-token"), "?page=3&per_page=1").await;
        assert_eq!(body["result"], json!([]), "past the last page is empty, not an error");

        let (_, body) = list(Auth::Token("deny-token"), "").await;
        let ids: Vec<_> = body["result"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["id"].clone())
            .collect();
        assert_eq!(ids, vec![json!(OTHER_ACCOUNT)], "a denied account is not listed");

        let (_, body) = list(Auth::Key(EMAIL, KEY), "").await;
        assert_eq!(body["result"][0]["id"], ACCOUNT);

        let resp = Auth::Token(TOKEN)
            .apply(app.request(Method::GET, "/client/v4/accounts?page=0&per_page=5000"))
            .send()
            .await
            .unwrap();
        assert_error(
            resp,
            400,
            &[
                (
                    12006,
                    "access.api.error.invalid_request: page must be an integer between 1 and 9223372036854775807, got \"0\"",
                    Some("/page"),
                ),
                (
                    12006,
                    "access.api.error.invalid_request: per_page must be an integer between 1 and 1000, got \"5000\"",
                    Some("/per_page"),
                ),
            ],
        )
        .await;
        let resp = app.request(Method::GET, "/client/v4/accounts").send().await.unwrap();
        assert_error(
            resp,
            400,
            &[(9106, "Missing X-Auth-Key, X-Auth-Email or Authorization headers", None)],
        )
        .await;
    })
    .await;
}

#[tokio::test]
async fn token_verify_reports_status_even_when_disabled_or_expired() {
    on_each_backend(|| async {
        let app = spawn_app(&test_seed()).await;
        let verify = |auth: Auth<'static>| {
            let req = auth.apply(app.request(Method::GET, "/client/v4/user/tokens/verify"));
            async move { req.send().await.unwrap() }
        };
        let (status, body) = parts(verify(Auth::Token(TOKEN)).await).await;
        assert_eq!(status, 200);
        assert_eq!(body["result"], json!({"id": "demo", "status": "active"}));
        let (_, body) = parts(verify(Auth::Token("disabled-token")).await).await;
        assert_eq!(body["result"]["status"], "disabled");
        let (_, body) = parts(verify(Auth::Token("expired-token")).await).await;
        assert_eq!(
            body["result"],
            json!({"id": "expired", "status": "expired", "expires_on": "2020-01-01T00:00:00.000000Z"})
        );
        assert_error(
            verify(Auth::Token("no-such-token")).await,
            401,
            &[(1000, "Invalid API Token", None)],
        )
        .await;
        assert_error(
            verify(Auth::Key(EMAIL, KEY)).await,
            403,
            &[(10000, "Authentication error", None)],
        )
        .await;
        assert_error(
            verify(Auth::None).await,
            400,
            &[(9106, "Missing X-Auth-Key, X-Auth-Email or Authorization headers", None)],
        )
        .await;
    })
    .await;
}
