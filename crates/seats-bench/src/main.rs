//! `cargo run --release -p seats-bench [-- --quick]`: how fast the real `seats serve` is at
//! 10k, 100k and 1M seats, beside a static-response baseline measured by the same load
//! generator in the same run, so the numbers read as ratios on any machine.
//!
//! For each size it seeds a fresh SQLite database through `seats serve --seed` (timing the
//! load and reading its peak memory), restarts the server on it (cold start, idle memory),
//! and drives it over HTTP: 1-seat PATCHes at 16 connections, 1000-seat batches, and the
//! latency of an email lookup, a search, the first users page, and the dashboard's users
//! page (first, last, and a seat filter that matches nobody). Server logs go to a file,
//! as in production. Durability is the default (`full`: fsync before every answer).
//!
//! With `--postgres URL` it does the same on PostgreSQL, in a fresh database per size on
//! that server (created and dropped here), with one node and then two (`--nodes`), the
//! load spread over the nodes; beside it runs `pgbench -N` (simple update) at the same
//! connection count on the same server, so the PATCH reads as a ratio of what PostgreSQL
//! itself does with a comparable transaction on this machine.

mod instructions;
mod load;
mod operator;
mod postgres;
mod process;

use std::fmt::Write as _;
use std::io::{BufWriter, Write};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use bytes::Bytes;
use clap::Parser;
use hyper::Method;

use load::{Call, MakeCall, Outcome};
use process::Server;

pub(crate) const ACCOUNT: &str = "0123456789abcdef0123456789abcdef";
pub(crate) const TOKEN: &str = "bench-token-0123456789";

#[derive(Debug, Parser)]
#[command(about = "Benchmark the seats server against a static-response baseline")]
struct Args {
    /// Sizes 10k and 100k with short runs: under a minute.
    #[arg(long)]
    quick: bool,
    /// Account sizes to measure (comma-separated).
    #[arg(long, value_delimiter = ',', default_values_t = [10_000usize, 100_000, 1_000_000])]
    sizes: Vec<usize>,
    /// Seconds per throughput measurement.
    #[arg(long, default_value_t = 5.0)]
    seconds: f64,
    /// Concurrent connections for the 1-seat PATCH and the baseline.
    #[arg(long, default_value_t = 16)]
    connections: usize,
    /// Also measure PostgreSQL: the server at this URL (a superuser or a role that may create
    /// databases) gets a fresh database per size, dropped afterwards.
    #[arg(long, env = "SEATS_BENCH_POSTGRES_URL")]
    postgres: Option<String>,
    /// Node counts to measure on PostgreSQL (comma-separated).
    #[arg(long, value_delimiter = ',', default_values_t = [1usize, 2])]
    nodes: Vec<usize>,
    /// Skip the SQLite table (with `--postgres`).
    #[arg(long)]
    no_sqlite: bool,
    /// Instead of the tables: instructions per request counted by callgrind (valgrind) on a
    /// static response and on the seats server at each size (slow: pass `--sizes 10000`).
    #[arg(long)]
    instructions: bool,
    /// Internal: serve the static baseline on this address and print it.
    #[arg(long, hide = true)]
    serve_static: Option<SocketAddr>,
}

fn main() -> anyhow::Result<()> {
    let mut args = Args::parse();
    if let Some(addr) = args.serve_static {
        return serve_static(addr);
    }
    if args.quick {
        args.sizes.retain(|&n| n <= 100_000);
        args.seconds = args.seconds.min(2.0);
    }
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(run(args))
}

