//! Named snapshots of the whole state, held in memory as a database image where the store
//! makes one (SQLite: put back in one step) or as export records (PostgreSQL), and the
//! start-up seed a reset goes back to.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use seats_store::export::Record;
use seats_store::seed::SeedDocument;
use seats_store::DatabaseImage;
use seats_types::{Snapshot, Timestamp};

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

/// A snapshot name: 1 to 64 letters, digits, `.`, `_` or `-`.
pub fn is_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}
