//! Operator: the audit log of an account, newest first.

use axum::extract::{Path, State};
use axum::Json;
use seats_store::AuditRecord;
use seats_types::{AuditEvent, Envelope, ResultInfo};

use super::{existing_account, Operator};
use crate::error::ApiError;
use crate::error::FailureEnvelope;
use crate::extract::query::Pagination;
use crate::AppState;

fn view(e: AuditRecord) -> AuditEvent {
    AuditEvent {
        id: e.seq,
        at: e.at,
        account_id: e.account_id,
        actor_type: e.actor.kind().to_owned(),
        actor: e.actor.id().to_owned(),
        action: e.action,
        subject: e.subject,
        before: e.before,
        after: e.after,
    }
}

/// The audit log of an account
#[utoipa::path(get, path = "/_seats/v1/accounts/{account_id}/audit", tag = "Operator", operation_id = "seats-operator-audit-list",
    params(("account_id" = String, Path), ("page" = Option<u64>, Query, minimum = 1, maximum = 9223372036854775807_i64), ("per_page" = Option<u64>, Query, minimum = 1, maximum = 1000)),
    responses((status = 200, body = Envelope<Vec<AuditEvent>>), (status = "4XX", body = FailureEnvelope)),
    security(("operator_key" = [])))]
pub async fn list(
    State(state): State<AppState>,
    _op: Operator,
    Path(id): Path<String>,
    page: Pagination,
) -> Result<Json<Envelope<Vec<AuditEvent>>>, ApiError> {
    existing_account(&state, &id).await?;
    let (events, total) = state.store.audit_events(&id, page.page, page.per_page).await?;
    let info = ResultInfo::paged(page.page, page.per_page, events.len() as u64, total);
    Ok(Json(Envelope::page(events.into_iter().map(view).collect(), info)))
}