/// The baseline: a minimal axum handler with a fixed body about the size of a 1-seat answer.
fn serve_static(addr: SocketAddr) -> anyhow::Result<()> {
    const BODY: &str = r#"{"success":true,"errors":[],"messages":[],"result":[{"access_seat":false,"created_at":"2030-01-01T00:00:00.000000Z","gateway_seat":true,"seat_uid":"seat-000001","updated_at":"2030-01-01T00:00:00.000000Z"}],"result_info":{"count":1,"page":1,"per_page":1,"total_count":1,"total_pages":1}}"#;
    tokio::runtime::Runtime::new()?.block_on(async {
        let app = axum::Router::new().fallback(|| async { ([("content-type", "application/json")], BODY) });
        let listener = tokio::net::TcpListener::bind(addr).await?;
        println!("static baseline listening on http://{}", listener.local_addr()?);
        axum::serve(listener, app).await?;
        Ok(())
    })
}

/// A small deterministic generator (xorshift), so runs pick the same seats.
fn pick(conn: usize, n: u64, range: usize) -> usize {
    let mut x = (conn as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ n.wrapping_mul(0xD1B5_4A32_D192_ED03);
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    (x % range as u64) as usize
}

/// Writes a seed of `users` users, each holding a Gateway seat (so flipping Access never
/// meets the limit), without holding the document in memory.
pub(crate) fn write_seed(path: &Path, users: usize) -> anyhow::Result<()> {
    let mut out = BufWriter::new(std::fs::File::create(path)?);
    write!(
        out,
        r#"{{"accounts":[{{"id":"{ACCOUNT}","name":"bench","seat_limit":{users},"users":["#
    )?;
    for i in 0..users {
        let sep = if i == 0 { "" } else { "," };
        write!(
            out,
            r#"{sep}{{"email":"user{i}@example.com","name":"User {i}","seat_uid":"seat-{i:07}","access_seat":{},"gateway_seat":true}}"#,
            i % 2 == 0
        )?;
    }
    write!(
        out,
        r#"]}}],"tokens":[{{"name":"bench","value":"{TOKEN}","policies":[{{"effect":"allow","resources":{{"com.cloudflare.api.account.{ACCOUNT}":"*"}},"permission_groups":[{{"name":"Zero Trust: Seats Write"}},{{"name":"Access: Audit Logs Read"}}]}}]}}]}}"#
    )?;
    out.flush()?;
    Ok(())
}

/// Seeding one database: the load time (spawn to listening) and the peak memory of the
/// `seats` process (PostgreSQL's own memory is not counted).
struct Seeded {
    load: Duration,
    peak_mib: f64,
}

/// What the traffic measured against a set of nodes.
struct Traffic {
    cold_start: Duration,
    idle_mib: f64,
    patch: Outcome,
    /// CPU time of the server processes per request (µs).
    patch_cpu_us: f64,
    /// `GET /user/tokens/verify` at the PATCH's connections: the HTTP stack and the token's
    /// check, no storage (the CPU per request, µs).
    verify_cpu_us: f64,
    email_cpu_us: f64,
    batch_seats_per_s: f64,
    email_ms: f64,
    search_ms: f64,
    first_page_ms: f64,
    /// The dashboard's users page: first, last, and filtered to no match (ms).
    dashboard_ms: [f64; 3],
}

fn patch_path() -> String {
    format!("/client/v4/accounts/{ACCOUNT}/access/seats")
}

/// 1-seat PATCHes on random seats, each flipping Access so every one commits a change.
fn one_seat(users: usize) -> MakeCall {
    Arc::new(move |conn, n| {
        let seat = pick(conn, n, users);
        let body = format!(
            r#"[{{"access_seat":{},"gateway_seat":true,"seat_uid":"seat-{seat:07}"}}]"#,
            (n + conn as u64).is_multiple_of(2)
        );
        Call {
            method: Method::PATCH,
            path: patch_path(),
            body: Some(Bytes::from(body)),
            header: None,
        }
    })
}

/// 1000-seat PATCHes over a random run of consecutive seats.
fn batch(users: usize) -> MakeCall {
    Arc::new(move |conn, n| {
        let start = pick(conn, n, users.saturating_sub(1000).max(1));
        let access = n.is_multiple_of(2);
        let mut body = String::with_capacity(70 * 1000);
        body.push('[');
        for seat in start..(start + 1000).min(users) {
            if seat > start {
                body.push(',');
            }
            let _ = write!(
                body,
                r#"{{"access_seat":{access},"gateway_seat":true,"seat_uid":"seat-{seat:07}"}}"#
            );
        }
        body.push(']');
        Call {
            method: Method::PATCH,
            path: patch_path(),
            body: Some(Bytes::from(body)),
            header: None,
        }
    })
}

fn get(path_of: impl Fn(usize, u64) -> String + Send + Sync + 'static) -> MakeCall {
    Arc::new(move |conn, n| Call {
        method: Method::GET,
        path: path_of(conn, n),
        body: None,
        header: None,
    })
}

/// A dashboard page, with the session cookie.
fn page(path: String, cookie: &str) -> MakeCall {
    let cookie: Arc<str> = cookie.into();
    Arc::new(move |_, _| Call {
        method: Method::GET,
        path: path.clone(),
        body: None,
        header: Some(("cookie", cookie.clone())),
    })
}

/// Median latency of one connection asking sequentially for `duration`.
async fn latency(addr: SocketAddr, duration: Duration, make: MakeCall) -> anyhow::Result<f64> {
    Ok(load::run(&[addr], 1, duration, Some(TOKEN), 200, make)
        .await?
        .quantile_ms(0.5))
}

/// Writes a seed of `users` users (file and log named after `name`) and starts `seats serve`
/// on `db_url` with it and `extra`; returns the server and the seed's path.
pub(crate) fn serve_seeded(
    seats: &Path,
    dir: &Path,
    db_url: &str,
    users: usize,
    extra: &[&str],
    name: &str,
) -> anyhow::Result<(Server, std::path::PathBuf)> {
    let seed = dir.join(format!("{name}-{users}.json"));
    write_seed(&seed, users)?;
    let mut args = vec![
        "serve",
        "--database",
        db_url,
        "--seed",
        seed.to_str().context("path")?,
        "--listen",
        "127.0.0.1:0",
    ];
    args.extend_from_slice(extra);
    let server = Server::start(seats, &args, &dir.join(format!("{name}-{users}.log")))?;
    Ok((server, seed))
}

/// Removes the SQLite file `path` and its log and shared-memory files.
fn remove_database(path: &Path) -> std::io::Result<()> {
    for suffix in ["", "-wal", "-shm"] {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        match std::fs::remove_file(&name) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
    }
    Ok(())
}

/// Seeds the empty database `db_url` with `users` users through `seats serve --seed`.
fn seed(seats: &Path, dir: &Path, db_url: &str, users: usize) -> anyhow::Result<Seeded> {
    let (seeding, seed) = serve_seeded(seats, dir, db_url, users, &[], "seed")?;
    let seeded = Seeded {
        load: seeding.start_time,
        peak_mib: seeding.peak_rss_mib(),
    };
    seeding.stop();
    std::fs::remove_file(&seed)?;
    Ok(seeded)
}

/// Starts `nodes` servers on `db_url` and drives them: the load is spread over the nodes
/// connection by connection; cold start and idle memory are the first node's.
async fn traffic(
    seats: &Path,
    dir: &Path,
    db_url: &str,
    nodes: usize,
    users: usize,
    seconds: f64,
    connections: usize,
) -> anyhow::Result<Traffic> {
    let duration = Duration::from_secs_f64(seconds);
    let mut servers = Vec::with_capacity(nodes);
    for node in 0..nodes {
        let log = dir.join(format!("serve-{users}-{nodes}-{node}.log"));
        servers.push(Server::start(
            seats,
            &["serve", "--database", db_url, "--listen", "127.0.0.1:0"],
            &log,
        )?);
    }
    let (cold_start, idle_mib) = (servers[0].start_time, servers[0].rss_mib());
    let addrs: Vec<SocketAddr> = servers.iter().map(|s| s.addr).collect();

    let cpu = |servers: &[Server]| servers.iter().map(Server::cpu_time).sum::<Duration>();
    let before = cpu(&servers);
    let patch = load::run(&addrs, connections, duration, Some(TOKEN), 200, one_seat(users)).await?;
    let patch_cpu_us = cpu_per_request(cpu(&servers) - before, &patch);
    let before = cpu(&servers);
    let verify = load::run(
        &addrs,
        connections,
        duration.min(Duration::from_secs(2)),
        Some(TOKEN),
        200,
        get(|_, _| "/client/v4/user/tokens/verify".to_owned()),
    )
    .await?;
    let verify_cpu_us = cpu_per_request(cpu(&servers) - before, &verify);
    let batches = load::run(&addrs, 4, duration, Some(TOKEN), 200, batch(users)).await?;
    let batch_seats_per_s = batches.per_second() * 1000.0_f64.min(users as f64);
    let users_path = format!("/client/v4/accounts/{ACCOUNT}/access/users");
    let lookup = duration.min(Duration::from_secs(2));
    let before = cpu(&servers);
    let email = load::run(&addrs[..1], 1, lookup, Some(TOKEN), 200, {
        let p = users_path.clone();
        get(move |c, n| format!("{p}?email=user{}@example.com", pick(c, n, users)))
    })
    .await?;
    let email_cpu_us = cpu_per_request(cpu(&servers) - before, &email);
    let email_ms = email.quantile_ms(0.5);
    // A substring naming one user ("r123@e" is only in user123@example.com).
    let search_ms = latency(addrs[0], lookup, {
        let p = users_path.clone();
        get(move |c, n| format!("{p}?search=r{}%40e", pick(c, n, users)))
    })
    .await?;
    let first_page_ms = latency(addrs[0], lookup, get(move |_, _| users_path.clone())).await?;
    // The dashboard's users page: the first, the last (key-set paging: no deeper read), and
    // a seat filter nobody matches (every seeded user holds a Gateway seat), which reads its
    // bound of users and stops.
    let cookie = load::dashboard_cookie(addrs[0], TOKEN).await?;
    let dashboard = format!("/dashboard/accounts/{ACCOUNT}/users");
    let mut dashboard_ms = [0.0; 3];
    for (ms, query) in dashboard_ms.iter_mut().zip(["", "?before=", "?seat=none"]) {
        *ms = latency(addrs[0], lookup, page(format!("{dashboard}{query}"), &cookie)).await?;
    }
    for server in servers {
        server.stop();
    }
    Ok(Traffic {
        cold_start,
        idle_mib,
        patch,
        patch_cpu_us,
        verify_cpu_us,
        email_cpu_us,
        batch_seats_per_s,
        email_ms,
        search_ms,
        first_page_ms,
        dashboard_ms,
    })
}

async fn run(args: Args) -> anyhow::Result<()> {
    let dir = tempfile::Builder::new().prefix("seats-bench").tempdir()?;
    let outcome = measure(args, dir.path()).await;
    if outcome.is_err() {
        // The servers' own account of a failure, before their directory goes.
        print_server_errors(dir.path());
    }
    outcome
}

/// The ERROR and WARN lines of every server log in `dir`, on stderr.
fn print_server_errors(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().is_none_or(|e| e != "log") {
            continue;
        }
        let Ok(log) = std::fs::read_to_string(&path) else {
            continue;
        };
        let lines: Vec<&str> = log
            .lines()
            .filter(|l| l.contains(" ERROR ") || l.contains(" WARN "))
            .collect();
        if !lines.is_empty() {
            eprintln!("{}:", path.display());
            for line in lines.iter().take(20) {
                eprintln!("  {line}");
            }
        }
    }
}

