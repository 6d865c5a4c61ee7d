//! Signing in to the dashboard, and who is signed in.
//!
//! **Sessions live on the server.** Signing in checks the credential exactly as an API request
//! with it would be, then keeps a session in the database: the hash of a random id, and the
//! hash of the credential (never the credential). The browser's cookie holds only that id: no
//! expiry (the browser drops it when it closes), `HttpOnly` (no script reads it),
//! `SameSite=Strict` (no other site sends it), scoped to `/dashboard`, and `Secure` when the
//! server is told it is reached over HTTPS (`--public-url https://…`, or a proxy's
//! `X-Forwarded-Proto: https`: a header a client may forge, but forging it only makes the
//! client's own cookie stricter). Every node of a cluster reads the same sessions.
//!
//! **Each request checks again** that the session's credential still works, through the same
//! lookups, rate limit and failed-authentication limit as the API: a revoked or expired
//! token, a changed global key or operator key ends the session at once. A session also ends
//! after `--dashboard-idle-timeout` (30 minutes) without a request, after
//! `--dashboard-session-lifetime` (12 hours) whatever its use, and at sign-out, which deletes
//! it: the old cookie opens nothing, on any node.
//!
//! **Forms.** Forms that change something carry the session's own token ([`SignedIn::csrf`],
//! derived from its random id, so new at each sign-in) on top of `SameSite=Strict`. The
//! sign-in form carries a value this server signed (with a key shared through the database)
//! and dated, echoed in a cookie of its own: a form another site made, or one older than an
//! hour, signs nobody in.

use std::time::Duration;

