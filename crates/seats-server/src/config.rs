//! Limits and settings of the HTTP layer.

use std::time::Duration;

/// Settings the handlers read. The CLI fills them from flags and `SEATS_*` variables.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Largest accepted request body; larger is 413 (12007).
    pub max_body_bytes: usize,
    /// Most items in one `PATCH .../access/seats` body.
    pub max_batch: usize,
    /// The hash of the operator key; `None` leaves the operator API unserved (404 7000).
    pub operator_key: Option<seats_store::secret::SecretHash>,
    /// Longest wait for the next piece of a request body; longer is 408 (12008).
    pub body_chunk_timeout: Duration,
    /// Longest a whole request body may take to arrive; longer is 408 (12008).
    pub body_timeout: Duration,
    /// Cloudflare's rate limit, off when `None` (see [`crate::rate_limit`]).
    pub rate_limit: Option<crate::rate_limit::RateLimit>,
    /// Wrong secrets one client address may send in a window before it is refused, off when
    /// `None` (see [`crate::failed_auth`]).
    pub failed_auth_limit: Option<crate::rate_limit::RateLimit>,
    /// Requests the journal keeps (0 turns it off); see [`crate::toolkit`].
    pub journal_size: usize,
    /// Keep request and response bodies in the journal, secrets redacted.
    pub journal_bodies: bool,
    /// Started with `--demo`: the dashboard's sign-in page fills in the demo token.
    pub demo: bool,
    /// Dashboard cookies carry `Secure` (the server is reached over HTTPS, through a proxy).
    pub secure_cookies: bool,
    /// A dashboard session ends after this long without a request.
    pub dashboard_idle_timeout: Duration,
    /// A dashboard session ends this long after sign-in, whatever its use.
    pub dashboard_session_lifetime: Duration,
    /// `/metrics` shows each account's seats by account id (see [`crate::metrics`]).
    pub metrics_account_labels: bool,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            max_body_bytes: 1024 * 1024,
            max_batch: 1000,
            operator_key: None,
            body_chunk_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(30),
            rate_limit: None,
            failed_auth_limit: Some(crate::failed_auth::DEFAULT_LIMIT),
            journal_size: 1000,
            journal_bodies: false,
            demo: false,
            secure_cookies: false,
            dashboard_idle_timeout: Duration::from_secs(30 * 60),
            dashboard_session_lifetime: Duration::from_secs(12 * 3600),
            metrics_account_labels: false,
        }
    }
}
