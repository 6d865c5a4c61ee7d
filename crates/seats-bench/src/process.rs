//! Server processes under test: the real `seats serve` binary and the static baseline, each
//! started on port 0 and read back from the address it prints on stdout, with its memory
//! read from `/proc`.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

/// Clock ticks per second of `/proc/PID/stat` (`getconf CLK_TCK`): 100 on Linux.
const CLOCK_TICKS: u64 = 100;

/// A running server process; killed when dropped.
pub struct Server {
    child: Child,
    pub addr: SocketAddr,
    /// From spawning the process to the address line on stdout.
    pub start_time: Duration,
}

impl Server {
    /// Starts `program args…` (stderr to `log`) and waits for its `http://ADDR` line.
    pub fn start(program: &Path, args: &[&str], log: &Path) -> anyhow::Result<Server> {
        let log_file = std::fs::File::create(log).with_context(|| format!("creating {}", log.display()))?;
        let started = Instant::now();
        let mut child = Command::new(program)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(log_file)
            .spawn()
            .with_context(|| format!("starting {}", program.display()))?;
        let stdout = child.stdout.take().context("no stdout")?;
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line)?;
        let start_time = started.elapsed();
        let Some(addr) = line.split("http://").nth(1).and_then(|a| a.trim().parse().ok()) else {
            let _ = child.kill();
            let log = std::fs::read_to_string(log).unwrap_or_default();
            bail!("{} did not start: {line}\n{log}", program.display());
        };
        Ok(Server {
            child,
            addr,
            start_time,
        })
    }

    /// Peak resident memory so far (`VmHWM`), in MiB.
    pub fn peak_rss_mib(&self) -> f64 {
        self.status_kib("VmHWM:") / 1024.0
    }

    /// Resident memory now (`VmRSS`), in MiB.
    pub fn rss_mib(&self) -> f64 {
        self.status_kib("VmRSS:") / 1024.0
    }

    fn status_kib(&self, field: &str) -> f64 {
        std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .ok()
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with(field))
                    .and_then(|l| l.split_whitespace().nth(1))
                    .and_then(|v| v.parse().ok())
            })
            .unwrap_or(f64::NAN)
    }

    /// CPU time the process has used so far, user and system, all threads (`/proc/PID/stat`,
    /// in clock ticks of 10 ms): divided by the requests served meanwhile, a cost per request
    /// that other load on a shared machine does not move, as it moves throughput.
    pub fn cpu_time(&self) -> Duration {
        let ticks = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id()))
            .ok()
            .and_then(|stat| {
                // Fields after the command name, which is in parentheses and may hold spaces:
                // utime and stime are the 12th and 13th.
                let rest = &stat[stat.rfind(')')? + 1..];
                let fields: Vec<&str> = rest.split_whitespace().collect();
                let utime: u64 = fields.get(11)?.parse().ok()?;
                let stime: u64 = fields.get(12)?.parse().ok()?;
                Some(utime + stime)
            })
            .unwrap_or(0);
        Duration::from_millis(ticks * 1000 / CLOCK_TICKS)
    }

    /// Stops the process with SIGTERM-like politeness where possible, then waits for it.
    pub fn stop(mut self) {
        // SIGTERM through the `kill` command: std offers only SIGKILL, and the server should
        // finish its last commits as it would in production.
        let _ = Command::new("kill").arg(self.child.id().to_string()).status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The `seats` binary beside this one, built first (a no-op when current) when run by cargo.
pub fn seats_binary() -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let dir = exe.parent().context("no directory for the bench binary")?;
    if let Some(cargo) = std::env::var_os("CARGO") {
        let release = dir.ends_with("release");
        let mut build = Command::new(cargo);
        build.args(["build", "--quiet", "-p", "seats-cli", "--bin", "seats"]);
        if release {
            build.arg("--release");
        }
        let status = build.status().context("running cargo build for the seats binary")?;
        if !status.success() {
            bail!("building the seats binary failed");
        }
    }
    let seats = dir.join("seats");
    if !seats.exists() {
        bail!(
            "{} is missing: run the bench with `cargo run --release -p seats-bench`",
            seats.display()
        );
    }
    Ok(seats)
}