use axum::extract::{FromRequestParts, State};
use axum::http::header::{COOKIE, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use hmac::{Hmac, Mac};
use maud::{html, Markup};
use seats_store::dashboard_session::{DashboardSession, SessionCredential};
use seats_store::secret::{Secret, SecretHash};
use seats_store::{AccountRecord, Actor};
use seats_types::Timestamp;
use serde::Deserialize;

use super::page::{self, Page};
use super::{DashboardError, UiForm};
use crate::auth::{Auth, Credential, HashedCredential, Permission, Principal};
use crate::error::ApiError;
use crate::extract::AccountId;
use crate::AppState;

const COOKIE_NAME: &str = "seats_dashboard";
/// The sign-in form's own cookie: the signed value its forms echo.
const SIGN_IN_COOKIE: &str = "seats_dashboard_sign_in";
const SESSION_PATH: &str = "/dashboard";
const SIGN_IN_PATH: &str = "/dashboard/sign-in";
/// A session's last request is written at most this often.
const TOUCH_EVERY: Duration = Duration::from_secs(60);
/// How long a sign-in form may be posted after it was served.
const SIGN_IN_FORM_LIFETIME: Duration = Duration::from_secs(3600);
/// The name of the key that signs sign-in forms ([`seats_store::Store::server_key`]).
const FORM_KEY: &str = "dashboard-sign-in";

/// Who is looking: an API credential, with the API's permissions, or the operator, who sees
/// and may change every account.
#[derive(Clone)]
pub enum Viewer {
    Api(Auth),
    Operator,
}

impl Viewer {
    /// Whether to offer what needs `permission` (the server checks again when it is used).
    pub fn may(&self, permission: Permission, account_id: &str) -> bool {
        match self {
            Viewer::Api(auth) => auth.allows(permission, account_id),
            Viewer::Operator => true,
        }
    }

    /// The account, once the viewer is known to hold `needs` on it (with `None`, any
    /// permission, as `GET /accounts` asks): 403 10000 otherwise, or when there is no such
    /// account, as the API answers. The operator may do everything.
    pub async fn account(
        &self,
        state: &AppState,
        needs: Option<Permission>,
        account: &AccountId,
    ) -> Result<AccountRecord, ApiError> {
        match (self, needs) {
            (Viewer::Operator, _) => {}
            (Viewer::Api(auth), Some(permission)) => {
                auth.require(permission, account).await?;
            }
            (Viewer::Api(auth), None) => {
                auth.require_any(account).await?;
            }
        }
        state.store.account(account.as_str()).await?.ok_or(ApiError::Forbidden)
    }

    /// The accounts the viewer reaches, as `GET /accounts` lists them.
    pub async fn accounts(&self, state: &AppState) -> Result<Vec<AccountRecord>, ApiError> {
        let all = state.store.accounts().await?;
        Ok(match self {
            Viewer::Api(auth) => all.into_iter().filter(|a| auth.reaches(&a.id)).collect(),
            Viewer::Operator => all,
        })
    }

    /// Who the audit log names for the viewer's changes.
    pub fn actor(&self) -> Actor {
        match self {
            Viewer::Api(auth) => auth.actor(),
            Viewer::Operator => Actor::Operator,
        }
    }

    /// How the page header names the viewer.
    pub fn label(&self) -> String {
        match self {
            Viewer::Api(auth) => match auth.principal() {
                Principal::Token(t) => format!("token “{}”", t.name),
                Principal::Member(m) => m.email.clone(),
            },
            Viewer::Operator => "operator".into(),
        }
    }
}

/// A signed-in request: who, the token its forms must echo, and its session.
#[derive(Clone)]
pub struct SignedIn {
    pub viewer: Viewer,
    pub csrf: String,
    session: SecretHash,
}

impl SignedIn {
    /// How pages name this viewer.
    pub fn nav(&self) -> page::Nav<'_> {
        page::Nav {
            who: self.viewer.label(),
            csrf: &self.csrf,
        }
    }

    /// Refuses a form whose token is not this session's (403 10000).
    pub fn check_csrf(&self, given: &str) -> Result<(), DashboardError> {
        if same_secret(given, &self.csrf) {
            Ok(())
        } else {
            Err(DashboardError::Api(ApiError::Forbidden))
        }
    }
}

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = DashboardError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let Some(id) = read_cookie(&parts.headers, COOKIE_NAME).filter(|id| is_session_id(id)) else {
            return Err(DashboardError::SignIn(None));
        };
        let id_hash = Secret::new(id.as_str()).hash();
        let Some(session) = state.store.dashboard_session(id_hash).await? else {
            return Err(DashboardError::SignIn(None));
        };
        let now = state.clock.now();
        if ended(&session, now, &state.config) {
            state.store.delete_dashboard_session(id_hash).await?;
            return Err(DashboardError::SignIn(None));
        }
        let viewer = match verify(parts, state, &session.credential).await {
            Ok(viewer) => viewer,
            // A spent rate limit or a failing store says nothing about the credential: an
            // error page, and the session stays.
            Err(e @ (ApiError::RateLimited { .. } | ApiError::Internal(_))) => return Err(DashboardError::Api(e)),
            // The credential stopped working (revoked, expired, deleted, changed): the session
            // ends, and the sign-in page says why.
            Err(e) => {
                state.store.delete_dashboard_session(id_hash).await?;
                return Err(DashboardError::SignIn(Some(e)));
            }
        };
        if micros_between(session.last_seen_at, now) >= micros(TOUCH_EVERY) {
            state.store.touch_dashboard_session(id_hash, now).await?;
        }
        Ok(SignedIn {
            viewer,
            csrf: csrf_for(&id),
            session: id_hash,
        })
    }
}

/// Whether the session is over: past its lifetime, or idle too long.
fn ended(session: &DashboardSession, now: Timestamp, config: &crate::ServerConfig) -> bool {
    now >= session.expires_at || micros_between(session.last_seen_at, now) >= micros(config.dashboard_idle_timeout)
}

fn micros(d: Duration) -> i64 {
    i64::try_from(d.as_micros()).unwrap_or(i64::MAX)
}

fn micros_between(from: Timestamp, to: Timestamp) -> i64 {
    to.unix_micros().saturating_sub(from.unix_micros())
}

