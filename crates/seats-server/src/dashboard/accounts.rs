//! The accounts a viewer reaches, and one account's overview: seats in use against the
//! limit, the organization's seat expiry setting, and seat usage over time.

use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{html, Markup};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::chart::Series;
use super::page::{self, Page, Tab};
use super::session::SignedIn;
use super::{DashboardError, Ui, UiForm};
use crate::auth::Permission;
use crate::error::{ApiError, Problem};
use crate::extract::AccountId;
use crate::AppState;

const EXPIRY: &str = "user_seat_expiration_inactive_time";

/// Audit events read back for the usage chart.
const CHART_EVENTS: u64 = 500;

/// `GET /dashboard`: straight into the account when the viewer reaches only one (the demo),
/// otherwise the list.
pub async fn home(State(state): State<AppState>, session: SignedIn) -> Result<Response, DashboardError> {
    let accounts = session.viewer.accounts(&state).await?;
    Ok(match accounts.as_slice() {
        [only] => Redirect::to(&format!("/dashboard/accounts/{}", only.id)).into_response(),
        _ => Redirect::to("/dashboard/accounts").into_response(),
    })
}

/// `GET /dashboard/accounts`.
pub async fn list(State(state): State<AppState>, session: SignedIn) -> Result<Markup, DashboardError> {
    let accounts = session.viewer.accounts(&state).await?;
    let mut rows = Vec::with_capacity(accounts.len());
    for account in accounts {
        let expiry = if session.viewer.may(Permission::OrganizationsRead, &account.id) {
            Some(expiry_setting(&state, &account.id).await?)
        } else {
            None
        };
        rows.push((account, expiry));
    }
    let body = html! {
        @if rows.is_empty() {
            p { "This credential reaches no account." }
        } @else {
            table {
                caption { "Accounts this credential reaches" }
                thead { tr { th scope="col" { "Account" } th scope="col" { "Seats" } th scope="col" { "Seat expiry after inactivity" } } }
                tbody {
                    @for (account, expiry) in &rows {
                        tr {
                            td { a href=(format!("/dashboard/accounts/{}", account.id)) { (account.name) } br; code.id { (account.id) } }
                            td { (page::usage(account.seats_in_use, account.seat_limit, &format!("usage-{}", account.id))) }
                            td { @match expiry {
                                Some(Some(text)) => (describe_expiry(text.as_deref())),
                                Some(None) => span.none { "no organization" },
                                None => span.none { "not readable with this credential" },
                            } }
                        }
                    }
                }
            }
        }
    };
    Ok(Page::new("Accounts").signed_in(session.nav()).render(body))
}

/// The organization's expiry setting: `None` without an organization, `Some(None)` when off.
async fn expiry_setting(state: &AppState, account_id: &str) -> Result<Option<Option<String>>, ApiError> {
    Ok(state
        .store
        .organization(account_id)
        .await?
        .map(|org| expiry_of(&org.fields).map(str::to_owned)))
}

/// The expiry setting of an organization's fields; `None` when off (`null` or `""`).
fn expiry_of(fields: &Map<String, Value>) -> Option<&str> {
    fields.get(EXPIRY).and_then(Value::as_str).filter(|s| !s.is_empty())
}

fn describe_expiry(setting: Option<&str>) -> Markup {
    match setting {
        Some(d) => html! { "Seats are freed after " strong { (d) } " without a login" },
        None => html! { "Off: seats are never freed for inactivity" },
    }
}

#[derive(Deserialize)]
pub struct Notice {
    #[serde(default)]
    saved: Option<String>,
}

