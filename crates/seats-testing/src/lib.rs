//! An in-process seats server for Rust tests, in the manner of `wiremock`'s `MockServer`: one
//! dev-dependency, one line.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! use seats_testing::TestServer;
//!
//! let seats = TestServer::start().await;
//! // The Cloudflare API lives under `/client/v4`, as `api.cloudflare.com` serves it.
//! let answer = reqwest::Client::new()
//!     .get(format!("{}/accounts/{}/access/users", seats.api_base_url(), seats.account_id()))
//!     .bearer_auth(seats.token())
//!     .send()
//!     .await
//!     .unwrap();
//! assert_eq!(answer.status(), 200);
//!
//! // The test toolkit: back to the seed (and no faults, an empty journal) between tests.
//! seats.reset().await.unwrap();
//! # }
//! ```
//!
//! Each server has a fresh SQLite database in a temporary directory, listens on a free port
//! of 127.0.0.1, and holds the demo data of `seats serve --demo` (or a seed of the test's:
//! [`TestServer::builder`]). Its operator API (reset, faults, the journal, snapshots) is
//! served under a random key, reached through the methods here. Dropping the server stops it
//! and removes its database.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use seats_server::toolkit::snapshots::SeedSource;
use seats_server::{build_router, AppState, ManualClock, ServerConfig, SystemClock};
use seats_store::secret::Secret;
use seats_store::seed::{self, SeedDocument};
use seats_store::sqlite::SqliteStore;
use seats_store::{Durability, Store};
use serde_json::Value;

/// The account of the demo data.
pub const DEMO_ACCOUNT_ID: &str = "699d98642c564d2e855e9661899b7252";
/// The member of the demo data, whose global API key is [`seats_types::formats::DEMO_API_KEY`].
pub const DEMO_EMAIL: &str = "user@example.com";

/// Why a test server could not start, or the operator API refused a call.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("the seed is not valid: {0}")]
    Seed(String),
    #[error("cannot open the test database: {0}")]
    Store(#[from] seats_store::StoreError),
    #[error("cannot start the test server: {0}")]
    Io(#[from] std::io::Error),
    #[error("the operator API answered {status}: {body}")]
    Operator { status: u16, body: String },
    #[error("the operator API could not be reached: {0}")]
    Http(#[from] reqwest::Error),
}

/// What the server starts with.
enum Seed {
    Demo,
    Empty,
    Json(String),
    File(PathBuf),
}

/// Settings of a [`TestServer`], from [`TestServer::builder`].
pub struct Builder {
    seed: Seed,
    manual_clock: bool,
    config: ServerConfig,
}

impl Builder {
    /// Starts with this seed document (JSON, as `seats serve --seed` reads), not the demo data.
    pub fn seed_json(mut self, json: impl Into<String>) -> Self {
        self.seed = Seed::Json(json.into());
        self
    }

    /// Starts with the seed in this file.
    pub fn seed_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.seed = Seed::File(path.into());
        self
    }

    /// Starts with an empty database (reset empties it again).
    pub fn empty(mut self) -> Self {
        self.seed = Seed::Empty;
        self
    }

    /// Time stands still until the test moves it ([`TestServer::advance_clock`]).
    pub fn manual_clock(mut self) -> Self {
        self.manual_clock = true;
        self
    }

    /// Server settings (body cap, rate limit, ...); the operator key is always the server's own.
    pub fn config(mut self, config: ServerConfig) -> Self {
        self.config = config;
        self
    }

    /// Starts the server; panics, saying why, if it cannot (see [`Builder::try_start`]).
    pub async fn start(self) -> TestServer {
        self.try_start().await.unwrap_or_else(|e| panic!("{e}"))
    }

    pub async fn try_start(self) -> Result<TestServer, Error> {
        let is_demo = matches!(self.seed, Seed::Demo);
        let source: Option<SeedSource> = match self.seed {
            Seed::Demo => Some(Arc::new(|| {
                seed::parse(seed::DEMO_SEED.as_bytes()).map_err(|e| std::io::Error::other(e.to_string()))
            })),
            Seed::Empty => None,
            Seed::Json(json) => {
                seed::parse(json.as_bytes()).map_err(|e| Error::Seed(e.to_string()))?;
                Some(Arc::new(move || {
                    seed::parse(json.as_bytes()).map_err(|e| std::io::Error::other(e.to_string()))
                }))
            }
            Seed::File(path) => {
                SeedDocument::open(&path).map_err(|e| Error::Seed(format!("{}: {e}", path.display())))?;
                Some(Arc::new(move || SeedDocument::open(&path)))
            }
        };
        let dir = tempfile::tempdir()?;
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open(dir.path().join("seats.db"), Durability::Relaxed)?);
        let operator_key = hex_key();
        let config = ServerConfig {
            operator_key: Some(Secret::new(operator_key.as_str()).hash()),
            demo: is_demo || self.config.demo,
            ..self.config
        };
        let clock = self.manual_clock.then(|| Arc::new(ManualClock::new()));
        let mut state = match &clock {
            Some(clock) => AppState::with_manual_clock(store.clone(), clock.clone(), config),
            None => AppState::new(store.clone(), Arc::new(SystemClock), config),
        };
        if let Some(source) = &source {
            let doc = source().map_err(|e| Error::Seed(e.to_string()))?;
            store
                .load_seed(doc, seats_server::Clock::now(&*state.clock))
                .await
                .map_err(|e| match e {
                    seats_store::StoreError::InvalidSeed(problems) => Error::Seed(problems.to_string()),
                    other => Error::Store(other),
                })?;
        }
        state.set_start_seed(source);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(seats_server::serve(listener, build_router(state), async {
            let _ = stopped.await;
        }));
        Ok(TestServer {
            addr,
            operator_key,
            store,
            http: reqwest::Client::new(),
            stop: Some(stop),
            server,
            _dir: dir,
        })
    }
}

