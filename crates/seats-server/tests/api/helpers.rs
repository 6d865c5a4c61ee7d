//! [`TestApp`]: a real server on a free port over a fresh database, and an HTTP client, built
//! with [`TestApp::builder`] ([`spawn_app`] for the common case).
//!
//! Every test runs through [`on_each_backend`]: once on a fresh SQLite file and, when
//! `SEATS_TEST_POSTGRES_URL` is set, once more on a fresh PostgreSQL schema. A builder opens
//! the backend of the run it is started in.

use std::net::SocketAddr;
use std::sync::Arc;

use reqwest::{Method, RequestBuilder, Response, StatusCode};
use seats_server::{build_router, AppState, ConnectionLimits, ServerConfig, SystemClock};
pub use seats_store::testing::{on_each_backend, TestDb};
use seats_store::{seed, Store, UserRecord};
use serde_json::{json, Value};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub const ACCOUNT: &str = "699d98642c564d2e855e9661899b7252";
pub const OTHER_ACCOUNT: &str = "0123456789abcdef0123456789abcdef";
pub const TOKEN: &str = "Sn3lZJTBX6kkg7OdcBUAxOO963GEIyGQqnFTOFYY";
pub const EMAIL: &str = "user@example.com";
pub const KEY: &str = "144c9defac04969c7bfad8efaa8ea194";
pub const ALICE_SEAT: &str = "f174e90a-fafe-4643-bbbc-4a0ed4fc8415";

pub struct TestApp {
    pub addr: SocketAddr,
    pub client: reqwest::Client,
    pub store: Arc<dyn Store>,
    pub db: TestDb,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<std::io::Result<()>>>,
}

/// How a test's server is built: `TestApp::builder().seed(&seed).start().await`, with the
/// parts a test needs changed. [`spawn_app`] is the common case.
#[must_use]
pub struct TestAppBuilder {
    seed: Option<Value>,
    config: ServerConfig,
    clock: Option<Arc<dyn seats_server::Clock>>,
    operator: bool,
    resettable: bool,
    start_seed: Option<seats_server::toolkit::snapshots::SeedSource>,
    limits: ConnectionLimits,
    database: Option<(TestDb, Option<Arc<dyn Store>>)>,
}

/// The operator key of a server built with [`TestAppBuilder::operator`].
pub const OPERATOR_KEY: &str = "operator-secret-key";

impl TestApp {
    pub fn builder() -> TestAppBuilder {
        TestAppBuilder {
            seed: None,
            config: ServerConfig::default(),
            clock: None,
            operator: false,
            resettable: false,
            start_seed: None,
            limits: ConnectionLimits::default(),
            database: None,
        }
    }
}

impl TestAppBuilder {
    /// Loads `seed` into the fresh database before the server starts.
    pub fn seed(mut self, seed: &Value) -> Self {
        self.seed = Some(seed.clone());
        self
    }

    /// The server's configuration (the operator key of [`Self::operator`] is added to it).
    pub fn config(mut self, config: ServerConfig) -> Self {
        self.config = config;
        self
    }

    /// The clock the server reads (the system clock by default; a manual one with `operator`).
    pub fn clock(mut self, clock: Arc<dyn seats_server::Clock>) -> Self {
        self.clock = Some(clock);
        self
    }

    /// The operator API, with key [`OPERATOR_KEY`], and a manual clock.
    pub fn operator(mut self) -> Self {
        self.operator = true;
        self
    }

    /// `POST /_seats/v1/reset` goes back to the seed (the start-up seed of `seats serve`).
    pub fn resettable(mut self) -> Self {
        self.resettable = true;
        self
    }

    /// The connection layer's limits.
    pub fn limits(mut self, limits: ConnectionLimits) -> Self {
        self.limits = limits;
        self
    }

    /// `POST /_seats/v1/reset` goes back to the seed `source` gives at each reset (a seed file
    /// that may change between resets), in place of [`Self::seed`]'s.
    pub fn start_seed(mut self, source: seats_server::toolkit::snapshots::SeedSource) -> Self {
        self.start_seed = Some(source);
        self
    }

