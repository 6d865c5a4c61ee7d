//! For teams testing against `seats`: a journal of the requests the server answered and fault
//! rules that answer chosen requests with errors, delays, resets or silence. Both work in one
//! middleware around every route but the operator API (which configures them) and the health
//! checks, so a fault rule can never lock the operator out.

pub mod faults;
pub mod journal;
pub mod snapshots;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use http_body_util::BodyExt;
use seats_store::secret::Secret;
use seats_types::{Envelope, FaultAction, JournalEntry, Message};

use crate::AppState;
use faults::{Faults, Seen};
use journal::Journal;

/// Requests of these paths are neither journaled nor touched by faults: the operator API,
/// the health checks and the dashboard (whose sign-in form carries a credential).
fn exempt(path: &str) -> bool {
    path.starts_with("/_seats/")
        || path == "/dashboard"
        || path.starts_with("/dashboard/")
        || matches!(path, "/healthz" | "/readyz" | "/metrics" | "/openapi.json")
}

/// The journal, the fault rules, and how to name a request's operation.
pub struct Toolkit {
    pub journal: Journal,
    pub faults: Faults,
    pub snapshots: snapshots::Snapshots,
    /// The state the last reset left, which the next reset to the same seed puts back.
    pub seed_image: snapshots::SeedImage,
    /// Keep request and response bodies in the journal (secrets redacted).
    pub journal_bodies: bool,
    /// Set once the router is built (from its OpenAPI document).
    operations: std::sync::OnceLock<matchit::Router<HashMap<Method, String>>>,
}

impl Toolkit {
    pub fn new(journal_size: usize, journal_bodies: bool) -> Self {
        Toolkit {
            journal: Journal::new(journal_size),
            faults: Faults::default(),
            snapshots: Default::default(),
            seed_image: Default::default(),
            journal_bodies,
            operations: std::sync::OnceLock::new(),
        }
    }

    /// Learns the operation ids of `routes`: `(method, path template, operation id)` of the
    /// OpenAPI document. The first call wins.
    pub fn learn_routes(&self, routes: Vec<(Method, String, String)>) {
        let mut by_path: HashMap<String, HashMap<Method, String>> = HashMap::new();
        for (method, path, id) in routes {
            by_path.entry(path).or_default().insert(method, id);
        }
        let mut operations = matchit::Router::new();
        for (path, methods) in by_path {
            // The document's paths are the router's, so they insert; a clash leaves one unnamed.
            let _ = operations.insert(path, methods);
        }
        let _ = self.operations.set(operations);
    }

    /// The operation id and the `{account_id}` of a request, when its path names them.
    fn route(&self, method: &Method, path: &str) -> (Option<String>, Option<String>) {
        let Some(operations) = self.operations.get() else {
            return (None, None);
        };
        match operations.at(path) {
            Ok(found) => (
                found.value.get(method).cloned(),
                found.params.get("account_id").map(str::to_owned),
            ),
            Err(_) => (None, None),
        }
    }
}

/// Set by the authenticating extractors: who made the request, for the journal.
#[derive(Clone, Default)]
pub struct CredentialNote(Arc<Mutex<Option<String>>>);

impl CredentialNote {
    pub fn set(&self, id: impl Into<String>) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Some(id.into());
    }

    fn get(&self) -> Option<String> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// On a response: the connection is to be closed without sending it (a `reset` fault). The
/// connection loop ([`crate::connections`]) acts on it.
#[derive(Clone, Copy, Debug)]
pub struct ResetConnection;

/// How long a `hang` fault holds a request: longer than any client waits.
const HANG: Duration = Duration::from_secs(3600);

/// The credential id of a request, from its headers, for rules that match on it.
async fn credential_of(state: &AppState, headers: axum::http::HeaderMap) -> Option<String> {
    if let Some(email) = headers.get("x-auth-email").and_then(|v| v.to_str().ok()) {
        return Some(email.to_owned());
    }
    let token = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, t)| Secret::new(t.trim()))?;
    let found = state.store.token_by_hash(token.hash()).await.ok()??;
    Some(found.id)
}

