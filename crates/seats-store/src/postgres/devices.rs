//! Device registrations (see [`crate::device`], which holds their SQL).

use async_trait::async_trait;
use deadpool_postgres::GenericClient;
use seats_types::Timestamp;

use super::audit::audit;
use super::export::PgCells;
use super::{bind, execute, query, read, write_tx, PgStore};
use crate::device::{self, PhysicalDeviceFilter, PhysicalDeviceRecord, Query, RegistrationFilter, RegistrationRecord};
use crate::listing::Dialect;
use crate::model::{Actor, AuditAction, AuditEvent};
use crate::{DeviceStore, StoreError, StoreResult};

/// The registrations a statement of [`crate::device`] selects.
async fn registrations(db: &impl GenericClient, q: &Query) -> StoreResult<Vec<RegistrationRecord>> {
    query(db, &q.sql, &bind(&q.params))
        .await?
        .iter()
        .map(|row| device::from_cells(&PgCells(row)))
        .collect()
}

/// The physical devices a statement of [`crate::device`] selects.
async fn physical(db: &impl GenericClient, q: &Query) -> StoreResult<Vec<PhysicalDeviceRecord>> {
    query(db, &q.sql, &bind(&q.params))
        .await?
        .iter()
        .map(|row| device::physical_from_cells(&PgCells(row)))
        .collect()
}

/// The first column of every row of `q`.
async fn ids(db: &impl GenericClient, q: &Query) -> StoreResult<Vec<String>> {
    Ok(query(db, &q.sql, &bind(&q.params))
        .await?
        .iter()
        .map(|r| r.try_get(0))
        .collect::<Result<Vec<String>, _>>()?)
}

async fn end_physical(
    db: &impl GenericClient,
    account_id: &str,
    device_id: &str,
    delete: bool,
    actor: &Actor,
    now: Timestamp,
) -> StoreResult<()> {
    let registrations = ids(db, &device::of_physical(account_id, device_id)).await?;
    if registrations.is_empty() {
        return Err(StoreError::NotFound { positions: vec![0] });
    }
    match delete {
        true => {
            change_each(
                db,
                account_id,
                &registrations,
                AuditAction::DeviceDelete,
                actor,
                now,
                device::delete,
            )
            .await
        }
        false => {
            change_each(
                db,
                account_id,
                &registrations,
                AuditAction::DeviceRevoke,
                actor,
                now,
                |id| device::set_revoked(id, true, now),
            )
            .await
        }
    }
}

/// Checks that every id is the account's, then runs `change` on each and audits it.
async fn change_each(
    db: &impl GenericClient,
    account_id: &str,
    ids: &[String],
    action: AuditAction,
    actor: &Actor,
    now: Timestamp,
    change: impl Fn(&str) -> Query,
) -> StoreResult<()> {
    let found = self::ids(db, &device::existing(Dialect::Postgres, account_id, ids)).await?;
    device::check_found(ids, &found)?;
    for id in ids {
        let q = change(id);
        if execute(db, &q.sql, &bind(&q.params)).await? > 0 {
            audit(db, &AuditEvent::new(now, Some(account_id), actor, action, id)).await?;
        }
    }
    Ok(())
}

#[async_trait]
impl DeviceStore for PgStore {
    async fn registrations(
        &self,
        account_id: &str,
        filter: RegistrationFilter,
        offset: u64,
        limit: u64,
    ) -> StoreResult<Vec<RegistrationRecord>> {
        let q = device::list(Dialect::Postgres, account_id, &filter, offset, limit);
        read!(self, |db| registrations(db, &q))
    }

    async fn registration(&self, account_id: &str, id: &str) -> StoreResult<Option<RegistrationRecord>> {
        let q = device::one(account_id, id);
        Ok(read!(self, |db| registrations(db, &q))?.pop())
    }

    async fn set_registrations_revoked(
        &self,
        account_id: &str,
        ids: Vec<String>,
        revoked: bool,
        actor: Actor,
        now: Timestamp,
    ) -> StoreResult<()> {
        let action = if revoked {
            AuditAction::DeviceRevoke
        } else {
            AuditAction::DeviceUnrevoke
        };
        write_tx!(self, |tx| change_each(
            &tx,
            account_id,
            &ids,
            action,
            &actor,
            now,
            |id| { device::set_revoked(id, revoked, now) }
        ))
    }

    async fn delete_registrations(
        &self,
        account_id: &str,
        ids: Vec<String>,
        actor: Actor,
        now: Timestamp,
    ) -> StoreResult<()> {
        write_tx!(self, |tx| change_each(
            &tx,
            account_id,
            &ids,
            AuditAction::DeviceDelete,
            &actor,
            now,
            device::delete
        ))
    }

    async fn physical_devices(
        &self,
        account_id: &str,
        filter: PhysicalDeviceFilter,
        offset: u64,
        limit: u64,
    ) -> StoreResult<Vec<PhysicalDeviceRecord>> {
        let q = device::physical(Dialect::Postgres, account_id, &filter, None, offset, limit);
        read!(self, |db| physical(db, &q))
    }

    async fn physical_device(&self, account_id: &str, device_id: &str) -> StoreResult<Option<PhysicalDeviceRecord>> {
        let q = device::physical(
            Dialect::Postgres,
            account_id,
            &Default::default(),
            Some(device_id),
            0,
            1,
        );
        Ok(read!(self, |db| physical(db, &q))?.pop())
    }

    async fn end_physical_device(
        &self,
        account_id: &str,
        device_id: &str,
        delete: bool,
        actor: Actor,
        now: Timestamp,
    ) -> StoreResult<()> {
        write_tx!(self, |tx| end_physical(&tx, account_id, device_id, delete, &actor, now))
    }
}
