//! A small pool of read-only connections. WAL mode lets them read while the writer writes.

use std::path::PathBuf;
use std::sync::Mutex;

use rusqlite::{Connection, OpenFlags};
use tokio::sync::Semaphore;

use super::SqliteOptions;
use crate::{StoreError, StoreResult};

pub(crate) struct Readers {
    path: PathBuf,
    options: SqliteOptions,
    idle: Mutex<Vec<Connection>>,
    permits: Semaphore,
}

impl Readers {
    pub(crate) fn new(path: PathBuf, size: usize, options: SqliteOptions) -> Self {
        Readers {
            path,
            options,
            idle: Mutex::new(Vec::new()),
            permits: Semaphore::new(size),
        }
    }

    /// Runs `f` on a read connection, off the async threads.
    pub(crate) async fn read<R, F>(&self, f: F) -> StoreResult<R>
    where
        R: Send + 'static,
        F: FnOnce(&Connection) -> StoreResult<R> + Send + 'static,
    {
        let _permit = self.permits.acquire().await.map_err(StoreError::other)?;
        let conn = match self
            .idle
            .lock()
            .map_err(|_| StoreError::other("reader pool poisoned"))?
            .pop()
        {
            Some(conn) => conn,
            None => open_reader(&self.path, &self.options)?,
        };
        let (conn, result) = tokio::task::spawn_blocking(move || {
            let result = f(&conn);
            (conn, result)
        })
        .await
        .map_err(StoreError::other)?;
        if let Ok(mut idle) = self.idle.lock() {
            idle.push(conn);
        }
        result
    }
}

fn open_reader(path: &PathBuf, options: &SqliteOptions) -> StoreResult<Connection> {
    let mut conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI,
    )?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    super::observe(&mut conn, options)?;
    super::stable_plans(&conn)?;
    Ok(conn)
}
