//! The operator API under `/_seats/v1` (docs/contract.md §8): what Cloudflare does in its dashboard and
//! identity services. Served only when an operator key is configured; authenticated with
//! `Authorization: Bearer <operator key>`.

pub mod accounts;
pub mod audit;
pub mod clock;
pub mod faults;
pub mod journal;
pub mod logins;
pub mod members;
pub mod snapshots;
pub mod tokens;

use seats_store::AccountRecord;
use seats_types::OperatorAccount;

pub use crate::auth::operator::Operator;
use crate::error::{ApiError, Problem};
use crate::AppState;

/// 404 12130 for an id that names nothing.
pub fn unknown(what: &str, id: &str) -> ApiError {
    ApiError::NotFound(vec![Problem::new("", format!("no {what} {id:?}"))])
}

/// The account, or 404 12130 (at once for an id of another shape, which no account has).
pub async fn existing_account(state: &AppState, id: &str) -> Result<AccountRecord, ApiError> {
    account_id_shape(id)?;
    state.store.account(id).await?.ok_or_else(|| unknown("account", id))
}

/// 404 12130 for an account id that is not 32 lowercase hex characters, before any store is
/// asked.
pub fn account_id_shape(id: &str) -> Result<(), ApiError> {
    if seats_types::formats::is_account_id(id) {
        Ok(())
    } else {
        Err(unknown("account", id))
    }
}

/// 404 12130 for a path id that breaks the text rule, before any store is asked (PostgreSQL
/// refuses a NUL in text, which would be a 500).
pub fn plausible(what: &str, id: &str) -> Result<(), ApiError> {
    match seats_types::formats::text_problem(what, id, seats_types::formats::MAX_NAME_CHARS) {
        None => Ok(()),
        Some(_) => Err(unknown(what, id)),
    }
}

pub fn account_view(a: AccountRecord) -> OperatorAccount {
    OperatorAccount {
        id: a.id,
        name: a.name,
        seat_limit: a.seat_limit,
        seats_in_use: a.seats_in_use,
        created_at: a.created_at,
    }
}
