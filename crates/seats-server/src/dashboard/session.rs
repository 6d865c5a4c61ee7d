//! Signing in to the dashboard, and who is signed in.
//!
//! The credential lives in the browser session only: a cookie without an expiry (the browser
//! drops it when it closes), `HttpOnly` (no script reads it), `SameSite=Strict` (no other site
//! sends it), scoped to `/dashboard`. It never travels in a URL, and `/dashboard` is neither
//! journaled nor logged beyond method and path. The server keeps no session: each request
//! authenticates the cookie's credential exactly as an API request with those headers would
//! be ([`Auth::from_credential_headers`]), so a revoked token signs the browser out at once
//! and every node of a cluster serves the same browser.
//!
//! Forms that change something carry a token derived from the cookie ([`SignedIn::csrf`]) on
//! top of `SameSite=Strict`.

use axum::extract::{FromRequestParts, State};
use axum::http::header::{COOKIE, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{html, Markup};
use seats_store::secret::Secret;
use seats_store::{AccountRecord, Actor};
use serde::Deserialize;

use super::page::{self, Page};
use super::{DashboardError, UiForm};
use crate::auth::{Auth, Permission, Principal};
use crate::error::ApiError;
use crate::extract::AccountId;
use crate::AppState;

const COOKIE_NAME: &str = "seats_dashboard";
/// The sign-in form's own cookie: a random value its forms echo, so that no other site can
/// sign a browser in (with the other site's credential).
const SIGN_IN_COOKIE: &str = "seats_dashboard_sign_in";
const SESSION_PATH: &str = "/dashboard";
const SIGN_IN_PATH: &str = "/dashboard/sign-in";

/// The credential a browser signed in with, as its cookie holds it.
enum Stored {
    Token(String),
    Key { email: String, key: String },
    Operator(String),
}

impl Stored {
    fn encode(&self) -> String {
        let text = match self {
            Stored::Token(token) => format!("t\n{token}"),
            Stored::Key { email, key } => format!("k\n{email}\n{key}"),
            Stored::Operator(key) => format!("o\n{key}"),
        };
        hex(text.as_bytes())
    }

    fn decode(cookie: &str) -> Option<Stored> {
        let text = String::from_utf8(unhex(cookie)?).ok()?;
        let mut parts = text.split('\n');
        let stored = match (parts.next()?, parts.next()?, parts.next()) {
            ("t", token, None) => Stored::Token(token.to_owned()),
            ("k", email, Some(key)) => Stored::Key {
                email: email.to_owned(),
                key: key.to_owned(),
            },
            ("o", key, None) => Stored::Operator(key.to_owned()),
            _ => return None,
        };
        parts.next().is_none().then_some(stored)
    }

    /// The headers an API request with this credential would carry; a value no header can
    /// hold is a format error, as it would be in a header.
    fn headers(&self) -> Result<HeaderMap, ApiError> {
        let mut headers = HeaderMap::new();
        let value = |v: &str, code, name| {
            HeaderValue::from_str(v).map_err(|_| {
                ApiError::InvalidHeaders(vec![seats_types::Message::new(
                    code,
                    format!("Invalid format for {name} header"),
                )])
            })
        };
        match self {
            Stored::Token(token) => {
                headers.insert(
                    axum::http::header::AUTHORIZATION,
                    value(&format!("Bearer {token}"), 6111, "Authorization")?,
                );
            }
            Stored::Key { email, key } => {
                headers.insert("x-auth-email", value(email, 6102, "X-Auth-Email")?);
                headers.insert("x-auth-key", value(key, 6103, "X-Auth-Key")?);
            }
            Stored::Operator(_) => {}
        }
        Ok(headers)
    }
}

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
        let id = account.as_str();
        let allowed = match (self, needs) {
            (Viewer::Operator, _) => true,
            (Viewer::Api(auth), Some(permission)) => auth.allows(permission, id),
            (Viewer::Api(auth), None) => auth.reaches(id),
        };
        match state.store.account(id).await? {
            Some(record) if allowed => Ok(record),
            _ => Err(ApiError::Forbidden),
        }
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

/// A signed-in request: who, and the token its forms must echo.
#[derive(Clone)]
pub struct SignedIn {
    pub viewer: Viewer,
    pub csrf: String,
}

impl SignedIn {
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
        let Some(cookie) = read_cookie(&parts.headers, COOKIE_NAME) else {
            return Err(DashboardError::SignIn(None));
        };
        let Some(stored) = Stored::decode(&cookie) else {
            return Err(DashboardError::SignIn(None));
        };
        match authenticate(parts, state, &stored).await {
            Ok(viewer) => Ok(SignedIn {
                viewer,
                csrf: csrf_for(&cookie),
            }),
            // A spent rate limit or a failing store says nothing about the credential: an
            // error page, and the session stays.
            Err(e @ (ApiError::RateLimited { .. } | ApiError::Internal(_))) => Err(DashboardError::Api(e)),
            // The credential stopped working (revoked, expired, deleted): back to the
            // sign-in page, which says why.
            Err(e) => Err(DashboardError::SignIn(Some(e))),
        }
    }
}

async fn authenticate(parts: &Parts, state: &AppState, stored: &Stored) -> Result<Viewer, ApiError> {
    if let Stored::Operator(key) = stored {
        return match state.config.operator_key {
            Some(expected) if Secret::new(key.as_str()).hash() == expected => Ok(Viewer::Operator),
            Some(_) => Err(ApiError::Forbidden),
            None => Err(ApiError::NoRoute),
        };
    }
    let headers = stored.headers()?;
    Auth::from_credential_headers(parts, &headers, state)
        .await
        .map(Viewer::Api)
}

