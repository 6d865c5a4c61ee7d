//! PostgreSQL clusters a test makes for itself (initdb, pg_ctl, pg_basebackup), for what the
//! shared test server cannot show: TLS with certificates the test made, a `pg_hba.conf` of
//! its own, a streaming standby promoted after its primary is killed.
//!
//! The server programs refuse to run as root, so as root they run as user `postgres`
//! (`runuser`); as `postgres` they run directly. Anywhere else, and where PostgreSQL 15's
//! programs are missing, [`Cluster::init`] says why and returns `None`, unless
//! `SEATS_REQUIRE_ROOT_TESTS=1` (set by `.ci/run` as root), which makes that a failure.
//! Everything listens on 127.0.0.1 and a Unix socket inside the cluster's own directory.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Where Debian puts PostgreSQL 15's programs.
const BIN: &str = "/usr/lib/postgresql/15/bin";

/// One cluster: its directory (removed, and the server stopped, when dropped) and its port.
#[derive(Debug)]
pub struct Cluster {
    dir: tempfile::TempDir,
    pub port: u16,
}

/// How to run the server's programs here, or why they cannot run.
fn runner() -> Result<Vec<String>, String> {
    if !Path::new(BIN).join("initdb").exists() {
        return Err(format!("PostgreSQL 15's programs are not in {BIN}"));
    }
    let me = Command::new("id").arg("-un").output().map_err(|e| format!("id: {e}"))?;
    match String::from_utf8_lossy(&me.stdout).trim() {
        "root" => Ok(vec!["runuser".into(), "-u".into(), "postgres".into(), "--".into()]),
        "postgres" => Ok(vec![]),
        other => Err(format!(
            "running as {other}: a test cluster needs root (to run PostgreSQL as postgres) or postgres"
        )),
    }
}

/// Says why a cluster test does not run, or fails it when `SEATS_REQUIRE_ROOT_TESTS=1`.
fn skip(test: &str, why: &str) {
    if std::env::var("SEATS_REQUIRE_ROOT_TESTS").is_ok_and(|v| v == "1") {
        panic!("{test}: SEATS_REQUIRE_ROOT_TESTS=1 but {why}");
    }
    eprintln!("SKIPPED {test}: {why} (SEATS_REQUIRE_ROOT_TESTS=1 makes this a failure)");
}

