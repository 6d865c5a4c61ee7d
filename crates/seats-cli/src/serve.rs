//! `seats serve`: open the store, load a seed, bind, serve until SIGTERM/SIGINT.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::{Args, ValueEnum};
use seats_server::{build_router, AppState, Clock, ConnectionLimits, ManualClock, ServerConfig, SystemClock};
use seats_store::secret::Secret;
use seats_store::{seed, DatabaseUrl, Durability, PendingImage, Store, StoreError};
use seats_types::Timestamp;
use tokio::net::TcpListener;

use crate::{database, log_writer};

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, env = "SEATS_LISTEN", default_value = "127.0.0.1:8788")]
    listen: SocketAddr,
    /// `sqlite://PATH`, a plain file path, or `postgres://...` [default: sqlite://seats.db;
    /// with --demo, a temporary database removed at exit]
    #[arg(long, env = "SEATS_DATABASE", value_parser = parse_database)]
    database: Option<DatabaseArg>,
    /// Load this seed file into an empty database before serving.
    #[arg(long, env = "SEATS_SEED", value_name = "FILE")]
    seed: Option<PathBuf>,
    /// Load the built-in demo data (the values of Cloudflare's examples).
    #[arg(long, env = "SEATS_DEMO", conflicts_with = "seed")]
    demo: bool,
    /// Serve the operator API under /_seats/v1, guarded by this key (prefer SEATS_OPERATOR_KEY:
    /// command lines are visible to other users of the machine).
    #[arg(long, env = "SEATS_OPERATOR_KEY", hide_env_values = true, value_name = "KEY", value_parser = parse_secret)]
    operator_key: Option<Secret>,
    /// Let the operator move the clock forward (POST /_seats/v1/clock), for tests and demos.
    #[arg(long, env = "SEATS_MANUAL_CLOCK")]
    manual_clock: bool,
    /// Largest accepted request body, in bytes.
    #[arg(long, env = "SEATS_MAX_BODY_BYTES", default_value_t = 1024 * 1024)]
    max_body_bytes: usize,
    /// Most seats in one PATCH body.
    #[arg(long, env = "SEATS_MAX_BATCH", default_value_t = 1000)]
    max_batch: usize,
    /// `full`: fsync every commit. `relaxed`: survives a process crash, not a power loss.
    #[arg(long, env = "SEATS_DURABILITY", value_enum, default_value_t = DurabilityArg::Full)]
    durability: DurabilityArg,
    /// PostgreSQL only: most database connections this node holds.
    #[arg(long, env = "SEATS_POOL_SIZE", default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pool_size: u32,
    /// PostgreSQL only: longest a statement may run, and (plus a second) a request may wait
    /// for the database before it is answered with an error, e.g. `5s`, `500ms`.
    #[arg(long, env = "SEATS_STATEMENT_TIMEOUT", default_value = "5s", value_parser = parse_timeout)]
    statement_timeout: std::time::Duration,
    /// Most connections served at once; one more is answered 503 (10003) with Retry-After.
    #[arg(long, env = "SEATS_MAX_CONNECTIONS", default_value_t = 1024, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    max_connections: u32,
    /// Of those, most from one client address (0: no cap); one more is answered 503 (10003).
    #[arg(long, env = "SEATS_MAX_CONNECTIONS_PER_ADDRESS", default_value_t = 64, value_parser = clap::value_parser!(u32).range(0..=1_000_000))]
    max_connections_per_address: u32,
    /// Longest a request's headers may take to arrive: from the accept for a connection's first
    /// request (a connection that sends nothing is closed then), from their first byte after.
    #[arg(long, env = "SEATS_HEADER_TIMEOUT", default_value = "10s", value_parser = parse_timeout)]
    header_timeout: std::time::Duration,
    /// Longest a kept-alive connection may wait for its next request.
    #[arg(long, env = "SEATS_IDLE_TIMEOUT", default_value = "60s", value_parser = parse_timeout)]
    idle_timeout: std::time::Duration,
    /// Longest a request body may take to arrive in all (408, 12008 past it).
    #[arg(long, env = "SEATS_BODY_TIMEOUT", default_value = "30s", value_parser = parse_timeout)]
    body_timeout: std::time::Duration,
    /// Longest a request body may pause between two pieces (408, 12008 past it).
    #[arg(long, env = "SEATS_BODY_CHUNK_TIMEOUT", default_value = "10s", value_parser = parse_timeout)]
    body_chunk_timeout: std::time::Duration,
    /// Cloudflare's rate limit: N requests per credential per window, e.g. 1200/5m (Cloudflare's);
    /// past it 429 (971) with Retry-After. Off unless given.
    #[arg(long, env = "SEATS_RATE_LIMIT", value_name = "N/DURATION")]
    rate_limit: Option<seats_server::rate_limit::RateLimit>,
    /// Requests the journal keeps for the operator API's /_seats/v1/journal (0 turns it off).
    #[arg(long, env = "SEATS_JOURNAL_SIZE", default_value_t = 1000)]
    journal_size: usize,
    /// Wrong secrets (API tokens, global keys, the operator key, SCIM secrets, dashboard
    /// sign-ins) one client address may send per window before its requests are refused
    /// with 429 (971) until the window ends, e.g. 30/5m; `off` turns it off.
    #[arg(long, env = "SEATS_FAILED_AUTH_LIMIT", value_name = "N/DURATION|off", default_value = "30/5m", value_parser = parse_failed_auth_limit)]
    failed_auth_limit: FailedAuthLimit,
    /// Wrong secrets for one target (the operator key, one identity provider's SCIM endpoint,
    /// one member's global key), from any address, per window before that target is refused
    /// to everyone until the window ends, e.g. 100/5m; `off` turns it off.
    #[arg(long, env = "SEATS_FAILED_AUTH_TARGET_LIMIT", value_name = "N/DURATION|off", default_value = "100/5m", value_parser = parse_failed_auth_limit)]
    failed_auth_target_limit: FailedAuthLimit,
    /// Where clients reach the server behind a proxy, e.g. https://seats.example.com: SCIM
    /// base URLs use it, and with https the dashboard's cookies are `Secure`.
    #[arg(long, env = "SEATS_PUBLIC_URL", value_name = "URL")]
    public_url: Option<seats_server::config::PublicUrl>,
    /// A dashboard session ends after this long without a request.
    #[arg(long, env = "SEATS_DASHBOARD_IDLE_TIMEOUT", default_value = "30m", value_parser = parse_timeout)]
    dashboard_idle_timeout: std::time::Duration,
    /// A dashboard session ends this long after sign-in, whatever its use.
    #[arg(long, env = "SEATS_DASHBOARD_SESSION_LIFETIME", default_value = "12h", value_parser = parse_timeout)]
    dashboard_session_lifetime: std::time::Duration,
    /// Show each account's seats in use and limit on /metrics, by account id. Off by default:
    /// /metrics takes no credential, and the API does not reveal which accounts exist.
    #[arg(long, env = "SEATS_METRICS_ACCOUNT_LABELS")]
    metrics_account_labels: bool,
    /// /metrics asks for this bearer token (401 without it), and then shows each account by
    /// id as --metrics-account-labels does (prefer SEATS_METRICS_TOKEN).
    #[arg(long, env = "SEATS_METRICS_TOKEN", hide_env_values = true, value_name = "TOKEN", value_parser = parse_secret)]
    metrics_token: Option<Secret>,
    /// Keep request and response bodies in the journal (secret fields redacted).
    #[arg(long, env = "SEATS_JOURNAL_BODIES")]
    journal_bodies: bool,
    /// Log format.
    #[arg(long, env = "SEATS_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
}

