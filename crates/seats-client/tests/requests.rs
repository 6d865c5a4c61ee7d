//! What the client sends, what it refuses to send, and how it reads recorded Cloudflare bodies.

mod support;

use seats_client::{Client, Error, SeatEditParams, SeatEditParamsBody};
use serde_json::json;
use support::*;

#[tokio::test]
async fn sends_token_path_and_all_three_fields() {
    let server = FaultServer::start(vec![Step::json(200, DOCS_EXAMPLE_RESPONSE)]).await;
    let client = client_for(&server, RecordingTimer::new()).build().unwrap();
    let params = SeatEditParams {
        account_id: ACCOUNT.into(),
        body: vec![
            SeatEditParamsBody {
                access_seat: false,
                gateway_seat: false,
                seat_uid: "a".into(),
            },
            SeatEditParamsBody {
                access_seat: true,
                gateway_seat: false,
                seat_uid: "b".into(),
            },
        ],
    };
    client.zero_trust().seats().edit(params).await.unwrap();
    let req = &server.received()[0];
    assert_eq!(req.method, "PATCH");
    assert_eq!(req.path, format!("/client/v4/accounts/{ACCOUNT}/access/seats"));
    assert_eq!(req.header("authorization"), Some("Bearer test-token"));
    assert_eq!(req.header("content-type"), Some("application/json"));
    let body: serde_json::Value = serde_json::from_str(&req.body).unwrap();
    assert_eq!(
        body,
        json!([{"access_seat": false, "gateway_seat": false, "seat_uid": "a"},
               {"access_seat": true, "gateway_seat": false, "seat_uid": "b"}])
    );
}

#[tokio::test]
async fn sends_email_and_key() {
    let server = FaultServer::start(vec![Step::json(200, DOCS_EXAMPLE_RESPONSE)]).await;
    let client = Client::builder()
        .api_email("user@example.com")
        .api_key("144c9defac04969c7bfad8efaa8ea194")
        .base_url(server.base_url.clone())
        .build()
        .unwrap();
    client.zero_trust().seats().edit(one_seat_edit()).await.unwrap();
    let req = &server.received()[0];
    assert_eq!(req.header("x-auth-email"), Some("user@example.com"));
    assert_eq!(req.header("x-auth-key"), Some("144c9defac04969c7bfad8efaa8ea194"));
    assert_eq!(req.header("authorization"), None);
}

#[tokio::test]
async fn empty_account_id_is_refused_before_sending() {
    let server = FaultServer::start(vec![Step::json(200, DOCS_EXAMPLE_RESPONSE)]).await;
    let client = client_for(&server, RecordingTimer::new()).build().unwrap();
    for bad in ["", "a/b", "a b"] {
        let params = SeatEditParams {
            account_id: bad.into(),
            body: vec![],
        };
        let err = client.zero_trust().seats().edit(params).await.unwrap_err();
        assert!(matches!(err, Error::InvalidParams(_)), "{err:?}");
    }
    assert_eq!(server.attempts(), 0);
}

#[test]
fn builder_and_environment_rules() {
    let err = Client::builder().build().unwrap_err();
    assert!(
        matches!(&err, Error::Config(m) if m.contains("CLOUDFLARE_API_TOKEN")),
        "{err}"
    );
    assert!(matches!(
        Client::builder().api_token("t").api_key("k").api_email("e@x.y").build(),
        Err(Error::Config(_))
    ));
    assert!(matches!(Client::builder().api_key("k").build(), Err(Error::Config(_))));
    assert!(matches!(
        Client::builder().api_token("t").base_url("not a url").build(),
        Err(Error::Config(_))
    ));
    let client = Client::builder().api_token("t").build().unwrap();
    assert_eq!(client.base_url(), "https://api.cloudflare.com/client/v4");

    let env = |pairs: &'static [(&'static str, &'static str)]| {
        move |name: &str| pairs.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string())
    };
    // The token wins over a key in the environment.
    let client = Client::builder_from(env(&[
        ("CLOUDFLARE_API_TOKEN", "tok"),
        ("CLOUDFLARE_API_KEY", "key"),
        ("CLOUDFLARE_EMAIL", "e@x.y"),
        ("CLOUDFLARE_BASE_URL", "http://127.0.0.1:9/client/v4/"),
    ]))
    .build()
    .unwrap();
    assert!(format!("{client:?}").contains("ApiToken(***)"));
    assert_eq!(client.base_url(), "http://127.0.0.1:9/client/v4");
    let client = Client::builder_from(env(&[("CLOUDFLARE_API_KEY", "key"), ("CLOUDFLARE_EMAIL", "e@x.y")]))
        .build()
        .unwrap();
    assert!(format!("{client:?}").contains("ApiKey { email: \"e@x.y\", key: *** }"));
    assert!(matches!(
        Client::builder_from(env(&[("CLOUDFLARE_EMAIL", "e@x.y")])).build(),
        Err(Error::Config(_))
    ));
}

