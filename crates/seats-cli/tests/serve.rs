//! `seats serve` as a process: demo data, seed files, configuration, graceful shutdown.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::{json, Value};

const ACCOUNT: &str = "699d98642c564d2e855e9661899b7252";
const TOKEN: &str = "Sn3lZJTBX6kkg7OdcBUAxOO963GEIyGQqnFTOFYY";
const SEAT: &str = "f174e90a-fafe-4643-bbbc-4a0ed4fc8415";

struct Server {
    child: Child,
    base: String,
    stderr: mpsc::Receiver<String>,
}

fn seats() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_seats"));
    // A developer's own SEATS_* settings must not leak into these tests.
    for (k, _) in std::env::vars() {
        if k.starts_with("SEATS_") {
            cmd.env_remove(k);
        }
    }
    cmd
}

/// Starts `seats serve ARGS` and waits for the "listening" line (the port is bound by then).
fn start(args: &[&str], envs: &[(&str, &str)]) -> Server {
    let mut child = seats()
        .arg("serve")
        .args(args)
        .envs(envs.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn seats");
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut all = String::new();
        let _ = BufReader::new(stderr).read_to_string(&mut all);
        let _ = tx.send(all);
    });
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let base = line
        .trim()
        .strip_prefix("seats listening on ")
        .unwrap_or_else(|| {
            panic!(
                "no listening line; stdout: {line:?}; stderr: {:?}",
                rx.recv_timeout(Duration::from_secs(5))
            )
        })
        .to_owned();
    Server {
        child,
        base,
        stderr: rx,
    }
}

impl Server {
    fn patch(&self, body: &Value) -> (u16, Value) {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let resp = reqwest::Client::new()
                .patch(format!(
                    "{}/client/v4/accounts/{ACCOUNT}/access/seats",
                    self.base
                ))
                .header("Content-Type", "application/json")
                .header("Authorization", format!("Bearer {TOKEN}"))
                .body(body.to_string())
                .send()
                .await
                .unwrap();
            (resp.status().as_u16(), resp.json().await.unwrap())
        })
    }

    /// Sends SIGTERM and returns the exit code and everything logged.
    fn terminate(mut self) -> (Option<i32>, String) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let code = self.child.wait().unwrap().code();
        (
            code,
            self.stderr
                .recv_timeout(Duration::from_secs(10))
                .unwrap_or_default(),
        )
    }
}

fn run(args: &[&str]) -> (Option<i32>, String) {
    let out = seats().args(args).output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn demo_serves_the_seed_documents_example_and_stops_cleanly_on_sigterm() {
    let server = start(&["--demo", "--listen", "127.0.0.1:0"], &[]);
    let (status, body) =
        server.patch(&json!([{"access_seat": false, "gateway_seat": false, "seat_uid": SEAT}]));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["result"][0]["seat_uid"], SEAT);
    assert_eq!(body["result"][0]["access_seat"], false);
    let (code, log) = server.terminate();
    assert_eq!(code, Some(0), "{log}");
    assert!(log.contains("shutting down"), "{log}");
    assert!(!log.contains(TOKEN), "secrets never logged: {log}");
    // The temporary demo database is removed at exit.
    let path = log
        .split("path=")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .expect("database path logged");
    assert!(!Path::new(path).exists(), "{path} should be gone");
}

#[test]
fn configuration_from_seats_environment_variables() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("env.db");
    let server = start(
        &[],
        &[
            ("SEATS_DEMO", "true"),
            ("SEATS_LISTEN", "127.0.0.1:0"),
            ("SEATS_DATABASE", db.to_str().unwrap()),
        ],
    );
    assert_eq!(server.patch(&json!([])).0, 200);
    let (code, _) = server.terminate();
    assert_eq!(code, Some(0));
    assert!(db.exists(), "--demo with SEATS_DATABASE keeps the database");
}