/// `at` moved by `by` micros (back when negative), kept at `at` past the ends of time.
fn shifted(at: Timestamp, by: i64) -> Timestamp {
    Timestamp::from_unix_micros(at.unix_micros().saturating_add(by)).unwrap_or(at)
}

/// Who the credential is now, as the API would answer it.
async fn verify(parts: &Parts, state: &AppState, credential: &SessionCredential) -> Result<Viewer, ApiError> {
    let hashed = match credential {
        SessionCredential::Operator(hash) => return operator(state, hash),
        SessionCredential::Token(hash) => HashedCredential::Token(*hash),
        SessionCredential::Key { email, key } => HashedCredential::Key {
            email: email.clone(),
            key: *key,
        },
    };
    Auth::from_hashed(parts, &hashed, state).await.map(Viewer::Api)
}

/// The operator, when `hash` is the operator key's.
fn operator(state: &AppState, hash: &SecretHash) -> Result<Viewer, ApiError> {
    crate::auth::operator::check(&state.config, hash).map(|()| Viewer::Operator)
}

/// A session id as the server makes them: 32 random bytes, hex.
fn is_session_id(id: &str) -> bool {
    id.len() == 64 && id.bytes().all(|b| b.is_ascii_hexdigit())
}

/// A `Set-Cookie` value for one of the dashboard's cookies: scripts cannot read it, other
/// sites never send it, and it lasts the browser session (HTTPS only when `secure`); `None`
/// drops it.
fn cookie(name: &str, value: Option<&str>, path: &str, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    let text = match value {
        Some(value) => format!("{name}={value}; Path={path}; HttpOnly; SameSite=Strict{secure}"),
        None => format!("{name}=; Path={path}; HttpOnly; SameSite=Strict; Max-Age=0{secure}"),
    };
    HeaderValue::from_str(&text).expect("cookie values are hex")
}

/// Whether the browser reached the server over HTTPS, as far as the server can tell.
fn over_https(state: &AppState, headers: &HeaderMap) -> bool {
    state.config.public_url.as_ref().is_some_and(|u| u.is_https())
        || headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("https"))
}

fn read_cookie(headers: &HeaderMap, wanted: &str) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == wanted)
        .map(|(_, value)| value.to_owned())
}

/// The form token of a session: a hash of its random id, so any node derives the same one and
/// each session has its own.
fn csrf_for(session_id: &str) -> String {
    let hash = Secret::new(format!("seats-dashboard-csrf\n{session_id}")).hash();
    hex::encode(&hash.as_bytes()[..16])
}

/// Whether two secrets are equal, compared as their hashes ([`SecretHash`]'s equality is
/// constant-time), as the operator key is.
fn same_secret(given: &str, expected: &str) -> bool {
    Secret::new(given).hash() == Secret::new(expected).hash()
}

/// The key that signs sign-in forms, shared by every server on the database: asked of the
/// store once per process, not at every sign-in page.
async fn form_key(state: &AppState) -> Result<[u8; 32], ApiError> {
    let key = state
        .dashboard_form_key
        .get_or_try_init(|| state.store.server_key(FORM_KEY, rand::random()))
        .await?;
    Ok(*key)
}

/// A sign-in form's value: random, dated and signed, as hex of
/// `random (16) ‖ served at, µs (8) ‖ HMAC-SHA-256 of those (first 16)`.
fn sign_form(key: &[u8; 32], now: Timestamp) -> String {
    let mut value = rand::random::<[u8; 16]>().to_vec();
    value.extend_from_slice(&now.unix_micros().to_be_bytes());
    let tag = form_mac(key, &value).finalize().into_bytes();
    value.extend_from_slice(&tag[..16]);
    hex::encode(value)
}

