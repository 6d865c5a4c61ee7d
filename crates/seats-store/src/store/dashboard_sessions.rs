//! Dashboard sessions and the keys every server on a database shares.

use async_trait::async_trait;
use seats_types::Timestamp;

use crate::{dashboard_session, secret, StoreResult};

#[async_trait]
pub trait DashboardStore: Send + Sync {
    /// Keeps a new dashboard session. Sessions that ended (`expires_at` or a `last_seen_at`
    /// before `idle_before`) go first, and so do the oldest of the same credential past
    /// [`dashboard_session::MAX_SESSIONS_PER_CREDENTIAL`].
    async fn create_dashboard_session(
        &self,
        session: dashboard_session::DashboardSession,
        idle_before: Timestamp,
    ) -> StoreResult<()>;

    /// The session whose id hashes to `id_hash`, ended or not.
    async fn dashboard_session(
        &self,
        id_hash: secret::SecretHash,
    ) -> StoreResult<Option<dashboard_session::DashboardSession>>;

    /// Records a request of the session at `now`.
    async fn touch_dashboard_session(&self, id_hash: secret::SecretHash, now: Timestamp) -> StoreResult<()>;

    /// Ends the session (signed out, or found ended); nothing when there is none.
    async fn delete_dashboard_session(&self, id_hash: secret::SecretHash) -> StoreResult<()>;

    /// The key named `name` that every server on the database shares: `candidate` (a random
    /// key of the caller's) if none is stored yet, else the one stored first. A reset keeps it.
    async fn server_key(&self, name: &str, candidate: [u8; 32]) -> StoreResult<[u8; 32]>;
}
