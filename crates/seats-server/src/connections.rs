//! The accept loop: a cap on open connections, timeouts for slow and idle clients, graceful
//! shutdown.
//!
//! * **Cap.** At most `max_connections` are served at once. One more is not left waiting in
//!   the kernel's queue (where a client cannot tell a slow server from a dead one): it is
//!   accepted and answered `503` (10003) with `Retry-After: 1` and `Connection: close`,
//!   within a second; a few dozen such refusals at most run at once, and past those a
//!   connection is closed at once.
//! * **Per address.** One client address holds at most `max_connections_per_address` of
//!   those slots (0: no such cap); past it, it is refused as over the cap, so one client
//!   cannot take every slot. Behind a reverse proxy every connection comes from the proxy:
//!   raise it there, or turn it off.
//! * **Headers** must arrive within `header_timeout`: of the accept for a connection's first
//!   request (a client that connects and sends nothing is closed then), of their first byte
//!   for the next ones. **An idle connection** (no request in progress) is closed after
//!   `idle_timeout`. A connection
//!   whose client stops reading a response is closed once that response has been idle for
//!   `idle_timeout` too. Closing is silent: HTTP has no answer for a request that never
//!   arrived. Request bodies have their own timeouts (see [`crate::extract::read_bytes`]).
//! * **Too many headers** (hyper reads 100) or a head too large: hyper answers a bare `431`
//!   before any route runs; [`Watched`] sends [`ApiError::HeadersTooLarge`]'s envelope in
//!   its place, as every other refusal has.
//! * **Accept errors** (out of file descriptors) are logged at most once a second, and the
//!   loop pauses briefly instead of spinning.

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::extract::ConnectInfo;
use axum::response::IntoResponse;
use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tower::ServiceExt;

use crate::error::ApiError;

/// Limits of the connection layer; `seats serve` sets them from flags.
#[derive(Debug, Clone)]
pub struct ConnectionLimits {
    /// Connections served at once; more are refused with 503.
    pub max_connections: usize,
    /// Of those, most from one client address (0: no cap); more are refused with 503.
    pub max_connections_per_address: usize,
    /// Longest a request's headers may take: from the accept for the first request, from their
    /// first byte for the later ones on a kept-alive connection.
    pub header_timeout: Duration,
    /// Longest a connection may sit idle between requests.
    pub idle_timeout: Duration,
    /// Longest graceful shutdown waits for open connections.
    pub shutdown_timeout: Duration,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits {
            max_connections: 1024,
            max_connections_per_address: 64,
            header_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            shutdown_timeout: Duration::from_secs(30),
        }
    }
}

/// Refusals (503 over the cap) served at once; past these a connection is closed unanswered.
const MAX_REFUSALS: usize = 64;
/// Longest a refusal may take.
const REFUSAL_TIMEOUT: Duration = Duration::from_secs(1);
/// Pause after an accept error, so an exhausted descriptor table is not spun on.
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(50);

/// Serves `router` on `listener` within `limits` until `shutdown` resolves, then lets open
/// connections finish (up to `limits.shutdown_timeout`).
pub async fn serve_with(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
    limits: ConnectionLimits,
) -> io::Result<()> {
    let limits = Arc::new(limits);
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let per_address = Arc::new(PerAddress::new(limits.max_connections_per_address));
    let refusals = Arc::new(Semaphore::new(MAX_REFUSALS));
    let graceful = GracefulShutdown::new();
    let mut last_accept_error: Option<Instant> = None;
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    if last_accept_error.is_none_or(|t| t.elapsed() >= Duration::from_secs(1)) {
                        tracing::warn!(error = %e, "cannot accept connections (logged at most once a second)");
                        last_accept_error = Some(Instant::now());
                    }
                    tokio::time::sleep(ACCEPT_ERROR_PAUSE).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let admitted = per_address
            .admit(peer.ip())
            .and_then(|held| Some((held, slots.clone().try_acquire_owned().ok()?)));
        if let Some((held, slot)) = admitted {
            let activity = Arc::new(Activity::new());
            let io = TokioIo::new(Watched {
                io: stream,
                activity: activity.clone(),
                replacing: None,
            });
            let service = hyper::service::service_fn({
                let activity = activity.clone();
                let router = router.clone();
                move |mut req: hyper::Request<Incoming>| {
                    let busy = activity.begin_request();
                    req.extensions_mut().insert(ConnectInfo(peer));
                    let response = router.clone().oneshot(req.map(axum::body::Body::new));
                    async move {
                        let response = response.await;
                        drop(busy);
                        match response {
                            // A `reset` fault: an error makes hyper drop the connection unanswered.
                            Ok(r) if r.extensions().get::<crate::toolkit::ResetConnection>().is_some() => {
                                Err(std::io::Error::other("connection reset by a fault rule"))
                            }
                            Ok(r) => Ok(r),
                            Err(never) => match never {},
                        }
                    }
                }
            });
            let connection = graceful.watch(http1::Builder::new().serve_connection(io, service));
            let limits = limits.clone();
            tokio::spawn(async move {
                tokio::select! {
                    result = connection => {
                        if let Err(e) = result {
                            tracing::debug!(error = %e, %peer, "connection ended with an error");
                        }
                    }
                    why = activity.watch(&limits) => tracing::debug!(%peer, why, "closing a connection"),
                }
                drop(slot);
                drop(held);
            });
        } else if let Ok(refusal) = refusals.clone().try_acquire_owned() {
            tokio::spawn(async move {
                let _ = tokio::time::timeout(REFUSAL_TIMEOUT, refuse(stream)).await;
                drop(refusal);
            });
        } else {
            drop(stream);
        }
    }
    drop(listener);
    if tokio::time::timeout(limits.shutdown_timeout, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("connections still open after the shutdown timeout; closing them");
    }
    Ok(())
}

