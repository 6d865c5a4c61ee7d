//! One user: seats, sessions, devices, logins; changing the seats, and removing the seat
//! after a confirmation. Changes go through the store's `edit_seats`, the PATCH's own
//! operation: the same limit check, the same clean-up of sessions and devices, the same
//! audit entry.

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{html, Markup};
use seats_store::{AccountRecord, UserRecord};
use seats_types::SeatEditItem;
use serde::Deserialize;

use super::page::{self, Page, Tab};
use super::session::SignedIn;
use super::{DashboardError, Ui, UiForm};
use crate::auth::Permission;
use crate::error::ApiError;
use crate::extract::AccountId;
use crate::routes::users::{user_not_found, UserIdPath};
use crate::AppState;

#[derive(Deserialize)]
pub struct Notice {
    saved: Option<String>,
    removed: Option<String>,
}

/// `GET /dashboard/accounts/{account_id}/users/{user_id}`: needs what `GET .../users/{id}`
/// and its activity endpoints need.
pub async fn show(
    State(state): State<AppState>,
    Ui(account): Ui<AccountId>,
    Ui(user_id): Ui<UserIdPath>,
    session: SignedIn,
    Ui(Query(notice)): Ui<Query<Notice>>,
) -> Result<Markup, DashboardError> {
    let record = session
        .viewer
        .account(&state, Some(Permission::AuditLogsRead), &account)
        .await?;
    let id = record.id.as_str();
    let user = user_id.load_in(&state, id).await?;
    let activity = state
        .store
        .user_activity(id, &user.id, state.clock.now())
        .await?
        .ok_or_else(|| user_not_found(&user.id))?;
    let may_write = session.viewer.may(Permission::SeatsWrite, id);
    let base = format!("/dashboard/accounts/{id}/users/{}", user.id);
    let holds = user.access_seat || user.gateway_seat;
    let body = html! {
        @if notice.saved.is_some() { p.notice role="status" { "Seats saved." } }
        @if notice.removed.is_some() { p.notice role="status" { "Seat removed." } }
        dl {
            dt { "Email" } dd { (user.email) }
            dt { "User id" } dd { code { (user.id) } }
            dt { "Seat uid" } dd { code { (user.seat_uid) } }
            dt { "Created" } dd { (page::time(user.created_at)) }
            dt { "Last login" } dd { (page::optional_time(user.last_successful_login)) }
            dt { "Holding a seat since" } dd { (page::optional_time(user.seat_granted_at)) }
        }
        section aria-labelledby="seats-heading" {
            h2 #seats-heading { "Seats" }
            @if may_write {
                form method="post" action=(format!("{base}/seats")) {
                    (page::csrf_field(&session.csrf))
                    fieldset {
                        legend { "Seats this user holds" }
                        div.check {
                            input #access type="checkbox" name="access" value="on" checked[user.access_seat];
                            label for="access" { "Access seat" }
                        }
                        div.check {
                            input #gateway type="checkbox" name="gateway" value="on" checked[user.gateway_seat];
                            label for="gateway" { "Gateway seat" }
                        }
                    }
                    button type="submit" { "Save seats" }
                }
                @if holds {
                    p { a.danger href=(format!("{base}/remove-seat")) { "Remove seat" } }
                }
            } @else {
                dl {
                    dt { "Access seat" } dd { (page::yes_no(user.access_seat)) }
                    dt { "Gateway seat" } dd { (page::yes_no(user.gateway_seat)) }
                }
                p.none { "Changing seats needs “Zero Trust: Seats Write”." }
            }
        }
        section aria-labelledby="sessions-heading" {
            h2 #sessions-heading { "Access sessions (" (activity.sessions.len()) ")" }
            @if activity.sessions.is_empty() { p.none { "No live session." } } @else {
                table { thead { tr { th scope="col" { "Session" } th scope="col" { "Started" } th scope="col" { "Expires" } } }
                    tbody { @for s in &activity.sessions { tr { td { code { (s.id) } } td { (page::time(s.created_at)) } td { (page::time(s.expires_at)) } } } } }
            }
        }
        section aria-labelledby="devices-heading" {
            h2 #devices-heading { "Devices (" (activity.devices.len()) ")" }
            @if activity.devices.is_empty() { p.none { "No registered device." } } @else {
                table { thead { tr { th scope="col" { "Device" } th scope="col" { "Registered" } th scope="col" { "Last seen" } } }
                    tbody { @for d in &activity.devices { tr { td { code { (d.id) } } td { (page::time(d.registered_at)) } td { (page::time(d.last_seen_at)) } } } } }
            }
        }
        section aria-labelledby="logins-heading" {
            h2 #logins-heading { "Logins" }
            p { "Last accepted: "
                @match &activity.last_login {
                    Some(l) => { (page::time(l.at)) " through " (l.method.via().as_str()) }
                    None => span.none { "never" },
                }
            }
            h3 { "Refused logins (" (activity.failed_logins.len()) ")" }
            @if activity.failed_logins.is_empty() { p.none { "None." } } @else {
                table { thead { tr { th scope="col" { "When" } th scope="col" { "Through" } th scope="col" { "Reason" } } }
                    tbody { @for l in &activity.failed_logins { tr { td { (page::time(l.at)) } td { (l.method.via().as_str()) } td { (match &l.result { seats_store::LoginResult::Refused { reason } => reason.as_str(), seats_store::LoginResult::Accepted => "" }) } } } } }
            }
        }
        p { a href=(format!("/dashboard/accounts/{id}/users")) { "Back to the users" } }
    };
    Ok(Page::new(display_name(&user))
        .signed_in(session.nav())
        .account(id, &record.name, Tab::Users)
        .render(body))
}

