//! The client: configuration, credentials, and the request loop with retries.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use reqwest::Method;
use seats_types::Envelope;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::{ApiError, Error};
use crate::resources::ZeroTrust;
use crate::retry::{self, Backoff, Timer, TokioTimer};

/// Cloudflare's API, the default base URL.
pub const DEFAULT_BASE_URL: &str = "https://api.cloudflare.com/client/v4";
/// Retries after the first attempt, by default.
pub const DEFAULT_MAX_RETRIES: u32 = 2;
/// Time allowed for each attempt, by default.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// How requests authenticate. `Debug` never shows the secret.
#[derive(Clone)]
pub enum Credentials {
    /// `Authorization: Bearer <token>`.
    ApiToken(String),
    /// `X-Auth-Email` + `X-Auth-Key` (a global API key).
    ApiKey {
        /// The account member's email.
        email: String,
        /// The global API key.
        key: String,
    },
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credentials::ApiToken(_) => f.write_str("ApiToken(***)"),
            Credentials::ApiKey { email, .. } => {
                write!(f, "ApiKey {{ email: {email:?}, key: *** }}")
            }
        }
    }
}

/// Per-call overrides of the client's settings.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RequestOptions {
    /// Time allowed for each attempt of this call.
    pub timeout: Option<Duration>,
    /// Retries for this call; 0 disables them.
    pub max_retries: Option<u32>,
}

/// A client for the Cloudflare API. Cheap to clone; clones share connections.
///
/// ```no_run
/// # async fn run() -> Result<(), seats_client::Error> {
/// let client = seats_client::Client::builder()
///     .api_token("Sn3lZJTBX6kkg7OdcBUAxOO963GEIyGQqnFTOFYY")
///     .base_url("http://127.0.0.1:8788/client/v4")
///     .build()?;
/// # let _ = client; Ok(()) }
/// ```
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    base_url: String,
    credentials: Credentials,
    max_retries: u32,
    timeout: Duration,
    backoff: Backoff,
    timer: Arc<dyn Timer>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.inner.base_url)
            .field("credentials", &self.inner.credentials)
            .field("max_retries", &self.inner.max_retries)
            .field("timeout", &self.inner.timeout)
            .finish_non_exhaustive()
    }
}

/// Builds a [`Client`]. Set a token, or an email and key, never both.
#[derive(Default)]
pub struct ClientBuilder {
    api_token: Option<String>,
    api_key: Option<String>,
    api_email: Option<String>,
    base_url: Option<String>,
    max_retries: Option<u32>,
    timeout: Option<Duration>,
    backoff: Option<Backoff>,
    timer: Option<Arc<dyn Timer>>,
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("api_token", &self.api_token.as_ref().map(|_| "***"))
            .field("api_key", &self.api_key.as_ref().map(|_| "***"))
            .field("api_email", &self.api_email)
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

impl ClientBuilder {
    /// Authenticate with an API token.
    pub fn api_token(mut self, token: impl Into<String>) -> Self {
        self.api_token = Some(token.into());
        self
    }

    /// Authenticate with a global API key; needs [`ClientBuilder::api_email`] too.
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(key.into());
        self
    }

    /// The email that goes with [`ClientBuilder::api_key`].
    pub fn api_email(mut self, email: impl Into<String>) -> Self {
        self.api_email = Some(email.into());
        self
    }

    /// Where the API lives, e.g. `http://127.0.0.1:8788/client/v4`. Defaults to Cloudflare's.
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// Retries after a failed attempt (default 2; 0 disables).
    pub fn max_retries(mut self, n: u32) -> Self {
        self.max_retries = Some(n);
        self
    }