/// The answer of a fault that sends one.
fn fault_response(action: &FaultAction) -> Option<Response> {
    if action.reset {
        let mut response = StatusCode::INTERNAL_SERVER_ERROR.into_response();
        response.extensions_mut().insert(ResetConnection);
        return Some(response);
    }
    let status = StatusCode::from_u16(action.status?).ok()?;
    let (code, message) = match status.as_u16() {
        429 => (971, "Please wait and consider throttling your request speed"),
        500 => (10002, "Internal error"),
        503 => (10003, "Service unavailable"),
        _ => (10000, "Injected fault"),
    };
    let body = Envelope::<()>::failure(vec![Message::new(
        action.code.unwrap_or(code),
        action.message.clone().unwrap_or_else(|| message.to_owned()),
    )]);
    let mut response = (status, Json(body)).into_response();
    let headers = response.headers_mut();
    let retry_after = action.retry_after.or(matches!(status.as_u16(), 429 | 503).then_some(1));
    if let Some(seconds) = retry_after {
        headers.insert("retry-after", HeaderValue::from(seconds));
    }
    if status.is_server_error() {
        headers.insert("x-should-retry", HeaderValue::from_static("true"));
    }
    Some(response)
}

fn json_of(bytes: &Bytes) -> Option<serde_json::Value> {
    if bytes.is_empty() {
        return None;
    }
    Some(match serde_json::from_slice(bytes) {
        Ok(value) => journal::redact(value),
        Err(_) => serde_json::Value::from(String::from_utf8_lossy(bytes).into_owned()),
    })
}

/// The middleware: fires fault rules, serves the request, and journals it.
pub async fn observe(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let path = req.uri().path().to_owned();
    let toolkit = state.toolkit.clone();
    let started = Instant::now();
    let method = req.method().clone();
    let (operation_id, account_id) = toolkit.route(&method, &path);
    let operation = match &operation_id {
        Some(id) => id.as_str(),
        None if path.starts_with("/populations/") => "scim",
        None => "none",
    }
    .to_owned();
    if exempt(&path) || (!toolkit.journal.enabled() && toolkit.faults.is_empty()) {
        let response = next.run(req).await;
        if path != "/metrics" {
            crate::metrics::request(&operation, response.status().as_u16(), started.elapsed());
        }
        return response;
    }
    let at = state.clock.now();
    let note = CredentialNote::default();
    req.extensions_mut().insert(note.clone());

    let credential = if toolkit.faults.wants_credential() {
        credential_of(&state, req.headers().clone()).await
    } else {
        None
    };
    let fired = toolkit.faults.fire(&Seen {
        method: method.as_str(),
        path: &path,
        operation_id: operation_id.as_deref(),
        account_id: account_id.as_deref(),
        credential_id: credential.as_deref(),
    });

    let mut request_body = None;
    let mut request_bytes = req
        .headers()
        .get("content-length")
        .and_then(|v| v.to_str().ok()?.parse().ok())
        .unwrap_or(0);
    if toolkit.journal_bodies {
        let (parts, body) = req.into_parts();
        let bytes = match crate::extract::read_bytes(body, &state.config).await {
            Ok(bytes) => Bytes::from(bytes),
            Err(e) => return e.into_response(),
        };
        request_bytes = bytes.len() as u64;
        request_body = json_of(&bytes);
        req = Request::from_parts(parts, Body::from(bytes));
    }
    let request_id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let query = req.uri().query().map(str::to_owned);

    let (fault, action) = match fired {
        Some((id, action)) => (Some(id), Some(action)),
        None => (None, None),
    };
    if let Some(action) = &action {
        if let Some(ms) = action.delay_ms {
            tokio::time::sleep(Duration::from_millis(ms)).await;
        }
        if action.hang {
            tokio::time::sleep(HANG).await;
        }
    }
    let mut response = match action.as_ref().and_then(fault_response) {
        Some(response) => response,
        None => next.run(req).await,
    };

    let mut response_body = None;
    let mut response_bytes = axum::body::HttpBody::size_hint(response.body()).exact().unwrap_or(0);
    if toolkit.journal_bodies && response.extensions().get::<ResetConnection>().is_none() {
        let (parts, body) = response.into_parts();
        let bytes = body.collect().await.map(|c| c.to_bytes()).unwrap_or_default();
        response_bytes = bytes.len() as u64;
        response_body = json_of(&bytes);
        response = Response::from_parts(parts, Body::from(bytes));
    }
    crate::metrics::request(&operation, response.status().as_u16(), started.elapsed());
    toolkit.journal.record(JournalEntry {
        seq: 0,
        at,
        request_id,
        method: method.to_string(),
        path,
        query,
        operation_id,
        account_id,
        credential_id: note.get().or(credential),
        status: response.status().as_u16(),
        latency_ms: started.elapsed().as_secs_f64() * 1000.0,
        request_bytes,
        response_bytes,
        fault,
        request_body,
        response_body,
    });
    response
}
