//! The whole state of a database as a stream of records, for moving a deployment from one
//! backend to another (`seats export`, `seats import`): one JSON object per line, a header
//! first, then every table in an order that satisfies its references.
//!
//! Secrets are not in it: tokens and member keys travel as the SHA-256 hashes the database
//! holds. Figures the database maintains (seats in use, user and audit counts, a user's last
//! activity) are not either; the importing backend computes them. Times are microseconds
//! since the Unix epoch, as both backends store them, so nothing is rounded on the way.

use serde::{Deserialize, Serialize};

/// The header's `format`.
pub const FORMAT: &str = "seats-export";
/// The header's `version`: what this build writes and reads.
pub const VERSION: u32 = 1;

/// One line of an export.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "record", rename_all = "snake_case", deny_unknown_fields)]
pub enum Record {
    Header {
        format: String,
        version: u32,
    },
    Account {
        id: String,
        name: String,
        seat_limit: u64,
        /// The organization's fields as JSON text, if it has one.
        organization: Option<String>,
        organization_created_at: Option<i64>,
        organization_updated_at: Option<i64>,
        created_at: i64,
    },
    User {
        id: String,
        account_id: String,
        email: String,
        name: String,
        seat_uid: String,
        access_seat: bool,
        gateway_seat: bool,
        seat_granted_at: Option<i64>,
        last_successful_login: Option<i64>,
        created_at: i64,
        updated_at: i64,
    },
    Device {
        user_id: String,
        device_id: String,
        registered_at: i64,
        last_seen_at: i64,
    },
    Session {
        id: String,
        user_id: String,
        created_at: i64,
        expires_at: i64,
    },
    /// Logins in the order they happened (their numbers are the importer's).
    Login {
        user_id: String,
        at: i64,
        via: String,
        device_id: Option<String>,
        succeeded: bool,
        reason: Option<String>,
    },
    Member {
        email: String,
        /// SHA-256 of the global API key, hex.
        key_hash: String,
        created_at: i64,
        accounts: Vec<String>,
    },
    Token {
        id: String,
        name: String,
        /// SHA-256 of the token, hex.
        value_hash: String,
        /// The policies as JSON text.
        policies: String,
        status: String,
        not_before: Option<i64>,
        expires_on: Option<i64>,
        created_at: i64,
        modified_at: i64,
    },
    /// An identity provider; its SCIM secret travels as the SHA-256 hash the database holds.
    IdentityProvider {
        id: String,
        account_id: String,
        name: String,
        #[serde(rename = "type")]
        kind: String,
        /// JSON text.
        config: String,
        /// JSON text.
        scim_config: String,
        scim_secret_hash: Option<String>,
        created_at: i64,
        updated_at: i64,
    },
    /// A SCIM user, in the order they were created.
    ScimUser {
        id: String,
        provider_id: String,
        user_id: Option<String>,
        user_name_key: String,
        external_id: Option<String>,
        email_key: Option<String>,
        display_name: Option<String>,
        active: bool,
        /// JSON text.
        resource: String,
        version: i64,
        created_at: i64,
        updated_at: i64,
    },
    /// A SCIM group with the ids of its members, in the order groups were created.
    ScimGroup {
        id: String,
        provider_id: String,
        display_name: String,
        external_id: Option<String>,
        /// JSON text.
        resource: String,
        version: i64,
        created_at: i64,
        updated_at: i64,
        members: Vec<String>,
    },
    /// An audit event with its place in the one order of the log.
    Audit {
        seq: i64,
        at: i64,
        account_id: Option<String>,
        actor_kind: String,
        actor_id: String,
        action: String,
        subject: String,
        before: Option<String>,
        after: Option<String>,
    },
    SweepSchedule {
        next_due: i64,
    },
    /// The last line: how many records came between the header and it. An import without it
    /// (a file cut short) stores nothing.
    End {
        records: u64,
    },
}

impl Record {
    pub fn header() -> Record {
        Record::Header {
            format: FORMAT.into(),
            version: VERSION,
        }
    }
}

/// How many records of each kind an import stored.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportSummary {
    pub accounts: u64,
    pub users: u64,
    pub records: u64,
}

/// Follows an import's records after the header: counts them, and checks the end.
#[derive(Debug, Default)]
pub(crate) struct Importing {
    summary: ImportSummary,
    ended: bool,
}

impl Importing {
    /// The record to store, or `None` for the end record.
    pub(crate) fn next(&mut self, record: Record) -> crate::StoreResult<Option<Record>> {
        let conflict = |m: String| Err(crate::StoreError::Conflict(crate::Conflict::NotAnExport(m)));
        if self.ended {
            return conflict("records after the end record".into());
        }
        match record {
            Record::Header { .. } => conflict("a second header record".into()),
            Record::End { records } if records != self.summary.records => conflict(format!(
                "the end record counts {records} records, {} came",
                self.summary.records
            )),
            Record::End { .. } => {
                self.ended = true;
                Ok(None)
            }
            record => {
                self.summary.records += 1;
                match record {
                    Record::Account { .. } => self.summary.accounts += 1,
                    Record::User { .. } => self.summary.users += 1,
                    _ => {}
                }
                Ok(Some(record))
            }
        }
    }

    /// The summary, if the export was complete.
    pub(crate) fn finish(self) -> crate::StoreResult<ImportSummary> {
        if !self.ended {
            return Err(crate::StoreError::Conflict(crate::Conflict::NotAnExport(
                "the export is incomplete (it has no end record)".into(),
            )));
        }
        Ok(self.summary)
    }
}

/// Checks the header an import starts with.
pub(crate) fn check_header(first: Option<&Record>) -> crate::StoreResult<()> {
    match first {
        Some(Record::Header { format, version }) if format == FORMAT && *version == VERSION => Ok(()),
        Some(Record::Header { format, version }) => {
            Err(crate::StoreError::Conflict(crate::Conflict::NotAnExport(format!(
            "not an export this build reads: format {format} version {version} (expected {FORMAT} version {VERSION})"
        ))))
        }
        _ => Err(crate::StoreError::Conflict(crate::Conflict::NotAnExport(
            "an export starts with its header record".into(),
        ))),
    }
}

/// A hash from its hex form.
pub(crate) fn hash_from_hex(hex: &str) -> crate::StoreResult<Vec<u8>> {
    match hex::decode(hex) {
        Ok(bytes) if bytes.len() == 32 => Ok(bytes),
        _ => Err(crate::StoreError::Conflict(crate::Conflict::NotAnExport(format!(
            "not a SHA-256 hash in hex: {hex}"
        )))),
    }
}