fn display_name(user: &UserRecord) -> String {
    if user.name.is_empty() {
        user.email.clone()
    } else {
        user.name.clone()
    }
}

#[derive(Deserialize)]
pub struct SeatsForm {
    #[serde(default)]
    csrf: String,
    access: Option<String>,
    gateway: Option<String>,
}

/// `POST .../users/{user_id}/seats`: both seats as the boxes say, as one PATCH item.
pub async fn set_seats(
    State(state): State<AppState>,
    Ui(account): Ui<AccountId>,
    Ui(user_id): Ui<UserIdPath>,
    session: SignedIn,
    UiForm(form): UiForm<SeatsForm>,
) -> Result<Response, DashboardError> {
    session.check_csrf(&form.csrf)?;
    let (_, user) = writable_user(&state, &account, &user_id, &session).await?;
    edit(&state, &session, &user, form.access.is_some(), form.gateway.is_some()).await?;
    Ok(Redirect::to(&format!(
        "/dashboard/accounts/{}/users/{}?saved=1",
        account.as_str(),
        user.id
    ))
    .into_response())
}

/// `GET .../users/{user_id}/remove-seat`: asks first.
pub async fn confirm_removal(
    State(state): State<AppState>,
    Ui(account): Ui<AccountId>,
    Ui(user_id): Ui<UserIdPath>,
    session: SignedIn,
) -> Result<Markup, DashboardError> {
    let (record, user) = writable_user(&state, &account, &user_id, &session).await?;
    let base = format!("/dashboard/accounts/{}/users/{}", record.id, user.id);
    let body = html! {
        p { "Remove the seat of " strong { (user.email) } "? They lose "
            @if user.access_seat && user.gateway_seat { "both their Access and Gateway seats" }
            @else if user.access_seat { "their Access seat" } @else { "their Gateway seat" }
            "; their sessions end and their devices are unregistered. The seat goes back to the account." }
        form method="post" action=(format!("{base}/remove-seat")) {
            (page::csrf_field(&session.csrf))
            button.danger type="submit" autofocus { "Remove seat" }
            " "
            a href=(base) { "Cancel" }
        }
    };
    Ok(Page::new("Remove seat?")
        .signed_in(session.nav())
        .account(&record.id, &record.name, Tab::Users)
        .render(body))
}

#[derive(Deserialize)]
pub struct ConfirmForm {
    #[serde(default)]
    csrf: String,
}

/// `POST .../users/{user_id}/remove-seat`: both seats off.
pub async fn remove_seat(
    State(state): State<AppState>,
    Ui(account): Ui<AccountId>,
    Ui(user_id): Ui<UserIdPath>,
    session: SignedIn,
    UiForm(form): UiForm<ConfirmForm>,
) -> Result<Response, DashboardError> {
    session.check_csrf(&form.csrf)?;
    let (_, user) = writable_user(&state, &account, &user_id, &session).await?;
    edit(&state, &session, &user, false, false).await?;
    Ok(Redirect::to(&format!(
        "/dashboard/accounts/{}/users/{}?removed=1",
        account.as_str(),
        user.id
    ))
    .into_response())
}

/// The account and the user, once the viewer is known to hold Seats Write on the account.
async fn writable_user(
    state: &AppState,
    account: &AccountId,
    user_id: &UserIdPath,
    session: &SignedIn,
) -> Result<(AccountRecord, UserRecord), DashboardError> {
    let record = session
        .viewer
        .account(state, Some(Permission::SeatsWrite), account)
        .await?;
    let user = user_id.load_in(state, &record.id).await?;
    Ok((record, user))
}

async fn edit(
    state: &AppState,
    session: &SignedIn,
    user: &UserRecord,
    access: bool,
    gateway: bool,
) -> Result<(), ApiError> {
    let item = SeatEditItem {
        seat_uid: user.seat_uid.clone(),
        access_seat: access,
        gateway_seat: gateway,
    };
    state
        .store
        .edit_seats(&user.account_id, vec![item], session.viewer.actor(), state.clock.now())
        .await
        .map_err(|e| ApiError::from_store(e, || user_not_found(&user.id)))?;
    Ok(())
}