#[test]
fn secrets_never_in_debug() {
    let token = "Sn3lZJTBX6kkg7OdcBUAxOO963GEIyGQqnFTOFYY";
    let builder = Client::builder()
        .api_token(token)
        .base_url("http://127.0.0.1:8788/client/v4");
    assert!(!format!("{builder:?}").contains(token));
    let client = builder.build().unwrap();
    assert!(!format!("{client:?}").contains(token));
    let key = "144c9defac04969c7bfad8efaa8ea194";
    let client = Client::builder()
        .api_key(key)
        .api_email("u@x.y")
        .base_url("http://127.0.0.1:8788/client/v4")
        .build()
        .unwrap();
    assert!(!format!("{client:?}").contains(key));
}

#[tokio::test]
async fn decodes_the_documentation_example() {
    let server = FaultServer::start(vec![Step::json(200, DOCS_EXAMPLE_RESPONSE)]).await;
    let page = edit_once(&server, RecordingTimer::new()).await.unwrap();
    let seat = &page.result[0];
    assert_eq!(seat.seat_uid.as_deref(), Some(SEAT));
    assert_eq!(seat.access_seat, Some(false));
    assert_eq!(seat.created_at.unwrap().to_string(), "2014-01-01T05:20:00.123450Z");
    let info = page.result_info().unwrap();
    assert_eq!(
        (info.count, info.page, info.per_page, info.total_count, info.total_pages),
        (1, 1, 20, 2000, 100)
    );
}

#[tokio::test]
async fn tolerates_extra_and_missing_fields() {
    let body = r#"{"success": true, "errors": [], "result": [{"seat_uid": "x", "new_field": {"nested": 1}}],
                   "something_new": [1, 2]}"#;
    let server = FaultServer::start(vec![Step::json(200, body)]).await;
    let page = edit_once(&server, RecordingTimer::new()).await.unwrap();
    assert_eq!(page.result[0].seat_uid.as_deref(), Some("x"));
    assert_eq!(page.result[0].access_seat, None);
    assert_eq!(page.result[0].updated_at, None);
    assert_eq!(page.result_info(), None);
}

/// The error bodies of docs/contract.md §3, as the server writes them.
#[tokio::test]
async fn decodes_real_error_bodies_with_codes_and_chains() {
    let headers = r#"{"success":false,"errors":[{"code":6003,"message":"Invalid request headers","error_chain":[{"code":6102,"message":"Invalid format for X-Auth-Email header"},{"code":6103,"message":"Invalid format for X-Auth-Key header"}]}],"messages":[],"result":null}"#;
    let route = r#"{"success":false,"errors":[{"code":7003,"message":"Could not route to /client/v4/accounts/abc/access/seats, perhaps your object identifier is invalid?"},{"code":7000,"message":"No route for that URI"}],"messages":[],"result":null}"#;
    let unknown = r#"{"success":false,"errors":[{"code":12130,"message":"access.api.error.not_found: no seat","source":{"pointer":"/1/seat_uid"}}],"messages":[],"result":null}"#;
    let wide = r#"{"success":false,"errors":[{"code":100000123,"message":"a code wider than u16"}],"messages":[],"result":null}"#;
    let token =
        r#"{"success":false,"errors":[{"code":1000,"message":"Invalid API Token"}],"messages":[],"result":null}"#;
    let proxy = "<html><body>502 Bad Gateway</body></html>";
    let server = FaultServer::start(vec![
        Step::json(400, headers),
        Step::json(400, route),
        Step::json(404, unknown),
        Step::json(403, wide),
        Step::json(401, token),
        Step::json(502, proxy),
    ])
    .await;
    let client = client_for(&server, RecordingTimer::new())
        .max_retries(0)
        .build()
        .unwrap();
    let next = || async { client.zero_trust().seats().edit(one_seat_edit()).await.unwrap_err() };

    let Error::BadRequest(e) = next().await else { panic!() };
    assert_eq!(e.code(), Some(6003));
    let chain: Vec<i64> = e.errors[0].error_chain.iter().flatten().map(|c| c.code).collect();
    assert_eq!(chain, [6102, 6103]);

    let Error::BadRequest(e) = next().await else { panic!() };
    assert_eq!(e.errors.iter().map(|m| m.code).collect::<Vec<_>>(), [7003, 7000]);

    let Error::NotFound(e) = next().await else { panic!() };
    assert_eq!(e.errors[0].pointer(), Some("/1/seat_uid"));

    let Error::PermissionDenied(e) = next().await else {
        panic!()
    };
    assert_eq!(e.code(), Some(100_000_123));

    let Error::Authentication(e) = next().await else {
        panic!()
    };
    assert_eq!(e.code(), Some(1000));

    let err = next().await;
    let Error::Decode { status, body, .. } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(status.as_u16(), 502);
    assert_eq!(body, proxy, "the raw body is kept");
}