/// How many connections each client address holds, for the per-address cap. An address is
/// listed only while it holds one, so the table is no larger than the connections open.
struct PerAddress {
    cap: usize,
    held: Mutex<HashMap<IpAddr, usize>>,
}

/// One connection of an address, released on drop.
struct Held {
    table: Arc<PerAddress>,
    address: IpAddr,
}

impl PerAddress {
    fn new(cap: usize) -> Self {
        PerAddress {
            cap,
            held: Mutex::new(HashMap::new()),
        }
    }

    /// A place for one more connection of `address`; `None` when it holds its cap.
    fn admit(self: &Arc<Self>, address: IpAddr) -> Option<Held> {
        let mut held = self.held.lock().unwrap_or_else(|e| e.into_inner());
        let count = held.entry(address).or_insert(0);
        if self.cap != 0 && *count >= self.cap {
            return None;
        }
        *count += 1;
        Some(Held {
            table: self.clone(),
            address,
        })
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        let mut held = self.table.held.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(count) = held.get_mut(&self.address) {
            *count -= 1;
            if *count == 0 {
                held.remove(&self.address);
            }
        }
    }
}

/// Answers one request on `stream` with 503 (10003) and closes it.
async fn refuse(stream: TcpStream) {
    let service = hyper::service::service_fn(|_req: hyper::Request<Incoming>| async {
        let mut response = ApiError::TooManyConnections.into_response();
        response.headers_mut().insert(
            axum::http::header::CONNECTION,
            axum::http::HeaderValue::from_static("close"),
        );
        Ok::<_, std::convert::Infallible>(response)
    });
    let _ = http1::Builder::new()
        .keep_alive(false)
        .serve_connection(TokioIo::new(stream), service)
        .await;
}

/// No time recorded.
const NEVER: u64 = u64::MAX;

/// What a connection is doing, shared by its reads, its requests and its watchdog. Times are
/// milliseconds since `opened`.
struct Activity {
    opened: Instant,
    in_flight: AtomicUsize,
    /// When the last request finished (or the connection opened).
    idle_since: AtomicU64,
    /// When the next request's head started: the accept for the first request, its first
    /// byte for later ones; [`NEVER`] while none has.
    head_started: AtomicU64,
    /// Whether any byte has arrived on the connection.
    heard: AtomicBool,
}

impl Activity {
    fn new() -> Self {
        Activity {
            opened: Instant::now(),
            in_flight: AtomicUsize::new(0),
            idle_since: AtomicU64::new(0),
            // The header timeout runs from the accept: a silent client holds its slot no
            // longer than a slow one.
            head_started: AtomicU64::new(0),
            heard: AtomicBool::new(false),
        }
    }

    fn now(&self) -> u64 {
        self.opened.elapsed().as_millis() as u64
    }

    /// A request's headers are in; until the guard drops, no connection timeout applies.
    fn begin_request(self: &Arc<Self>) -> Busy {
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        self.head_started.store(NEVER, Ordering::SeqCst);
        Busy(self.clone())
    }

