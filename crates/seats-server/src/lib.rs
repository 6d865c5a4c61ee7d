//! The Cloudflare-compatible seats API as a library: [`build_router`] and [`serve`].
//!
//! `main` parses configuration, opens a store and calls these; integration tests do the same
//! on `127.0.0.1:0`.

pub mod auth;
pub mod clock;
pub mod config;
pub mod connections;
pub mod dashboard;
pub mod error;
pub mod extract;
pub mod metrics;
pub mod openapi;
pub mod rate_limit;
pub mod routes;
pub mod scim;
pub mod secret_fields;
pub mod sweep;
pub mod toolkit;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::http::{HeaderName, Request, Response};
use axum::Router;
use seats_store::Store;
use tokio::net::TcpListener;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, RequestId, SetRequestIdLayer};
use tower_http::trace::TraceLayer;
use tracing::Span;

pub use clock::{Clock, ManualClock, SystemClock};
pub use config::ServerConfig;
pub use connections::{serve_with, ConnectionLimits};

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// What every handler can reach: one pointer to [`AppStateInner`], so that the copies a
/// request makes of it (one per middleware, extractor and handler) each move one reference
/// count instead of one per part (docs/performance.md, "The HTTP stack").
#[derive(Clone)]
pub struct AppState(Arc<AppStateInner>);

/// The parts of [`AppState`], reached through it.
#[derive(Clone)]
pub struct AppStateInner {
    pub store: Arc<dyn Store>,
    /// Every reader of time reads this clock.
    pub clock: Arc<dyn Clock>,
    /// Set with `--manual-clock`: the same clock as `clock`, which the operator can move.
    pub manual_clock: Option<Arc<ManualClock>>,
    pub config: Arc<ServerConfig>,
    pub sweeper: Arc<sweep::Sweeper>,
    /// Set with `config.rate_limit`.
    pub rate_limiter: Option<Arc<rate_limit::RateLimiter>>,
    /// Set with `config.failed_auth_limit` or `failed_auth_target_limit` (on by default).
    pub failed_auth: Option<Arc<rate_limit::failed_auth::FailedAuth>>,
    /// The key that signs the dashboard's sign-in forms, read from the store once (every
    /// server on the database shares it; nothing replaces it).
    pub dashboard_form_key: Arc<tokio::sync::OnceCell<[u8; 32]>>,
    /// The request journal, fault rules and snapshots.
    pub toolkit: Arc<toolkit::Toolkit>,
    /// The seed the server started with, for `POST /_seats/v1/reset` (none: reset empties).
    pub start_seed: Option<toolkit::snapshots::SeedSource>,
}

impl std::ops::Deref for AppState {
    type Target = AppStateInner;

    fn deref(&self) -> &AppStateInner {
        &self.0
    }
}

impl AppState {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>, config: ServerConfig) -> Self {
        AppState(Arc::new(AppStateInner {
            store: store.clone(),
            clock,
            manual_clock: None,
            rate_limiter: config
                .rate_limit
                .map(|limit| Arc::new(rate_limit::RateLimiter::new(limit, &store))),
            failed_auth: rate_limit::failed_auth::FailedAuth::new(
                config.failed_auth_limit,
                config.failed_auth_target_limit,
                &store,
            )
            .map(Arc::new),
            toolkit: Arc::new(toolkit::Toolkit::new(config.journal_size, config.journal_bodies)),
            start_seed: None,
            dashboard_form_key: Default::default(),
            config: Arc::new(config),
            sweeper: Default::default(),
        }))
    }

    /// A state whose clock is `clock`, moved forward with `POST /_seats/v1/clock`.
    pub fn with_manual_clock(store: Arc<dyn Store>, clock: Arc<ManualClock>, config: ServerConfig) -> Self {
        let mut state = AppState::new(store, clock.clone(), config);
        Arc::make_mut(&mut state.0).manual_clock = Some(clock);
        state
    }

    /// Sets the seed `POST /_seats/v1/reset` loads (before the router is built: copies taken
    /// earlier keep the seed they had).
    pub fn set_start_seed(&mut self, seed: Option<toolkit::snapshots::SeedSource>) {
        Arc::make_mut(&mut self.0).start_seed = seed;
    }
}

