//! The failed-authentication limit, on by default (`--failed-auth-limit`, `30/5m`; `off`
//! turns it off), whatever `--rate-limit` says.
//!
//! Every wrong secret counts against the client address that sent it: an API token or global
//! key that matches nothing (9109, 10001), a wrong operator key (403 on the operator API), a
//! SCIM secret that opens nothing (401), a dashboard sign-in with any of those. Requests
//! without a credential, or with one that is malformed, guess nothing and are not counted.
//! Once an address has failed `N` times in a window (opened by its first failure), each of its
//! requests that carries a credential is refused with 429 (971, `Retry-After`) until the
//! window ends, the right credential too (and so are its requests without one): a guessing
//! loop learns nothing more. The other addresses are served as before. SCIM answers the
//! refusal as a SCIM error (429 with `Retry-After`), the dashboard as its sign-in page.
//!
//! Counts live in each server's memory (on several nodes, per node), for at most
//! [`MAX_ADDRESSES`] addresses: past that, ended windows and then the oldest are dropped.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use axum::http::request::Parts;

use crate::rate_limit::{RateLimit, Windows};

/// The default: 30 failures per address in 5 minutes.
pub const DEFAULT_LIMIT: RateLimit = RateLimit {
    requests: 30,
    window: Duration::from_secs(300),
};

/// Most addresses tracked at once.
pub const MAX_ADDRESSES: usize = 10_000;

/// Failed authentications per client address.
#[derive(Debug)]
pub struct FailedAuth {
    windows: Windows<IpAddr>,
}

impl FailedAuth {
    pub fn new(limit: RateLimit) -> Self {
        FailedAuth {
            windows: Windows::new(limit, MAX_ADDRESSES),
        }
    }

    /// How long the request's address must still wait, once it has failed too often.
    pub fn refused(&self, parts: &Parts) -> Option<Duration> {
        self.windows.refused(&client_address(parts)?, Instant::now())
    }

    /// Counts a wrong secret against the request's address.
    pub fn failed(&self, parts: &Parts) {
        if let Some(address) = client_address(parts) {
            let _ = self.windows.hit(address, Instant::now());
        }
    }
}

/// Runs `check` (an authentication) unless the request's address is spent (then `refused`
/// says how the caller answers), and counts its failure when `wrong_secret` says the request
/// guessed a secret.
pub async fn guarded<T, E>(
    state: &crate::AppState,
    parts: &Parts,
    check: impl std::future::Future<Output = Result<T, E>>,
    wrong_secret: impl FnOnce(&E) -> bool,
    refused: impl FnOnce(Duration) -> E,
) -> Result<T, E> {
    let Some(limit) = &state.failed_auth else {
        return check.await;
    };
    if let Some(wait) = limit.refused(parts) {
        return Err(refused(wait));
    }
    let outcome = check.await;
    if let Err(e) = &outcome {
        if wrong_secret(e) {
            limit.failed(parts);
        }
    }
    outcome
}

/// The address of the peer that sent the request (the server takes no forwarded header).
pub fn client_address(parts: &Parts) -> Option<IpAddr> {
    parts
        .extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|info| info.0.ip())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from(address: &str) -> Parts {
        let (mut parts, ()) = axum::http::Request::new(()).into_parts();
        let peer: std::net::SocketAddr = format!("{address}:1000").parse().unwrap();
        parts.extensions.insert(axum::extract::ConnectInfo(peer));
        parts
    }

    #[test]
    fn an_address_is_refused_once_it_failed_too_often_and_others_are_not() {
        let limit = FailedAuth::new(RateLimit {
            requests: 3,
            window: Duration::from_secs(60),
        });
        let guesser = from("192.0.2.1");
        for _ in 0..3 {
            assert_eq!(limit.refused(&guesser), None);
            limit.failed(&guesser);
        }
        let wait = limit.refused(&guesser).expect("refused after three failures");
        assert!(
            wait > Duration::from_secs(59) && wait <= Duration::from_secs(60),
            "{wait:?}"
        );
        assert_eq!(limit.refused(&from("192.0.2.2")), None);
        // A request with no known peer is never refused (nor counted).
        let (unknown, ()) = axum::http::Request::new(()).into_parts();
        limit.failed(&unknown);
        assert_eq!(limit.refused(&unknown), None);
    }
}
