//! Dashboard sessions on SQLite (see [`crate::dashboard_session`]).

use async_trait::async_trait;
use rusqlite::{params, Connection, OptionalExtension};
use seats_types::Timestamp;

use super::SqliteStore;
use crate::dashboard_session::{DashboardSession, SessionCredential, MAX_SESSIONS_PER_CREDENTIAL};
use crate::secret::SecretHash;
use crate::{DashboardStore, StoreError, StoreResult};

pub(super) fn create(conn: &Connection, session: &DashboardSession, idle_before: Timestamp) -> StoreResult<()> {
    let (kind, email, hash) = session.credential.columns();
    conn.prepare_cached("DELETE FROM dashboard_sessions WHERE expires_at <= ?1 OR last_seen_at < ?2")?
        .execute(params![session.created_at.unix_micros(), idle_before.unix_micros()])?;
    conn.prepare_cached(
        "DELETE FROM dashboard_sessions WHERE credential_hash = ?1 AND id_hash NOT IN (
             SELECT id_hash FROM dashboard_sessions WHERE credential_hash = ?1
             ORDER BY created_at DESC LIMIT ?2)",
    )?
    .execute(params![hash, (MAX_SESSIONS_PER_CREDENTIAL - 1) as i64])?;
    conn.prepare_cached(
        "INSERT INTO dashboard_sessions (id_hash, kind, email, credential_hash, created_at, last_seen_at, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        session.id_hash.as_bytes(),
        kind,
        email,
        hash,
        session.created_at.unix_micros(),
        session.last_seen_at.unix_micros(),
        session.expires_at.unix_micros(),
    ])?;
    Ok(())
}

pub(super) fn get(conn: &Connection, id_hash: &SecretHash) -> StoreResult<Option<DashboardSession>> {
    let row = conn
        .prepare_cached(
            "SELECT kind, email, credential_hash, created_at, last_seen_at, expires_at
             FROM dashboard_sessions WHERE id_hash = ?1",
        )?
        .query_row([id_hash.as_bytes()], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, Option<String>>(1)?,
                r.get::<_, Vec<u8>>(2)?,
                r.get::<_, i64>(3)?,
                r.get::<_, i64>(4)?,
                r.get::<_, i64>(5)?,
            ))
        })
        .optional()?;
    let Some((kind, email, hash, created, seen, expires)) = row else {
        return Ok(None);
    };
    let time = |us: i64| Timestamp::from_unix_micros(us).ok_or_else(|| bad_row(&kind));
    Ok(Some(DashboardSession {
        id_hash: *id_hash,
        credential: SessionCredential::from_columns(&kind, email, &hash).ok_or_else(|| bad_row(&kind))?,
        created_at: time(created)?,
        last_seen_at: time(seen)?,
        expires_at: time(expires)?,
    }))
}

fn bad_row(kind: &str) -> StoreError {
    StoreError::other(format!("a dashboard session row of kind {kind:?} does not read back"))
}

pub(super) fn touch(conn: &Connection, id_hash: &SecretHash, now: Timestamp) -> StoreResult<()> {
    conn.prepare_cached("UPDATE dashboard_sessions SET last_seen_at = ?2 WHERE id_hash = ?1")?
        .execute(params![id_hash.as_bytes(), now.unix_micros()])?;
    Ok(())
}

pub(super) fn delete(conn: &Connection, id_hash: &SecretHash) -> StoreResult<()> {
    conn.prepare_cached("DELETE FROM dashboard_sessions WHERE id_hash = ?1")?
        .execute([id_hash.as_bytes()])?;
    Ok(())
}

pub(super) fn server_key(conn: &Connection, name: &str, candidate: [u8; 32]) -> StoreResult<[u8; 32]> {
    conn.prepare_cached("INSERT INTO server_keys (name, key) VALUES (?1, ?2) ON CONFLICT (name) DO NOTHING")?
        .execute(params![name, &candidate[..]])?;
    let key: Vec<u8> = conn
        .prepare_cached("SELECT key FROM server_keys WHERE name = ?1")?
        .query_row([name], |r| r.get(0))?;
    key.try_into()
        .map_err(|_| StoreError::other(format!("server key {name:?} is not 32 bytes")))
}

#[async_trait]
impl DashboardStore for SqliteStore {
    async fn create_dashboard_session(
        &self,
        session: crate::dashboard_session::DashboardSession,
        idle_before: Timestamp,
    ) -> StoreResult<()> {
        self.writer.write(move |c| create(c, &session, idle_before)).await
    }

    async fn dashboard_session(
        &self,
        id_hash: SecretHash,
    ) -> StoreResult<Option<crate::dashboard_session::DashboardSession>> {
        self.readers.read(move |c| get(c, &id_hash)).await
    }

    async fn touch_dashboard_session(&self, id_hash: SecretHash, now: Timestamp) -> StoreResult<()> {
        self.writer.write(move |c| touch(c, &id_hash, now)).await
    }

    async fn delete_dashboard_session(&self, id_hash: SecretHash) -> StoreResult<()> {
        self.writer.write(move |c| delete(c, &id_hash)).await
    }

    async fn server_key(&self, name: &str, candidate: [u8; 32]) -> StoreResult<[u8; 32]> {
        let name = name.to_owned();
        self.writer.write(move |c| server_key(c, &name, candidate)).await
    }
}