async fn measure(args: Args, dir: &Path) -> anyhow::Result<()> {
    let seats = process::seats_binary()?;
    let duration = Duration::from_secs_f64(args.seconds);

    let me = std::env::current_exe()?;
    if args.instructions {
        return instructions::measure(&seats, &me, dir, &args.sizes).await;
    }
    let baseline_server = Server::start(&me, &["--serve-static", "127.0.0.1:0"], &dir.join("static.log"))?;
    let static_call: MakeCall = get(|_, _| "/".to_owned());
    let cpu_before = baseline_server.cpu_time();
    let baseline = load::run(
        &[baseline_server.addr],
        args.connections,
        duration,
        None,
        200,
        static_call,
    )
    .await?;
    let baseline_cpu_us = cpu_per_request(baseline_server.cpu_time() - cpu_before, &baseline);
    baseline_server.stop();
    println!(
        "static baseline: {:.0} req/s, p50 {:.2} ms, p99 {:.2} ms at {} connections; {baseline_cpu_us:.1} µs of CPU per request",
        baseline.per_second(),
        baseline.quantile_ms(0.5),
        baseline.quantile_ms(0.99),
        args.connections
    );

    if !args.no_sqlite {
        // One Markdown row per size as it is measured, ready for docs/performance.md.
        println!();
        println!("SQLite, durability full:");
        println!();
        println!("| seats | 1-seat PATCH req/s | × baseline | × smallest | PATCH CPU µs/req | × baseline's | token verify CPU µs/req | × baseline's | email CPU µs/req | p50 ms | p99 ms | 1000-seat batches seats/s | email ms | search ms | first page ms | dashboard first / last / no-match page ms | seed load s | seed peak MiB | cold start ms | idle MiB |");
        println!(
            "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
        );
        let mut smallest = None;
        let mut operators = Vec::new();
        for &users in &args.sizes {
            let db_url = format!("sqlite://{}", dir.join(format!("seats-{users}.db")).display());
            let seeded = seed(&seats, dir, &db_url, users)?;
            let t = traffic(&seats, dir, &db_url, 1, users, args.seconds, args.connections).await?;
            // A file of its own, which the node creates with the seed in.
            let toolkit_db = dir.join(format!("seats-{users}-toolkit.db"));
            let toolkit_url = format!("sqlite://{}", toolkit_db.display());
            let toolkit = operator::toolkit(&seats, dir, &toolkit_url, users).await?;
            remove_database(&toolkit_db)?;
            operators.push(toolkit_row(users, &toolkit));
            let smallest = *smallest.get_or_insert(t.patch.per_second());
            println!(
                "| {users} | {:.0} | {:.2} | {:.2} | {:.0} | {:.1} | {:.0} | {:.1} | {:.0} | {} |",
                t.patch.per_second(),
                t.patch.per_second() / baseline.per_second(),
                t.patch.per_second() / smallest,
                t.patch_cpu_us,
                t.patch_cpu_us / baseline_cpu_us,
                t.verify_cpu_us,
                t.verify_cpu_us / baseline_cpu_us,
                t.email_cpu_us,
                common_cells(&seeded, &t)
            );
        }
        print_toolkit_table("SQLite", &operators, "");
    }

    if let Some(admin_url) = &args.postgres {
        let pgbench = postgres::pgbench(admin_url, args.connections, duration).await?;
        println!();
        match pgbench {
            Some(tps) => println!(
                "PostgreSQL, synchronous_commit on; pgbench -N at {} clients on the same server: {tps:.0} tps",
                args.connections
            ),
            None => println!("PostgreSQL, synchronous_commit on; pgbench is not installed, so no pgbench column"),
        }
        println!();
        let mut operators = Vec::new();
        // CPU columns count the `seats` processes only, not PostgreSQL's.
        println!("| seats | nodes | 1-seat PATCH req/s | × pgbench -N | × baseline | seats CPU µs/PATCH | token verify CPU µs/req | email CPU µs/req | p50 ms | p99 ms | 1000-seat batches seats/s | email ms | search ms | first page ms | dashboard first / last / no-match page ms | seed load s | seed peak MiB | cold start ms | idle MiB |");
        println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        for &users in &args.sizes {
            let db = postgres::Database::create(admin_url, &format!("seats_bench_{users}")).await?;
            let seeded = seed(&seats, dir, &db.url, users)?;
            for &nodes in &args.nodes {
                let t = traffic(&seats, dir, &db.url, nodes, users, args.seconds, args.connections).await?;
                let per_second = t.patch.per_second();
                println!(
                    "| {users} | {nodes} | {per_second:.0} | {} | {:.2} | {:.0} | {:.0} | {:.0} | {} |",
                    pgbench.map_or("–".to_owned(), |tps| format!("{:.2}", per_second / tps)),
                    per_second / baseline.per_second(),
                    t.patch_cpu_us,
                    t.verify_cpu_us,
                    t.email_cpu_us,
                    common_cells(&seeded, &t)
                );
            }
            let toolkit = operator::toolkit(&seats, dir, &db.url, users).await?;
            let (plain, tls) =
                operator::tls_patch(&seats, dir, &db.url, duration, args.connections, one_seat(users)).await?;
            operators.push(format!(
                "{} {plain:.0} | {tls:.0} | {:.2} |",
                toolkit_row(users, &toolkit),
                tls / plain
            ));
            db.drop_now().await?;
        }
        print_toolkit_table(
            "PostgreSQL",
            &operators,
            " 1-seat PATCH req/s, sslmode=disable | with sslmode=require | × disable |",
        );
        println!();
        match operator::failover(&seats, dir).await? {
            Some(window) => println!(
                "failover window (a synchronous standby promoted to the first acknowledged write): {:.0} ms",
                window.as_secs_f64() * 1000.0
            ),
            None => println!("failover window: not measured (see the line above)"),
        }
    }
    Ok(())
}