    /// Serves an existing database (e.g. for a restart) instead of a fresh one.
    pub fn database(mut self, db: TestDb) -> Self {
        self.database = Some((db, None));
        self
    }

    /// Serves a store the test opened itself (e.g. through a proxy) over `db`.
    pub fn store(mut self, db: TestDb, store: Arc<dyn Store>) -> Self {
        self.database = Some((db, Some(store)));
        self
    }

    pub async fn start(self) -> TestApp {
        let (db, store) = match self.database {
            Some((db, Some(store))) => (db, store),
            Some((db, None)) => {
                let store = db.open().await;
                (db, store)
            }
            None => {
                let db = TestDb::create().await;
                let store = db.open().await;
                (db, store)
            }
        };
        if let Some(seed) = &self.seed {
            let seed = seed::parse(seed.to_string().as_bytes()).expect("test seed is valid");
            store
                .load_seed(seed, seats_server::Clock::now(&SystemClock))
                .await
                .expect("load seed");
        }
        let mut config = self.config;
        if self.operator {
            config.operator_key = Some(seats_store::secret::Secret::new(OPERATOR_KEY).hash());
        }
        let mut state = match (self.clock, self.operator) {
            (Some(clock), _) => AppState::new(store.clone(), clock, config),
            (None, true) => {
                AppState::with_manual_clock(store.clone(), Arc::new(seats_server::ManualClock::new()), config)
            }
            (None, false) => AppState::new(store.clone(), Arc::new(SystemClock), config),
        };
        if self.resettable {
            let text = self.seed.unwrap_or_else(|| json!({})).to_string();
            state.set_start_seed(Some(Arc::new(move || {
                Ok(seed::parse(text.as_bytes()).expect("test seed is valid"))
            })));
        }
        if let Some(source) = self.start_seed {
            state.set_start_seed(Some(source));
        }
        start(db, store, state, self.limits).await
    }
}

/// Starts the server on a fresh database loaded with `seed`: `TestApp::builder().seed(seed)`.
pub async fn spawn_app(seed: &Value) -> TestApp {
    TestApp::builder().seed(seed).start().await
}

async fn start(db: TestDb, store: Arc<dyn Store>, state: AppState, limits: ConnectionLimits) -> TestApp {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = oneshot::channel::<()>();
    let shutdown = async {
        let _ = rx.await;
    };
    let server = tokio::spawn(seats_server::serve_with(
        listener,
        build_router(state),
        shutdown,
        limits,
    ));
    TestApp {
        addr,
        client: reqwest::Client::new(),
        store,
        db,
        shutdown: Some(tx),
        server: Some(server),
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub fn seats_path(account: &str) -> String {
        format!("/client/v4/accounts/{account}/access/seats")
    }

    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.client.request(method, self.url(path))
    }

    /// PATCH seats of the demo account with the demo token.
    pub async fn patch_seats(&self, body: &Value) -> Response {
        self.patch_seats_as(ACCOUNT, Auth::Token(TOKEN), body).await
    }

    pub async fn patch_seats_as(&self, account: &str, auth: Auth<'_>, body: &Value) -> Response {
        auth.apply(self.request(Method::PATCH, &Self::seats_path(account)))
            .body(body.to_string())
            .send()
            .await
            .expect("request")
    }

    pub async fn user(&self, seat_uid: &str) -> UserRecord {
        self.user_in(ACCOUNT, seat_uid).await
    }

    pub async fn user_in(&self, account: &str, seat_uid: &str) -> UserRecord {
        self.store
            .user_by_seat_uid(account, seat_uid, seats_server::Clock::now(&SystemClock))
            .await
            .unwrap()
            .expect("user exists")
    }

    pub async fn audit_count(&self, account: &str) -> u64 {
        self.store.audit_events(account, 1, 1).await.unwrap().1
    }

    /// Asks the server to shut down gracefully, without waiting.
    pub fn begin_shutdown(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }

    /// Stops the server gracefully and waits for it; the database stays.
    pub async fn stop(mut self) -> TestDb {
        self.begin_shutdown();
        if let Some(server) = self.server.take() {
            server.await.expect("server task").expect("server result");
        }
        self.db.clone()
    }
}

