//! The web dashboard at `/dashboard`: accounts, users and their seats, the audit log and
//! identity providers, for people rather than programs.
//!
//! Server-rendered HTML (maud) with its stylesheet and a small script embedded in the binary:
//! no build step, no separate process. Every page reads without JavaScript; the script only
//! adds conveniences (the seat filter applies on change, `/` focuses the search).
//!
//! Sign-in takes an API token, a global key with its email, or the operator key
//! ([`session`]). Each page asks for the permission the API asks for the same data, through
//! the same checks, and offers an action only to a viewer who may take it; the server checks
//! again when it is taken. Refusals and failures show Cloudflare's codes and messages.

mod accounts;
mod audit;
mod chart;
mod identity_providers;
mod page;
pub mod session;
mod user;
mod users;

use axum::extract::rejection::QueryRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{any, get, post};
use axum::Router;
use maud::html;

use crate::error::ApiError;
use crate::AppState;
use page::Page;

/// The dashboard's routes, under `/dashboard`.
pub fn router() -> Router<AppState> {
    let pages = Router::new()
        .route("/dashboard", get(accounts::home))
        .route("/dashboard/", get(accounts::home))
        .route("/dashboard/sign-in", get(session::form).post(session::sign_in))
        .route("/dashboard/sign-out", post(session::sign_out))
        .route("/dashboard/accounts", get(accounts::list))
        .route("/dashboard/accounts/{account_id}", get(accounts::overview))
        .route(
            "/dashboard/accounts/{account_id}/organization",
            post(accounts::set_expiry),
        )
        .route("/dashboard/accounts/{account_id}/users", get(users::list))
        .route("/dashboard/accounts/{account_id}/users/{user_id}", get(user::show))
        .route(
            "/dashboard/accounts/{account_id}/users/{user_id}/seats",
            post(user::set_seats),
        )
        .route(
            "/dashboard/accounts/{account_id}/users/{user_id}/remove-seat",
            get(user::confirm_removal).post(user::remove_seat),
        )
        .route("/dashboard/accounts/{account_id}/audit", get(audit::list))
        .route(
            "/dashboard/accounts/{account_id}/identity-providers",
            get(identity_providers::list),
        )
        // Any other path under /dashboard: the dashboard's own 404 page.
        .route("/dashboard/{*rest}", any(not_found))
        .layer(axum::middleware::from_fn(protect));
    Router::new()
        .route("/dashboard/assets/dashboard.css", get(stylesheet))
        .route("/dashboard/assets/dashboard.js", get(script))
        .merge(pages)
}

/// What a page can fail with.
#[derive(Debug)]
pub enum DashboardError {
    /// Not signed in, or the credential stopped working (with why): the sign-in page.
    SignIn(Option<ApiError>),
    /// Refused or failed as the API would have: the error page, with the API's status.
    Api(ApiError),
}

impl From<ApiError> for DashboardError {
    fn from(e: ApiError) -> Self {
        DashboardError::Api(e)
    }
}

impl From<seats_store::StoreError> for DashboardError {
    fn from(e: seats_store::StoreError) -> Self {
        DashboardError::Api(e.into())
    }
}

impl IntoResponse for DashboardError {
    fn into_response(self) -> Response {
        match self {
            DashboardError::SignIn(None) => Redirect::to("/dashboard/sign-in").into_response(),
            // The sign-in page, saying why the session ended; the cookie goes with it.
            DashboardError::SignIn(Some(e)) => {
                let body = html! {
                    (page::error_box(&e))
                    p { a href="/dashboard/sign-in" { "Sign in again" } }
                };
                session::signed_out((e.status(), Page::new("Signed out").render(body)).into_response())
            }
            DashboardError::Api(e) => {
                if let ApiError::Internal(cause) = &e {
                    tracing::error!(error = %cause, "internal error");
                }
                let body = html! {
                    (page::error_box(&e))
                    @if matches!(e, ApiError::Forbidden) {
                        p { "The credential you signed in with does not hold the permission this "
                            "needs on this account (or there is no such account)." }
                    }
                    p { a href="/dashboard/accounts" { "Back to the accounts" } }
                };
                (e.status(), Page::new("Something went wrong").render(body)).into_response()
            }
        }
    }
}

/// An extractor of the API's (the account id, the user id), or `Query`, whose refusal is the
/// dashboard's error page rather than JSON.
pub struct Ui<T>(pub T);

impl<T> FromRequestParts<AppState> for Ui<T>
where
    T: FromRequestParts<AppState>,
    T::Rejection: Into<DashboardError>,
{
    type Rejection = DashboardError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        T::from_request_parts(parts, state).await.map(Ui).map_err(Into::into)
    }
}

/// A posted form, refused with the dashboard's error page when it does not parse. Its body is
/// read as the API's are ([`crate::extract::read_bytes`]): at most `--max-body-bytes` (413),
/// within the body timeouts (408), so a stalled or huge form holds nothing for long.
pub struct UiForm<T>(pub T);

impl<T: serde::de::DeserializeOwned> FromRequest<AppState> for UiForm<T> {
    type Rejection = DashboardError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (parts, body) = req.into_parts();
        let bytes = crate::extract::read_bytes(body, &state.config).await?;
        let req = Request::from_parts(parts, axum::body::Body::from(bytes));
        axum::Form::<T>::from_request(req, state)
            .await
            .map(|axum::Form(form)| UiForm(form))
            .map_err(|e| unreadable(e.body_text()))
    }
}

impl From<QueryRejection> for DashboardError {
    fn from(e: QueryRejection) -> Self {
        unreadable(e.body_text())
    }
}

fn unreadable(why: String) -> DashboardError {
    DashboardError::Api(ApiError::Invalid(vec![crate::error::Problem::new("", why)]))
}

async fn not_found() -> DashboardError {
    DashboardError::Api(ApiError::NoRoute)
}

/// Pages are never cached (they show what one credential may see), never framed, and load
/// nothing from elsewhere.
async fn protect(req: Request, next: Next) -> Response {
    let mut response = next.run(req).await;
    let headers = response.headers_mut();
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        "content-security-policy",
        HeaderValue::from_static(
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
             form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    headers.insert("x-frame-options", HeaderValue::from_static("DENY"));
    headers.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    headers.insert("x-content-type-options", HeaderValue::from_static("nosniff"));
    response
}

const STYLESHEET: &str = include_str!("assets/dashboard.css");
const SCRIPT: &str = include_str!("assets/dashboard.js");

async fn stylesheet() -> Response {
    asset("text/css; charset=utf-8", STYLESHEET)
}

async fn script() -> Response {
    asset("text/javascript; charset=utf-8", SCRIPT)
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        StatusCode::OK,
        [
            (CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (CACHE_CONTROL, HeaderValue::from_static("public, max-age=3600")),
        ],
        body,
    )
        .into_response()
}
