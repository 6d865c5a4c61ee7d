//! Named snapshots of the whole state, held in memory as a database image where the store
//! makes one (SQLite: put back in one step) or as export records (PostgreSQL), and the
//! start-up seed a reset goes back to.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use seats_store::export::Record;
use seats_store::seed::SeedDocument;
use seats_store::{DatabaseImage, PendingImage, Store, StoreError};
use seats_types::{Snapshot, StateRestored, Timestamp};

/// Opens the seed the server started with, each time a reset needs it.
pub type SeedSource = Arc<dyn Fn() -> std::io::Result<SeedDocument> + Send + Sync>;

/// What a snapshot holds.
#[derive(Clone)]
pub enum Content {
    Image(DatabaseImage),
    Records(Arc<Vec<Record>>),
}

impl Content {
    /// How many export records the state holds (header and end included).
    fn records(&self) -> u64 {
        match self {
            Content::Image(image) => image.records,
            Content::Records(records) => records.len() as u64,
        }
    }
}

struct Held {
    taken_at: Timestamp,
    content: Content,
}

#[derive(Default)]
pub struct Snapshots {
    held: Mutex<BTreeMap<String, Held>>,
}

impl Snapshots {
    /// Keeps `content` as `name`; `None` (keeping nothing) if the name is taken.
    pub fn insert(&self, name: &str, taken_at: Timestamp, content: Content) -> Option<Snapshot> {
        let mut held = self.held.lock().unwrap_or_else(|e| e.into_inner());
        if held.contains_key(name) {
            return None;
        }
        let view = Snapshot {
            name: name.to_owned(),
            taken_at,
            records: content.records(),
        };
        held.insert(name.to_owned(), Held { taken_at, content });
        Some(view)
    }

    pub fn get(&self, name: &str) -> Option<Content> {
        let held = self.held.lock().unwrap_or_else(|e| e.into_inner());
        held.get(name).map(|h| h.content.clone())
    }

    pub fn list(&self) -> Vec<Snapshot> {
        let held = self.held.lock().unwrap_or_else(|e| e.into_inner());
        held.iter()
            .map(|(name, h)| Snapshot {
                name: name.clone(),
                taken_at: h.taken_at,
                records: h.content.records(),
            })
            .collect()
    }

    pub fn remove(&self, name: &str) -> bool {
        self.held
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(name)
            .is_some()
    }
}

/// How long the image of a seed's load serves resets. Times the seed leaves unset (when a
/// user was created, when a seat was granted) are those of the load that made the image, so
/// after a reset they are at most this old: far from the 730 hours a seat expiry needs at the
/// least, and a manual clock goes back to the real time at every reset.
pub const SEED_IMAGE_LIFETIME: Duration = Duration::from_secs(3600);

/// The state the last reset left, as a database image, and which seed it came from: a reset
/// to the same seed (the same bytes) within [`SEED_IMAGE_LIFETIME`] puts the image back
/// instead of emptying the database and loading the seed again.
#[derive(Default)]
pub struct SeedImage {
    /// Held across a whole reset: resets run one at a time.
    last: tokio::sync::Mutex<Option<LoadedSeed>>,
}

struct LoadedSeed {
    /// The seed's SHA-256; `None` for a reset to an empty database.
    digest: Option<[u8; 32]>,
    loaded_at: Timestamp,
    /// `None` while the image is being copied, or if its copy failed.
    image: Option<DatabaseImage>,
    copying: Option<PendingImage>,
}

impl LoadedSeed {
    /// The seed of `digest` loaded at `loaded_at`, its image still being copied.
    fn copying(digest: Option<[u8; 32]>, loaded_at: Timestamp, image: PendingImage) -> Self {
        LoadedSeed {
            digest,
            loaded_at,
            image: None,
            copying: Some(image),
        }
    }

    /// The image, once its copy (if any) has finished; `None` if the copy failed (the copy
    /// said why in the log).
    async fn image(&mut self) -> Option<&DatabaseImage> {
        if let Some(copying) = self.copying.take() {
            self.image = copying.wait().await.ok();
        }
        self.image.as_ref()
    }
}

/// Why a reset failed: the seed could not be read again, or the store failed.
#[derive(Debug)]
pub enum ResetError {
    Seed(std::io::Error),
    Store(StoreError),
}

