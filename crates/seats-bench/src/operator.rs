//! Figures an operator of a PostgreSQL deployment asks for: a snapshot taken and restored and
//! a reset at a size (through the operator API, as a test suite calls them), the 1-seat PATCH
//! with TLS to the database beside plain TCP, and the failover window (from the promotion of
//! a standby to the first write a node acknowledges again).

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::bail;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;
use seats_store::postgres::cluster::Cluster;
use tokio::net::TcpStream;

use crate::load::{self, MakeCall};
use crate::process::Server;
use crate::{serve_seeded, ACCOUNT, TOKEN};

const OPERATOR_KEY: &str = "bench-operator-key-0123456789abcdef0123";

/// One request on a connection of its own: the status and the body.
pub async fn request(
    addr: SocketAddr,
    method: Method,
    path: &str,
    bearer: &str,
    body: Option<&str>,
) -> anyhow::Result<(u16, String)> {
    let stream = TcpStream::connect(addr).await?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(connection);
    let mut builder = Request::builder()
        .method(method)
        .uri(path)
        .header("host", addr.to_string())
        .header("authorization", format!("Bearer {bearer}"));
    if body.is_some() {
        builder = builder.header("content-type", "application/json");
    }
    let request = builder.body(Full::new(Bytes::from(body.unwrap_or_default().to_owned())))?;
    let response = sender.send_request(request).await?;
    let status = response.status().as_u16();
    let body = response.into_body().collect().await?.to_bytes();
    Ok((status, String::from_utf8_lossy(&body).into_owned()))
}

/// Seconds taken by the operator API to take a snapshot, restore it, and reset to the seed:
/// the first reset after start, a second, and a reset after the seed file changed (which
/// loads it). Where the store keeps images (SQLite) and the node loaded the seed itself, the
/// first puts back the image of what the seed left at start-up, and the second too; else the
/// first loads the seed and the second puts back the first's image.
pub struct Toolkit {
    pub take_s: f64,
    pub restore_s: f64,
    pub reset_s: f64,
    pub reset_again_s: f64,
    pub reset_edited_s: f64,
}

/// Measures [`Toolkit`] on `db_url`, with a node started with a seed of `users` users: for
/// SQLite, a database file that does not exist yet (the node creates it with the seed in);
/// for PostgreSQL, a database that holds the seed already.
pub async fn toolkit(seats: &Path, dir: &Path, db_url: &str, users: usize) -> anyhow::Result<Toolkit> {
    let (server, seed) = serve_seeded(seats, dir, db_url, users, &["--operator-key", OPERATOR_KEY], "toolkit")?;
    let timed = |method: Method, path: &'static str, body: Option<&'static str>| {
        let addr = server.addr;
        async move {
            let started = Instant::now();
            let (status, text) = request(addr, method, path, OPERATOR_KEY, body).await?;
            if !(200..300).contains(&status) {
                bail!("{path}: {status} {text}");
            }
            Ok::<f64, anyhow::Error>(started.elapsed().as_secs_f64())
        }
    };
    let take_s = timed(Method::POST, "/_seats/v1/snapshots", Some(r#"{"name":"bench"}"#)).await?;
    let restore_s = timed(Method::POST, "/_seats/v1/snapshots/bench/restore", None).await?;
    let reset_s = timed(Method::POST, "/_seats/v1/reset", None).await?;
    let reset_again_s = timed(Method::POST, "/_seats/v1/reset", None).await?;
    // The same users, other bytes: the seed's digest changes, so the reset loads it.
    std::fs::OpenOptions::new()
        .append(true)
        .open(&seed)
        .and_then(|mut f| std::io::Write::write_all(&mut f, b"\n"))?;
    let reset_edited_s = timed(Method::POST, "/_seats/v1/reset", None).await?;
    server.stop();
    std::fs::remove_file(&seed)?;
    Ok(Toolkit {
        take_s,
        restore_s,
        reset_s,
        reset_again_s,
        reset_edited_s,
    })
}

/// 1-seat PATCH req/s on one node over `sslmode=disable` and over `sslmode=require` to the
/// same database (the server must offer TLS for the second): each twice, in turn, and the
/// better run of each, so neither gains from coming second.
pub async fn tls_patch(
    seats: &Path,
    dir: &Path,
    db_url: &str,
    duration: Duration,
    connections: usize,
    make: MakeCall,
) -> anyhow::Result<(f64, f64)> {
    let mut rates = [0.0_f64; 2];
    for _ in 0..2 {
        for (rate, mode) in rates.iter_mut().zip(["disable", "require"]) {
            let sep = if db_url.contains('?') { '&' } else { '?' };
            let url = format!("{db_url}{sep}sslmode={mode}");
            let server = Server::start(
                seats,
                &["serve", "--database", &url, "--listen", "127.0.0.1:0"],
                &dir.join(format!("tls-{mode}.log")),
            )?;
            let run = load::run(&[server.addr], connections, duration, Some(TOKEN), 200, make.clone()).await?;
            *rate = rate.max(run.per_second());
            server.stop();
        }
    }
    Ok((rates[0], rates[1]))
}

/// The failover window on clusters made here (needs root or the `postgres` user, and
/// PostgreSQL 15's programs; `None`, said why, otherwise): a primary with a synchronous
/// standby, one node writing through a URL naming both, the primary killed, the standby
/// promoted; the time from the promotion to the node's first acknowledged write after it.
pub async fn failover(seats: &Path, dir: &Path) -> anyhow::Result<Option<Duration>> {
    let Some(primary) = Cluster::init("the benchmark's failover window") else {
        return Ok(None);
    };
    primary.start();
    let Some(standby) = primary.standby("the benchmark's failover window", true) else {
        return Ok(None);
    };
    standby.start();
    let url = format!(
        "postgres://postgres@127.0.0.1:{},127.0.0.1:{}/postgres?connect_timeout=2",
        primary.port, standby.port
    );
    let (server, _seed) = serve_seeded(seats, dir, &url, 1000, &["--statement-timeout", "2s"], "failover")?;
    let addr = server.addr;
    let path = format!("/client/v4/accounts/{ACCOUNT}/access/seats");
    let write = |n: usize| {
        let path = path.clone();
        async move {
            let body = format!(
                r#"[{{"access_seat":{},"gateway_seat":true,"seat_uid":"seat-{:07}"}}]"#,
                n.is_multiple_of(2),
                n % 1000
            );
            request(addr, Method::PATCH, &path, TOKEN, Some(&body))
                .await
                .map(|(s, _)| s)
        }
    };
    if write(0).await? != 200 {
        bail!("the node did not write before the failover");
    }
    primary.kill();
    // Refused meanwhile (503), then the promotion.
    let mut n = 1;
    while write(n).await? == 200 {
        n += 1;
        if n > 1000 {
            bail!("the node kept writing with its primary killed");
        }
    }
    standby.promote();
    let promoted = Instant::now();
    loop {
        n += 1;
        if write(n).await? == 200 {
            break;
        }
        if promoted.elapsed() > Duration::from_secs(60) {
            bail!("no write within a minute of the promotion");
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let window = promoted.elapsed();
    server.stop();
    Ok(Some(window))
}