/// `GET /dashboard/accounts/{account_id}`.
pub async fn overview(
    State(state): State<AppState>,
    Ui(account): Ui<AccountId>,
    session: SignedIn,
    Ui(axum::extract::Query(notice)): Ui<axum::extract::Query<Notice>>,
) -> Result<Markup, DashboardError> {
    let record = session.viewer.account(&state, None, &account).await?;
    let id = record.id.as_str();
    let viewer = &session.viewer;
    let organization = if viewer.may(Permission::OrganizationsRead, id) {
        Some(state.store.organization(id).await?)
    } else {
        None
    };
    let series = if viewer.may(Permission::AuditLogsRead, id) {
        let (events, _) = state.store.audit_events(id, 1, CHART_EVENTS).await?;
        Some(Series::from_audit(record.seats_in_use, &events, state.clock.now()))
    } else {
        None
    };
    let may_write_org = viewer.may(Permission::OrganizationsWrite, id);
    let body = html! {
        @if notice.saved.is_some() { p.notice role="status" { "Saved." } }
        section aria-labelledby="seats-heading" {
            h2 #seats-heading { "Seats" }
            (page::usage(record.seats_in_use, record.seat_limit, "usage"))
            p { a href=(format!("/dashboard/accounts/{id}/users")) { "See the users" } }
        }
        section aria-labelledby="org-heading" {
            h2 #org-heading { "Organization" }
            @match &organization {
                None => p.none { "This credential cannot read the organization settings (they need "
                    "“Access: Organizations, Identity Providers, and Groups Read”)." },
                Some(None) => p { "This account has no Zero Trust organization yet." },
                Some(Some(org)) => {
                    dl {
                        dt { "Name" } dd { (org.fields.get("name").and_then(Value::as_str).unwrap_or("")) }
                        dt { "Auth domain" } dd { (org.fields.get("auth_domain").and_then(Value::as_str).unwrap_or("")) }
                        dt { "Seat expiry after inactivity" }
                        dd { (describe_expiry(expiry_of(&org.fields))) }
                    }
                    @if may_write_org {
                        form.inline-form method="post" action=(format!("/dashboard/accounts/{id}/organization")) {
                            (page::csrf_field(&session.csrf))
                            label for="expiry" { "Free a seat after this long without a login" }
                            input #expiry name="expiry" type="text" inputmode="text" placeholder="730h"
                                aria-describedby="expiry-help"
                                value=(expiry_of(&org.fields).unwrap_or(""));
                            button type="submit" { "Save expiry" }
                            p #expiry-help .help { "A duration such as 730h or 43800m (at least 1h); empty turns it off." }
                        }
                    }
                }
            }
        }
        section aria-labelledby="chart-heading" {
            h2 #chart-heading { "Seat usage over time" }
            @match &series {
                None => p.none { "This credential cannot read the audit log (it needs “Access: Audit Logs Read”)." },
                Some(s) if s.is_flat() => p { "No seat has changed hands in the audit log yet." },
                Some(s) => {
                    (page::svg(s.svg(record.seat_limit)))
                    details {
                        summary { "The figures" }
                        table {
                            thead { tr { th scope="col" { "From" } th scope="col" { "Seats in use" } } }
                            tbody { @for (t, v) in &s.points { tr { td { (page::time(*t)) } td { (v) } } } }
                        }
                    }
                }
            }
        }
    };
    Ok(Page::new("Overview")
        .signed_in(session.nav())
        .account(id, &record.name, Tab::Overview)
        .render(body))
}

#[derive(Deserialize)]
pub struct ExpiryForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    expiry: String,
}

/// `POST /dashboard/accounts/{account_id}/organization`: changes the expiry setting as
/// `PUT .../access/organizations` would.
pub async fn set_expiry(
    State(state): State<AppState>,
    Ui(account): Ui<AccountId>,
    session: SignedIn,
    UiForm(form): UiForm<ExpiryForm>,
) -> Result<Response, DashboardError> {
    session.check_csrf(&form.csrf)?;
    session
        .viewer
        .account(&state, Some(Permission::OrganizationsWrite), &account)
        .await?;
    let mut fields = Map::new();
    fields.insert(EXPIRY.into(), Value::String(form.expiry.trim().to_owned()));
    let fields = seats_store::organization::normalize(&fields, false)
        .map_err(|problems| ApiError::Invalid(problems.into_iter().map(|(p, m)| Problem::new(p, m)).collect()))?;
    state
        .store
        .put_organization(
            account.as_str(),
            fields,
            seats_store::OrganizationChange::Update,
            session.viewer.actor(),
            state.clock.now(),
        )
        .await
        .map_err(|e| {
            ApiError::from_store(e, || {
                ApiError::NotFound(vec![Problem::new("", "this account has no Zero Trust organization")])
            })
        })?;
    Ok(Redirect::to(&format!("/dashboard/accounts/{}?saved=1", account.as_str())).into_response())
}
