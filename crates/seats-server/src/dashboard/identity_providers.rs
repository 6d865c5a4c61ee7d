//! The account's identity providers and the state of their SCIM provisioning.

use axum::extract::State;
use maud::{html, Markup};
use seats_store::identity_provider::ScimUserFilter;

use super::page::{self, Page, Tab};
use super::session::SignedIn;
use super::{DashboardError, Ui};
use crate::auth::Permission;
use crate::extract::AccountId;
use crate::AppState;

/// Providers listed (an account has a handful).
const MOST: u64 = 100;

/// `GET /dashboard/accounts/{account_id}/identity-providers`: needs what
/// `GET .../access/identity_providers` needs.
pub async fn list(
    State(state): State<AppState>,
    Ui(account): Ui<AccountId>,
    session: SignedIn,
) -> Result<Markup, DashboardError> {
    let record = session
        .viewer
        .account(&state, Some(Permission::OrganizationsRead), &account)
        .await?;
    let id = record.id.as_str();
    let (providers, total) = state.store.identity_providers(id, false, 0, MOST).await?;
    let mut rows = Vec::with_capacity(providers.len());
    for p in providers {
        let provisioned = if p.scim.enabled() {
            Some(state.store.scim_users(&p.id, ScimUserFilter::default(), 0, 0).await?.1)
        } else {
            None
        };
        rows.push((p, provisioned));
    }
    let base = format!("/client/v4/accounts/{id}/access/identity_providers");
    let body = html! {
        @if rows.is_empty() {
            p { "No identity provider yet. Add one with " code { "seats idp create" } " or " code { "POST " (base) } "." }
        } @else {
            table {
                caption { (total) " identity providers" }
                thead { tr {
                    th scope="col" { "Name" } th scope="col" { "Type" } th scope="col" { "SCIM" }
                    th scope="col" { "Users provisioned" } th scope="col" { "Deprovisioning ends sessions" }
                    th scope="col" { "Deprovisioning frees the seat" } th scope="col" { "Updated" }
                } }
                tbody {
                    @for (p, provisioned) in &rows {
                        tr {
                            td { (p.name) br; code.id { (p.id) } }
                            td { (p.kind) }
                            td { @if p.scim.enabled() { span.yes { "On" } } @else { span.no { "Off" } } }
                            td { @match provisioned { Some(n) => (n), None => "—" } }
                            td { (page::yes_no(p.scim.user_deprovision())) }
                            td { (page::yes_no(p.scim.seat_deprovision())) }
                            td { (page::time(p.updated_at)) }
                        }
                    }
                }
            }
        }
    };
    Ok(Page::new("Identity providers")
        .signed_in(session.nav())
        .account(id, &record.name, Tab::IdentityProviders)
        .render(body))
}
