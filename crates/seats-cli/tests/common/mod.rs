//! Running `seats` as a process: a server to talk to, and the command under test.

#![allow(dead_code)] // each test binary uses part of it

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::Value;

pub const ACCOUNT: &str = "699d98642c564d2e855e9661899b7252";
pub const TOKEN: &str = "Sn3lZJTBX6kkg7OdcBUAxOO963GEIyGQqnFTOFYY";
pub const SEAT: &str = "f174e90a-fafe-4643-bbbc-4a0ed4fc8415";

pub struct Server {
    child: Child,
    pub base: String,
    stderr: mpsc::Receiver<String>,
}

pub fn seats() -> Command {
    isolated(Command::new(env!("CARGO_BIN_EXE_seats")))
}

/// `cmd` without the developer's own SEATS_* and CLOUDFLARE_* settings.
fn isolated(mut cmd: Command) -> Command {
    // A developer's own SEATS_* and CLOUDFLARE_* settings must not leak into these tests.
    for (k, _) in std::env::vars() {
        if k.starts_with("SEATS_") || k.starts_with("CLOUDFLARE_") {
            cmd.env_remove(k);
        }
    }
    cmd
}

/// Starts `seats serve ARGS` and waits for the "listening" line (the port is bound by then).
pub fn start(args: &[&str], envs: &[(&str, &str)]) -> Server {
    let mut cmd = seats();
    cmd.arg("serve").args(args).envs(envs.iter().copied());
    start_command(cmd)
}

/// Starts `seats serve ARGS` under `prlimit LIMIT` (e.g. `--nofile=100:4096`); prlimit runs
/// it in its own process, so [`Server::pid`] is the server's.
pub fn start_under_prlimit(limit: &str, args: &[&str]) -> Server {
    let mut cmd = isolated(Command::new("prlimit"));
    cmd.args([limit, "--", env!("CARGO_BIN_EXE_seats"), "serve"]).args(args);
    start_command(cmd)
}

/// The arguments of `seats serve` for the demo seed, written to `seed.json` in `dir` (which a
/// test may edit), and the SQLite file `seats.db` there, on a port of its own.
pub fn demo_seed_args(dir: &std::path::Path) -> Vec<String> {
    let seed = dir.join("seed.json");
    std::fs::write(&seed, seats_store::seed::DEMO_SEED).unwrap();
    vec![
        "--seed".into(),
        seed.display().to_string(),
        "--database".into(),
        format!("sqlite://{}", dir.join("seats.db").display()),
        "--listen".into(),
        "127.0.0.1:0".into(),
    ]
}

/// How long a test waits for `seats` to start or a command to finish before it kills the
/// process and fails: a server that should have refused to start must not hang the suite.
pub const PATIENCE: Duration = Duration::from_secs(60);

fn start_command(mut cmd: Command) -> Server {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn seats");
    let stderr = read_all(child.stderr.take().unwrap());
    let stdout = child.stdout.take().unwrap();
    let (tx, first_line) = mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let Ok(line) = first_line.recv_timeout(PATIENCE) else {
        let _ = child.kill();
        let _ = child.wait();
        panic!(
            "seats printed no listening line within {PATIENCE:?}; stderr: {:?}",
            stderr.recv_timeout(Duration::from_secs(5))
        );
    };
    let base = line
        .trim()
        .strip_prefix("seats listening on ")
        .unwrap_or_else(|| {
            panic!(
                "no listening line; stdout: {line:?}; stderr: {:?}",
                stderr.recv_timeout(Duration::from_secs(5))
            )
        })
        .to_owned();
    Server { child, base, stderr }
}

/// Reads `from` to its end on a thread of its own; the text arrives on the channel.
fn read_all(from: impl Read + Send + 'static) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut all = Vec::new();
        let _ = BufReader::new(from).read_to_end(&mut all);
        let _ = tx.send(String::from_utf8_lossy(&all).into_owned());
    });
    rx
}

/// Waits for `child` to exit, killing it and failing the test after [`PATIENCE`].
fn wait_bounded(child: &mut Child, what: &str) -> std::process::ExitStatus {
    let deadline = std::time::Instant::now() + PATIENCE;
    loop {
        if let Some(status) = child.try_wait().expect("wait for seats") {
            return status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("`seats {what}` still running after {PATIENCE:?}: killed");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

impl Server {
    pub fn patch(&self, body: &Value) -> (u16, Value) {
        block_on(async {
            let resp = http()
                .patch(format!("{}/client/v4/accounts/{ACCOUNT}/access/seats", self.base))
                .header("Content-Type", "application/json")
                .header("Authorization", format!("Bearer {TOKEN}"))
                .body(body.to_string())
                .send()
                .await
                .unwrap();
            (resp.status().as_u16(), resp.json().await.unwrap())
        })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The status of `GET /healthz`, or `None` when no answer came within 2 s.
    pub fn health(&self) -> Option<u16> {
        block_on(async {
            let resp = reqwest::Client::new()
                .get(format!("{}/healthz", self.base))
                .timeout(Duration::from_secs(2))
                .send()
                .await
                .ok()?;
            Some(resp.status().as_u16())
        })
    }

    /// Kills the server with SIGKILL, mid-whatever it was doing, and waits for it to go.
    pub fn kill(mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("reaped");
    }

    /// Sends SIGTERM and returns the exit code and everything logged.
    pub fn terminate(mut self) -> (Option<i32>, String) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let code = wait_bounded(&mut self.child, "serve").code();
        (
            code,
            self.stderr.recv_timeout(Duration::from_secs(10)).unwrap_or_default(),
        )
    }
}

/// An HTTP client whose every request gives up after [`PATIENCE`].
pub fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(PATIENCE)
        .build()
        .expect("HTTP client")
}

/// Runs `future` to its end on a runtime of its own (these tests are synchronous).
pub fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(future)
}

pub fn run(args: &[&str]) -> (Option<i32>, String) {
    let out = run_with(args, &[], None);
    (out.code, out.stderr)
}

/// What a finished command printed.
pub struct Output {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `seats ARGS` with extra environment and optional stdin.
pub fn run_with(args: &[&str], envs: &[(&str, &str)], stdin: Option<&str>) -> Output {
    use std::io::Write;
    let mut child = seats()
        .args(args)
        .envs(envs.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = read_all(child.stdout.take().unwrap());
    let stderr = read_all(child.stderr.take().unwrap());
    let mut input = child.stdin.take().unwrap();
    if let Some(text) = stdin {
        input.write_all(text.as_bytes()).unwrap();
    }
    drop(input);
    let status = wait_bounded(&mut child, &args.join(" "));
    Output {
        code: status.code(),
        stdout: stdout.recv().unwrap_or_default(),
        stderr: stderr.recv().unwrap_or_default(),
    }
}

/// A server a test forgets (or panics before stopping) does not outlive it.
impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
