//! The accept loop: a cap on open connections, timeouts for slow and idle clients, graceful
//! shutdown.
//!
//! * **Cap.** At most `max_connections` are served at once. One more is not left waiting in
//!   the kernel's queue (where a client cannot tell a slow server from a dead one): it is
//!   accepted and answered `503` (10003) with `Retry-After: 1` and `Connection: close`,
//!   within a second; a few dozen such refusals at most run at once, and past those a
//!   connection is closed at once.
//! * **Headers** must arrive within `header_timeout` of their first byte; **an idle
//!   connection** (no request in progress) is closed after `idle_timeout`. A connection
//!   whose client stops reading a response is closed once that response has been idle for
//!   `idle_timeout` too. Closing is silent: HTTP has no answer for a request that never
//!   arrived. Request bodies have their own timeouts (see [`crate::extract::JsonBody`]).
//! * **Accept errors** (out of file descriptors) are logged at most once a second, and the
//!   loop pauses briefly instead of spinning.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
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
    /// Longest a request's headers may take, from their first byte.
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
        if let Ok(slot) = slots.clone().try_acquire_owned() {
            let activity = Arc::new(Activity::new());
            let io = TokioIo::new(Watched {
                io: stream,
                activity: activity.clone(),
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
    /// When the first byte of the next request arrived; [`NEVER`] while none has.
    head_started: AtomicU64,
}

impl Activity {
    fn new() -> Self {
        Activity {
            opened: Instant::now(),
            in_flight: AtomicUsize::new(0),
            idle_since: AtomicU64::new(0),
            head_started: AtomicU64::new(NEVER),
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
                match self.head_started.load(Ordering::SeqCst) {
                    NEVER => Some((self.idle_since.load(Ordering::SeqCst) + ms(limits.idle_timeout), "idle")),
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

/// A socket that tells its [`Activity`] when request bytes arrive.
struct Watched {
    io: TcpStream,
    activity: Arc<Activity>,
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
        Pin::new(&mut self.get_mut().io).poll_write(cx, buf)
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
        Pin::new(&mut self.get_mut().io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }
}
