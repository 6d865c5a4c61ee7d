//! The request journal: the last N requests the server answered, for tests to assert on.

use std::collections::VecDeque;
use std::sync::Mutex;

use seats_types::{JournalEntry, Timestamp};
use serde_json::Value;

/// Which entries a query returns: every condition given must hold.
#[derive(Debug, Clone, Default)]
pub struct JournalFilter {
    pub operation_id: Option<String>,
    pub account_id: Option<String>,
    pub method: Option<String>,
    pub status: Option<u16>,
    /// Entries that arrived at or after this time.
    pub since: Option<Timestamp>,
}

impl JournalFilter {
    fn admits(&self, e: &JournalEntry) -> bool {
        self.operation_id
            .as_ref()
            .is_none_or(|o| e.operation_id.as_ref() == Some(o))
            && self
                .account_id
                .as_ref()
                .is_none_or(|a| e.account_id.as_ref() == Some(a))
            && self.method.as_ref().is_none_or(|m| e.method.eq_ignore_ascii_case(m))
            && self.status.is_none_or(|s| e.status == s)
            && self.since.is_none_or(|t| e.at >= t)
    }
}

/// A bounded journal: past `capacity` entries the oldest go.
pub struct Journal {
    capacity: usize,
    inner: Mutex<(u64, VecDeque<JournalEntry>)>,
}

impl Journal {
    pub fn new(capacity: usize) -> Self {
        Journal {
            capacity,
            inner: Mutex::new((0, VecDeque::with_capacity(capacity.min(4096)))),
        }
    }

    pub fn enabled(&self) -> bool {
        self.capacity > 0
    }

    /// Appends an entry, numbering it.
    pub fn record(&self, mut entry: JournalEntry) {
        if !self.enabled() {
            return;
        }
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner.0 += 1;
        entry.seq = inner.0;
        if inner.1.len() == self.capacity {
            inner.1.pop_front();
        }
        inner.1.push_back(entry);
    }

    /// The entries `filter` admits, oldest first, at most `limit` of the newest.
    pub fn query(&self, filter: &JournalFilter, limit: usize) -> Vec<JournalEntry> {
        let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let mut found: Vec<JournalEntry> = inner
            .1
            .iter()
            .rev()
            .filter(|e| filter.admits(e))
            .take(limit)
            .cloned()
            .collect();
        found.reverse();
        found
    }

    /// Empties the journal; returns how many entries it held. Numbering goes on.
    pub fn clear(&self) -> u64 {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let n = inner.1.len() as u64;
        inner.1.clear();
        n
    }
}

/// `value` with every secret field replaced by `"[redacted]"` (see [`crate::secret_fields`]).
pub fn redact(value: Value) -> Value {
    crate::secret_fields::redact(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn entry(status: u16) -> JournalEntry {
        JournalEntry {
            seq: 0,
            at: Timestamp::from_unix_micros(0).unwrap(),
            request_id: "r".into(),
            method: "GET".into(),
            path: "/".into(),
            query: None,
            operation_id: None,
            account_id: None,
            credential_id: None,
            status,
            latency_ms: 0.0,
            request_bytes: 0,
            response_bytes: 0,
            fault: None,
            request_body: None,
            response_body: None,
        }
    }

    #[test]
    fn the_oldest_entries_go_past_capacity_and_numbers_go_on() {
        let journal = Journal::new(2);
        for status in [200, 201, 202] {
            journal.record(entry(status));
        }
        let all = journal.query(&JournalFilter::default(), 10);
        assert_eq!(
            all.iter().map(|e| (e.seq, e.status)).collect::<Vec<_>>(),
            [(2, 201), (3, 202)]
        );
        let filter = JournalFilter {
            status: Some(202),
            ..Default::default()
        };
        assert_eq!(journal.query(&filter, 10).len(), 1);
        assert_eq!(journal.query(&JournalFilter::default(), 1)[0].seq, 3, "the newest");
        assert_eq!(journal.clear(), 2);
        journal.record(entry(204));
        assert_eq!(journal.query(&JournalFilter::default(), 10)[0].seq, 4);
    }

    #[test]
    fn secrets_are_redacted_at_any_depth() {
        let body = json!({"name": "Okta", "config": {"client_secret": "s"}, "scim_config": {"secret": "t"},
            "emails": [{"value": "a@x.com"}], "api_key": "k", "password": null});
        assert_eq!(
            redact(body),
            json!({"name": "Okta", "config": {"client_secret": "[redacted]"}, "scim_config": {"secret": "[redacted]"},
                "emails": [{"value": "a@x.com"}], "api_key": "[redacted]", "password": null})
        );
    }
}
