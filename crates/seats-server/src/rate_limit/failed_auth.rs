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
//! On SQLite, counts live in the server's memory, for at most [`MAX_TRACKED`] addresses and
//! as many targets: past that, ended windows and then the oldest are dropped (see
//! [`crate::rate_limit::Windows`]), so a flood of new ones is still counted. On PostgreSQL
//! every node shares them ([`crate::rate_limit::shared`]); a failure past the budget is then
//! answered 429 by the node that counts it.

use std::net::IpAddr;
use std::time::Duration;

use axum::http::request::Parts;

use crate::rate_limit::{Budgets, RateLimit};

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
    addresses: Option<Budgets<IpAddr>>,
    targets: Option<Budgets<String>>,
}

impl FailedAuth {
    /// `None` when both limits are off.
    pub fn new(
        address: Option<RateLimit>,
        target: Option<RateLimit>,
        store: &std::sync::Arc<dyn seats_store::Store>,
    ) -> Option<Self> {
        if address.is_none() && target.is_none() {
            return None;
        }
        Some(FailedAuth {
            addresses: address.map(|limit| Budgets::new(limit, MAX_TRACKED, store, "failed-address")),
            targets: target.map(|limit| Budgets::new(limit, MAX_TRACKED, store, "failed-target")),
        })
    }

    /// How long a request from `address` for `target` must still wait, once either has
    /// failed too often.
    pub fn refused(&self, address: Option<IpAddr>, target: Option<&String>) -> Option<Duration> {
        let by_address = address.zip(self.addresses.as_ref()).and_then(|(a, w)| w.refused(&a));
        let by_target = target.zip(self.targets.as_ref()).and_then(|(t, w)| w.refused(t));
        by_address.max(by_target)
    }

    /// Counts a wrong secret against `address` and `target`; past either budget (the
    /// failure was one too many), how long until it is whole again.
    pub async fn failed(&self, address: Option<IpAddr>, target: Option<String>) -> Option<Duration> {
        let mut wait = None;
        if let Some((address, budgets)) = address.zip(self.addresses.as_ref()) {
            wait = budgets.hit(address).await.err();
        }
        if let Some((target, budgets)) = target.zip(self.targets.as_ref()) {
            wait = wait.max(budgets.hit(target).await.err());
        }
        wait
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
        // A failure past the budget is refused as such. (Here, a server learns of failures
        // other servers counted only when it counts one: see rate_limit::shared.)
        if wrong_secret(e) {
            if let Some(wait) = limit.failed(address, target).await {
                return Err(refused(wait));
            }
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

    /// A SQLite store (budgets in memory), and the directory that holds it.
    fn store() -> (std::sync::Arc<dyn seats_store::Store>, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let store =
            seats_store::sqlite::SqliteStore::open(dir.path().join("t.db"), seats_store::Durability::Relaxed).unwrap();
        (std::sync::Arc::new(store), dir)
    }

    fn limit(requests: u32) -> Option<RateLimit> {
        Some(RateLimit {
            requests,
            window: Duration::from_secs(60),
        })
    }

    #[tokio::test]
    async fn an_address_is_refused_once_it_failed_too_often_and_others_are_not() {
        let (store, _dir) = store();
        let limits = FailedAuth::new(limit(3), None, &store).unwrap();
        let guesser = Some("192.0.2.1".parse().unwrap());
        for _ in 0..3 {
            assert_eq!(limits.refused(guesser, None), None);
            assert_eq!(limits.failed(guesser, None).await, None);
        }
        let wait = limits.refused(guesser, None).expect("refused after three failures");
        assert!(
            wait > Duration::from_secs(59) && wait <= Duration::from_secs(60),
            "{wait:?}"
        );
        assert_eq!(limits.refused(Some("192.0.2.2".parse().unwrap()), None), None);
        // A request with no known peer is never refused by address (nor counted).
        assert_eq!(limits.failed(None, None).await, None);
        assert_eq!(limits.refused(None, None), None);
    }

    #[tokio::test]
    async fn a_target_is_refused_to_every_address_once_guessed_at_too_often() {
        let (store, _dir) = store();
        let limits = FailedAuth::new(limit(100), limit(4), &store).unwrap();
        let operator = Some(OPERATOR_TARGET.to_owned());
        // Four addresses, one failure each: none of them is spent, the target is.
        for i in 1..=4 {
            let address = Some(format!("192.0.2.{i}").parse().unwrap());
            assert_eq!(limits.refused(address, operator.as_ref()), None);
            assert_eq!(limits.failed(address, operator.clone()).await, None);
        }
        let fresh = Some("198.51.100.7".parse().unwrap());
        assert!(limits.refused(fresh, operator.as_ref()).is_some());
        assert_eq!(limits.refused(fresh, Some(&"scim:x".to_owned())), None, "other targets");
        assert_eq!(limits.refused(fresh, None), None);
    }

    #[test]
    fn both_off_is_no_limiter() {
        let (store, _dir) = store();
        assert!(FailedAuth::new(None, None, &store).is_none());
    }
}
