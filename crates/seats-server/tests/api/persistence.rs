//! A change survives a restart of the server on the same database.

use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn patch_then_restart_reads_the_change_back() {
    on_each_backend(|| async {
        let app = spawn_app(&test_seed()).await;
        let (status, before) = parts(app.patch_seats(&json!([item("bob", true, false)])).await).await;
        assert_eq!(status, 200);
        let db = app.stop().await;

        let app = TestApp::builder().database(db).start().await;
        let bob = app.user("bob").await;
        assert_eq!((bob.access_seat, bob.gateway_seat), (true, false));
        // Over HTTP: repeating the change is a no-op that returns the stored seat unchanged.
        let (_, after) = parts(app.patch_seats(&json!([item("bob", true, false)])).await).await;
        assert_eq!(after["result"], before["result"]);
    })
    .await;
}

/// A clock that reports the first time it is read: the auth check reads it, so by then a
/// request is being handled.
struct SignalClock(std::sync::Mutex<Option<tokio::sync::oneshot::Sender<()>>>);

impl seats_server::Clock for SignalClock {
    fn now(&self) -> seats_types::Timestamp {
        if let Some(tx) = self.0.lock().unwrap().take() {
            let _ = tx.send(());
        }
        seats_server::Clock::now(&seats_server::SystemClock)
    }
}

#[tokio::test]
async fn graceful_shutdown_finishes_in_flight_requests() {
    on_each_backend(|| async {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};

        let (tx, in_flight) = tokio::sync::oneshot::channel();
        let clock = std::sync::Arc::new(SignalClock(std::sync::Mutex::new(Some(tx))));
        let mut app = TestApp::builder()
            .seed(&test_seed())
            .config(seats_server::ServerConfig::default())
            .clock(clock)
            .start()
            .await;
        let body = json!([item("bob", true, true)]).to_string();
        let (head, tail) = body.split_at(10);
        let mut conn = tokio::net::TcpStream::connect(app.addr).await.unwrap();
        let request = format!(
            "PATCH {} HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer {TOKEN}\r\nContent-Length: {}\r\n\r\n{head}",
            TestApp::seats_path(ACCOUNT),
            body.len()
        );
        conn.write_all(request.as_bytes()).await.unwrap();
        in_flight.await.unwrap();

        app.begin_shutdown();
        conn.write_all(tail.as_bytes()).await.unwrap();
        let mut response = Vec::new();
        let mut buf = [0u8; 4096];
        // Read until the server closes the connection, which it does once this request is answered.
        loop {
            let n = conn.read(&mut buf).await.unwrap();
            if n == 0 {
                break;
            }
            response.extend_from_slice(&buf[..n]);
        }
        let response = String::from_utf8_lossy(&response);
        assert!(response.starts_with("HTTP/1.1 200"), "{response}");
        assert!(response.contains("\"seat_uid\":\"bob\""), "{response}");
        let bob = app.user("bob").await;
        assert!(bob.access_seat && bob.gateway_seat);
        let addr = app.addr;
        app.stop().await;
        assert!(
            tokio::net::TcpStream::connect(addr).await.is_err(),
            "no new connections after shutdown"
        );
    })
    .await;
}