    /// Time allowed for each attempt (default 60 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// The backoff between retries when the server does not say how long to wait.
    pub fn backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = Some(backoff);
        self
    }

    /// The source of time for retry waits (tests make it instant).
    pub fn timer(mut self, timer: Arc<dyn Timer>) -> Self {
        self.timer = Some(timer);
        self
    }

    /// Checks the configuration; fails with [`Error::Config`] before any request is made.
    pub fn build(self) -> Result<Client, Error> {
        let credentials = match (self.api_token, self.api_key, self.api_email) {
            (Some(_), Some(_), _) => {
                return Err(Error::Config(
                    "set either an API token or an API key and email, not both".into(),
                ))
            }
            (Some(token), None, _) if !token.is_empty() => Credentials::ApiToken(token),
            (None, Some(key), Some(email)) if !key.is_empty() && !email.is_empty() => {
                Credentials::ApiKey { email, key }
            }
            (None, Some(_), _) => return Err(Error::Config("an API key needs its email (api_email)".into())),
            _ => {
                return Err(Error::Config(
                    "no credentials: set an API token, or an API key and email \
                     (CLOUDFLARE_API_TOKEN, or CLOUDFLARE_API_KEY and CLOUDFLARE_EMAIL)"
                        .into(),
                ))
            }
        };
        let base_url = self.base_url.unwrap_or_else(|| DEFAULT_BASE_URL.to_owned());
        let parsed = reqwest::Url::parse(&base_url)
            .map_err(|e| Error::Config(format!("base URL {base_url:?} is not a URL: {e}")))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(Error::Config(format!("base URL {base_url:?} must be http or https")));
        }
        guard_demo_credentials(&credentials, &parsed)?;
        let http = reqwest::Client::builder()
            .user_agent(concat!("seats-client/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::Config(format!("HTTP client: {e}")))?;
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                base_url: base_url.trim_end_matches('/').to_owned(),
                credentials,
                max_retries: self.max_retries.unwrap_or(DEFAULT_MAX_RETRIES),
                timeout: self.timeout.unwrap_or(DEFAULT_TIMEOUT),
                backoff: self.backoff.unwrap_or_default(),
                timer: self.timer.unwrap_or_else(|| Arc::new(TokioTimer)),
            }),
        })
    }
}

/// The demo server's credentials belong on a local `seats`: they are never sent to
/// Cloudflare (the default base URL, when `CLOUDFLARE_BASE_URL` was forgotten), and going to
/// another host that is not this machine is logged as a warning.
fn guard_demo_credentials(credentials: &Credentials, url: &reqwest::Url) -> Result<(), Error> {
    use seats_types::formats::{DEMO_API_KEY, DEMO_API_TOKEN};
    let demo = match credentials {
        Credentials::ApiToken(token) => token == DEMO_API_TOKEN,
        Credentials::ApiKey { key, .. } => key == DEMO_API_KEY,
    };
    let host = url
        .host_str()
        .unwrap_or_default()
        .trim_end_matches('.')
        .to_ascii_lowercase();
    if !demo {
        return Ok(());
    }
    if host == "cloudflare.com" || host.ends_with(".cloudflare.com") {
        return Err(Error::Config(format!(
            "refusing to send the seats demo credential to {host}: point the client at your seats \
             server with CLOUDFLARE_BASE_URL (or .base_url), e.g. http://127.0.0.1:8788/client/v4"
        )));
    }
    let local = match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => {
            d.eq_ignore_ascii_case("localhost") || d.to_ascii_lowercase().ends_with(".localhost")
        }
        None => false,
    };
    if !local {
        tracing::warn!(%host, "the seats demo credential is going to a host that is not this machine");
    }
    Ok(())
}

impl Client {
    /// A builder with nothing set; see [`ClientBuilder`].
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// A client configured from the environment: `CLOUDFLARE_API_TOKEN`, or
    /// `CLOUDFLARE_API_KEY` and `CLOUDFLARE_EMAIL` (the token wins when both are set), and
    /// `CLOUDFLARE_BASE_URL`.
    pub fn from_env() -> Result<Client, Error> {
        Self::builder_from(|name| std::env::var(name).ok()).build()
    }

    /// A builder preset from variables looked up with `var` (the environment, a file, …),
    /// by the names [`Client::from_env`] reads.
    pub fn builder_from(var: impl Fn(&str) -> Option<String>) -> ClientBuilder {
        let var = |name: &str| var(name).filter(|v| !v.is_empty());
        let mut builder = Client::builder();
        if let Some(token) = var("CLOUDFLARE_API_TOKEN") {
            builder = builder.api_token(token);
        } else {
            if let Some(key) = var("CLOUDFLARE_API_KEY") {
                builder = builder.api_key(key);
            }
            if let Some(email) = var("CLOUDFLARE_EMAIL") {
                builder = builder.api_email(email);
            }
        }
        if let Some(url) = var("CLOUDFLARE_BASE_URL") {
            builder = builder.base_url(url);
        }
        builder
    }

