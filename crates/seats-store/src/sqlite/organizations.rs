//! An account's organization settings.

use async_trait::async_trait;
use rusqlite::{params, Connection};
use seats_types::Timestamp;
use serde_json::{Map, Value};

use super::accounts::account_exists;
use super::audit::audit;
use super::{json_text, select_opt, SqliteStore};
use crate::model::*;
use crate::rows;
use crate::rules::{self, OrganizationWrite};
use crate::{OrganizationStore, StoreError, StoreResult};

pub(super) fn organization(conn: &Connection, account_id: &str) -> StoreResult<Option<OrganizationRecord>> {
    let sql = crate::value::sqlite_placeholders(rows::ORGANIZATION);
    Ok(select_opt(conn, &sql, [account_id], rows::organization)?.flatten())
}

pub(super) fn put_organization(
    conn: &Connection,
    account_id: &str,
    fields: Map<String, Value>,
    change: OrganizationChange,
    actor: &Actor,
    now: Timestamp,
) -> StoreResult<OrganizationRecord> {
    if !account_exists(conn, account_id)? {
        return Err(StoreError::NotFound { positions: vec![] });
    }
    let existing = organization(conn, account_id)?;
    let (merged, before) = match rules::merge_organization(existing, fields, change)? {
        OrganizationWrite::Unchanged(org) => return Ok(org),
        OrganizationWrite::Write { fields, before } => (fields, before),
    };
    conn.prepare_cached(
        "UPDATE accounts SET organization = ?2, organization_updated_at = ?3,
                organization_created_at = COALESCE(organization_created_at, ?3) WHERE id = ?1",
    )?
    .execute(params![account_id, json_text(&merged)?, now.unix_micros()])?;
    let action = OrganizationWrite::action(&before);
    let (before, after) = (before.map(Value::Object), Value::Object(merged));
    let mut event = AuditEvent::new(now, Some(account_id), actor, action, account_id).after(&after);
    event.before = before.as_ref();
    audit(conn, &event)?;
    organization(conn, account_id)?.ok_or_else(|| StoreError::other("organization vanished"))
}

#[async_trait]
impl OrganizationStore for SqliteStore {
    async fn organization(&self, account_id: &str) -> StoreResult<Option<OrganizationRecord>> {
        let account_id = account_id.to_owned();
        self.readers.read(move |c| organization(c, &account_id)).await
    }

    async fn put_organization(
        &self,
        account_id: &str,
        fields: serde_json::Map<String, serde_json::Value>,
        change: OrganizationChange,
        actor: Actor,
        now: Timestamp,
    ) -> StoreResult<OrganizationRecord> {
        let account_id = account_id.to_owned();
        self.writer
            .write(move |c| put_organization(c, &account_id, fields, change, &actor, now))
            .await
    }
}