    fn read_some(&self) {
        self.heard.store(true, Ordering::SeqCst);
        if self.in_flight.load(Ordering::SeqCst) == 0 {
            let _ = self
                .head_started
                .compare_exchange(NEVER, self.now(), Ordering::SeqCst, Ordering::SeqCst);
        }
    }

    /// Resolves when the connection has broken a timeout, saying which.
    async fn watch(&self, limits: &ConnectionLimits) -> &'static str {
        let ms = |d: Duration| d.as_millis() as u64;
        // Look again at least this often: a request may start, or its first byte arrive, while
        // the watchdog sleeps (a late look only delays the close by this much).
        let recheck = (limits.header_timeout.min(limits.idle_timeout) / 4).max(Duration::from_millis(10));
        loop {
            let now = self.now();
            let due = if self.in_flight.load(Ordering::SeqCst) > 0 {
                None
            } else {
                let idle = (self.idle_since.load(Ordering::SeqCst) + ms(limits.idle_timeout), "idle");
                match self.head_started.load(Ordering::SeqCst) {
                    NEVER => Some(idle),
                    // Nothing arrived since the accept: the first of the two timeouts.
                    0 if !self.heard.load(Ordering::SeqCst) => {
                        Some(idle.min((ms(limits.header_timeout), "silent since the accept")))
                    }
                    started => Some((started + ms(limits.header_timeout), "headers too slow")),
                }
            };
            let wait = match due {
                Some((at, why)) if at <= now => return why,
                Some((at, _)) => Duration::from_millis(at - now).min(recheck),
                None => recheck,
            };
            tokio::time::sleep(wait).await;
        }
    }
}

/// A request in progress on its connection.
struct Busy(Arc<Activity>);

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.idle_since.store(self.0.now(), Ordering::SeqCst);
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A socket that tells its [`Activity`] when request bytes arrive, and sends the envelope
/// in place of hyper's own bare `431`.
struct Watched {
    io: TcpStream,
    activity: Arc<Activity>,
    /// The response being sent in place of one hyper wrote: its bytes, and how many are sent.
    replacing: Option<(Vec<u8>, usize)>,
}

/// How hyper's own answer to too many (or too large) headers begins. No response of ours
/// has this status, so a write beginning with it is always hyper's.
const HYPER_431: &[u8] = b"HTTP/1.1 431 ";

/// The whole response sent in place of hyper's bare 431.
fn headers_too_large_response() -> Vec<u8> {
    let body = serde_json::to_vec(&seats_types::Envelope::<()>::failure(
        ApiError::HeadersTooLarge.messages(),
    ))
    .unwrap_or_default();
    let mut out = format!(
        "HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-type: application/json\r\n\
         content-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(&body);
    out
}

impl Watched {
    /// Writes `first` (of `total` bytes hyper offers), or its replacement once it is
    /// hyper's 431; the count returned is always of hyper's bytes.
    fn write_replacing(
        &mut self,
        cx: &mut Context<'_>,
        first: &[u8],
        total: usize,
        plain: impl FnOnce(&mut TcpStream, &mut Context<'_>) -> Poll<io::Result<usize>>,
    ) -> Poll<io::Result<usize>> {
        if self.replacing.is_none() && first.starts_with(HYPER_431) {
            self.replacing = Some((headers_too_large_response(), 0));
        }
        let Some((bytes, sent)) = &mut self.replacing else {
            return plain(&mut self.io, cx);
        };
        while *sent < bytes.len() {
            match Pin::new(&mut self.io).poll_write(cx, &bytes[*sent..]) {
                Poll::Ready(Ok(0)) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                Poll::Ready(Ok(n)) => *sent += n,
                other => return other,
            }
        }
        // Sent: hyper's own bytes (offered again until taken, and anything after) go nowhere;
        // it closes the connection next.
        Poll::Ready(Ok(total))
    }
}

impl AsyncRead for Watched {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let polled = Pin::new(&mut this.io).poll_read(cx, buf);
        if buf.filled().len() > before {
            this.activity.read_some();
        }
        polled
    }
}

impl AsyncWrite for Watched {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.get_mut()
            .write_replacing(cx, buf, buf.len(), |io, cx| Pin::new(io).poll_write(cx, buf))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let first = bufs.iter().find(|b| !b.is_empty()).map_or(&[][..], |b| &b[..]);
        let total = bufs.iter().map(|b| b.len()).sum();
        self.get_mut()
            .write_replacing(cx, first, total, |io, cx| Pin::new(io).poll_write_vectored(cx, bufs))
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }
}
