//! Retries against a scripted, misbehaving server: how many attempts, and how long between.

mod support;

use std::time::Duration;

use seats_client::{Error, RequestOptions};
use support::*;

const OK: &str = support::DOCS_EXAMPLE_RESPONSE;
const RATE_LIMITED: &str = r#"{"success":false,"errors":[{"code":971,"message":"Please wait and consider throttling your request speed"}],"messages":[],"result":null}"#;
const UNAVAILABLE: &str =
    r#"{"success":false,"errors":[{"code":10002,"message":"Internal error"}],"messages":[],"result":null}"#;

fn in_backoff_range(wait: Duration, base_ms: u64) -> bool {
    let base = Duration::from_millis(base_ms);
    wait <= base && wait >= base.mul_f64(0.75)
}

#[tokio::test]
async fn rate_limit_waits_what_retry_after_says() {
    let server = FaultServer::start(vec![
        Step::json(429, RATE_LIMITED).with_header("Retry-After", "3"),
        Step::json(200, OK),
    ])
    .await;
    let timer = RecordingTimer::new();
    let page = edit_once(&server, timer.clone()).await.unwrap();
    assert_eq!(page.len(), 1);
    assert_eq!(server.attempts(), 2);
    assert_eq!(timer.waits(), [Duration::from_secs(3)]);
}

#[tokio::test]
async fn retry_after_ms_and_http_dates_are_honoured() {
    let timer = RecordingTimer::new();
    let date = httpdate::fmt_http_date(timer.now + Duration::from_secs(7));
    let server = FaultServer::start(vec![
        Step::json(429, RATE_LIMITED)
            .with_header("Retry-After-Ms", "1500")
            .with_header("Retry-After", "9"),
        Step::json(503, UNAVAILABLE).with_header("Retry-After", &date),
        Step::json(200, OK),
    ])
    .await;
    let client = client_for(&server, timer.clone()).max_retries(3).build().unwrap();
    client.zero_trust().seats().edit(one_seat_edit()).await.unwrap();
    assert_eq!(server.attempts(), 3);
    assert_eq!(timer.waits(), [Duration::from_millis(1500), Duration::from_secs(7)]);
}

#[tokio::test]
async fn retry_after_over_60_seconds_falls_back_to_backoff() {
    let server = FaultServer::start(vec![
        Step::json(429, RATE_LIMITED).with_header("Retry-After", "120"),
        Step::json(200, OK),
    ])
    .await;
    let timer = RecordingTimer::new();
    edit_once(&server, timer.clone()).await.unwrap();
    let waits = timer.waits();
    assert_eq!(waits.len(), 1);
    assert!(in_backoff_range(waits[0], 500), "{waits:?}");
}

#[tokio::test]
async fn server_errors_back_off_exponentially_then_give_up() {
    let server = FaultServer::start(vec![Step::json(503, UNAVAILABLE); 5]).await;
    let timer = RecordingTimer::new();
    let err = edit_once(&server, timer.clone()).await.unwrap_err();
    assert_eq!(server.attempts(), 3, "one attempt and the default 2 retries");
    let waits = timer.waits();
    assert!(
        in_backoff_range(waits[0], 500) && in_backoff_range(waits[1], 1000),
        "{waits:?}"
    );
    let Error::InternalServer(api) = err else {
        panic!("expected InternalServer, got {err:?}")
    };
    assert_eq!(api.status, 503);
    assert_eq!(api.code(), Some(10002));
}

#[tokio::test]
async fn a_503_then_success() {
    let server = FaultServer::start(vec![Step::json(503, UNAVAILABLE), Step::json(200, OK)]).await;
    let timer = RecordingTimer::new();
    let page = edit_once(&server, timer.clone()).await.unwrap();
    assert_eq!(page.result[0].seat_uid.as_deref(), Some(SEAT));
    assert_eq!(server.attempts(), 2);
    assert_eq!(timer.waits().len(), 1);
}

