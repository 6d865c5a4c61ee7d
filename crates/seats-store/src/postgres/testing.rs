//! A fresh PostgreSQL schema per test, for this workspace's test suites.
//!
//! Tests read the server from `SEATS_TEST_POSTGRES_URL`. Each [`TestDatabase`] is its own
//! schema on that database (cheaper than a database per test, and as isolated: every
//! connection of the store gets it as its `search_path`), dropped when the value is.

use tokio_postgres::NoTls;

/// The variable naming the PostgreSQL server tests may use.
pub const ENV: &str = "SEATS_TEST_POSTGRES_URL";

/// One test's schema.
#[derive(Debug)]
pub struct TestDatabase {
    base_url: String,
    schema: String,
}

impl TestDatabase {
    /// A new empty schema on the server of `SEATS_TEST_POSTGRES_URL`, or `None` (saying so
    /// on stderr) when the variable is not set. Panics if the server cannot be reached: a
    /// run that names a server expects to use it.
    pub async fn create(test: &str) -> Option<TestDatabase> {
        let Ok(base_url) = std::env::var(ENV) else {
            // Once per test binary, and past the test harness's capture, so a local run shows it.
            static SAID: std::sync::Once = std::sync::Once::new();
            SAID.call_once(|| {
                use std::io::Write;
                let _ = writeln!(
                    std::io::stderr(),
                    "{ENV} is not set: the PostgreSQL runs of these tests are skipped (first: {test})"
                );
            });
            return None;
        };
        let schema = format!("seats_test_{}", uuid::Uuid::new_v4().simple());
        let (client, connection) = tokio_postgres::connect(&base_url, NoTls)
            .await
            .unwrap_or_else(|e| panic!("{ENV}={base_url}: cannot connect: {e}"));
        let driver = tokio::spawn(connection);
        client
            .batch_execute(&format!("CREATE SCHEMA {schema}"))
            .await
            .expect("create the test schema");
        drop(client);
        let _ = driver.await;
        Some(TestDatabase { base_url, schema })
    }

    /// The URL of this schema: the server's URL with the schema as its `search_path`.
    pub fn url(&self) -> String {
        let sep = if self.base_url.contains('?') { '&' } else { '?' };
        format!(
            "{}{sep}options=-csearch_path%3D{}&application_name={}",
            self.base_url, self.schema, self.schema
        )
    }

    pub fn schema(&self) -> &str {
        &self.schema
    }

    /// A store on this schema, with a small pool: many tests run at once against one
    /// server's connection limit.
    pub async fn open(&self) -> super::PgStore {
        let options = super::PgOptions {
            pool_size: 4,
            ..super::PgOptions::default()
        };
        super::PgStore::connect(&self.url(), options)
            .await
            .expect("connect to PostgreSQL")
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let (url, schema) = (self.base_url.clone(), self.schema.clone());
        // Drop may run inside a runtime, which cannot block on another: a thread of its own.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            runtime.block_on(async {
                let (client, connection) = tokio_postgres::connect(&url, NoTls).await.ok()?;
                tokio::spawn(connection);
                // Connections of the test's stores may still be open, even inside a transaction
                // whose ROLLBACK waits for the runtime this drop is blocking: they would hold
                // locks the DROP waits for. They are ended first (their application name is
                // the schema's, see `url`).
                client
                    .batch_execute(&format!(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                          WHERE application_name = '{schema}' AND pid <> pg_backend_pid();
                         DROP SCHEMA IF EXISTS {schema} CASCADE"
                    ))
                    .await
                    .ok()
            })
        })
        .join();
        if !matches!(dropped, Ok(Some(()))) {
            eprintln!("could not drop test schema {}", self.schema);
        }
    }
}