/// Whether `value` is one this server signed less than [`SIGN_IN_FORM_LIFETIME`] ago.
fn form_is_ours(key: &[u8; 32], value: &str, now: Timestamp) -> bool {
    let Some(bytes) = hex::decode(value).ok().filter(|b| b.len() == 40) else {
        return false;
    };
    let (signed, tag) = bytes.split_at(24);
    if form_mac(key, signed).verify_truncated_left(tag).is_err() {
        return false;
    }
    let served = i64::from_be_bytes(signed[16..].try_into().expect("8 bytes"));
    (0..micros(SIGN_IN_FORM_LIFETIME)).contains(&now.unix_micros().saturating_sub(served))
}

fn form_mac(key: &[u8; 32], signed: &[u8]) -> Hmac<sha2::Sha256> {
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(signed);
    mac
}

/// The sign-in form's fields; which are filled says which credential it is.
#[derive(Deserialize)]
pub struct SignInForm {
    #[serde(default)]
    nonce: String,
    kind: String,
    #[serde(default)]
    token: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    key: String,
}

impl SignInForm {
    /// The credential the form holds, through the API's format checks (as headers would be).
    fn credential(&self) -> Result<SessionCredential, ApiError> {
        let mut headers = HeaderMap::new();
        let value = |v: &str, code, name| {
            HeaderValue::from_str(v).map_err(|_| {
                ApiError::InvalidHeaders(vec![seats_types::Message::new(
                    code,
                    format!("Invalid format for {name} header"),
                )])
            })
        };
        match self.kind.as_str() {
            "token" => {
                let bearer = format!("Bearer {}", self.token.trim());
                headers.insert(
                    axum::http::header::AUTHORIZATION,
                    value(&bearer, 6111, "Authorization")?,
                );
            }
            "key" => {
                headers.insert("x-auth-email", value(self.email.trim(), 6102, "X-Auth-Email")?);
                headers.insert("x-auth-key", value(self.key.trim(), 6103, "X-Auth-Key")?);
            }
            "operator" => return Ok(SessionCredential::Operator(Secret::new(self.key.trim()).hash())),
            _ => return Err(ApiError::MissingCredentials),
        }
        Ok(match Credential::from_headers(&headers)?.hashed() {
            HashedCredential::Token(hash) => SessionCredential::Token(hash),
            HashedCredential::Key { email, key } => SessionCredential::Key { email, key },
        })
    }
}

/// `GET /dashboard/sign-in`.
pub async fn form(State(state): State<AppState>, parts: Parts) -> Response {
    sign_in_response(&state, &parts.headers, StatusCode::OK, None).await
}

/// The sign-in page, with a freshly signed value for its forms to echo in its cookie.
pub async fn sign_in_response(
    state: &AppState,
    headers: &HeaderMap,
    status: StatusCode,
    error: Option<&ApiError>,
) -> Response {
    let key = match form_key(state).await {
        Ok(key) => key,
        Err(e) => return DashboardError::Api(e).into_response(),
    };
    let nonce = sign_form(&key, state.clock.now());
    let mut response = (status, sign_in_page(state, &nonce, error)).into_response();
    response.headers_mut().append(
        SET_COOKIE,
        cookie(SIGN_IN_COOKIE, Some(&nonce), SIGN_IN_PATH, over_https(state, headers)),
    );
    response
}

