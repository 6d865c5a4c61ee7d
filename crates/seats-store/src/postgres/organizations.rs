//! An account's organization settings.

use async_trait::async_trait;
use deadpool_postgres::GenericClient;
use seats_types::Timestamp;
use serde_json::{Map, Value};

use super::audit::audit;
use super::{execute, json_text, read, select_opt, write_tx, PgStore};
use crate::model::*;
use crate::rows;
use crate::rules::{self, OrganizationWrite};
use crate::{OrganizationStore, StoreError, StoreResult};

pub(super) async fn organization(db: &impl GenericClient, account_id: &str) -> StoreResult<Option<OrganizationRecord>> {
    Ok(select_opt(db, rows::ORGANIZATION, &[&account_id], rows::organization)
        .await?
        .flatten())
}

pub(super) async fn put_organization(
    db: &impl GenericClient,
    account_id: &str,
    fields: Map<String, Value>,
    change: OrganizationChange,
    actor: &Actor,
    now: Timestamp,
) -> StoreResult<OrganizationRecord> {
    let locked = format!("{} FOR NO KEY UPDATE", rows::ORGANIZATION);
    let existing = select_opt(db, &locked, &[&account_id], rows::organization)
        .await?
        .ok_or(StoreError::NotFound { positions: vec![] })?;
    let (merged, before) = match rules::merge_organization(existing, fields, change)? {
        OrganizationWrite::Unchanged(org) => return Ok(org),
        OrganizationWrite::Write { fields, before } => (fields, before),
    };
    execute(
        db,
        "UPDATE accounts SET organization = $2, organization_updated_at = $3,
                organization_created_at = COALESCE(organization_created_at, $3) WHERE id = $1",
        &[&account_id, &json_text(&merged)?, &now.unix_micros()],
    )
    .await?;
    let action = OrganizationWrite::action(&before);
    let (before, after) = (before.map(Value::Object), Value::Object(merged));
    let mut event = AuditEvent::new(now, Some(account_id), actor, action, account_id).after(&after);
    event.before = before.as_ref();
    audit(db, &event).await?;
    organization(db, account_id)
        .await?
        .ok_or_else(|| StoreError::other("organization vanished"))
}

#[async_trait]
impl OrganizationStore for PgStore {
    async fn organization(&self, account_id: &str) -> StoreResult<Option<OrganizationRecord>> {
        read!(self, |db| organization(db, account_id))
    }

    async fn put_organization(
        &self,
        account_id: &str,
        fields: serde_json::Map<String, serde_json::Value>,
        change: OrganizationChange,
        actor: Actor,
        now: Timestamp,
    ) -> StoreResult<OrganizationRecord> {
        write_tx!(self, |tx| put_organization(
            &tx, account_id, fields, change, &actor, now
        ))
    }
}