/// 32 random bytes as hex: the operator key of one test server.
fn hex_key() -> String {
    hex::encode(rand::random::<[u8; 32]>())
}

/// A seats server running in this process, on its own port and database; stopped on drop.
pub struct TestServer {
    addr: SocketAddr,
    operator_key: String,
    store: Arc<dyn Store>,
    http: reqwest::Client,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
    _dir: tempfile::TempDir,
}

impl std::fmt::Debug for TestServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestServer")
            .field("uri", &self.uri())
            .finish_non_exhaustive()
    }
}

impl TestServer {
    /// A server with the demo data; panics, saying why, if it cannot start.
    pub async fn start() -> TestServer {
        Self::builder().start().await
    }

    pub fn builder() -> Builder {
        Builder {
            seed: Seed::Demo,
            manual_clock: false,
            config: ServerConfig::default(),
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn uri(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The base URL the official SDKs and `seats-client` take: `http://127.0.0.1:PORT/client/v4`.
    pub fn api_base_url(&self) -> String {
        format!("{}/client/v4", self.uri())
    }

    pub fn address(&self) -> SocketAddr {
        self.addr
    }

    /// The demo data's API token (every permission on the demo account).
    pub fn token(&self) -> &'static str {
        seats_types::formats::DEMO_API_TOKEN
    }

    /// The demo data's account id.
    pub fn account_id(&self) -> &'static str {
        DEMO_ACCOUNT_ID
    }

    /// The demo member's email and global API key.
    pub fn api_key(&self) -> (&'static str, &'static str) {
        (DEMO_EMAIL, seats_types::formats::DEMO_API_KEY)
    }

    /// This server's operator key (random), for calls of the operator API made by hand.
    pub fn operator_key(&self) -> &str {
        &self.operator_key
    }

    /// The server's storage, for assertions beneath the API.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// Calls the operator API (`/_seats/v1{path}`); the `result` of its envelope.
    pub async fn operator(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Result<Value, Error> {
        let mut request = self
            .http
            .request(method, format!("{}/_seats/v1{path}", self.uri()))
            .bearer_auth(&self.operator_key);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await?;
        let status = response.status().as_u16();
        let text = response.text().await?;
        if !(200..300).contains(&status) {
            return Err(Error::Operator { status, body: text });
        }
        let envelope: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        Ok(envelope.get("result").cloned().unwrap_or(Value::Null))
    }

    /// Back to the seed: its data, no fault rules, an empty journal, the clock at now.
    pub async fn reset(&self) -> Result<(), Error> {
        self.operator(reqwest::Method::POST, "/reset", None).await.map(drop)
    }

    /// The requests the server received, oldest first (see the journal's filters, e.g.
    /// `?operation_id=zero-trust-seats-update-a-user-seat`, in `query`).
    pub async fn journal(&self, query: &str) -> Result<Vec<Value>, Error> {
        let result = self
            .operator(reqwest::Method::GET, &format!("/journal{query}"), None)
            .await?;
        Ok(result.as_array().cloned().unwrap_or_default())
    }

    /// Adds a fault rule (e.g. `{"match": {"operation_id": "..."}, "action": {"status": 429},
    /// "times": 1}`: docs/testing.md lists them all); the rule as stored, with its id.
    pub async fn add_fault(&self, rule: Value) -> Result<Value, Error> {
        self.operator(reqwest::Method::POST, "/faults", Some(rule)).await
    }

    /// Removes every fault rule.
    pub async fn clear_faults(&self) -> Result<(), Error> {
        self.operator(reqwest::Method::DELETE, "/faults", None).await.map(drop)
    }

    /// Moves a manual clock forward (`"800h"`); only with [`Builder::manual_clock`].
    pub async fn advance_clock(&self, by: &str) -> Result<Value, Error> {
        let body = serde_json::json!({ "advance": by });
        self.operator(reqwest::Method::POST, "/clock", Some(body)).await
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        // The runtime may be ending with the test: do not wait for the graceful close.
        self.server.abort();
    }
}
