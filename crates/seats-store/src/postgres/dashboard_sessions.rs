//! Dashboard sessions on PostgreSQL (see [`crate::dashboard_session`]).

use async_trait::async_trait;
use deadpool_postgres::GenericClient;
use seats_types::Timestamp;

use super::{execute, query_opt, read, write_tx, PgStore};
use crate::dashboard_session::{DashboardSession, SessionCredential, MAX_SESSIONS_PER_CREDENTIAL};
use crate::secret::SecretHash;
use crate::{DashboardStore, StoreError, StoreResult};

pub(super) async fn create(
    db: &impl GenericClient,
    session: &DashboardSession,
    idle_before: Timestamp,
) -> StoreResult<()> {
    let (kind, email, hash) = session.credential.columns();
    execute(
        db,
        "DELETE FROM dashboard_sessions WHERE expires_at <= $1 OR last_seen_at < $2",
        &[&session.created_at.unix_micros(), &idle_before.unix_micros()],
    )
    .await?;
    execute(
        db,
        "DELETE FROM dashboard_sessions WHERE credential_hash = $1 AND id_hash NOT IN (
             SELECT id_hash FROM dashboard_sessions WHERE credential_hash = $1
             ORDER BY created_at DESC LIMIT $2)",
        &[&hash, &((MAX_SESSIONS_PER_CREDENTIAL - 1) as i64)],
    )
    .await?;
    execute(
        db,
        "INSERT INTO dashboard_sessions (id_hash, kind, email, credential_hash, created_at, last_seen_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        &[
            &session.id_hash.as_bytes(),
            &kind,
            &email,
            &hash,
            &session.created_at.unix_micros(),
            &session.last_seen_at.unix_micros(),
            &session.expires_at.unix_micros(),
        ],
    )
    .await?;
    Ok(())
}

pub(super) async fn get(db: &impl GenericClient, id_hash: &SecretHash) -> StoreResult<Option<DashboardSession>> {
    let Some(row) = query_opt(
        db,
        "SELECT kind, email, credential_hash, created_at, last_seen_at, expires_at
         FROM dashboard_sessions WHERE id_hash = $1",
        &[&id_hash.as_bytes()],
    )
    .await?
    else {
        return Ok(None);
    };
    let kind: String = row.get(0);
    let bad_row = || StoreError::other(format!("a dashboard session row of kind {kind:?} does not read back"));
    let time = |i: usize| Timestamp::from_unix_micros(row.get::<_, i64>(i)).ok_or_else(bad_row);
    Ok(Some(DashboardSession {
        id_hash: *id_hash,
        credential: SessionCredential::from_columns(&kind, row.get(1), row.get::<_, &[u8]>(2)).ok_or_else(bad_row)?,
        created_at: time(3)?,
        last_seen_at: time(4)?,
        expires_at: time(5)?,
    }))
}

pub(super) async fn touch(db: &impl GenericClient, id_hash: &SecretHash, now: Timestamp) -> StoreResult<()> {
    execute(
        db,
        "UPDATE dashboard_sessions SET last_seen_at = $2 WHERE id_hash = $1",
        &[&id_hash.as_bytes(), &now.unix_micros()],
    )
    .await?;
    Ok(())
}

pub(super) async fn delete(db: &impl GenericClient, id_hash: &SecretHash) -> StoreResult<()> {
    execute(
        db,
        "DELETE FROM dashboard_sessions WHERE id_hash = $1",
        &[&id_hash.as_bytes()],
    )
    .await?;
    Ok(())
}

pub(super) async fn server_key(db: &impl GenericClient, name: &str, candidate: [u8; 32]) -> StoreResult<[u8; 32]> {
    execute(
        db,
        "INSERT INTO server_keys (name, key) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
        &[&name, &&candidate[..]],
    )
    .await?;
    let row = query_opt(db, "SELECT key FROM server_keys WHERE name = $1", &[&name])
        .await?
        .ok_or_else(|| StoreError::other(format!("server key {name:?} was not stored")))?;
    row.get::<_, &[u8]>(0)
        .try_into()
        .map_err(|_| StoreError::other(format!("server key {name:?} is not 32 bytes")))
}

#[async_trait]
impl DashboardStore for PgStore {
    async fn create_dashboard_session(
        &self,
        session: crate::dashboard_session::DashboardSession,
        idle_before: Timestamp,
    ) -> StoreResult<()> {
        write_tx!(self, |tx| create(&tx, &session, idle_before))
    }

    async fn dashboard_session(
        &self,
        id_hash: SecretHash,
    ) -> StoreResult<Option<crate::dashboard_session::DashboardSession>> {
        read!(self, |db| get(db, &id_hash))
    }

    async fn touch_dashboard_session(&self, id_hash: SecretHash, now: Timestamp) -> StoreResult<()> {
        read!(self, |db| touch(db, &id_hash, now))
    }

    async fn delete_dashboard_session(&self, id_hash: SecretHash) -> StoreResult<()> {
        read!(self, |db| delete(db, &id_hash))
    }

    async fn server_key(&self, name: &str, candidate: [u8; 32]) -> StoreResult<[u8; 32]> {
        read!(self, |db| server_key(db, name, candidate))
    }
}
