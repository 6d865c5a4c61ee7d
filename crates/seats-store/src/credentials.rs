//! Credentials served from memory: every API token, member (with the accounts it may reach)
//! and account id, held as one snapshot, so authenticating a request reads no database.
//!
//! The snapshot is replaced, never patched:
//! - **changes made through this store** bump a local generation after they commit, so the
//!   very next request reloads: a token disabled or deleted through this process is refused at
//!   once;
//! - **changes made by another process** on the same database (another `seats serve` on the
//!   file, or on the same PostgreSQL database) move a version number that triggers keep
//!   in the database; a snapshot older than [`RECHECK_AFTER`] compares it (one small read) and
//!   reloads when it moved. So such changes take effect within `RECHECK_AFTER`.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use seats_types::formats;

use crate::secret::SecretHash;
use crate::{MemberRecord, StoreResult, TokenRecord};

/// How long a snapshot is trusted before the database's credential version is compared.
pub const RECHECK_AFTER: Duration = Duration::from_secs(1);

/// Everything authentication reads, as of one database version.
#[derive(Debug, Default)]
pub struct Credentials {
    /// The database's credential version this was read at.
    pub version: i64,
    pub tokens: HashMap<[u8; 32], TokenRecord>,
    /// By ASCII-lowercased email.
    pub members: HashMap<String, MemberRecord>,
    pub accounts: HashSet<String>,
}

impl Credentials {
    pub fn from_parts(
        version: i64,
        tokens: Vec<TokenRecord>,
        members: Vec<MemberRecord>,
        accounts: Vec<String>,
    ) -> Self {
        Credentials {
            version,
            tokens: tokens.into_iter().map(|t| (t.value_hash.0, t)).collect(),
            members: members.into_iter().map(|m| (formats::email_key(&m.email), m)).collect(),
            accounts: accounts.into_iter().collect(),
        }
    }

    /// The token whose secret hashes to `hash`; the map finds it by the hash, and the final
    /// comparison is constant-time.
    pub fn token(&self, hash: &SecretHash) -> Option<&TokenRecord> {
        self.tokens.get(&hash.0).filter(|t| t.value_hash == *hash)
    }

    pub fn member(&self, email: &str) -> Option<&MemberRecord> {
        self.members.get(&formats::email_key(email))
    }
}

struct Cached {
    credentials: Arc<Credentials>,
    /// The local generation the snapshot was loaded under.
    generation: u64,
    checked_at: Instant,
}

/// The cache a backend keeps beside its connections.
pub struct CredentialCache {
    recheck_after: Duration,
    generation: AtomicU64,
    cached: RwLock<Option<Cached>>,
    /// One reload at a time; the others wait for it rather than read the database too.
    reloading: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for CredentialCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CredentialCache")
            .field("generation", &self.generation.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl Default for CredentialCache {
    fn default() -> Self {
        Self::new(RECHECK_AFTER)
    }
}

impl CredentialCache {
    /// A cache that compares the database's version when its snapshot is older than `recheck_after`.
    pub fn new(recheck_after: Duration) -> Self {
        CredentialCache {
            recheck_after,
            generation: AtomicU64::new(0),
            cached: RwLock::new(None),
            reloading: tokio::sync::Mutex::new(()),
        }
    }

    /// Marks the snapshot stale. Call after a change to tokens, members or accounts committed
    /// and before answering the request that made it.
    pub fn invalidate(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
    }

    /// The snapshot if it is current by this process's changes and was checked recently.
    fn fresh(&self, generation: u64) -> Option<Arc<Credentials>> {
        let cached = self.cached.read().unwrap_or_else(|e| e.into_inner());
        cached
            .as_ref()
            .filter(|c| c.generation == generation && c.checked_at.elapsed() < self.recheck_after)
            .map(|c| c.credentials.clone())
    }

    /// The current credentials. `version` reads the database's credential version; `load`
    /// reads everything.
    pub async fn get<V, L>(
        &self,
        version: impl FnOnce() -> V,
        load: impl FnOnce() -> L,
    ) -> StoreResult<Arc<Credentials>>
    where
        V: Future<Output = StoreResult<i64>>,
        L: Future<Output = StoreResult<Credentials>>,
    {
        // Read before loading: a change committed after this moves the generation again.
        let generation = self.generation.load(Ordering::SeqCst);
        if let Some(credentials) = self.fresh(generation) {
            return Ok(credentials);
        }
        let _one_at_a_time = self.reloading.lock().await;
        let generation = self.generation.load(Ordering::SeqCst);
        if let Some(credentials) = self.fresh(generation) {
            return Ok(credentials);
        }
        let previous = {
            let cached = self.cached.read().unwrap_or_else(|e| e.into_inner());
            cached
                .as_ref()
                .filter(|c| c.generation == generation)
                .map(|c| c.credentials.clone())
        };
        let credentials = match previous {
            // Only old: still right if no other process changed anything.
            Some(previous) if version().await? == previous.version => previous,
            _ => Arc::new(load().await?),
        };
        *self.cached.write().unwrap_or_else(|e| e.into_inner()) = Some(Cached {
            credentials: credentials.clone(),
            generation,
            checked_at: Instant::now(),
        });
        Ok(credentials)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    fn creds(version: i64) -> Credentials {
        Credentials {
            version,
            ..Credentials::default()
        }
    }

    #[tokio::test]
    async fn loads_once_until_invalidated() {
        let cache = CredentialCache::default();
        let loads = AtomicUsize::new(0);
        let load = || async {
            loads.fetch_add(1, Ordering::SeqCst);
            Ok(creds(1))
        };
        for _ in 0..3 {
            cache.get(|| async { Ok(1) }, load).await.unwrap();
        }
        assert_eq!(loads.load(Ordering::SeqCst), 1, "served from memory");
        cache.invalidate();
        cache.get(|| async { Ok(1) }, load).await.unwrap();
        assert_eq!(loads.load(Ordering::SeqCst), 2, "a local change reloads at once");
    }

    #[tokio::test]
    async fn another_process_change_is_seen_after_the_recheck_period() {
        let period = Duration::from_millis(100);
        let cache = CredentialCache::new(period);
        let loads = AtomicUsize::new(0);
        let version = AtomicU64::new(1);
        let get = || {
            cache.get(
                || async { Ok(version.load(Ordering::SeqCst) as i64) },
                || async {
                    loads.fetch_add(1, Ordering::SeqCst);
                    Ok(creds(version.load(Ordering::SeqCst) as i64))
                },
            )
        };
        assert_eq!(get().await.unwrap().version, 1);
        version.store(2, Ordering::SeqCst); // another process changed a token
        assert_eq!(
            get().await.unwrap().version,
            1,
            "within the period, the snapshot stands"
        );
        tokio::time::sleep(period + Duration::from_millis(20)).await;
        assert_eq!(get().await.unwrap().version, 2, "after it, the version is compared");
        assert_eq!(loads.load(Ordering::SeqCst), 2);
        tokio::time::sleep(period + Duration::from_millis(20)).await;
        get().await.unwrap();
        assert_eq!(loads.load(Ordering::SeqCst), 2, "an unchanged version reloads nothing");
    }
}