#[tokio::test]
async fn x_should_retry_false_stops_retries_and_true_forces_them() {
    let limit = r#"{"success":false,"errors":[{"code":12009,"message":"access.api.error.seat_limit_reached: 50/50 seats in use"}],"messages":[],"result":null}"#;
    let server = FaultServer::start(vec![Step::json(409, limit).with_header("x-should-retry", "false")]).await;
    let timer = RecordingTimer::new();
    let err = edit_once(&server, timer.clone()).await.unwrap_err();
    assert_eq!(server.attempts(), 1);
    assert!(timer.waits().is_empty());
    let Error::Conflict(api) = err else {
        panic!("expected Conflict, got {err:?}")
    };
    assert_eq!(api.code(), Some(12009));

    let bad = r#"{"success":false,"errors":[{"code":12006,"message":"x"}],"messages":[],"result":null}"#;
    let server = FaultServer::start(vec![
        Step::json(400, bad).with_header("x-should-retry", "true"),
        Step::json(200, OK),
    ])
    .await;
    edit_once(&server, RecordingTimer::new()).await.unwrap();
    assert_eq!(server.attempts(), 2);
}

#[tokio::test]
async fn plain_409_is_retried_and_400_is_not() {
    let conflict = r#"{"success":false,"errors":[{"code":12010,"message":"c"}],"messages":[],"result":null}"#;
    let server = FaultServer::start(vec![Step::json(409, conflict), Step::json(200, OK)]).await;
    edit_once(&server, RecordingTimer::new()).await.unwrap();
    assert_eq!(server.attempts(), 2);

    let bad = r#"{"success":false,"errors":[{"code":12006,"message":"x"}],"messages":[],"result":null}"#;
    let server = FaultServer::start(vec![Step::json(400, bad), Step::json(200, OK)]).await;
    let err = edit_once(&server, RecordingTimer::new()).await.unwrap_err();
    assert!(matches!(err, Error::BadRequest(_)), "{err:?}");
    assert_eq!(server.attempts(), 1);
}

#[tokio::test]
async fn a_dropped_connection_is_retried() {
    let server = FaultServer::start(vec![Step::Drop, Step::json(200, OK)]).await;
    let timer = RecordingTimer::new();
    edit_once(&server, timer.clone()).await.unwrap();
    assert_eq!(server.attempts(), 2);
    assert!(in_backoff_range(timer.waits()[0], 500));

    let server = FaultServer::start(vec![Step::Drop; 3]).await;
    let err = edit_once(&server, RecordingTimer::new()).await.unwrap_err();
    assert!(matches!(err, Error::Connection { .. }), "{err:?}");
    assert!(err.is_transport());
    assert_eq!(server.attempts(), 3);
}

#[tokio::test]
async fn a_timeout_is_retried_and_then_reported() {
    let server = FaultServer::start(vec![Step::Hang, Step::json(200, OK)]).await;
    let client = client_for(&server, RecordingTimer::new())
        .timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    client.zero_trust().seats().edit(one_seat_edit()).await.unwrap();
    assert_eq!(server.attempts(), 2);

    // Per call: a shorter timeout and no retries.
    let server = FaultServer::start(vec![Step::Hang, Step::json(200, OK)]).await;
    let client = client_for(&server, RecordingTimer::new()).build().unwrap();
    let options = RequestOptions {
        timeout: Some(Duration::from_millis(100)),
        max_retries: Some(0),
    };
    let err = client
        .zero_trust()
        .seats()
        .edit_with(one_seat_edit(), options)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Timeout { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        format!("PATCH /accounts/{ACCOUNT}/access/seats: timed out")
    );
    assert_eq!(server.attempts(), 1);
}

#[tokio::test]
async fn zero_retries_disables_them() {
    let server = FaultServer::start(vec![Step::json(503, UNAVAILABLE), Step::json(200, OK)]).await;
    let timer = RecordingTimer::new();
    let err = client_for(&server, timer.clone())
        .max_retries(0)
        .build()
        .unwrap()
        .zero_trust()
        .seats()
        .edit(one_seat_edit())
        .await;
    assert!(matches!(err, Err(Error::InternalServer(_))));
    assert_eq!(server.attempts(), 1);
    assert!(timer.waits().is_empty());
}

#[tokio::test]
async fn connection_refused_is_a_connection_error_after_retries() {
    // Bind then drop a listener: nothing listens on that port any more.
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let timer = RecordingTimer::new();
    let client = seats_client::Client::builder()
        .api_token("t")
        .base_url(format!("http://{addr}/client/v4"))
        .timer(timer.clone())
        .build()
        .unwrap();
    let err = client.zero_trust().seats().edit(one_seat_edit()).await.unwrap_err();
    assert!(matches!(err, Error::Connection { .. }), "{err:?}");
    assert_eq!(timer.waits().len(), 2);
}
