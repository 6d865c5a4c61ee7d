//! Device registrations (see [`crate::device`], which holds their SQL).

use async_trait::async_trait;
use rusqlite::Connection;
use seats_types::Timestamp;

use super::audit::audit;
use super::export::SqliteCells;
use super::{execute_shared, SqliteStore};
use crate::device::{self, PhysicalDeviceFilter, PhysicalDeviceRecord, Query, RegistrationFilter, RegistrationRecord};
use crate::listing::Dialect;
use crate::model::{Actor, AuditAction, AuditEvent};
use crate::{DeviceStore, StoreResult};

/// The registrations a statement of [`crate::device`] selects.
fn registrations(conn: &Connection, q: Query) -> StoreResult<Vec<RegistrationRecord>> {
    let sql = crate::value::sqlite_placeholders(&q.sql);
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query(rusqlite::params_from_iter(&q.params))?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        out.push(device::from_cells(&SqliteCells(row))?);
    }
    Ok(out)
}

/// The physical devices a statement of [`crate::device`] selects.
fn physical(conn: &Connection, q: Query) -> StoreResult<Vec<PhysicalDeviceRecord>> {
    let sql = crate::value::sqlite_placeholders(&q.sql);
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query(rusqlite::params_from_iter(&q.params))?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        out.push(device::physical_from_cells(&SqliteCells(row))?);
    }
    Ok(out)
}

/// The first column of every row of `q`.
fn ids(conn: &Connection, q: Query) -> StoreResult<Vec<String>> {
    Ok(conn
        .prepare_cached(&crate::value::sqlite_placeholders(&q.sql))?
        .query_map(rusqlite::params_from_iter(&q.params), |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?)
}

/// Checks that every id is the account's, then runs `change` on each and audits it.
fn change_each(
    conn: &Connection,
    account_id: &str,
    ids: &[String],
    action: AuditAction,
    actor: &Actor,
    now: Timestamp,
    change: impl Fn(&str) -> Query,
) -> StoreResult<()> {
    let found = self::ids(conn, device::existing(Dialect::Sqlite, account_id, ids))?;
    device::check_found(ids, &found)?;
    for id in ids {
        let q = change(id);
        if execute_shared(conn, &q.sql, &q.params)? > 0 {
            audit(conn, &AuditEvent::new(now, Some(account_id), actor, action, id))?;
        }
    }
    Ok(())
}

#[async_trait]
impl DeviceStore for SqliteStore {
    async fn registrations(
        &self,
        account_id: &str,
        filter: RegistrationFilter,
        offset: u64,
        limit: u64,
    ) -> StoreResult<Vec<RegistrationRecord>> {
        let q = device::list(Dialect::Sqlite, account_id, &filter, offset, limit);
        self.readers.read(move |c| registrations(c, q)).await
    }

    async fn registration(&self, account_id: &str, id: &str) -> StoreResult<Option<RegistrationRecord>> {
        let q = device::one(account_id, id);
        Ok(self.readers.read(move |c| registrations(c, q)).await?.pop())
    }

    async fn set_registrations_revoked(
        &self,
        account_id: &str,
        ids: Vec<String>,
        revoked: bool,
        actor: Actor,
        now: Timestamp,
    ) -> StoreResult<()> {
        let account_id = account_id.to_owned();
        let action = if revoked {
            AuditAction::DeviceRevoke
        } else {
            AuditAction::DeviceUnrevoke
        };
        self.writer
            .write(move |c| {
                change_each(c, &account_id, &ids, action, &actor, now, |id| {
                    device::set_revoked(id, revoked, now)
                })
            })
            .await
    }

    async fn delete_registrations(
        &self,
        account_id: &str,
        ids: Vec<String>,
        actor: Actor,
        now: Timestamp,
    ) -> StoreResult<()> {
        let account_id = account_id.to_owned();
        self.writer
            .write(move |c| {
                change_each(
                    c,
                    &account_id,
                    &ids,
                    AuditAction::DeviceDelete,
                    &actor,
                    now,
                    device::delete,
                )
            })
            .await
    }

    async fn physical_devices(
        &self,
        account_id: &str,
        filter: PhysicalDeviceFilter,
        offset: u64,
        limit: u64,
    ) -> StoreResult<Vec<PhysicalDeviceRecord>> {
        let q = device::physical(Dialect::Sqlite, account_id, &filter, None, offset, limit);
        self.readers.read(move |c| physical(c, q)).await
    }

    async fn physical_device(&self, account_id: &str, device_id: &str) -> StoreResult<Option<PhysicalDeviceRecord>> {
        let q = device::physical(Dialect::Sqlite, account_id, &Default::default(), Some(device_id), 0, 1);
        Ok(self.readers.read(move |c| physical(c, q)).await?.pop())
    }

    async fn end_physical_device(
        &self,
        account_id: &str,
        device_id: &str,
        delete: bool,
        actor: Actor,
        now: Timestamp,
    ) -> StoreResult<()> {
        let (account_id, device_id) = (account_id.to_owned(), device_id.to_owned());
        self.writer
            .write(move |c| {
                let registrations = ids(c, device::of_physical(&account_id, &device_id))?;
                if registrations.is_empty() {
                    return Err(crate::StoreError::NotFound { positions: vec![0] });
                }
                match delete {
                    true => change_each(
                        c,
                        &account_id,
                        &registrations,
                        AuditAction::DeviceDelete,
                        &actor,
                        now,
                        device::delete,
                    ),
                    false => change_each(
                        c,
                        &account_id,
                        &registrations,
                        AuditAction::DeviceRevoke,
                        &actor,
                        now,
                        |id| device::set_revoked(id, true, now),
                    ),
                }
            })
            .await
    }
}
