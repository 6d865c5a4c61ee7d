//! `--instructions`: what a request costs in instructions, counted by callgrind (valgrind),
//! the figure that does not move with other work on a shared machine (docs/performance.md).
//!
//! Each server runs under `valgrind --tool=callgrind` twice, on a fresh database with the
//! seed, serving first [`FEW`] and then [`MANY`] requests sent one after another on one
//! connection; the difference of the two runs' totals divided by the difference of the
//! counts is one request's share, without the start-up, the seed and the shutdown.

use std::path::Path;
use std::process::Command;

use anyhow::{bail, Context};

use crate::load::{self, MakeCall};
use crate::process::Server;
use crate::{get, one_seat, pick, remove_database, write_seed, ACCOUNT, TOKEN};

/// Requests of the first run: enough to warm the caches and the statements.
const FEW: u64 = 200;
/// Requests of the second run.
const MANY: u64 = 1_200;

/// A server to count.
enum Serve<'a> {
    /// The bench's own static response (`--serve-static`).
    Static(&'a Path),
    /// `seats serve` on a fresh SQLite database seeded with this file.
    Seats { seats: &'a Path, seed: &'a Path },
}

/// Prints, per size, the instructions of a static response, a token verification, a 1-seat
/// PATCH and an email lookup, and each one's ratio to the static response's.
pub async fn measure(seats: &Path, me: &Path, dir: &Path, sizes: &[usize]) -> anyhow::Result<()> {
    let version = Command::new("valgrind").arg("--version").output();
    if !version.is_ok_and(|o| o.status.success()) {
        bail!(
            "--instructions runs the servers under valgrind, which is not installed (Debian: apt-get install valgrind)"
        );
    }
    println!("Instructions per request (callgrind; {MANY} − {FEW} requests one after another on one connection):");
    println!();
    println!(
        "| seats | static response | token verify | × static | 1-seat PATCH | × static | email lookup | × static |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|");
    let baseline = per_request(dir, "static", &Serve::Static(me), None, get(|_, _| "/".to_owned())).await?;
    for &users in sizes {
        let seed = dir.join(format!("instructions-{users}.json"));
        write_seed(&seed, users)?;
        let serve = Serve::Seats { seats, seed: &seed };
        let verify = per_request(
            dir,
            "verify",
            &serve,
            Some(TOKEN),
            get(|_, _| "/client/v4/user/tokens/verify".to_owned()),
        )
        .await?;
        let patch = per_request(dir, "patch", &serve, Some(TOKEN), one_seat(users)).await?;
        let users_path = format!("/client/v4/accounts/{ACCOUNT}/access/users");
        let email = per_request(
            dir,
            "email",
            &serve,
            Some(TOKEN),
            get(move |c, n| format!("{users_path}?email=user{}@example.com", pick(c, n, users))),
        )
        .await?;
        std::fs::remove_file(&seed)?;
        let k = |n: f64| format!("{:.1}k", n / 1000.0);
        println!(
            "| {users} | {} | {} | {:.1} | {} | {:.1} | {} | {:.1} |",
            k(baseline),
            k(verify),
            verify / baseline,
            k(patch),
            patch / baseline,
            k(email),
            email / baseline
        );
    }
    Ok(())
}

/// One request's instructions on `serve`: two counted runs (see the module's documentation).
async fn per_request(
    dir: &Path,
    name: &str,
    serve: &Serve<'_>,
    bearer: Option<&str>,
    call: MakeCall,
) -> anyhow::Result<f64> {
    let few = counted(dir, name, serve, bearer, call.clone(), FEW).await?;
    let many = counted(dir, name, serve, bearer, call, MANY).await?;
    Ok((many as f64 - few as f64) / (MANY - FEW) as f64)
}

/// The instructions of one run of `serve` under callgrind that answers `requests` requests.
async fn counted(
    dir: &Path,
    name: &str,
    serve: &Serve<'_>,
    bearer: Option<&str>,
    call: MakeCall,
    requests: u64,
) -> anyhow::Result<u64> {
    let out = dir.join(format!("callgrind-{name}-{requests}.out"));
    let database = dir.join(format!("instructions-{name}.db"));
    remove_database(&database)?;
    let mut args: Vec<String> = vec![
        "--tool=callgrind".into(),
        format!("--callgrind-out-file={}", out.display()),
    ];
    match serve {
        Serve::Static(me) => args.extend([path(me)?, "--serve-static".into(), "127.0.0.1:0".into()]),
        Serve::Seats { seats, seed } => args.extend([
            path(seats)?,
            "serve".into(),
            "--database".into(),
            format!("sqlite://{}", database.display()),
            "--seed".into(),
            path(seed)?,
            "--listen".into(),
            "127.0.0.1:0".into(),
        ]),
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let log = dir.join(format!("callgrind-{name}-{requests}.log"));
    let server = Server::start(Path::new("valgrind"), &args, &log)?;
    let sent = load::sequential(server.addr, requests, bearer, 200, call).await;
    // Callgrind writes its counts when the process exits.
    server.stop();
    sent?;
    let text = std::fs::read_to_string(&out).with_context(|| format!("reading {}", out.display()))?;
    std::fs::remove_file(&out)?;
    remove_database(&database)?;
    totals(&text).with_context(|| format!("no totals in {}", out.display()))
}

fn path(p: &Path) -> anyhow::Result<String> {
    Ok(p.to_str().context("a path that is not UTF-8")?.to_owned())
}

/// The instruction total of a callgrind output file: its `totals:` line (or `summary:`, which
/// older versions write instead).
fn totals(text: &str) -> Option<u64> {
    text.lines()
        .find_map(|l| l.strip_prefix("totals:").or_else(|| l.strip_prefix("summary:")))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::totals;

    #[test]
    fn the_total_is_read_from_either_line() {
        assert_eq!(totals("events: Ir\nfl=x\n1 5\ntotals: 906593223\n"), Some(906_593_223));
        assert_eq!(totals("events: Ir\nsummary: 42\n"), Some(42));
        assert_eq!(totals("events: Ir\n"), None);
    }
}
