//! The PostgreSQL side of the benchmark: a fresh database per run (created and dropped here,
//! so a bench never touches existing data) and `pgbench -N` on the same server as the
//! yardstick, when `pgbench` is installed.

use std::process::Command;
use std::time::Duration;

use anyhow::{bail, Context};

/// A database created for this run on the server `admin_url` names; dropped on `drop_now`
/// (or, as a fallback, when the value is dropped).
pub struct Database {
    admin_url: String,
    name: String,
    pub url: String,
}

impl Database {
    /// Creates database `name` (dropping a leftover of the same name from an earlier run).
    pub async fn create(admin_url: &str, name: &str) -> anyhow::Result<Database> {
        admin(admin_url, &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await?;
        admin(admin_url, &format!("CREATE DATABASE {name}")).await?;
        Ok(Database {
            admin_url: admin_url.to_owned(),
            name: name.to_owned(),
            url: with_database(admin_url, name)?,
        })
    }

    pub async fn drop_now(self) -> anyhow::Result<()> {
        let name = self.name.clone();
        admin(&self.admin_url, &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await?;
        std::mem::forget(self);
        Ok(())
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        // Best effort on an error path: `psql` is beside `pgbench` on every PostgreSQL install.
        let _ = Command::new("psql")
            .args([
                &self.admin_url,
                "-qc",
                &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
            ])
            .output();
    }
}

async fn admin(url: &str, sql: &str) -> anyhow::Result<()> {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .with_context(|| format!("connecting to PostgreSQL at {url}"))?;
    let task = tokio::spawn(connection);
    client.batch_execute(sql).await.with_context(|| sql.to_owned())?;
    drop(client);
    let _ = task.await;
    Ok(())
}

/// `url` with its database name replaced by `name` (query parameters kept).
fn with_database(url: &str, name: &str) -> anyhow::Result<String> {
    let (base, query) = url.split_once('?').map_or((url, None), |(b, q)| (b, Some(q)));
    let authority = base.find("://").context("a postgres:// URL")? + 3;
    let host_end = base[authority..].find('/').map_or(base.len(), |i| authority + i);
    let mut out = format!("{}/{name}", &base[..host_end]);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    Ok(out)
}

/// `pgbench -N` (simple update: BEGIN, UPDATE, SELECT, INSERT, END) at `connections` clients
/// for `duration` on a fresh scale-1 database; `None` when `pgbench` is not installed.
pub async fn pgbench(admin_url: &str, connections: usize, duration: Duration) -> anyhow::Result<Option<f64>> {
    if Command::new("pgbench").arg("--version").output().is_err() {
        return Ok(None);
    }
    let db = Database::create(admin_url, "seats_bench_pgbench").await?;
    let init = Command::new("pgbench")
        .args(["-i", "-q", "-s", "1", &db.url])
        .output()
        .context("running pgbench -i")?;
    if !init.status.success() {
        bail!("pgbench -i failed: {}", String::from_utf8_lossy(&init.stderr));
    }
    let seconds = duration.as_secs_f64().ceil().max(1.0).to_string();
    let clients = connections.to_string();
    let run = Command::new("pgbench")
        .args(["-N", "-n", "-c", &clients, "-j", "2", "-T", &seconds, &db.url])
        .output()
        .context("running pgbench -N")?;
    db.drop_now().await?;
    let stdout = String::from_utf8_lossy(&run.stdout);
    if !run.status.success() {
        bail!("pgbench -N failed: {}{}", stdout, String::from_utf8_lossy(&run.stderr));
    }
    let tps = stdout
        .lines()
        .find_map(|l| l.strip_prefix("tps = "))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .with_context(|| format!("no tps in pgbench's output: {stdout}"))?;
    Ok(Some(tps))
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn database_name_is_replaced_and_parameters_kept() {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432/postgres", "b").unwrap(),
            "postgres://postgres@127.0.0.1:5432/b"
        );
        assert_eq!(
            with_database("postgres://u@h/db?sslmode=disable", "b").unwrap(),
            "postgres://u@h/b?sslmode=disable"
        );
        assert_eq!(with_database("postgres://u@h", "b").unwrap(), "postgres://u@h/b");
        assert!(with_database("not a url", "b").is_err());
    }
}
