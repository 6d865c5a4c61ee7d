//! The load generator: a fixed number of keep-alive HTTP/1.1 connections, each sending its
//! next request as soon as the previous answer is read (a closed loop, like `wrk`), for a
//! fixed time. Every answer's status is checked, so a fast stream of errors never reads as
//! throughput.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// One request to send: built per request from a per-connection counter.
#[derive(Debug, Clone)]
pub struct Call {
    pub method: Method,
    pub path: String,
    pub body: Option<Bytes>,
    /// A header of this call's own (the dashboard's session cookie).
    pub header: Option<(&'static str, Arc<str>)>,
}

/// Builds the `n`th request of connection `conn`.
pub type MakeCall = Arc<dyn Fn(usize, u64) -> Call + Send + Sync>;

/// What a run measured.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub requests: u64,
    pub elapsed: Duration,
    latencies_us: Vec<u32>,
}

impl Outcome {
    pub fn per_second(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64()
    }

    /// The latency at quantile `q` (0..=1), in milliseconds.
    pub fn quantile_ms(&self, q: f64) -> f64 {
        if self.latencies_us.is_empty() {
            return f64::NAN;
        }
        let i = ((self.latencies_us.len() as f64 * q) as usize).min(self.latencies_us.len() - 1);
        f64::from(self.latencies_us[i]) / 1000.0
    }
}

/// Drives `addrs` with `connections` connections for `duration` (connection `i` to
/// `addrs[i % addrs.len()]`, so several nodes share the load evenly), authenticating with
/// `bearer` (if any). Fails on the first answer whose status is not `expect`.
pub async fn run(
    addrs: &[SocketAddr],
    connections: usize,
    duration: Duration,
    bearer: Option<&str>,
    expect: u16,
    make: MakeCall,
) -> anyhow::Result<Outcome> {
    let authorization = bearer.map(|t| format!("Bearer {t}"));
    let started = Instant::now();
    let deadline = started + duration;
    let mut tasks = Vec::with_capacity(connections);
    for conn in 0..connections {
        let addr = addrs[conn % addrs.len()];
        let make = make.clone();
        let authorization = authorization.clone();
        tasks.push(tokio::spawn(async move {
            drive(addr, conn, Until::Deadline(deadline), authorization, expect, make).await
        }));
    }
    let mut latencies_us = Vec::new();
    for task in tasks {
        latencies_us.extend(task.await.context("a load connection panicked")??);
    }
    let elapsed = started.elapsed();
    latencies_us.sort_unstable();
    Ok(Outcome {
        requests: latencies_us.len() as u64,
        elapsed,
        latencies_us,
    })
}

/// Sends `count` requests one after another on one connection, authenticating with `bearer`
/// (if any); fails on the first answer whose status is not `expect`.
pub async fn sequential(
    addr: SocketAddr,
    count: u64,
    bearer: Option<&str>,
    expect: u16,
    make: MakeCall,
) -> anyhow::Result<()> {
    let authorization = bearer.map(|t| format!("Bearer {t}"));
    drive(addr, 0, Until::Count(count), authorization, expect, make).await?;
    Ok(())
}

/// When a connection stops sending.
#[derive(Clone, Copy)]
enum Until {
    Deadline(Instant),
    Count(u64),
}

impl Until {
    /// Whether a connection that has sent `sent` requests sends another.
    fn more(self, sent: u64) -> bool {
        match self {
            Until::Deadline(deadline) => Instant::now() < deadline,
            Until::Count(count) => sent < count,
        }
    }
}

async fn drive(
    addr: SocketAddr,
    conn: usize,
    until: Until,
    authorization: Option<String>,
    expect: u16,
    make: MakeCall,
) -> anyhow::Result<Vec<u32>> {
    let stream = TcpStream::connect(addr)
        .await
        .with_context(|| format!("connecting to {addr}"))?;
    stream.set_nodelay(true)?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(connection);
    let host = addr.to_string();
    let mut latencies = Vec::new();
    let mut n = 0u64;
    while until.more(n) {
        let call = make(conn, n);
        n += 1;
        let mut request = Request::builder()
            .method(call.method)
            .uri(&call.path)
            .header("host", &host);
        if let Some(auth) = &authorization {
            request = request.header("authorization", auth);
        }
        if let Some((name, value)) = &call.header {
            request = request.header(*name, &**value);
        }
        if call.body.is_some() {
            request = request.header("content-type", "application/json");
        }
        let request = request.body(Full::new(call.body.unwrap_or_default()))?;
        let sent = Instant::now();
        sender.ready().await?;
        let response = sender.send_request(request).await?;
        let status = response.status().as_u16();
        let body = response.into_body().collect().await?.to_bytes();
        if status != expect {
            bail!(
                "{} answered {status}, expected {expect}: {}",
                call.path,
                String::from_utf8_lossy(&body)
            );
        }
        latencies.push(u32::try_from(sent.elapsed().as_micros()).unwrap_or(u32::MAX));
    }
    Ok(latencies)
}

/// Signs in to the dashboard with an API token, as a person does (the form, then posting it
/// with the value the form's cookie holds); returns the session cookie (`name=value`).
pub async fn dashboard_cookie(addr: SocketAddr, token: &str) -> anyhow::Result<String> {
    let stream = TcpStream::connect(addr).await?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(connection);
    let first_cookie = |response: &hyper::Response<hyper::body::Incoming>| {
        response
            .headers()
            .get("set-cookie")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .map(str::to_owned)
    };
    let form = Request::builder()
        .uri("/dashboard/sign-in")
        .header("host", addr.to_string())
        .body(Full::new(Bytes::new()))?;
    let response = sender.send_request(form).await?;
    let form_cookie = first_cookie(&response).context("the sign-in form set no cookie")?;
    response.into_body().collect().await?;
    let nonce = form_cookie.split_once('=').context("a cookie")?.1.to_owned();
    sender.ready().await?;
    let request = Request::builder()
        .method(Method::POST)
        .uri("/dashboard/sign-in")
        .header("host", addr.to_string())
        .header("cookie", form_cookie)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Full::new(Bytes::from(format!(
            "kind=token&token={token}&nonce={nonce}"
        ))))?;
    let response = sender.send_request(request).await?;
    first_cookie(&response)
        .filter(|c| c.starts_with("seats_dashboard="))
        .with_context(|| format!("the dashboard refused the sign-in: {}", response.status()))
}