fn parse_secret(s: &str) -> Result<Secret, String> {
    Ok(Secret::new(s))
}

/// `--database`: a URL that may carry a password, which `Debug` never shows.
#[derive(Clone)]
struct DatabaseArg(String);

impl std::fmt::Debug for DatabaseArg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let shown = seats_store::url::redacted(&self.0);
        f.debug_tuple("DatabaseArg").field(&shown).finish()
    }
}

fn parse_database(s: &str) -> Result<DatabaseArg, String> {
    Ok(DatabaseArg(s.to_owned()))
}

fn parse_timeout(s: &str) -> Result<std::time::Duration, String> {
    match seats_types::parse_go_duration(s) {
        Ok(d) if !d.is_zero() => Ok(d),
        Ok(_) => Err("must be more than zero".into()),
        Err(e) => Err(format!("{e} (write e.g. 5s or 500ms)")),
    }
}

/// `--failed-auth-limit`: a limit, or `off`.
#[derive(Debug, Clone, Copy)]
struct FailedAuthLimit(Option<seats_server::rate_limit::RateLimit>);

fn parse_failed_auth_limit(s: &str) -> Result<FailedAuthLimit, String> {
    if s.trim().eq_ignore_ascii_case("off") {
        return Ok(FailedAuthLimit(None));
    }
    s.parse().map(|limit| FailedAuthLimit(Some(limit)))
}