    /// The Zero Trust resources.
    pub fn zero_trust(&self) -> ZeroTrust<'_> {
        ZeroTrust::new(self)
    }

    /// The base URL requests go to, without a trailing `/`.
    pub fn base_url(&self) -> &str {
        &self.inner.base_url
    }

    /// Sends a request with retries and decodes the envelope.
    pub(crate) async fn request<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
        options: RequestOptions,
    ) -> Result<Envelope<T>, Error> {
        let inner = &self.inner;
        let request = format!("{method} {path}");
        let url = format!("{}{path}", inner.base_url);
        let body = body
            .map(serde_json::to_vec)
            .transpose()
            .map_err(|e| Error::InvalidParams(format!("body does not serialize: {e}")))?;
        let max_retries = options.max_retries.unwrap_or(inner.max_retries);
        let timeout = options.timeout.unwrap_or(inner.timeout);
        let mut retry = 0;
        loop {
            let mut req = inner
                .http
                .request(method.clone(), &url)
                .timeout(timeout)
                .header("Accept", "application/json");
            req = match &inner.credentials {
                Credentials::ApiToken(token) => req.bearer_auth(token),
                Credentials::ApiKey { email, key } => req.header("X-Auth-Email", email).header("X-Auth-Key", key),
            };
            if let Some(body) = &body {
                req = req.header("Content-Type", "application/json").body(body.clone());
            }
            let outcome = req.send().await;
            let wait = match &outcome {
                Ok(resp) if retry < max_retries && retry::should_retry(resp.status(), resp.headers()) => Some(
                    retry::server_requested_delay(resp.headers(), inner.timer.now())
                        .unwrap_or_else(|| inner.backoff.delay(retry)),
                ),
                Err(_) if retry < max_retries => Some(inner.backoff.delay(retry)),
                _ => None,
            };
            if let Some(wait) = wait {
                let why = match &outcome {
                    Ok(resp) => resp.status().to_string(),
                    Err(e) => transport_kind(e).to_owned(),
                };
                tracing::debug!(%request, retry = retry + 1, wait_ms = wait.as_millis() as u64, %why, "retrying");
                inner.timer.sleep(wait).await;
                retry += 1;
                continue;
            }
            return match outcome {
                Ok(resp) => decode(request, resp).await,
                Err(e) if e.is_timeout() => Err(Error::Timeout { request }),
                Err(source) => Err(Error::Connection {
                    request,
                    source: source.without_url(),
                }),
            };
        }
    }
}

fn transport_kind(e: &reqwest::Error) -> &'static str {
    if e.is_timeout() {
        "timeout"
    } else {
        "connection error"
    }
}

async fn decode<T: DeserializeOwned>(request: String, resp: reqwest::Response) -> Result<Envelope<T>, Error> {
    let status = resp.status();
    let bytes = match resp.bytes().await {
        Ok(b) => b,
        Err(e) if e.is_timeout() => return Err(Error::Timeout { request }),
        Err(source) => {
            return Err(Error::Connection {
                request,
                source: source.without_url(),
            })
        }
    };
    let undecodable = |reason: String| Error::Decode {
        request: request.clone(),
        status,
        reason,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    };
    if status.is_success() {
        let envelope: Envelope<T> = serde_json::from_slice(&bytes).map_err(|e| undecodable(e.to_string()))?;
        if !envelope.success {
            return Err(Error::from_api(ApiError {
                request,
                status,
                errors: envelope.errors,
                messages: envelope.messages,
            }));
        }
        return Ok(envelope);
    }
    // Error bodies: only errors and messages matter; result may be anything.
    let envelope: Envelope<serde_json::Value> =
        serde_json::from_slice(&bytes).map_err(|e| undecodable(e.to_string()))?;
    Err(Error::from_api(ApiError {
        request,
        status,
        errors: envelope.errors,
        messages: envelope.messages,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use seats_types::formats::{DEMO_API_KEY, DEMO_API_TOKEN};

    #[test]
    fn the_demo_credential_never_goes_to_cloudflare() {
        let refused = |builder: ClientBuilder| match builder.build() {
            Err(Error::Config(message)) => message,
            other => panic!("expected a refusal, got {:?}", other.map(|c| c.base_url().to_owned())),
        };
        let message = refused(Client::builder().api_token(DEMO_API_TOKEN));
        assert_eq!(
            message,
            "refusing to send the seats demo credential to api.cloudflare.com: point the client at your seats \
             server with CLOUDFLARE_BASE_URL (or .base_url), e.g. http://127.0.0.1:8788/client/v4"
        );
        let key = Client::builder()
            .api_key(DEMO_API_KEY)
            .api_email("user@example.com")
            .base_url("https://API.Cloudflare.com./client/v4");
        assert!(refused(key).contains("to api.cloudflare.com:"));

        for local in [
            "http://127.0.0.1:8788/client/v4",
            "http://localhost:1/client/v4",
            "http://[::1]:2/x",
            "http://seats.internal:8788/client/v4",
        ] {
            let client = Client::builder().api_token(DEMO_API_TOKEN).base_url(local).build();
            assert!(client.is_ok(), "{local}");
        }
        assert!(
            Client::builder().api_token("another-token").build().is_ok(),
            "other tokens go anywhere"
        );
    }
}
