//! `GET /client/v4/accounts`: the accounts the credential reaches (docs/contract.md §8).

use axum::extract::State;
use axum::Json;
use seats_types::{Envelope, ResultInfo, Timestamp};
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::Auth;
use crate::error::ApiError;
use crate::error::FailureEnvelope;
use crate::extract::query::Pagination;
use crate::AppState;

/// An account as `GET /accounts` lists it.
#[derive(Debug, Serialize, ToSchema)]
pub struct Account {
    pub id: String,
    pub name: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
    #[schema(value_type = String, format = DateTime)]
    pub created_on: Timestamp,
}

/// List accounts
///
/// The accounts the credential can reach, ordered by creation.
#[utoipa::path(
    get,
    path = "/client/v4/accounts",
    operation_id = "accounts-list-accounts",
    tag = "Accounts",
    params(
        ("page" = Option<u64>, Query, description = "Page number, from 1.", minimum = 1, maximum = 9223372036854775807_i64),
        ("per_page" = Option<u64>, Query, description = "Results per page.", minimum = 1, maximum = 1000),
    ),
    responses(
        (status = 200, description = "The accounts", body = Envelope<Vec<Account>>),
        (status = "4XX", description = "Failure", body = FailureEnvelope),
    ),
    security(("api_token" = []), ("api_email" = [], "api_key" = [])),
)]
pub async fn list(
    State(state): State<AppState>,
    auth: Auth,
    page: Pagination,
) -> Result<Json<Envelope<Vec<Account>>>, ApiError> {
    let reachable: Vec<_> = state
        .store
        .accounts()
        .await?
        .into_iter()
        .filter(|a| auth.reaches(&a.id))
        .collect();
    let result: Vec<Account> = page
        .slice(&reachable)
        .iter()
        .map(|a| Account {
            id: a.id.clone(),
            name: a.name.clone(),
            kind: "standard",
            created_on: a.created_at,
        })
        .collect();
    let info = ResultInfo::paged(page.page, page.per_page, result.len() as u64, reachable.len() as u64);
    Ok(Json(Envelope::page(result, info)))
}
