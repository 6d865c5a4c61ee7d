//! The connection layer with real sockets: slow headers, idle connections and stalled bodies
//! are cut; over the connection cap a client gets a clear 503 at once, and is served again
//! once a slot frees. These run on SQLite only: nothing here touches storage.

use std::time::{Duration, Instant};

use reqwest::Method;
use seats_server::{ConnectionLimits, ServerConfig};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::*;

fn limits(max_connections: usize, header_ms: u64, idle_ms: u64) -> ConnectionLimits {
    ConnectionLimits {
        max_connections,
        header_timeout: Duration::from_millis(header_ms),
        idle_timeout: Duration::from_millis(idle_ms),
        ..ConnectionLimits::default()
    }
}

/// Reads until the server closes the connection (or `within` passes: then panics); returns
/// what arrived.
async fn read_until_closed(stream: &mut TcpStream, within: Duration) -> Vec<u8> {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = Instant::now() + within;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, stream.read(&mut buf)).await {
            Err(_) => panic!("the server kept the connection open for {within:?}"),
            Ok(Ok(0)) | Ok(Err(_)) => return got,
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
        }
    }
}

/// The status line and JSON body of a raw HTTP/1.1 response.
fn parse_response(raw: &[u8]) -> (String, String, serde_json::Value) {
    let text = String::from_utf8_lossy(raw);
    let (head, body) = text.split_once("\r\n\r\n").expect("a complete response");
    let status = head.lines().next().unwrap().to_owned();
    (
        status,
        head.to_ascii_lowercase(),
        serde_json::from_str(body).expect("a JSON body"),
    )
}

/// The test seed served with the connection layer set to `limits`.
async fn limited(limits: ConnectionLimits) -> TestApp {
    TestApp::builder().seed(&test_seed()).limits(limits).start().await
}

#[tokio::test]
async fn headers_sent_a_byte_at_a_time_are_cut_off() {
    let app = limited(limits(16, 300, 30_000)).await;
    let mut stream = TcpStream::connect(app.addr).await.unwrap();
    let opened = Instant::now();
    let request = b"GET /healthz HTTP/1.1\r\nHost: seats\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n";
    let mut closed = false;
    for byte in request {
        if stream.write_all(&[*byte]).await.is_err() {
            closed = true;
            break;
        }
        // The server closes in the middle: a read sees the end while writes may still pass.
        let mut buf = [0u8; 64];
        match tokio::time::timeout(Duration::from_millis(50), stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => {
                closed = true;
                break;
            }
            Ok(Ok(n)) => panic!("answered before the headers were complete: {:?}", &buf[..n]),
            Err(_) => {}
        }
    }
    assert!(closed, "the server waited for every header byte");
    let elapsed = opened.elapsed();
    assert!(
        elapsed >= Duration::from_millis(300),
        "closed before the header timeout: {elapsed:?}"
    );
}

