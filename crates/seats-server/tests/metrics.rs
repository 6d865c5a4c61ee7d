//! `/metrics` read with a Prometheus exposition-format parser: request counts by operation
//! and status, latency histograms, seats in use (per account only when asked), the store's
//! commits. A test
//! binary of its own: the metrics recorder is process-wide, so no other test adds to it.

use std::sync::Arc;

use seats_server::{build_router, AppState, ServerConfig, SystemClock};
use seats_store::seed;
use seats_store::testing::TestDb;

const ACCOUNT: &str = "699d98642c564d2e855e9661899b7252";
const TOKEN: &str = "Sn3lZJTBX6kkg7OdcBUAxOO963GEIyGQqnFTOFYY";
const SEAT: &str = "f174e90a-fafe-4643-bbbc-4a0ed4fc8415";

fn value(scrape: &prometheus_parse::Scrape, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    scrape
        .samples
        .iter()
        .find(|s| s.metric == name && labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
        .map(|s| match &s.value {
            prometheus_parse::Value::Counter(v)
            | prometheus_parse::Value::Gauge(v)
            | prometheus_parse::Value::Untyped(v) => *v,
            prometheus_parse::Value::Histogram(buckets) => buckets.iter().map(|b| b.count).fold(0.0, f64::max),
            prometheus_parse::Value::Summary(_) => f64::NAN,
        })
}

/// A server on `store` on a free port of 127.0.0.1; its base URL.
async fn serve(store: Arc<dyn seats_store::Store>, config: ServerConfig) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let app = build_router(AppState::new(store, Arc::new(SystemClock), config));
    tokio::spawn(seats_server::serve(listener, app, std::future::pending()));
    base
}

#[tokio::test]
async fn metrics_move_with_requests() {
    let db = TestDb::create().await;
    let store = db.open().await;
    let seed = seed::parse(seed::DEMO_SEED.as_bytes()).unwrap();
    store
        .load_seed(seed, seats_server::Clock::now(&SystemClock))
        .await
        .unwrap();
    let base = serve(store, ServerConfig::default()).await;
    let http = reqwest::Client::new();
    let scrape = || async {
        let resp = http.get(format!("{base}/metrics")).send().await.unwrap();
        assert_eq!(resp.status(), 200);
        assert!(resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4"));
        let text = resp.text().await.unwrap();
        prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_owned()))).expect("valid exposition format")
    };
    let patch = |access: bool| {
        let body = format!(r#"[{{"access_seat": {access}, "gateway_seat": false, "seat_uid": "{SEAT}"}}]"#);
        http.patch(format!("{base}/client/v4/accounts/{ACCOUNT}/access/seats"))
            .bearer_auth(TOKEN)
            .body(body)
            .send()
    };

    let before = scrape().await;
    // By default no account id is shown to whoever asks.
    let text = http
        .get(format!("{base}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!text.contains(ACCOUNT), "{text}");
    assert_eq!(value(&before, "seats_account_seats_in_use", &[]), None);
    assert_eq!(value(&before, "seats_seats_in_use", &[]), Some(1.0));
    assert_eq!(value(&before, "seats_accounts", &[]), Some(1.0));
    let op = [("operation", "zero-trust-seats-update-a-user-seat"), ("status", "200")];
    assert_eq!(value(&before, "seats_http_requests_total", &op), None, "no PATCH yet");

    assert_eq!(patch(false).await.unwrap().status(), 200);
    assert_eq!(patch(false).await.unwrap().status(), 200);
    let resp = http
        .patch(format!("{base}/client/v4/accounts/{ACCOUNT}/access/seats"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400, "no credentials");

    let after = scrape().await;
    assert_eq!(value(&after, "seats_http_requests_total", &op), Some(2.0));
    let refused = [("operation", "zero-trust-seats-update-a-user-seat"), ("status", "400")];
    assert_eq!(value(&after, "seats_http_requests_total", &refused), Some(1.0));
    assert_eq!(
        value(
            &after,
            "seats_http_request_duration_seconds",
            &[("operation", "zero-trust-seats-update-a-user-seat")]
        ),
        Some(3.0),
        "every request is in the histogram"
    );
    assert_eq!(
        value(&after, "seats_seats_in_use", &[]),
        Some(0.0),
        "the seat was freed"
    );
    assert!(
        value(&after, "seats_store_write_group_size", &[]).unwrap() >= 1.0,
        "the store reports its commits"
    );
    assert!(value(&after, "seats_store_commit_seconds", &[]).unwrap() >= 1.0);
    assert_eq!(value(&after, "seats_accounts", &[]), Some(1.0));
    assert_eq!(
        value(
            &after,
            "seats_http_requests_total",
            &[("operation", "none"), ("status", "404")]
        ),
        None,
        "nothing unrouted was asked"
    );

    // With --metrics-account-labels, each account by id (the recorder is the same).
    let config = ServerConfig {
        metrics_account_labels: true,
        ..ServerConfig::default()
    };
    let labelled = serve(db.open().await, config).await;
    let text = http
        .get(format!("{labelled}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let scrape = prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_owned()))).unwrap();
    assert_eq!(
        value(&scrape, "seats_account_seats_in_use", &[("account", ACCOUNT)]),
        Some(0.0)
    );
    assert_eq!(
        value(&scrape, "seats_account_seat_limit", &[("account", ACCOUNT)]),
        Some(50.0)
    );

    // With --metrics-token, only its bearer reads the metrics, and they name the accounts.
    let config = ServerConfig {
        metrics_token: Some(seats_store::secret::Secret::new("metrics-token").hash()),
        ..ServerConfig::default()
    };
    let guarded = format!("{}/metrics", serve(db.open().await, config).await);
    for token in [None, Some("wrong")] {
        let mut req = http.get(&guarded);
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        let resp = req.send().await.unwrap();
        assert_eq!(resp.status(), 401, "{token:?}");
        assert_eq!(resp.headers()["www-authenticate"], "Bearer realm=\"metrics\"");
        let text = resp.text().await.unwrap();
        assert_eq!(text, "send the metrics token as Authorization: Bearer\n");
    }
    let resp = http.get(&guarded).bearer_auth("metrics-token").send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert!(resp.text().await.unwrap().contains(ACCOUNT));
    drop(db);
}