/// `POST /dashboard/sign-in`: checks the form is one this server served, in this browser,
/// within the hour; then the credential, as the API would (limits included); then opens a
/// session and sets its cookie.
pub async fn sign_in(State(state): State<AppState>, parts: Parts, UiForm(form): UiForm<SignInForm>) -> Response {
    let refuse = |status, e: ApiError| {
        let (state, headers) = (&state, &parts.headers);
        async move { sign_in_response(state, headers, status, Some(&e)).await }
    };
    let expected = read_cookie(&parts.headers, SIGN_IN_COOKIE).unwrap_or_default();
    let ours = match form_key(&state).await {
        Ok(key) => form_is_ours(&key, &form.nonce, state.clock.now()),
        Err(e) => return DashboardError::Api(e).into_response(),
    };
    if !ours || !same_secret(&form.nonce, &expected) {
        return refuse(StatusCode::FORBIDDEN, ApiError::Forbidden).await;
    }
    let credential = match form.credential() {
        Ok(credential) => credential,
        Err(e @ ApiError::MissingCredentials) => return refuse(StatusCode::BAD_REQUEST, e).await,
        Err(e) => return refuse(e.status(), e).await,
    };
    let checked = match &credential {
        // A wrong operator key counts against the address, as on the operator API.
        SessionCredential::Operator(hash) => {
            crate::rate_limit::failed_auth::guarded(
                &state,
                &parts,
                Some(crate::rate_limit::failed_auth::OPERATOR_TARGET.to_owned()),
                async { operator(&state, hash) },
                |e| matches!(e, ApiError::Forbidden),
                |retry_after| ApiError::RateLimited { retry_after },
            )
            .await
        }
        other => verify(&parts, &state, other).await,
    };
    if let Err(e) = checked {
        return refuse(e.status(), e).await;
    }
    let id = hex::encode(rand::random::<[u8; 32]>());
    let now = state.clock.now();
    let session = DashboardSession {
        id_hash: Secret::new(id.as_str()).hash(),
        credential,
        created_at: now,
        last_seen_at: now,
        expires_at: shifted(now, micros(state.config.dashboard_session_lifetime)),
    };
    let idle_before = shifted(now, -micros(state.config.dashboard_idle_timeout));
    if let Err(e) = state.store.create_dashboard_session(session, idle_before).await {
        return DashboardError::Api(e.into()).into_response();
    }
    let secure = over_https(&state, &parts.headers);
    let mut response = Redirect::to("/dashboard").into_response();
    let headers = response.headers_mut();
    headers.append(SET_COOKIE, cookie(COOKIE_NAME, Some(&id), SESSION_PATH, secure));
    headers.append(SET_COOKIE, cookie(SIGN_IN_COOKIE, None, SIGN_IN_PATH, secure));
    response
}

#[derive(Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

/// `POST /dashboard/sign-out`: ends the session on the server (every node), and drops the
/// cookie.
pub async fn sign_out(
    State(state): State<AppState>,
    signed_in: Result<SignedIn, DashboardError>,
    UiForm(form): UiForm<CsrfForm>,
) -> Response {
    if let Ok(session) = &signed_in {
        if let Err(e) = session.check_csrf(&form.csrf) {
            return e.into_response();
        }
        if let Err(e) = state.store.delete_dashboard_session(session.session).await {
            return DashboardError::Api(e.into()).into_response();
        }
    }
    signed_out(Redirect::to("/dashboard/sign-in").into_response())
}

/// `response`, telling the browser to drop the session cookie.
pub fn signed_out(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(SET_COOKIE, cookie(COOKIE_NAME, None, SESSION_PATH, false));
    response
}

