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
    /// `None` (see [`crate::rate_limit::failed_auth`]).
    pub failed_auth_limit: Option<crate::rate_limit::RateLimit>,
    /// Wrong secrets for one target (the operator key, a SCIM endpoint, a member's key) in a
    /// window before it is refused to everyone, off when `None`.
    pub failed_auth_target_limit: Option<crate::rate_limit::RateLimit>,
    /// Requests the journal keeps (0 turns it off); see [`crate::toolkit`].
    pub journal_size: usize,
    /// Keep request and response bodies in the journal, secrets redacted.
    pub journal_bodies: bool,
    /// Started with `--demo`: the dashboard's sign-in page fills in the demo token.
    pub demo: bool,
    /// Where clients reach the server (`http(s)://host[:port]`, no path), when a proxy stands
    /// in front: SCIM base URLs use it, and with `https` dashboard cookies carry `Secure`.
    pub public_url: Option<PublicUrl>,
    /// A dashboard session ends after this long without a request.
    pub dashboard_idle_timeout: Duration,
    /// A dashboard session ends this long after sign-in, whatever its use.
    pub dashboard_session_lifetime: Duration,
    /// `/metrics` shows each account's seats by account id (see [`crate::metrics`]).
    pub metrics_account_labels: bool,
    /// The hash of the bearer token `/metrics` then asks for (and, protected so, shows each
    /// account by id); `None`: open to all.
    pub metrics_token: Option<seats_store::secret::SecretHash>,
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
            failed_auth_limit: Some(crate::rate_limit::failed_auth::DEFAULT_ADDRESS_LIMIT),
            failed_auth_target_limit: Some(crate::rate_limit::failed_auth::DEFAULT_TARGET_LIMIT),
            journal_size: 1000,
            journal_bodies: false,
            demo: false,
            public_url: None,
            dashboard_idle_timeout: Duration::from_secs(30 * 60),
            dashboard_session_lifetime: Duration::from_secs(12 * 3600),
            metrics_account_labels: false,
            metrics_token: None,
        }
    }
}

/// `--public-url`: `http://` or `https://`, a host (and port), nothing after it but an
/// optional `/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicUrl(String);

impl PublicUrl {
    /// `scheme://host[:port]`, without a trailing slash.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn is_https(&self) -> bool {
        self.0.starts_with("https://")
    }
}

impl std::str::FromStr for PublicUrl {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let url = s.trim().trim_end_matches('/');
        let host = url
            .strip_prefix("https://")
            .or_else(|| url.strip_prefix("http://"))
            .ok_or_else(|| format!("{s:?}: write http:// or https:// and a host, e.g. https://seats.example.com"))?;
        let valid = !host.is_empty()
            && host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'));
        if !valid {
            return Err(format!("{s:?}: a host (and port) only, no path, query or credentials"));
        }
        Ok(PublicUrl(url.to_owned()))
    }
}

impl ServerConfig {
    /// `http(s)://host` of this server: `--public-url`, or as the client reached it.
    pub fn public_base(&self, headers: &axum::http::HeaderMap) -> String {
        if let Some(url) = &self.public_url {
            return url.as_str().to_owned();
        }
        let host = headers
            .get("host")
            .and_then(|h| h.to_str().ok())
            .filter(|h| !h.is_empty() && h.bytes().all(|b| b.is_ascii_graphic()))
            .unwrap_or("localhost");
        let scheme = match headers.get("x-forwarded-proto").and_then(|h| h.to_str().ok()) {
            Some("https") => "https",
            _ => "http",
        };
        format!("{scheme}://{host}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_urls_are_a_scheme_and_a_host() {
        let url: PublicUrl = "https://seats.example.com/".parse().unwrap();
        assert_eq!(url.as_str(), "https://seats.example.com");
        assert!(url.is_https());
        let url: PublicUrl = "http://127.0.0.1:8788".parse().unwrap();
        assert!(!url.is_https());
        for bad in [
            "seats.example.com",
            "ftp://x",
            "https://",
            "https://x/path",
            "https://u:p@x",
            "https://x?q",
        ] {
            assert!(bad.parse::<PublicUrl>().is_err(), "{bad}");
        }
    }
}