/// The shortest operator key `seats serve` takes outside `--demo`: 32 characters, e.g. the
/// 64 of `openssl rand -hex 32`.
const MIN_OPERATOR_KEY: usize = 32;

#[derive(Debug, Clone, Copy, ValueEnum)]
enum DurabilityArg {
    Full,
    Relaxed,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

pub fn run(args: ServeArgs) -> ExitCode {
    let flusher = match init_tracing(args.log_format) {
        Ok(flusher) => flusher,
        Err(e) => {
            eprintln!("error: cannot start the log's thread: {e}");
            return ExitCode::FAILURE;
        }
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = runtime.block_on(serve(args));
    // The log's last lines, before the error that ends it.
    drop(flusher);
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Logs to stderr through [`log_writer`]; the log's last lines are written when the returned
/// flusher is dropped.
fn init_tracing(format: LogFormat) -> std::io::Result<log_writer::Flusher> {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // Colours only on a terminal, so piped and collected logs stay plain text.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let (writer, flusher) = log_writer::start(std::io::stderr())?;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(ansi);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
    Ok(flusher)
}

/// The seed `POST /_seats/v1/reset` loads again: the file (read anew) or the demo.
fn start_seed(args: &ServeArgs) -> Option<seats_server::toolkit::snapshots::SeedSource> {
    match (&args.seed, args.demo) {
        (Some(path), _) => {
            let path = path.clone();
            Some(std::sync::Arc::new(move || seed::SeedDocument::open(&path)))
        }
        (None, true) => Some(std::sync::Arc::new(|| {
            seed::parse(seed::DEMO_SEED.as_bytes()).map_err(|e| std::io::Error::other(e.to_string()))
        })),
        (None, false) => None,
    }
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    if let Some(key) = args.operator_key.as_ref().filter(|k| !k.expose().is_empty()) {
        let length = key.expose().chars().count();
        if length < MIN_OPERATOR_KEY && !args.demo {
            anyhow::bail!(
                "the operator key is {length} characters; it must have at least {MIN_OPERATOR_KEY} \
                 (make one with `openssl rand -hex 32`), or run with --demo"
            );
        }
    }
    // A seed file is checked while it streams into the database, in one transaction: a
    // problem anywhere rolls it all back (and a new SQLite file is never put in place).
    let seed = match (&args.seed, args.demo) {
        (Some(path), _) => Some((
            seed::SeedDocument::open(path).with_context(|| format!("cannot read seed file {}", path.display()))?,
            path.display().to_string(),
        )),
        (None, true) => Some((
            seed::parse(seed::DEMO_SEED.as_bytes()).context("built-in demo seed")?,
            "built-in demo seed".to_owned(),
        )),
        (None, false) => None,
    };

    // With --demo and no database chosen, use a temporary one that goes away at exit.
    let mut _temp_dir = None;
    let database = match (&args.database, args.demo) {
        (Some(url), _) => url.0.clone(),
        (None, true) => {
            let dir = tempfile::tempdir().context("creating a temporary directory for the demo database")?;
            let path = dir.path().join("seats-demo.db");
            _temp_dir = Some(dir);
            path.display().to_string()
        }
        (None, false) => "sqlite://seats.db".to_owned(),
    };
    let durability = match args.durability {
        DurabilityArg::Full => Durability::Full,
        DurabilityArg::Relaxed => Durability::Relaxed,
    };
    let url = database.parse::<DatabaseUrl>()?;
    let options = database::Options {
        durability,
        pool_size: args.pool_size as usize,
        statement_timeout: args.statement_timeout,
    };
    let manual_clock = args.manual_clock.then(|| Arc::new(ManualClock::new()));
    let clock: Arc<dyn Clock> = match &manual_clock {
        Some(manual) => manual.clone(),
        None => Arc::new(SystemClock),
    };
    // What the seed left, as an image a reset can put back (SQLite), with the seed's digest
    // and the time of its load; only where this server loaded it.
    let mut first_state = None;
    let loaded_at = clock.now();
    let store = match (&url, seed) {
        // A new SQLite file is written once with its seed in it; nothing is left on failure.
        (DatabaseUrl::Sqlite(path), Some((seed, source))) if !path.exists() => {
            let started = std::time::Instant::now();
            let (seed, digest) = seed.hashed();
            let (store, summary, image) = database::create_seeded(path, &options, seed, loaded_at)
                .await
                .map_err(|e| seed_error(e, &source))?;
            seed_loaded(&summary, started);
            first_state = image.map(|image| (digest, image));
            store
        }
        (_, seed) => {
            let store = database::open(&url, &options).await?;
            if let Some((seed, source)) = seed {
                let (seed, digest) = seed.hashed();
                let image = load_seed(&*store, seed, &source, loaded_at).await?;
                first_state = image.map(|image| (digest, image));
            }
            store
        }
    };

    let operator_key = args
        .operator_key
        .as_ref()
        .filter(|k| !k.expose().is_empty())
        .map(Secret::hash);
    if operator_key.is_none() && args.manual_clock {
        tracing::warn!("--manual-clock without --operator-key: nobody can move the clock");
    }
    let config = ServerConfig {
        max_body_bytes: args.max_body_bytes,
        max_batch: args.max_batch,
        operator_key,
        body_chunk_timeout: args.body_chunk_timeout,
        body_timeout: args.body_timeout,
        rate_limit: args.rate_limit,
        journal_size: args.journal_size,
        journal_bodies: args.journal_bodies,
        demo: args.demo && args.seed.is_none(),
        failed_auth_limit: args.failed_auth_limit.0,
        failed_auth_target_limit: args.failed_auth_target_limit.0,
        public_url: args.public_url.clone(),
        dashboard_idle_timeout: args.dashboard_idle_timeout,
        dashboard_session_lifetime: args.dashboard_session_lifetime,
        metrics_account_labels: args.metrics_account_labels,
        metrics_token: args.metrics_token.as_ref().map(Secret::hash),
    };
    raise_descriptor_limit(args.max_connections as usize);
    let limits = ConnectionLimits {
        max_connections: args.max_connections as usize,
        max_connections_per_address: args.max_connections_per_address as usize,
        header_timeout: args.header_timeout,
        idle_timeout: args.idle_timeout,
        ..ConnectionLimits::default()
    };
    let mut state = match manual_clock {
        Some(manual) => AppState::with_manual_clock(store, manual, config),
        None => AppState::new(store, clock, config),
    };
    state.set_start_seed(start_seed(&args));
    if let Some((digest, image)) = first_state {
        state
            .toolkit
            .seed_image
            .started_with(digest.finish(), loaded_at, image)
            .await;
    }
    // The first expiry sweep runs before the port opens, then hourly.
    state.sweeper.run_if_due(&state).await;
    seats_server::sweep::spawn(state.clone());
    let router = build_router(state);
    let listener = TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let addr = listener.local_addr()?;
    tracing::info!(%addr, "listening");
    // On stdout, for scripts and tests that start the server on port 0.
    // One write, whose failure is ignored: a reader that takes the first line and closes
    // the pipe (as scripts do) must not stop the server.
    let mut shown = addr;
    if shown.ip().is_unspecified() {
        shown.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
    }
    let mut banner = format!("seats listening on http://{addr}\ndashboard: http://{shown}/dashboard\n");
    if args.demo && args.seed.is_none() {
        banner.push_str(&format!(
            "sign in with the demo token {}\n",
            seats_types::formats::DEMO_API_TOKEN
        ));
    }
    {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(banner.as_bytes()).and_then(|()| out.flush());
    }
    seats_server::serve_with(listener, router, shutdown_signal(), limits).await?;
    tracing::info!("stopped");
    Ok(())
}

/// Descriptors the server needs beside its connections: database files and connections,
/// the listener, the runtime's own.
const SPARE_DESCRIPTORS: usize = 64;

/// Raises the soft limit on open files to the hard limit, as Go's runtime does, so the
/// connection cap rather than the descriptor table bounds connections; says so when even the
/// hard limit is below the cap.
fn raise_descriptor_limit(max_connections: usize) {
    let wanted = (max_connections + SPARE_DESCRIPTORS) as u64;
    match rlimit::increase_nofile_limit(wanted) {
        Ok(limit) if limit < wanted => tracing::warn!(
            limit,
            max_connections,
            "the open-file limit is below --max-connections plus {SPARE_DESCRIPTORS}; connections past it wait for a descriptor"
        ),
        Ok(limit) => tracing::debug!(limit, "open-file limit"),
        Err(e) => tracing::warn!(error = %e, "cannot read or raise the open-file limit"),
    }
}

/// Loads `seed` into the opened store if it is empty (another node may have loaded it first),
/// with the image of what it left where the store makes one.
async fn load_seed(
    store: &dyn Store,
    seed: seed::SeedDocument,
    source: &str,
    now: Timestamp,
) -> anyhow::Result<Option<PendingImage>> {
    if !store.is_empty().await? {
        tracing::warn!("the database already holds data; the seed was not loaded");
        return Ok(None);
    }
    let started = std::time::Instant::now();
    match store.load_seed_with_image(seed, now).await {
        Ok((summary, image)) => {
            seed_loaded(&summary, started);
            Ok(image)
        }
        // Another node started with the same seed loaded it first.
        Err(StoreError::Conflict(_)) => {
            tracing::warn!("the database already holds data; the seed was not loaded");
            Ok(None)
        }
        Err(e) => Err(seed_error(e, source)),
    }
}

fn seed_loaded(summary: &seed::SeedSummary, started: std::time::Instant) {
    tracing::info!(
        users = summary.users,
        accounts = summary.accounts,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "seed loaded"
    );
}

/// A seed that did not load, its problems each named with the seed's `source`.
fn seed_error(e: StoreError, source: &str) -> anyhow::Error {
    match e {
        StoreError::InvalidSeed(e) => {
            let lines: Vec<String> = e.problems.iter().map(|p| format!("{source}: {p}")).collect();
            anyhow::anyhow!("invalid seed file, nothing was loaded:\n{}", lines.join("\n"))
        }
        other => anyhow::Error::new(other).context("loading the seed"),
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down: finishing in-flight requests");
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        serve: ServeArgs,
    }

    #[test]
    fn secrets_never_show_in_the_arguments_debug_output() {
        let cli = Cli::parse_from([
            "seats",
            "--operator-key",
            "0123456789abcdef0123456789abcdef-operator",
            "--database",
            "postgres://seats:db-password@db.internal:5432/seats",
        ]);
        let shown = format!("{:?}", cli.serve);
        assert!(
            !shown.contains("-operator") && !shown.contains("db-password"),
            "{shown}"
        );
        assert!(shown.contains("postgres://seats:***@db.internal:5432/seats"), "{shown}");
        assert!(shown.contains("Secret(***)"), "{shown}");
        assert_eq!(
            cli.serve.operator_key.unwrap().expose(),
            "0123456789abcdef0123456789abcdef-operator"
        );
    }
}
