//! An account's users: search, a seat filter, and key-set paging that costs the same on the
//! first page of 100 users as on the last page of 1M ([`seats_store::browse`]).

use axum::extract::{Query, State};
use maud::{html, Markup};
use seats_store::browse::{SeatFilter, UserBrowse, UserKey};
use serde::Deserialize;

use super::page::{self, Page, Tab};
use super::session::SignedIn;
use super::{DashboardError, Ui};
use crate::auth::Permission;
use crate::error::{ApiError, Problem};
use crate::extract::AccountId;
use crate::AppState;

/// Users on a page.
const PAGE_SIZE: u64 = 50;
/// Most users read to fill a filtered page; a filter that matches fewer shows a short page
/// and goes on from where the reading stopped.
const SCAN: u64 = 5000;

#[derive(Deserialize, Default)]
pub struct ListQuery {
    #[serde(default)]
    search: String,
    #[serde(default)]
    seat: String,
    after: Option<String>,
    before: Option<String>,
}

fn seat_label(f: SeatFilter) -> &'static str {
    match f {
        SeatFilter::Any => "All users",
        SeatFilter::Holding => "Holding a seat",
        SeatFilter::Access => "Holding an Access seat",
        SeatFilter::Gateway => "Holding a Gateway seat",
        SeatFilter::None => "Holding no seat",
    }
}

/// `GET /dashboard/accounts/{account_id}/users`: needs what `GET .../access/users` needs.
pub async fn list(
    State(state): State<AppState>,
    Ui(account): Ui<AccountId>,
    session: SignedIn,
    Ui(Query(query)): Ui<Query<ListQuery>>,
) -> Result<Markup, DashboardError> {
    let record = session
        .viewer
        .account(&state, Some(Permission::AuditLogsRead), &account)
        .await?;
    let id = record.id.as_str();
    let search = query.search.trim();
    if let Some(problem) = seats_types::formats::text_problem("search", search, seats_types::formats::MAX_NAME_CHARS) {
        return Err(ApiError::Invalid(vec![Problem::new("/search", problem)]).into());
    }
    let seat = if query.seat.is_empty() {
        SeatFilter::Any
    } else {
        query
            .seat
            .parse()
            .map_err(|_| invalid("/seat", "seat must be one of any, holding, access, gateway, none"))?
    };
    let key = |v: &Option<String>, name: &str| -> Result<Option<UserKey>, DashboardError> {
        match v.as_deref().filter(|s| !s.is_empty()) {
            None => Ok(None),
            Some(s) => s
                .parse()
                .map(Some)
                .map_err(|_| invalid(&format!("/{name}"), "not a place in the list")),
        }
    };
    let (after, before) = (key(&query.after, "after")?, key(&query.before, "before")?);
    let backward = query.before.is_some();
    let browse = UserBrowse {
        search: (!search.is_empty()).then(|| search.to_owned()),
        seat,
        from: if backward { before } else { after },
        backward,
        limit: PAGE_SIZE,
        scan: SCAN,
    };
    let started = browse.from.is_some();
    let page = state.store.browse_users(id, browse, state.clock.now()).await?;
    // Links onward: the way read goes on from where the walk stopped; the other way starts
    // beyond the first row read.
    // The last page (backward from the end) has nothing after it.
    let (next, previous) = if backward {
        (if started { page.first.clone() } else { None }, page.resume.clone())
    } else {
        (page.resume.clone(), if started { page.first.clone() } else { None })
    };
    let link = |param: &str, k: &UserKey| users_url(id, search, seat, Some((param, k.to_string())));
    let short = (page.users.len() as u64) < PAGE_SIZE && (page.resume.is_some() && !backward);
    let body = html! {
        (page::usage(record.seats_in_use, record.seat_limit, "usage"))
        form.filters method="get" action=(format!("/dashboard/accounts/{id}/users")) role="search" {
            label for="search" { "Search by email or name" }
            input #search type="search" name="search" value=(search) autocomplete="off";
            label for="seat" { "Seat status" }
            select #seat name="seat" data-autosubmit {
                @for f in SeatFilter::ALL {
                    option value=(f.as_str()) selected[f == seat] { (seat_label(f)) }
                }
            }
            button type="submit" { "Filter" }
        }
        @if page.users.is_empty() {
            p.empty role="status" { "No users match." }
        } @else {
            table.users {
                caption { (seat_label(seat)) @if !search.is_empty() { " matching “" (search) "”" } }
                thead { tr {
                    th scope="col" { "Name" } th scope="col" { "Email" } th scope="col" { "Access seat" }
                    th scope="col" { "Gateway seat" } th scope="col" { "Devices" } th scope="col" { "Last login" }
                } }
                tbody {
                    @for u in &page.users {
                        tr {
                            td { a href=(format!("/dashboard/accounts/{id}/users/{}", u.id)) {
                                @if u.name.is_empty() { "(no name)" } @else { (u.name) } } }
                            td { (u.email) }
                            td { (page::yes_no(u.access_seat)) }
                            td { (page::yes_no(u.gateway_seat)) }
                            td { (u.active_device_count) }
                            td { (page::optional_time(u.last_successful_login)) }
                        }
                    }
                }
            }
        }
        @if short {
            p.help { "Read the next " (SCAN) " users for matches; “Next” goes on from there." }
        }
        nav.paging aria-label="Pages" {
            a href=(users_url(id, search, seat, None)) { "First" }
            @if let Some(k) = &previous { a rel="prev" href=(link("before", k)) { "Previous" } }
            @if let Some(k) = &next { a rel="next" href=(link("after", k)) { "Next" } }
            a href=(users_url(id, search, seat, Some(("before", String::new())))) { "Last" }
        }
    };
    Ok(Page::new("Users")
        .signed_in(session.nav())
        .account(id, &record.name, Tab::Users)
        .render(body))
}

fn invalid(pointer: &str, message: &str) -> DashboardError {
    ApiError::Invalid(vec![Problem::new(pointer, message)]).into()
}

/// The users page with the search and filter kept, and a place in the list (`after` or
/// `before` a key; `before` nothing is the last page).
fn users_url(id: &str, search: &str, seat: SeatFilter, place: Option<(&str, String)>) -> String {
    let mut parts = Vec::new();
    if let Some((param, key)) = place {
        parts.push(format!("{param}={key}"));
    }
    if !search.is_empty() {
        parts.push(format!("search={}", urlencode(search)));
    }
    if seat != SeatFilter::Any {
        parts.push(format!("seat={}", seat.as_str()));
    }
    let query = if parts.is_empty() {
        String::new()
    } else {
        format!("?{}", parts.join("&"))
    };
    format!("/dashboard/accounts/{id}/users{query}")
}

/// Percent-encodes a query value.
pub fn urlencode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_values_are_encoded() {
        assert_eq!(urlencode("a b&c=d/é"), "a%20b%26c%3Dd%2F%C3%A9");
        assert_eq!(users_url("a", "", SeatFilter::Any, None), "/dashboard/accounts/a/users");
        assert_eq!(
            users_url("a", "x y", SeatFilter::None, None),
            "/dashboard/accounts/a/users?search=x%20y&seat=none"
        );
        assert_eq!(
            users_url("a", "", SeatFilter::Any, Some(("before", String::new()))),
            "/dashboard/accounts/a/users?before="
        );
    }
}
