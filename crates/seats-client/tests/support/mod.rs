//! Test support: a scripted HTTP server that can misbehave, and a timer that records waits.

#![allow(dead_code)] // each test binary uses part of it

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use seats_client::retry::Timer;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What the server does with one request.
#[derive(Debug, Clone)]
pub enum Step {
    Respond {
        status: u16,
        headers: Vec<(String, String)>,
        body: String,
    },
    /// Closes the connection without answering.
    Drop,
    /// Never answers.
    Hang,
}

impl Step {
    pub fn json(status: u16, body: &str) -> Step {
        Step::Respond {
            status,
            headers: vec![],
            body: body.to_owned(),
        }
    }

    pub fn with_header(self, name: &str, value: &str) -> Step {
        match self {
            Step::Respond {
                status,
                mut headers,
                body,
            } => {
                headers.push((name.to_owned(), value.to_owned()));
                Step::Respond { status, headers, body }
            }
            other => other,
        }
    }
}

/// A request as the server received it.
#[derive(Debug, Clone)]
pub struct Received {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Answers each request with the next step; past the last step, with a 500.
pub struct FaultServer {
    pub base_url: String,
    received: Arc<Mutex<Vec<Received>>>,
}

impl FaultServer {
    pub async fn start(steps: Vec<Step>) -> FaultServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base_url = format!("http://{}/client/v4", listener.local_addr().unwrap());
        let received = Arc::new(Mutex::new(Vec::new()));
        let steps = Arc::new(Mutex::new(steps.into_iter()));
        let log = received.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let (steps, log) = (steps.clone(), log.clone());
                tokio::spawn(async move { serve_one(stream, steps, log).await });
            }
        });
        FaultServer { base_url, received }
    }

    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    pub fn attempts(&self) -> usize {
        self.received.lock().unwrap().len()
    }
}

async fn serve_one(mut stream: TcpStream, steps: Arc<Mutex<std::vec::IntoIter<Step>>>, log: Arc<Mutex<Vec<Received>>>) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        let Ok(n) = stream.read(&mut chunk).await else {
            return;
        };
        if n == 0 {
            return;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut first = lines.next().unwrap_or("").split(' ');
    let (method, path) = (
        first.next().unwrap_or("").to_owned(),
        first.next().unwrap_or("").to_owned(),
    );
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let len: usize = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    while buf.len() < head_end + len {
        let Ok(n) = stream.read(&mut chunk).await else {
            return;
        };
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let body = String::from_utf8_lossy(&buf[head_end..]).into_owned();
    log.lock().unwrap().push(Received {
        method,
        path,
        headers,
        body,
    });
    let step = steps.lock().unwrap().next();
    match step.unwrap_or_else(|| {
        Step::json(
            500,
            r#"{"success":false,"errors":[{"code":10002,"message":"script exhausted"}],"messages":[],"result":null}"#,
        )
    }) {
        Step::Respond { status, headers, body } => {
            let mut out = format!(
                "HTTP/1.1 {status} Scripted\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n",
                body.len()
            );
            for (k, v) in headers {
                out.push_str(&format!("{k}: {v}\r\n"));
            }
            out.push_str("\r\n");
            out.push_str(&body);
            let _ = stream.write_all(out.as_bytes()).await;
            let _ = stream.shutdown().await;
        }
        Step::Drop => drop(stream),
        Step::Hang => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            drop(stream);
        }
    }
}

/// A timer whose waits return at once and are recorded; `now` is fixed.
pub struct RecordingTimer {
    pub now: SystemTime,
    waits: Mutex<Vec<Duration>>,
}

impl RecordingTimer {
    pub fn new() -> Arc<RecordingTimer> {
        Arc::new(RecordingTimer {
            now: SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000),
            waits: Mutex::new(Vec::new()),
        })
    }

    pub fn waits(&self) -> Vec<Duration> {
        self.waits.lock().unwrap().clone()
    }
}

impl Timer for RecordingTimer {
    fn now(&self) -> SystemTime {
        self.now
    }

    fn sleep(&self, duration: Duration) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>> {
        self.waits.lock().unwrap().push(duration);
        Box::pin(std::future::ready(()))
    }
}

pub const ACCOUNT: &str = "699d98642c564d2e855e9661899b7252";
pub const SEAT: &str = "f174e90a-fafe-4643-bbbc-4a0ed4fc8415";

/// The success body of Cloudflare's documentation example, verbatim.
pub const DOCS_EXAMPLE_RESPONSE: &str = r#"{
  "errors": [{"code": 1000, "message": "message", "documentation_url": "documentation_url", "source": {"pointer": "pointer"}}],
  "messages": [{"code": 1000, "message": "message", "documentation_url": "documentation_url", "source": {"pointer": "pointer"}}],
  "success": true,
  "result": [{"access_seat": false, "created_at": "2014-01-01T05:20:00.12345Z", "gateway_seat": false,
              "seat_uid": "f174e90a-fafe-4643-bbbc-4a0ed4fc8415", "updated_at": "2014-01-01T05:20:00.12345Z"}],
  "result_info": {"count": 1, "page": 1, "per_page": 20, "total_count": 2000, "total_pages": 100}
}"#;

pub fn one_seat_edit() -> seats_client::SeatEditParams {
    seats_client::SeatEditParams {
        account_id: ACCOUNT.into(),
        body: vec![seats_client::SeatEditParamsBody {
            access_seat: false,
            gateway_seat: false,
            seat_uid: SEAT.into(),
        }],
    }
}

pub fn client_for(server: &FaultServer, timer: Arc<RecordingTimer>) -> seats_client::ClientBuilder {
    seats_client::Client::builder()
        .api_token("test-token")
        .base_url(server.base_url.clone())
        .timer(timer)
}

/// One seat edit through a default client of `server` with `timer`.
pub async fn edit_once(
    server: &FaultServer,
    timer: Arc<RecordingTimer>,
) -> Result<seats_client::SinglePage<seats_client::Seat>, seats_client::Error> {
    client_for(server, timer)
        .build()
        .unwrap()
        .zero_trust()
        .seats()
        .edit(one_seat_edit())
        .await
}