#[tokio::test]
async fn idle_connections_are_closed_and_busy_ones_are_not() {
    let app = limited(limits(16, 10_000, 400)).await;
    // A connection that never sends anything.
    let mut silent = TcpStream::connect(app.addr).await.unwrap();
    let opened = Instant::now();
    assert_eq!(read_until_closed(&mut silent, Duration::from_secs(10)).await, b"");
    assert!(opened.elapsed() >= Duration::from_millis(400), "{:?}", opened.elapsed());

    // A kept-alive connection: requests spaced under the idle timeout keep it open (each
    // answered on the same socket), then it is closed once idle.
    let mut kept = TcpStream::connect(app.addr).await.unwrap();
    for _ in 0..4 {
        kept.write_all(b"GET /healthz HTTP/1.1\r\nHost: seats\r\n\r\n")
            .await
            .unwrap();
        let mut buf = [0u8; 1024];
        let n = tokio::time::timeout(Duration::from_secs(5), kept.read(&mut buf))
            .await
            .expect("answered")
            .unwrap();
        assert!(
            buf[..n].starts_with(b"HTTP/1.1 200"),
            "{}",
            String::from_utf8_lossy(&buf[..n])
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let idle_from = Instant::now();
    assert_eq!(read_until_closed(&mut kept, Duration::from_secs(10)).await, b"");
    assert!(
        idle_from.elapsed() >= Duration::from_millis(100),
        "{:?}",
        idle_from.elapsed()
    );
}

#[tokio::test]
async fn a_stalled_body_is_answered_408_in_the_envelope_and_changes_nothing() {
    stalled_body(false).await;
}

/// The journal, keeping bodies, reads them under the same bounds as the handlers.
#[tokio::test]
async fn a_stalled_body_is_answered_408_when_the_journal_keeps_bodies_too() {
    stalled_body(true).await;
}

async fn stalled_body(journal_bodies: bool) {
    let config = ServerConfig {
        body_chunk_timeout: Duration::from_millis(300),
        journal_bodies,
        ..ServerConfig::default()
    };
    let app = TestApp::builder()
        .seed(&test_seed())
        .config(config)
        .limits(limits(16, 10_000, 30_000))
        .start()
        .await;
    let before = app.user(ALICE_SEAT).await;
    let body = json!([{"seat_uid": ALICE_SEAT, "access_seat": !before.access_seat, "gateway_seat": true}]).to_string();
    let mut stream = TcpStream::connect(app.addr).await.unwrap();
    let head = format!(
        "PATCH {} HTTP/1.1\r\nHost: seats\r\nAuthorization: Bearer {TOKEN}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        TestApp::seats_path(ACCOUNT),
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    // All but the last byte, then nothing.
    stream.write_all(&body.as_bytes()[..body.len() - 1]).await.unwrap();
    let raw = read_until_closed(&mut stream, Duration::from_secs(10)).await;
    let (status, head, body) = parse_response(&raw);
    assert_eq!(status, "HTTP/1.1 408 Request Timeout");
    assert!(head.contains("content-type: application/json"), "{head}");
    assert_eq!(
        body,
        json!({"success": false, "result": null, "messages": [], "errors": [{"code": 12008,
            "message": "access.api.error.request_timeout: the request body did not arrive in time"}]})
    );
    assert_eq!(
        app.user(ALICE_SEAT).await.access_seat,
        before.access_seat,
        "nothing changed"
    );
    assert_eq!(app.audit_count(ACCOUNT).await, 0, "nothing audited");
}

#[tokio::test]
async fn a_body_that_trickles_past_the_total_timeout_is_cut_too() {
    let config = ServerConfig {
        body_chunk_timeout: Duration::from_secs(10),
        body_timeout: Duration::from_millis(500),
        ..ServerConfig::default()
    };
    let app = TestApp::builder()
        .seed(&test_seed())
        .config(config)
        .limits(limits(16, 10_000, 30_000))
        .start()
        .await;
    let mut stream = TcpStream::connect(app.addr).await.unwrap();
    let head = format!(
        "PATCH {} HTTP/1.1\r\nHost: seats\r\nAuthorization: Bearer {TOKEN}\r\nContent-Length: 1000\r\n\r\n",
        TestApp::seats_path(ACCOUNT)
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let started = Instant::now();
    // A byte every 100 ms: each piece is in time, the whole is not.
    let mut answer = Vec::new();
    while started.elapsed() < Duration::from_secs(10) {
        if stream.write_all(b" ").await.is_err() {
            break;
        }
        let mut buf = [0u8; 4096];
        match tokio::time::timeout(Duration::from_millis(100), stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => break,
            Ok(Ok(n)) => answer.extend_from_slice(&buf[..n]),
            Err(_) => {}
        }
        if answer.windows(4).any(|w| w == b"\r\n\r\n") && answer.ends_with(b"}") {
            break;
        }
    }
    let (status, _, body) = parse_response(&answer);
    assert_eq!(status, "HTTP/1.1 408 Request Timeout");
    assert_eq!(body["errors"][0]["code"], json!(12008), "{body}");
    let elapsed = started.elapsed();
    assert!(elapsed >= Duration::from_millis(500), "{elapsed:?}");
}

#[tokio::test]
async fn over_the_cap_a_client_is_refused_at_once_and_served_when_a_slot_frees() {
    let app = limited(limits(2, 10_000, 30_000)).await;
    // Two connections hold both slots (opened, then silent).
    let first = TcpStream::connect(app.addr).await.unwrap();
    let _second = TcpStream::connect(app.addr).await.unwrap();
    // No wait is needed for the server to take both: connected, they wait in the listen
    // queue ahead of any later connection, and the server admits in that order.

    let asked = Instant::now();
    let refused = app.request(Method::GET, "/healthz").send().await.expect("an answer");
    assert!(
        asked.elapsed() < Duration::from_secs(2),
        "refused fast: {:?}",
        asked.elapsed()
    );
    assert_eq!(refused.headers()["retry-after"], "1");
    assert_eq!(refused.headers()["connection"], "close");
    assert_error(
        refused,
        503,
        &[(
            10003,
            "Service temporarily unavailable: too many open connections, retry shortly",
            None,
        )],
    )
    .await;

    drop(first);
    // The server sees the close and frees the slot; a client retrying as the SDKs do is served.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let resp = app.request(Method::GET, "/healthz").send().await.expect("an answer");
        if resp.status() == 200 {
            break;
        }
        assert_eq!(resp.status(), 503);
        assert!(Instant::now() < deadline, "no slot freed");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_connection_that_sends_nothing_is_closed_at_the_header_timeout_from_the_accept() {
    // The idle timeout is long: only the header timeout, counted from the accept, closes it.
    let app = limited(limits(16, 300, 30_000)).await;
    let mut silent = TcpStream::connect(app.addr).await.unwrap();
    let opened = Instant::now();
    assert_eq!(read_until_closed(&mut silent, Duration::from_secs(10)).await, b"");
    let held = opened.elapsed();
    assert!(
        held >= Duration::from_millis(300),
        "closed before the timeout: {held:?}"
    );
    assert!(held < Duration::from_secs(5), "held for the idle timeout: {held:?}");
}

/// A connection to the app from `source`, one of the loopback addresses other than 127.0.0.1.
async fn connect_from(source: &str, app: &TestApp) -> TcpStream {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind(format!("{source}:0").parse().unwrap()).unwrap();
    socket.connect(app.addr).await.unwrap()
}

#[tokio::test]
async fn one_address_holds_at_most_its_share_of_the_connections() {
    let limits = ConnectionLimits {
        max_connections_per_address: 2,
        ..limits(16, 10_000, 30_000)
    };
    let app = limited(limits).await;
    // 127.0.0.2 holds its two (silent) connections...
    let _first = connect_from("127.0.0.2", &app).await;
    let _second = connect_from("127.0.0.2", &app).await;
    // (Admitted before the third: the listen queue is served in order.)
    // ...its third is refused in the envelope...
    let mut third = connect_from("127.0.0.2", &app).await;
    third
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: seats\r\n\r\n")
        .await
        .unwrap();
    let (status, head, body) = parse_response(&read_until_closed(&mut third, Duration::from_secs(5)).await);
    assert!(status.starts_with("HTTP/1.1 503"), "{status}");
    assert!(head.contains("retry-after: 1"), "{head}");
    assert_eq!(body["success"], false);
    assert_eq!(body["errors"][0]["code"], 10003);
    assert_eq!(
        body["errors"][0]["message"],
        "Service temporarily unavailable: too many open connections, retry shortly"
    );
    // ...while another address is served.
    let resp = app.request(Method::GET, "/healthz").send().await.unwrap();
    assert_eq!(resp.status(), 200);
    // Once one of its connections closes, the address is served again.
    drop(_first);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let mut again = connect_from("127.0.0.2", &app).await;
        again
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: seats\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let raw = read_until_closed(&mut again, Duration::from_secs(5)).await;
        if raw.starts_with(b"HTTP/1.1 200") {
            break;
        }
        assert!(raw.starts_with(b"HTTP/1.1 503"), "{}", String::from_utf8_lossy(&raw));
        assert!(Instant::now() < deadline, "the address's slot was not freed");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn too_many_headers_are_answered_431_in_the_envelope() {
    let app = spawn_app(&test_seed()).await;
    let mut stream = TcpStream::connect(app.addr).await.unwrap();
    let mut request = String::from("GET /healthz HTTP/1.1\r\nHost: seats\r\n");
    for i in 0..120 {
        request.push_str(&format!("X-Header-{i}: {i}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let (status, head, body) = parse_response(&read_until_closed(&mut stream, Duration::from_secs(5)).await);
    assert_eq!(status, "HTTP/1.1 431 Request Header Fields Too Large");
    assert!(head.contains("content-type: application/json"), "{head}");
    assert!(head.contains("connection: close"), "{head}");
    assert_eq!(
        body,
        json!({
            "success": false,
            "errors": [{
                "code": 6003,
                "message": "Invalid request headers: more than 100 headers, or headers too large"
            }],
            "messages": [],
            "result": null
        })
    );
    // The server goes on serving.
    let resp = app.request(Method::GET, "/healthz").send().await.unwrap();
    assert_eq!(resp.status(), 200);
}
