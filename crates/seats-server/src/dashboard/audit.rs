//! The account's audit log: who changed what, with the state before and after.

use axum::extract::{Query, State};
use maud::{html, Markup};
use serde::Deserialize;
use serde_json::Value;

use super::page::{self, Page, Tab};
use super::session::SignedIn;
use super::{DashboardError, Ui};
use crate::auth::Permission;
use crate::extract::AccountId;
use crate::AppState;

const PAGE_SIZE: u64 = 50;

#[derive(Deserialize)]
pub struct AuditQuery {
    page: Option<u64>,
}

/// `GET /dashboard/accounts/{account_id}/audit`: needs “Access: Audit Logs Read”.
pub async fn list(
    State(state): State<AppState>,
    Ui(account): Ui<AccountId>,
    session: SignedIn,
    Ui(Query(query)): Ui<Query<AuditQuery>>,
) -> Result<Markup, DashboardError> {
    let record = session
        .viewer
        .account(&state, Some(Permission::AuditLogsRead), &account)
        .await?;
    let id = record.id.as_str();
    let page_no = query.page.unwrap_or(1).max(1);
    let (events, total) = state.store.audit_events(id, page_no, PAGE_SIZE).await?;
    let pages = total.div_ceil(PAGE_SIZE).max(1);
    let body = html! {
        @if events.is_empty() {
            p { "No change has been recorded." }
        } @else {
            table.audit {
                caption { (total) @if total == 1 { " change" } @else { " changes" } ", newest first; page " (page_no) " of " (pages) }
                thead { tr {
                    th scope="col" { "When" } th scope="col" { "Who" } th scope="col" { "Action" }
                    th scope="col" { "Subject" } th scope="col" { "Before" } th scope="col" { "After" }
                } }
                tbody {
                    @for e in &events {
                        tr {
                            td { (page::time(e.at)) }
                            td { (e.actor.to_string()) }
                            td { code { (e.action) } }
                            td { code { (e.subject) } }
                            td { (state_text(e.before.as_ref())) }
                            td { (state_text(e.after.as_ref())) }
                        }
                    }
                }
            }
        }
        nav.paging aria-label="Pages" {
            @if page_no > 1 { a rel="prev" href=(format!("/dashboard/accounts/{id}/audit?page={}", page_no - 1)) { "Newer" } }
            @if page_no < pages { a rel="next" href=(format!("/dashboard/accounts/{id}/audit?page={}", page_no + 1)) { "Older" } }
        }
    };
    Ok(Page::new("Audit log")
        .signed_in(session.nav())
        .account(id, &record.name, Tab::Audit)
        .render(body))
}

/// A recorded state as a person reads it: the seats held, or the fields, shortened.
pub fn state_text(v: Option<&Value>) -> String {
    let Some(v) = v else { return "—".into() };
    let flag = |k: &str| v.get(k).and_then(Value::as_bool);
    if let (Some(access), Some(gateway)) = (flag("access_seat"), flag("gateway_seat")) {
        let seats = match (access, gateway) {
            (true, true) => "Access and Gateway seats",
            (true, false) => "Access seat",
            (false, true) => "Gateway seat",
            (false, false) => "no seat",
        };
        return match v.get("email").and_then(Value::as_str) {
            Some(email) => format!("{email}: {seats}"),
            None => seats.into(),
        };
    }
    let text = v.to_string();
    if text.chars().count() > 160 {
        format!("{}…", text.chars().take(160).collect::<String>())
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn states_read_as_seats_when_they_are_seats() {
        assert_eq!(state_text(None), "—");
        assert_eq!(
            state_text(Some(&json!({"access_seat": true, "gateway_seat": false}))),
            "Access seat"
        );
        assert_eq!(
            state_text(Some(
                &json!({"email": "a@x.com", "access_seat": false, "gateway_seat": false})
            )),
            "a@x.com: no seat"
        );
        assert_eq!(state_text(Some(&json!({"name": "n"}))), r#"{"name":"n"}"#);
        assert!(state_text(Some(&json!({"n": "x".repeat(500)}))).ends_with('…'));
    }
}