/// The cells of one size in an operator's table (see [`print_toolkit_table`]).
fn toolkit_row(users: usize, t: &operator::Toolkit) -> String {
    format!(
        "| {users} | {:.3} | {:.3} | {:.3} | {:.3} | {:.3} |",
        t.take_s, t.restore_s, t.reset_s, t.reset_again_s, t.reset_edited_s
    )
}

/// An operator's table: the snapshot, restore and resets of [`operator::toolkit`], then the
/// columns `more` names (each ending in `|`).
fn print_toolkit_table(backend: &str, rows: &[String], more: &str) {
    let extra = more.matches('|').count();
    println!();
    println!("{backend}, operator figures (one node; the snapshot, restore and resets through the operator API):");
    println!();
    println!(
        "| seats | snapshot take s | restore s | first reset s | second reset s | reset to the edited seed s |{more}"
    );
    println!("|---:|---:|---:|---:|---:|---:|{}", "---:|".repeat(extra));
    for row in rows {
        println!("{row}");
    }
}

/// CPU time per request served, in µs.
fn cpu_per_request(cpu: Duration, outcome: &Outcome) -> f64 {
    cpu.as_secs_f64() * 1e6 / outcome.requests.max(1) as f64
}

/// The cells both tables share, from p50 on.
fn common_cells(seeded: &Seeded, t: &Traffic) -> String {
    format!(
        "{:.2} | {:.2} | {:.0} | {:.2} | {:.2} | {:.2} | {:.2} / {:.2} / {:.2} | {:.2} | {:.0} | {:.0} | {:.1}",
        t.patch.quantile_ms(0.5),
        t.patch.quantile_ms(0.99),
        t.batch_seats_per_s,
        t.email_ms,
        t.search_ms,
        t.first_page_ms,
        t.dashboard_ms[0],
        t.dashboard_ms[1],
        t.dashboard_ms[2],
        seeded.load.as_secs_f64(),
        seeded.peak_mib,
        t.cold_start.as_secs_f64() * 1000.0,
        t.idle_mib
    )
}