/// The whole HTTP application: routes, envelope fallbacks, request ids and request logs.
///
/// The middleware wraps the routes once, as one service, rather than each route (which is
/// what `Router::layer` does): axum copies a route's layered service for every request, six
/// boxed layers deep, and doing so cost a token verification 5k of its 74.5k instructions
/// (docs/performance.md, "The HTTP stack").
pub fn build_router(state: AppState) -> Router {
    let (router, doc) = routes::api_routes(state.config.operator_key.is_some()).split_for_parts();
    state.toolkit.learn_routes(operations(&doc));
    metrics::handle();
    let routes = router
        .merge(scim::router())
        .merge(dashboard::router())
        // Must come after the routes: it applies to those registered before it.
        .method_not_allowed_fallback(routes::method_not_allowed)
        .fallback(routes::no_route)
        .with_state(state.clone());
    let app = tower::ServiceBuilder::new()
        .layer(axum::middleware::map_request(drop_unsafe_request_id))
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|req: &Request<_>| {
                    let request_id = req
                        .extensions()
                        .get::<RequestId>()
                        .and_then(|id| id.header_value().to_str().ok())
                        .unwrap_or("");
                    // Only method and path: headers carry credentials and are never logged.
                    tracing::info_span!("request", method = %req.method(), path = %req.uri().path(),
                        request_id = %request_id, account_id = tracing::field::Empty)
                })
                .on_request(())
                .on_response(|res: &Response<_>, latency: Duration, _span: &Span| {
                    tracing::info!(
                        status = res.status().as_u16(),
                        latency_ms = latency.as_secs_f64() * 1000.0,
                        "response"
                    );
                })
                .on_failure(()),
        )
        .layer(axum::middleware::from_fn_with_state(state.clone(), toolkit::observe))
        .layer(axum::middleware::from_fn_with_state(state, rate_limit::headers))
        .service(routes);
    Router::new().fallback_service(app)
}

/// `(method, path, operation id)` of every operation in `doc`.
fn operations(doc: &utoipa::openapi::OpenApi) -> Vec<(axum::http::Method, String, String)> {
    let mut out = Vec::new();
    for (path, item) in &doc.paths.paths {
        let ops = [
            (axum::http::Method::GET, &item.get),
            (axum::http::Method::POST, &item.post),
            (axum::http::Method::PUT, &item.put),
            (axum::http::Method::PATCH, &item.patch),
            (axum::http::Method::DELETE, &item.delete),
        ];
        for (method, op) in ops {
            if let Some(id) = op.as_ref().and_then(|o| o.operation_id.clone()) {
                out.push((method, path.clone(), id));
            }
        }
    }
    out
}

/// The longest client `X-Request-Id` kept.
const MAX_REQUEST_ID: usize = 128;

/// A client's `X-Request-Id` is kept (echoed and logged) only if it is one header of 1 to
/// [`MAX_REQUEST_ID`] characters among `A-Z a-z 0-9 - _ . :`; otherwise it is dropped and
/// the request gets a generated one, so a client cannot write into the log line of its
/// request.
async fn drop_unsafe_request_id(mut req: Request<axum::body::Body>) -> Request<axum::body::Body> {
    let values = req.headers().get_all(&REQUEST_ID);
    let mut iter = values.iter();
    let safe = match (iter.next(), iter.next()) {
        (Some(value), None) => {
            let bytes = value.as_bytes();
            (1..=MAX_REQUEST_ID).contains(&bytes.len())
                && bytes
                    .iter()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
        }
        (None, _) => true,
        _ => false,
    };
    if !safe {
        req.headers_mut().remove(&REQUEST_ID);
    }
    req
}

/// Serves `router` on `listener` with the default [`ConnectionLimits`] until `shutdown`
/// resolves, then finishes in-flight requests.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with(listener, router, shutdown, ConnectionLimits::default()).await
}