#[test]
fn a_seed_loads_only_into_an_empty_database() {
    let dir = tempfile::tempdir().unwrap();
    let seed = dir.path().join("seed.json");
    std::fs::write(&seed, seats_store::seed::DEMO_SEED).unwrap();
    let db = format!("sqlite://{}", dir.path().join("seats.db").display());
    let args = [
        "--seed",
        seed.to_str().unwrap(),
        "--database",
        &db,
        "--listen",
        "127.0.0.1:0",
    ];

    let server = start(&args, &[]);
    assert_eq!(
        server
            .patch(&json!([{"access_seat": false, "gateway_seat": true, "seat_uid": SEAT}]))
            .0,
        200
    );
    let (code, log) = server.terminate();
    assert_eq!(code, Some(0));
    assert!(log.contains("seed loaded"), "{log}");

    // Restarting with the same seed keeps what changed since.
    let server = start(&args, &[]);
    let (_, body) =
        server.patch(&json!([{"access_seat": false, "gateway_seat": true, "seat_uid": SEAT}]));
    assert_ne!(
        body["result"][0]["created_at"], body["result"][0]["updated_at"],
        "the change survived: {body}"
    );
    let (_, log) = server.terminate();
    assert!(log.contains("the seed was not loaded"), "{log}");
}

#[test]
fn an_invalid_seed_stops_start_up_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let seed = dir.path().join("bad.json");
    std::fs::write(
        &seed,
        r#"{"accounts": [{"id": "699d98642c564d2e855e9661899b7252", "name": "x", "seat_limit": 1, "users": [
            {"email": "a@x.com", "access_seat": true}, {"email": "b@x.com", "gateway_seat": true}]}],
           "tokens": [{"name": "t", "value": "v", "policies": [{"effect": "allow",
            "resources": {"com.cloudflare.api.account.*": "*"}, "permission_groups": [{"name": "Nope"}]}]}]}"#,
    )
    .unwrap();
    let db = dir.path().join("seats.db");
    let (code, stderr) = run(&[
        "serve",
        "--seed",
        seed.to_str().unwrap(),
        "--database",
        db.to_str().unwrap(),
        "--listen",
        "127.0.0.1:0",
    ]);
    assert_eq!(code, Some(1), "{stderr}");
    let file = seed.display().to_string();
    assert!(stderr.contains(&format!("{file}: /accounts/0/seat_limit: account over its limit: 2 users hold a seat, seat_limit is 1")), "{stderr}");
    assert!(stderr.contains(&format!("{file}: /tokens/0/policies/0/permission_groups/0/name: unknown permission group \"Nope\"")), "{stderr}");
    assert!(!db.exists(), "nothing was written");

    std::fs::write(&seed, "{\"accounts\": [").unwrap();
    let (code, stderr) = run(&[
        "serve",
        "--seed",
        seed.to_str().unwrap(),
        "--database",
        db.to_str().unwrap(),
    ]);
    assert_eq!(code, Some(1));
    assert!(stderr.contains("invalid JSON"), "{stderr}");
}

#[test]
fn refused_configurations() {
    let (code, stderr) = run(&["serve", "--demo", "--seed", "x.json"]);
    assert_eq!(code, Some(2), "a usage error: {stderr}");
    assert!(stderr.contains("--seed"), "{stderr}");

    let (code, stderr) = run(&[
        "serve",
        "--database",
        "postgres://127.0.0.1/test",
        "--listen",
        "127.0.0.1:0",
    ]);
    assert_eq!(code, Some(1));
    assert!(
        stderr.contains("PostgreSQL backend is not available yet"),
        "{stderr}"
    );

    let (code, stderr) = run(&[
        "serve",
        "--database",
        "mysql://x",
        "--listen",
        "127.0.0.1:0",
    ]);
    assert_eq!(code, Some(1));
    assert!(
        stderr.contains("unsupported database URL scheme `mysql`"),
        "{stderr}"
    );
}