/// The credential a request carries.
#[derive(Clone, Copy)]
pub enum Auth<'a> {
    Token(&'a str),
    Key(&'a str, &'a str),
    None,
}

impl Auth<'_> {
    pub fn apply(self, req: RequestBuilder) -> RequestBuilder {
        match self {
            Auth::Token(t) => req.header("Authorization", format!("Bearer {t}")),
            Auth::Key(email, key) => req.header("X-Auth-Email", email).header("X-Auth-Key", key),
            Auth::None => req,
        }
    }
}

/// Reads a response as status and JSON body.
pub async fn parts(resp: Response) -> (StatusCode, Value) {
    let status = resp.status();
    let text = resp.text().await.expect("body");
    let body = serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"));
    (status, body)
}

/// Asserts a failure response field by field: status, `success`, `result`, and each error's
/// code, message and pointer, in order.
pub async fn assert_error(resp: Response, status: u16, expected: &[(i64, &str, Option<&str>)]) -> Value {
    let (got_status, body) = parts(resp).await;
    assert_eq!(got_status.as_u16(), status, "status of {body}");
    assert_eq!(body["success"], json!(false), "{body}");
    assert_eq!(body["result"], Value::Null, "{body}");
    assert_eq!(body["messages"], json!([]), "{body}");
    let errors = body["errors"].as_array().expect("errors array");
    assert_eq!(errors.len(), expected.len(), "errors of {body}");
    for (err, (code, message, pointer)) in errors.iter().zip(expected) {
        assert_eq!(err["code"], json!(code), "{body}");
        assert_eq!(err["message"], json!(message), "{body}");
        match pointer {
            Some(p) => assert_eq!(err["source"]["pointer"], json!(p), "{body}"),
            None => assert!(err.get("source").is_none(), "unexpected source in {body}"),
        }
    }
    body
}

/// The demo seed plus a second account, and tokens and members that exercise every
/// credential rule.
pub fn test_seed() -> Value {
    let seats_write = json!([{"name": "Zero Trust: Seats Write"}]);
    json!({
        "accounts": [
            {"id": ACCOUNT, "name": "Example account", "seat_limit": 50, "users": [
                {"email": "alice@example.com", "name": "Alice", "seat_uid": ALICE_SEAT,
                 "access_seat": true, "gateway_seat": true, "active_device_count": 2,
                 "last_successful_login": "2099-01-01T00:00:00Z"},
                {"email": "bob@example.com", "name": "Bob", "seat_uid": "bob", "access_seat": false, "gateway_seat": false},
                {"email": "carol@example.com", "name": "Carol", "seat_uid": "carol", "access_seat": true, "gateway_seat": false}
            ]},
            {"id": OTHER_ACCOUNT, "name": "Other", "seat_limit": 1, "users": [
                {"email": "dave@example.com", "seat_uid": "dave", "access_seat": true, "gateway_seat": false},
                {"email": "erin@example.com", "seat_uid": "erin"}
            ]}
        ],
        "members": [
            {"email": EMAIL, "api_key": KEY, "accounts": [ACCOUNT]},
            {"email": "other@example.com", "api_key": "0000000000000000000000000000000000000000", "accounts": [OTHER_ACCOUNT]}
        ],
        "tokens": [
            {"id": "demo", "name": "demo", "value": TOKEN, "policies": [{"effect": "allow",
                "resources": {format!("com.cloudflare.api.account.{ACCOUNT}"): "*"},
                "permission_groups": [{"name": "Zero Trust: Seats Write"}, {"name": "Access: Audit Logs Read"}]}]},
            {"id": "wildcard", "name": "all accounts", "value": "wildcard-token", "policies": [{"effect": "allow",
                "resources": {"com.cloudflare.api.account.*": "*"}, "permission_groups": seats_write}]},
            {"id": "denied", "name": "all but demo", "value": "deny-token", "policies": [
                {"effect": "allow", "resources": {"com.cloudflare.api.account.*": "*"}, "permission_groups": seats_write},
                {"effect": "deny", "resources": {format!("com.cloudflare.api.account.{ACCOUNT}"): "*"}, "permission_groups": seats_write}]},
            {"id": "readonly", "name": "audit only", "value": "read-token", "policies": [{"effect": "allow",
                "resources": {"com.cloudflare.api.account.*": "*"}, "permission_groups": [{"name": "Access: Audit Logs Read"}]}]},
            {"id": "disabled", "name": "disabled", "value": "disabled-token", "status": "disabled", "policies": [{"effect": "allow",
                "resources": {"com.cloudflare.api.account.*": "*"}, "permission_groups": seats_write}]},
            {"id": "expired", "name": "expired", "value": "expired-token", "expires_on": "2020-01-01T00:00:00Z", "policies": [{"effect": "allow",
                "resources": {"com.cloudflare.api.account.*": "*"}, "permission_groups": seats_write}]},
            {"id": "future", "name": "not yet", "value": "future-token", "not_before": "2099-01-01T00:00:00Z", "policies": [{"effect": "allow",
                "resources": {"com.cloudflare.api.account.*": "*"}, "permission_groups": seats_write}]}
        ]
    })
}