/// A port free on 127.0.0.1 at the moment of asking.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// Runs a program as the server's user; panics with its output if it fails.
fn run(program: &str, args: &[&str]) -> String {
    let mut argv = runner().expect("checked by Cluster::init");
    argv.push(program.to_owned());
    argv.extend(args.iter().map(|a| a.to_string()));
    let out = Command::new(&argv[0])
        .args(&argv[1..])
        .output()
        .unwrap_or_else(|e| panic!("{argv:?}: {e}"));
    assert!(
        out.status.success(),
        "{argv:?} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn chown(path: &Path) {
    if runner().is_ok_and(|r| !r.is_empty()) {
        let status = Command::new("chown")
            .args(["-R", "postgres:postgres"])
            .arg(path)
            .status()
            .expect("chown");
        assert!(status.success(), "chown {}", path.display());
    }
}

impl Cluster {
    /// A new cluster, initialised but not started (trust for local and 127.0.0.1 connections
    /// of any user; `fsync` off: the tests kill servers, not machines), or `None` (said on
    /// stderr) where clusters cannot run.
    pub fn init(test: &str) -> Option<Cluster> {
        let cluster = Cluster::new(test)?;
        let data = cluster.data();
        run(
            &format!("{BIN}/initdb"),
            &[
                "-D",
                &data.to_string_lossy(),
                "-U",
                "postgres",
                "--auth=trust",
                "--no-sync",
            ],
        );
        cluster.configure(&format!(
            "listen_addresses = '127.0.0.1'\nport = {}\nunix_socket_directories = '{}'\nfsync = off\n\
             max_connections = 60\nwal_level = replica\nmax_wal_senders = 4\n",
            cluster.port,
            cluster.dir.path().display()
        ));
        Some(cluster)
    }

    /// An empty directory the server's user owns, and a free port; `None` (said, or a failure
    /// under `SEATS_REQUIRE_ROOT_TESTS=1`) where the server's programs cannot run.
    fn new(test: &str) -> Option<Cluster> {
        if let Err(why) = runner() {
            skip(test, &why);
            return None;
        }
        let dir = tempfile::Builder::new()
            .prefix("seats-cluster-")
            .tempdir()
            .expect("tempdir");
        chown(dir.path());
        Some(Cluster { dir, port: free_port() })
    }

    /// The cluster's own directory, where tests may put certificates (owned by the server's
    /// user once [`Self::own`] ran).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// Gives the server's user every file put in [`Self::dir`] (key files must be its own).
    pub fn own(&self) {
        chown(self.dir.path());
    }

    /// Appends settings to `postgresql.conf` (the last of a name wins).
    pub fn configure(&self, lines: &str) {
        let path = self.data().join("postgresql.conf");
        let mut text = std::fs::read_to_string(&path).expect("postgresql.conf");
        text.push('\n');
        text.push_str(lines);
        std::fs::write(&path, text).expect("write postgresql.conf");
    }

    /// Replaces `pg_hba.conf`.
    pub fn hba(&self, text: &str) {
        std::fs::write(self.data().join("pg_hba.conf"), text).expect("write pg_hba.conf");
    }

    fn ctl(&self, args: &[&str]) -> String {
        let data = self.data().to_string_lossy().into_owned();
        let mut all = vec!["-D", &data];
        all.extend_from_slice(args);
        run(&format!("{BIN}/pg_ctl"), &all)
    }

    /// Starts the server and waits until it takes connections.
    pub fn start(&self) {
        self.own();
        let log = self.dir.path().join("server.log").to_string_lossy().into_owned();
        self.ctl(&["-l", &log, "-w", "-t", "60", "start"]);
    }

    /// Kills the server as a crash would (`pg_ctl stop -m immediate`).
    pub fn kill(&self) {
        self.ctl(&["-m", "immediate", "-w", "stop"]);
    }

    /// Promotes a standby to primary and waits until it takes writes.
    pub fn promote(&self) {
        self.ctl(&["-w", "promote"]);
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }

    /// A streaming standby of this (running) primary, made with `pg_basebackup -R`, on a
    /// port of its own, not started. With `synchronous`, the primary waits for it to flush
    /// each commit before acknowledging it.
    pub fn standby(&self, test: &str, synchronous: bool) -> Option<Cluster> {
        let standby = Cluster::new(test)?;
        run(
            &format!("{BIN}/pg_basebackup"),
            &[
                "-h",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-U",
                "postgres",
                "-D",
                &standby.data().to_string_lossy(),
                "-R",
                "-X",
                "stream",
                "--no-sync",
            ],
        );
        // (pg_basebackup -R wrote primary_conninfo into postgresql.auto.conf.)
        standby.configure(&format!(
            "port = {}\nunix_socket_directories = '{}'\n",
            standby.port,
            standby.dir.path().display(),
        ));
        if synchronous {
            self.configure("synchronous_standby_names = '*'\nsynchronous_commit = on\n");
            self.ctl(&["reload"]);
        }
        Some(standby)
    }

    /// A URL for a database of this cluster, as user `postgres`, with `query` appended.
    pub fn url(&self, query: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres{query}", self.port)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let data = self.data();
        if data.join("postmaster.pid").exists() {
            let _ = Command::new("sh")
                .arg("-c")
                .arg(format!(
                    "{} {BIN}/pg_ctl -D '{}' -m immediate -w stop >/dev/null 2>&1",
                    runner().unwrap_or_default().join(" "),
                    data.display()
                ))
                .status();
        }
    }
}

/// Certificates made with `openssl` for a test: a CA, a server certificate it signed for
/// `localhost` (and no IP address), a client certificate for user `certuser`, and a second
/// CA that signed none of them.
#[derive(Debug)]
pub struct Certificates {
    pub ca: PathBuf,
    pub other_ca: PathBuf,
    pub server_cert: PathBuf,
    pub server_key: PathBuf,
    pub client_cert: PathBuf,
    pub client_key: PathBuf,
}

impl Certificates {
    /// Makes them in `dir` (elliptic-curve keys: quick to make).
    pub fn generate(dir: &Path) -> Certificates {
        let openssl = |args: &[&str]| {
            let out = Command::new("openssl")
                .args(args)
                .current_dir(dir)
                .output()
                .expect("openssl");
            assert!(
                out.status.success(),
                "openssl {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        };
        let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
        for (name, cn) in [("ca", "seats test CA"), ("other_ca", "another CA")] {
            let subject = format!("/CN={cn}");
            let key = format!("{name}.key");
            let crt = format!("{name}.crt");
            let mut args = vec!["req", "-x509"];
            args.extend_from_slice(&ec);
            args.extend_from_slice(&["-keyout", &key, "-out", &crt, "-days", "2", "-subj", &subject]);
            openssl(&args);
        }
        for (name, cn, ext) in [
            (
                "server",
                "localhost",
                "subjectAltName=DNS:localhost\nextendedKeyUsage=serverAuth\n",
            ),
            ("client", "certuser", "extendedKeyUsage=clientAuth\n"),
        ] {
            let subject = format!("/CN={cn}");
            let (key, csr, crt, extfile) = (
                format!("{name}.key"),
                format!("{name}.csr"),
                format!("{name}.crt"),
                format!("{name}.ext"),
            );
            std::fs::write(dir.join(&extfile), format!("basicConstraints=CA:FALSE\n{ext}")).expect("ext");
            let mut args = vec!["req"];
            args.extend_from_slice(&ec);
            args.extend_from_slice(&["-keyout", &key, "-out", &csr, "-subj", &subject]);
            openssl(&args);
            openssl(&[
                "x509",
                "-req",
                "-in",
                &csr,
                "-CA",
                "ca.crt",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-out",
                &crt,
                "-days",
                "2",
                "-extfile",
                &extfile,
            ]);
        }
        // The server refuses a key others may read.
        for key in ["server.key", "client.key"] {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(dir.join(key), std::fs::Permissions::from_mode(0o600)).expect("chmod");
        }
        Certificates {
            ca: dir.join("ca.crt"),
            other_ca: dir.join("other_ca.crt"),
            server_cert: dir.join("server.crt"),
            server_key: dir.join("server.key"),
            client_cert: dir.join("client.crt"),
            client_key: dir.join("client.key"),
        }
    }
}