fn sign_in_page(state: &AppState, nonce: &str, error: Option<&ApiError>) -> Markup {
    let demo_token = state.config.demo.then_some(seats_types::formats::DEMO_API_TOKEN);
    let body = html! {
        @if let Some(e) = error { (page::error_box(e)) }
        @if demo_token.is_some() {
            p.note { "This server runs with demo data: the demo token is filled in below." }
        }
        p { "The credential is checked, then forgotten: the server keeps a session, and this "
            "browser only its random id, in a cookie that scripts cannot read and that is gone "
            "when the browser closes. The session ends when you sign out, after "
            (human(state.config.dashboard_idle_timeout)) " without use, or "
            (human(state.config.dashboard_session_lifetime)) " after sign-in." }
        div.sign-in {
            form method="post" action="/dashboard/sign-in" {
                h2 { "API token" }
                input type="hidden" name="kind" value="token";
                input type="hidden" name="nonce" value=(nonce);
                label for="token" { "API token" }
                input #token type="password" name="token" autocomplete="off" required
                    value=[demo_token];
                button type="submit" { "Sign in with token" }
            }
            form method="post" action="/dashboard/sign-in" {
                h2 { "Global API key" }
                input type="hidden" name="kind" value="key";
                input type="hidden" name="nonce" value=(nonce);
                label for="email" { "Email" }
                input #email type="email" name="email" autocomplete="username" required;
                label for="key" { "Global API key" }
                input #key type="password" name="key" autocomplete="off" required;
                button type="submit" { "Sign in with key" }
            }
            @if state.config.operator_key.is_some() {
                form method="post" action="/dashboard/sign-in" {
                    h2 { "Operator key" }
                    input type="hidden" name="kind" value="operator";
                    input type="hidden" name="nonce" value=(nonce);
                    label for="operator-key" { "Operator key" }
                    input #operator-key type="password" name="key" autocomplete="off" required;
                    button type="submit" { "Sign in as operator" }
                }
            }
        }
    };
    Page::new("Sign in").render(body)
}

/// A lifetime as the sign-in page states it: `30 minutes`, `12 hours`.
fn human(d: Duration) -> String {
    let s = d.as_secs();
    let (n, unit) = if s.is_multiple_of(3600) && s >= 3600 {
        (s / 3600, "hour")
    } else if s.is_multiple_of(60) && s >= 60 {
        (s / 60, "minute")
    } else {
        (s, "second")
    };
    format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cookie_is_found_among_others() {
        let mut headers = HeaderMap::new();
        headers.append(COOKIE, HeaderValue::from_static("a=1; seats_dashboard=abcd"));
        assert_eq!(read_cookie(&headers, COOKIE_NAME).as_deref(), Some("abcd"));
        headers.clear();
        headers.append(COOKIE, HeaderValue::from_static("seats_dashboardx=1"));
        assert_eq!(read_cookie(&headers, COOKIE_NAME), None);
    }

    #[test]
    fn form_tokens_follow_the_session() {
        assert_eq!(csrf_for("abcd"), csrf_for("abcd"));
        assert_ne!(csrf_for("abcd"), csrf_for("abce"));
        assert_eq!(csrf_for("abcd").len(), 32);
        assert!(same_secret("abc", "abc") && !same_secret("abc", "abd") && !same_secret("ab", "abc"));
    }

    #[test]
    fn sign_in_forms_are_ours_only_when_signed_with_our_key_within_the_hour() {
        let key = [7u8; 32];
        let t0: Timestamp = "2030-01-01T00:00:00Z".parse().unwrap();
        let value = sign_form(&key, t0);
        assert_eq!(value.len(), 80);
        assert!(form_is_ours(&key, &value, t0));
        assert!(form_is_ours(
            &key,
            &value,
            shifted(t0, micros(Duration::from_secs(3599)))
        ));
        assert!(
            !form_is_ours(&key, &value, shifted(t0, micros(SIGN_IN_FORM_LIFETIME))),
            "too old"
        );
        assert!(!form_is_ours(&key, &value, shifted(t0, -1)), "served in the future");
        assert!(!form_is_ours(&[8u8; 32], &value, t0), "another server's key");
        // Any byte changed, or a value of another shape, is not ours.
        let mut bytes = hex::decode(&value).unwrap();
        bytes[20] ^= 1;
        assert!(!form_is_ours(&key, &hex::encode(&bytes), t0));
        for other in ["", "0011", &value[..78], "zz"] {
            assert!(!form_is_ours(&key, other, t0), "{other}");
        }
        assert_ne!(sign_form(&key, t0), value, "each form its own value");
    }

    #[test]
    fn session_ids_have_one_shape() {
        assert!(is_session_id(&hex::encode([1u8; 32])));
        assert!(!is_session_id(&hex::encode([1u8; 31])));
        assert!(!is_session_id(&"g".repeat(64)));
    }
}