/// A `Set-Cookie` value for one of the dashboard's cookies: scripts cannot read it, other
/// sites never send it, and it lasts the browser session; `None` drops it.
fn cookie(name: &str, value: Option<&str>, path: &str) -> HeaderValue {
    let text = match value {
        Some(value) => format!("{name}={value}; Path={path}; HttpOnly; SameSite=Strict"),
        None => format!("{name}=; Path={path}; HttpOnly; SameSite=Strict; Max-Age=0"),
    };
    HeaderValue::from_str(&text).expect("cookie values are hex")
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

/// The form token of a session: a hash of its cookie, so any node derives the same one.
fn csrf_for(cookie: &str) -> String {
    let hash = Secret::new(format!("seats-dashboard-csrf\n{cookie}")).hash();
    hex(&hash.as_bytes()[..16])
}

/// Whether two secrets are equal, compared as their hashes ([`SecretHash`]'s equality is
/// constant-time), as the operator key is.
///
/// [`SecretHash`]: seats_store::secret::SecretHash
fn same_secret(given: &str, expected: &str) -> bool {
    Secret::new(given).hash() == Secret::new(expected).hash()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) || text.len() > 8192 {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
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

/// `GET /dashboard/sign-in`.
pub async fn form(State(state): State<AppState>) -> Response {
    sign_in_response(&state, StatusCode::OK, None)
}

/// The sign-in page, with a fresh value for its forms to echo in its cookie.
pub fn sign_in_response(state: &AppState, status: StatusCode, error: Option<&ApiError>) -> Response {
    let nonce = hex(&rand::random::<[u8; 16]>());
    let mut response = (status, sign_in_page(state, &nonce, error)).into_response();
    response
        .headers_mut()
        .append(SET_COOKIE, cookie(SIGN_IN_COOKIE, Some(&nonce), SIGN_IN_PATH));
    response
}

/// `POST /dashboard/sign-in`: checks the form came from our sign-in page, then the
/// credential as the API would, then keeps it in the session cookie.
pub async fn sign_in(State(state): State<AppState>, parts: Parts, UiForm(form): UiForm<SignInForm>) -> Response {
    let expected = read_cookie(&parts.headers, SIGN_IN_COOKIE).unwrap_or_default();
    if expected.is_empty() || !same_secret(&form.nonce, &expected) {
        return sign_in_response(&state, StatusCode::FORBIDDEN, Some(&ApiError::Forbidden));
    }
    let stored = match form.kind.as_str() {
        "token" => Stored::Token(form.token.trim().to_owned()),
        "key" => Stored::Key {
            email: form.email.trim().to_owned(),
            key: form.key.trim().to_owned(),
        },
        "operator" => Stored::Operator(form.key.trim().to_owned()),
        _ => return sign_in_response(&state, StatusCode::BAD_REQUEST, Some(&ApiError::MissingCredentials)),
    };
    if let Err(e) = authenticate(&parts, &state, &stored).await {
        return sign_in_response(&state, e.status(), Some(&e));
    }
    let mut response = Redirect::to("/dashboard").into_response();
    let headers = response.headers_mut();
    headers.append(SET_COOKIE, cookie(COOKIE_NAME, Some(&stored.encode()), SESSION_PATH));
    headers.append(SET_COOKIE, cookie(SIGN_IN_COOKIE, None, SIGN_IN_PATH));
    response
}

#[derive(Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

/// `POST /dashboard/sign-out`: forgets the cookie.
pub async fn sign_out(signed_in: Result<SignedIn, DashboardError>, UiForm(form): UiForm<CsrfForm>) -> Response {
    if let Ok(session) = &signed_in {
        if let Err(e) = session.check_csrf(&form.csrf) {
            return e.into_response();
        }
    }
    signed_out(Redirect::to("/dashboard/sign-in").into_response())
}

/// `response`, telling the browser to drop the session cookie.
pub fn signed_out(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(SET_COOKIE, cookie(COOKIE_NAME, None, SESSION_PATH));
    response
}

fn sign_in_page(state: &AppState, nonce: &str, error: Option<&ApiError>) -> Markup {
    let demo_token = state.config.demo.then_some(seats_types::formats::DEMO_API_TOKEN);
    let body = html! {
        @if let Some(e) = error { (page::error_box(e)) }
        @if demo_token.is_some() {
            p.note { "This server runs with demo data: the demo token is filled in below." }
        }
        p { "The credential stays in this browser session only: it is sent in a cookie that "
            "scripts cannot read and that is gone when the browser closes." }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_travel_through_the_cookie_unchanged() {
        let cases = [
            Stored::Token("Sn3lZJTBX6kkg7OdcBUAxOO963GEIyGQqnFTOFYY".into()),
            Stored::Key {
                email: "a;b=c@example.com".into(),
                key: "144c9defac04969c7bfad8efaa8ea194".into(),
            },
            Stored::Operator("operator key with spaces".into()),
        ];
        for stored in cases {
            let cookie = stored.encode();
            assert!(cookie.bytes().all(|b| b.is_ascii_hexdigit()), "{cookie}");
            assert_eq!(Stored::decode(&cookie).unwrap().encode(), cookie);
        }
        assert!(Stored::decode("zz").is_none());
        assert!(Stored::decode(&hex(b"t\na\nb")).is_none(), "a token has one part");
        assert!(Stored::decode(&hex(b"x\na")).is_none());
    }

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
}