impl SeedImage {
    /// Keeps `image`, being copied, as the state the seed whose bytes have the SHA-256
    /// `digest` left when the server loaded it at start-up, at `loaded_at`: the first reset
    /// puts it back rather than loading the seed again, as later ones do.
    pub async fn started_with(&self, digest: [u8; 32], loaded_at: Timestamp, image: PendingImage) {
        *self.last.lock().await = Some(LoadedSeed::copying(Some(digest), loaded_at, image));
    }

    /// Makes `store` hold the seed `open` gives (`None`: nothing) as it was just loaded at the
    /// time `now` gives (asked once the seed has been read, so a seed that cannot be read
    /// changes nothing): from the image of the last load when the seed's bytes are the same
    /// and that load is younger than [`SEED_IMAGE_LIFETIME`], else by loading it, keeping an
    /// image of the result where the store makes them (SQLite).
    pub async fn reset(
        &self,
        store: &dyn Store,
        open: Option<&SeedSource>,
        now: impl FnOnce() -> Timestamp,
    ) -> Result<StateRestored, ResetError> {
        let mut last = self.last.lock().await;
        let digest = match open {
            Some(open) => {
                let open = open.clone();
                let digest = tokio::task::spawn_blocking(move || open()?.digest())
                    .await
                    .map_err(|e| ResetError::Seed(std::io::Error::other(e)))?;
                Some(digest.map_err(ResetError::Seed)?)
            }
            None => None,
        };
        let now = now();
        let age = |loaded_at: Timestamp| u64::try_from(now.unix_micros() - loaded_at.unix_micros()).ok();
        let fresh = |l: &LoadedSeed| {
            l.digest == digest && age(l.loaded_at).is_some_and(|us| us < SEED_IMAGE_LIFETIME.as_micros() as u64)
        };
        if let Some(loaded) = last.as_mut().filter(|l| fresh(l)) {
            if let Some(image) = loaded.image().await {
                let restored = store.restore_image(image).await.map_err(ResetError::Store)?;
                return Ok(StateRestored {
                    accounts: restored.accounts,
                    users: restored.users,
                });
            }
        }
        *last = None;
        let seed = open.map(|open| open()).transpose().map_err(ResetError::Seed)?;
        let (summary, image) = store.reset_with_image(seed, now).await.map_err(ResetError::Store)?;
        *last = image.map(|image| LoadedSeed::copying(digest, now, image));
        Ok(StateRestored {
            accounts: summary.accounts as u64,
            users: summary.users as u64,
        })
    }
}

/// A snapshot name: 1 to 64 letters, digits, `.`, `_` or `-`.
pub fn is_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use seats_store::sqlite::SqliteStore;
    use seats_store::Durability;

    const SEED: &str = r#"{"accounts": [{"id": "0123456789abcdef0123456789abcdef", "name": "A", "seat_limit": 5,
        "users": [{"email": "bob@example.com", "seat_uid": "bob", "access_seat": true}]}]}"#;

    fn at(minutes: i64) -> Timestamp {
        Timestamp::from_unix_micros(1_796_083_200_000_000 + minutes * 60_000_000).unwrap()
    }

    async fn created_at(store: &dyn Store, now: Timestamp) -> Timestamp {
        store
            .user_by_seat_uid("0123456789abcdef0123456789abcdef", "bob", now)
            .await
            .unwrap()
            .expect("bob")
            .created_at
    }

    #[tokio::test]
    async fn the_image_of_a_load_serves_resets_for_an_hour() {
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open(dir.path().join("s.db"), Durability::Full).unwrap());
        let source: SeedSource = Arc::new(|| Ok(seats_store::seed::parse(SEED.as_bytes()).unwrap()));
        let images = SeedImage::default();
        let reset = |now| {
            let (store, source, images) = (store.clone(), source.clone(), &images);
            async move {
                let restored = images.reset(&*store, Some(&source), || now).await.unwrap();
                assert_eq!((restored.accounts, restored.users), (1, 1));
                created_at(&*store, now).await
            }
        };
        assert_eq!(reset(at(0)).await, at(0), "loaded");
        assert_eq!(reset(at(59)).await, at(0), "the image of that load");
        assert_eq!(reset(at(60)).await, at(60), "an hour on: loaded again");
        assert_eq!(reset(at(61)).await, at(60), "and that load's image");
        assert_eq!(reset(at(30)).await, at(30), "a clock that went back: loaded again");
        // A reset to nothing is kept apart from a reset to the seed.
        let empty = images.reset(&*store, None, || at(31)).await.unwrap();
        assert_eq!((empty.accounts, empty.users), (0, 0));
        assert_eq!(reset(at(32)).await, at(32), "not the empty image");
    }
}