/// The request of the seed documents' curl example.
pub fn example_body() -> Value {
    json!([{"access_seat": false, "gateway_seat": false, "seat_uid": ALICE_SEAT}])
}

pub fn item(uid: &str, access: bool, gateway: bool) -> Value {
    json!({"access_seat": access, "gateway_seat": gateway, "seat_uid": uid})
}

impl TestApp {
    /// A call to the operator API with the operator key; returns status and body.
    pub async fn operator(&self, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        parts(self.operator_raw(method, path, body).await).await
    }

    /// The same call, returning the response itself (for headers and [`assert_error`]).
    pub async fn operator_raw(&self, method: Method, path: &str, body: Option<Value>) -> reqwest::Response {
        let mut req = self
            .request(method, &format!("/_seats/v1{path}"))
            .bearer_auth(OPERATOR_KEY);
        if let Some(body) = body {
            req = req.body(body.to_string());
        }
        req.send().await.unwrap()
    }

    /// A call to the Cloudflare API with a credential; returns status and body.
    pub async fn call(&self, method: Method, path: &str, auth: Auth<'_>, body: Option<Value>) -> (StatusCode, Value) {
        let mut req = auth.apply(self.request(method, &format!("/client/v4{path}")));
        if let Some(body) = body {
            req = req.body(body.to_string());
        }
        parts(req.send().await.unwrap()).await
    }
}

/// The `name=value` of the cookie `name` a response sets.
pub fn set_cookie(resp: &Response, name: &str) -> Option<String> {
    resp.headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_owned())
        .find(|c| c.starts_with(&format!("{name}=")))
}

/// Posts the dashboard's sign-in form as a browser does: the form first (its cookie and the
/// value the form carries), then `fields` with that value. `client` follows no redirect.
pub async fn post_sign_in(client: &reqwest::Client, app: &TestApp, fields: &[(&str, &str)]) -> Response {
    let url = app.url("/dashboard/sign-in");
    let form = client.get(&url).send().await.unwrap();
    let cookie = set_cookie(&form, "seats_dashboard_sign_in").expect("the form's cookie");
    let nonce = cookie.split_once('=').unwrap().1.to_owned();
    let mut fields = fields.to_vec();
    fields.push(("nonce", &nonce));
    client
        .post(&url)
        .header("cookie", &cookie)
        .form(&fields)
        .send()
        .await
        .unwrap()
}
