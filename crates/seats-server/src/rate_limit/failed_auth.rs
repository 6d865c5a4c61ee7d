//! The failed-authentication limit, on by default whatever `--rate-limit` says: per client
//! address (`--failed-auth-limit`, `30/5m`) and per target (`--failed-auth-target-limit`,
//! `100/5m`); `off` turns either off.
//!
//! Every wrong secret counts: an API token or global key that matches nothing (9109, 9103;
//! 1000 on token verification), a wrong operator key (403 on the operator API), a SCIM secret that opens nothing
//! (401), a dashboard sign-in with any of those. Requests without a credential, or with a
//! malformed one, guess nothing and are not counted. A failure counts against the client
//! address that sent it and against its target, the thing it tried to open: the operator
//! key, an identity provider's SCIM endpoint, a member's global key. (An API token is its own
//! secret and has no target: a guess names nothing but itself.)
//!
//! Once an address, or a target, has failed `N` times in a window (opened by its first
//! failure), each request from that address, or for that target, is refused with 429 (971,
//! `Retry-After`) until the window ends, the right credential too: a guessing loop learns
//! nothing more. The target's budget is the larger, so one address cannot lock a target out
//! alone, while many addresses guessing at one target are slowed as well. SCIM answers the
//! refusal as a SCIM error (429, `Retry-After`), the dashboard as its sign-in page.
//!
//! Counts live in each server's memory (on several nodes, per node), for at most
//! [`MAX_TRACKED`] addresses and as many targets: past that, ended windows and then the
//! oldest are dropped (see [`Windows`]), so a flood of new ones is still counted.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use axum::http::request::Parts;

use crate::rate_limit::{RateLimit, Windows};

/// The default per address: 30 failures in 5 minutes.
pub const DEFAULT_ADDRESS_LIMIT: RateLimit = RateLimit {
    requests: 30,
    window: Duration::from_secs(300),
};

/// The default per target: 100 failures in 5 minutes.
pub const DEFAULT_TARGET_LIMIT: RateLimit = RateLimit {
    requests: 100,
    window: Duration::from_secs(300),
};

/// The target of the operator key (the operator API, the dashboard's operator sign-in).
pub const OPERATOR_TARGET: &str = "operator";

/// Most addresses, and most targets, tracked at once.
pub const MAX_TRACKED: usize = 10_000;

/// Failed authentications per client address and per target.
#[derive(Debug)]
pub struct FailedAuth {
    addresses: Option<Windows<IpAddr>>,
    targets: Option<Windows<String>>,
}

impl FailedAuth {
    /// `None` when both limits are off.
    pub fn new(address: Option<RateLimit>, target: Option<RateLimit>) -> Option<Self> {
        if address.is_none() && target.is_none() {
            return None;
        }
        Some(FailedAuth {
            addresses: address.map(|limit| Windows::new(limit, MAX_TRACKED)),
            targets: target.map(|limit| Windows::new(limit, MAX_TRACKED)),
        })
    }

    /// How long a request from `address` for `target` must still wait, once either has
    /// failed too often.
    pub fn refused(&self, address: Option<IpAddr>, target: Option<&String>) -> Option<Duration> {
        let now = Instant::now();
        let by_address = address
            .zip(self.addresses.as_ref())
            .and_then(|(a, w)| w.refused(&a, now));
        let by_target = target.zip(self.targets.as_ref()).and_then(|(t, w)| w.refused(t, now));
        by_address.max(by_target)
    }

    /// Counts a wrong secret against `address` and `target`.
    pub fn failed(&self, address: Option<IpAddr>, target: Option<String>) {
        let now = Instant::now();
        if let Some((address, windows)) = address.zip(self.addresses.as_ref()) {
            let _ = windows.hit(address, now);
        }
        if let Some((target, windows)) = target.zip(self.targets.as_ref()) {
            let _ = windows.hit(target, now);
        }
    }
}

/// Runs `check` (an authentication of `target`) unless the request's address or the target is
/// spent (then `refused` says how the caller answers), and counts its failure when
/// `wrong_secret` says the request guessed a secret.
pub async fn guarded<T, E>(
    state: &crate::AppState,
    parts: &Parts,
    target: Option<String>,
    check: impl std::future::Future<Output = Result<T, E>>,
    wrong_secret: impl FnOnce(&E) -> bool,
    refused: impl FnOnce(Duration) -> E,
) -> Result<T, E> {
    let Some(limit) = &state.failed_auth else {
        return check.await;
    };
    let address = client_address(parts);
    if let Some(wait) = limit.refused(address, target.as_ref()) {
        return Err(refused(wait));
    }
    let outcome = check.await;
    if let Err(e) = &outcome {
        if wrong_secret(e) {
            limit.failed(address, target);
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

    fn limit(requests: u32) -> Option<RateLimit> {
        Some(RateLimit {
            requests,
            window: Duration::from_secs(60),
        })
    }

    #[test]
    fn an_address_is_refused_once_it_failed_too_often_and_others_are_not() {
        let limits = FailedAuth::new(limit(3), None).unwrap();
        let guesser = Some("192.0.2.1".parse().unwrap());
        for _ in 0..3 {
            assert_eq!(limits.refused(guesser, None), None);
            limits.failed(guesser, None);
        }
        let wait = limits.refused(guesser, None).expect("refused after three failures");
        assert!(
            wait > Duration::from_secs(59) && wait <= Duration::from_secs(60),
            "{wait:?}"
        );
        assert_eq!(limits.refused(Some("192.0.2.2".parse().unwrap()), None), None);
        // A request with no known peer is never refused by address (nor counted).
        limits.failed(None, None);
        assert_eq!(limits.refused(None, None), None);
    }

    #[test]
    fn a_target_is_refused_to_every_address_once_guessed_at_too_often() {
        let limits = FailedAuth::new(limit(100), limit(4)).unwrap();
        let operator = Some(OPERATOR_TARGET.to_owned());
        // Four addresses, one failure each: none of them is spent, the target is.
        for i in 1..=4 {
            let address = Some(format!("192.0.2.{i}").parse().unwrap());
            assert_eq!(limits.refused(address, operator.as_ref()), None);
            limits.failed(address, operator.clone());
        }
        let fresh = Some("198.51.100.7".parse().unwrap());
        assert!(limits.refused(fresh, operator.as_ref()).is_some());
        assert_eq!(limits.refused(fresh, Some(&"scim:x".to_owned())), None, "other targets");
        assert_eq!(limits.refused(fresh, None), None);
    }

    #[test]
    fn both_off_is_no_limiter() {
        assert!(FailedAuth::new(None, None).is_none());
    }
}
