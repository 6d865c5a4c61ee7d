//! Test support shared by this workspace's suites: run a test on each backend, each time on
//! a fresh database.
//!
//! [`on_each_backend`] runs a test once on a fresh SQLite file and, when
//! `SEATS_TEST_POSTGRES_URL` is set, once more on a fresh PostgreSQL schema
//! ([`crate::postgres::testing::TestDatabase`]). Inside it, [`TestDb::create`] makes the
//! database of the current run; tests open stores on it and, where they must, reach behind
//! the store with SQL written in the subset both dialects share.

use std::path::PathBuf;
use std::sync::Arc;

use crate::postgres::testing::{TestDatabase, ENV};
use crate::sqlite::SqliteStore;
use crate::{Durability, Store};

/// Which storage backend a run uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

tokio::task_local! {
    static BACKEND: Backend;
}

/// Runs a test on SQLite, then on PostgreSQL if `SEATS_TEST_POSTGRES_URL` is set (each on
/// a fresh database). A failure's output says which backend it happened on.
pub async fn on_each_backend<F, Fut>(test: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    BACKEND.scope(Backend::Sqlite, test()).await;
    if std::env::var(ENV).is_ok() {
        eprintln!("--- the same test on PostgreSQL ---");
        BACKEND.scope(Backend::Postgres, test()).await;
    } else {
        // Says so once per binary (through TestDatabase::create).
        let _ = TestDatabase::create("a test on each backend").await;
    }
}

/// The backend of the current run (SQLite outside [`on_each_backend`]).
pub fn backend() -> Backend {
    BACKEND.try_with(|b| *b).unwrap_or(Backend::Sqlite)
}

/// The database under a test, kept as long as any clone of it (across server restarts).
#[derive(Clone)]
pub enum TestDb {
    /// `_dir` holds the temporary directory (removed when the last clone goes).
    Sqlite {
        _dir: Arc<tempfile::TempDir>,
        path: PathBuf,
    },
    Postgres(Arc<TestDatabase>),
}

impl TestDb {
    /// A fresh, empty database of the current run's backend.
    pub async fn create() -> TestDb {
        match backend() {
            Backend::Sqlite => {
                let dir = Arc::new(tempfile::tempdir().expect("temp dir"));
                let path = dir.path().join("seats.db");
                TestDb::Sqlite { _dir: dir, path }
            }
            Backend::Postgres => TestDb::Postgres(Arc::new(
                TestDatabase::create("a test on each backend")
                    .await
                    .expect("SEATS_TEST_POSTGRES_URL is set"),
            )),
        }
    }

    /// Opens a store on this database (a new handle each time, as a restarted server would).
    pub async fn open(&self) -> Arc<dyn Store> {
        match self {
            TestDb::Sqlite { path, .. } => Arc::new(SqliteStore::open(path, Durability::Full).expect("open store")),
            TestDb::Postgres(db) => Arc::new(db.open().await),
        }
    }

    /// The URL `seats serve --database` takes for this database.
    pub fn url(&self) -> String {
        match self {
            TestDb::Sqlite { path, .. } => format!("sqlite://{}", path.display()),
            TestDb::Postgres(db) => db.url(),
        }
    }

    /// Runs SQL on the database behind the store's back (faults, direct checks). Write it
    /// in the common subset of both dialects.
    pub async fn execute(&self, sql: &str) {
        match self {
            TestDb::Sqlite { path, .. } => {
                rusqlite::Connection::open(path).unwrap().execute_batch(sql).unwrap();
            }
            TestDb::Postgres(db) => {
                let client = pg_client(db).await;
                client.batch_execute(sql).await.unwrap();
            }
        }
    }

    /// The number a `SELECT COUNT(*) ... $1` query gives for one text parameter.
    pub async fn count(&self, sql: &str, param: &str) -> i64 {
        match self {
            TestDb::Sqlite { path, .. } => rusqlite::Connection::open(path)
                .unwrap()
                .query_row(sql, [param], |r| r.get(0))
                .unwrap(),
            TestDb::Postgres(db) => pg_client(db).await.query_one(sql, &[&param]).await.unwrap().get(0),
        }
    }

    /// Makes every change to a user fail inside the database, with a message that must
    /// not reach clients; [`TestDb::unbreak_users`] undoes it.
    pub async fn break_users(&self) {
        self.execute(match self {
            TestDb::Sqlite { .. } => {
                "CREATE TRIGGER break_users BEFORE UPDATE ON users BEGIN SELECT RAISE(ABORT, 'disk on fire in /var/secret'); END;"
            }
            TestDb::Postgres(_) => {
                "CREATE FUNCTION break_users() RETURNS trigger LANGUAGE plpgsql AS
                     $$ BEGIN RAISE EXCEPTION 'disk on fire in /var/secret'; END $$;
                 CREATE TRIGGER break_users BEFORE UPDATE ON users FOR EACH ROW EXECUTE FUNCTION break_users();"
            }
        })
        .await;
    }

    pub async fn unbreak_users(&self) {
        self.execute(match self {
            TestDb::Sqlite { .. } => "DROP TRIGGER break_users",
            TestDb::Postgres(_) => "DROP TRIGGER break_users ON users; DROP FUNCTION break_users();",
        })
        .await;
    }
}

async fn pg_client(db: &TestDatabase) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(&db.url(), tokio_postgres::NoTls)
        .await
        .expect("connect to PostgreSQL");
    tokio::spawn(connection);
    client
}
