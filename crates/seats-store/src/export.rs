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

/// A row of either driver, read by column: how one table of record kinds ([`KINDS`]) serves
/// both backends.
pub(crate) trait Cells {
    fn text(&self, i: usize) -> crate::StoreResult<String>;
    fn opt_text(&self, i: usize) -> crate::StoreResult<Option<String>>;
    fn int(&self, i: usize) -> crate::StoreResult<i64>;
    fn opt_int(&self, i: usize) -> crate::StoreResult<Option<i64>>;
    fn flag(&self, i: usize) -> crate::StoreResult<bool>;
    fn bytes(&self, i: usize) -> crate::StoreResult<Vec<u8>>;
    fn opt_bytes(&self, i: usize) -> crate::StoreResult<Option<Vec<u8>>>;
    /// A list of text: a JSON array on SQLite, a `text[]` on PostgreSQL.
    fn list(&self, i: usize) -> crate::StoreResult<Vec<String>>;
}

/// Implements [`Cells`] for `$ty`, a tuple struct over a driver's row whose `$get(i)` reads a
/// column as any type the driver converts; `$list` reads a list column (`$row` is the row).
macro_rules! impl_cells {
    ($ty:ty, $get:ident, |$row:ident, $i:ident| $list:expr) => {
        impl $crate::export::Cells for $ty {
            fn text(&self, i: usize) -> $crate::StoreResult<String> {
                Ok(self.0.$get(i)?)
            }
            fn opt_text(&self, i: usize) -> $crate::StoreResult<Option<String>> {
                Ok(self.0.$get(i)?)
            }
            fn int(&self, i: usize) -> $crate::StoreResult<i64> {
                Ok(self.0.$get(i)?)
            }
            fn opt_int(&self, i: usize) -> $crate::StoreResult<Option<i64>> {
                Ok(self.0.$get(i)?)
            }
            fn flag(&self, i: usize) -> $crate::StoreResult<bool> {
                Ok(self.0.$get(i)?)
            }
            fn bytes(&self, i: usize) -> $crate::StoreResult<Vec<u8>> {
                Ok(self.0.$get(i)?)
            }
            fn opt_bytes(&self, i: usize) -> $crate::StoreResult<Option<Vec<u8>>> {
                Ok(self.0.$get(i)?)
            }
            fn list(&self, $i: usize) -> $crate::StoreResult<Vec<String>> {
                let $row = self.0;
                $list
            }
        }
    };
}
pub(crate) use impl_cells;

/// One kind of record an export holds: the query that reads it on each backend (the same
/// columns in the same order, in the dialect's words) and how a row becomes the record.
pub(crate) struct Kind {
    pub sqlite: &'static str,
    pub postgres: &'static str,
    pub read: fn(&dyn Cells) -> crate::StoreResult<Record>,
}

/// Every kind of record between the header and the end, in the order an export writes them:
/// parents before children, so an import can insert them as they come.
pub(crate) const KINDS: [Kind; 12] = [
    Kind {
        sqlite:
            "SELECT id, name, seat_limit, organization, organization_created_at, organization_updated_at, created_at
                 FROM accounts ORDER BY created_at, id",
        postgres:
            "SELECT id, name, seat_limit, organization, organization_created_at, organization_updated_at, created_at
                   FROM accounts ORDER BY created_at, id",
        read: |r| {
            Ok(Record::Account {
                id: r.text(0)?,
                name: r.text(1)?,
                seat_limit: u64::try_from(r.int(2)?).map_err(crate::StoreError::other)?,
                organization: r.opt_text(3)?,
                organization_created_at: r.opt_int(4)?,
                organization_updated_at: r.opt_int(5)?,
                created_at: r.int(6)?,
            })
        },
    },
    Kind {
        sqlite: "SELECT id, account_id, email, name, seat_uid, access_seat, gateway_seat, seat_granted_at,
                        last_successful_login, created_at, updated_at
                 FROM users ORDER BY account_id, created_at, id",
        postgres: "SELECT id, account_id, email, name, seat_uid, access_seat, gateway_seat, seat_granted_at,
                          last_successful_login, created_at, updated_at
                   FROM users ORDER BY account_id, created_at, id",
        read: |r| {
            Ok(Record::User {
                id: r.text(0)?,
                account_id: r.text(1)?,
                email: r.text(2)?,
                name: r.text(3)?,
                seat_uid: r.text(4)?,
                access_seat: r.flag(5)?,
                gateway_seat: r.flag(6)?,
                seat_granted_at: r.opt_int(7)?,
                last_successful_login: r.opt_int(8)?,
                created_at: r.int(9)?,
                updated_at: r.int(10)?,
            })
        },
    },
    Kind {
        sqlite: "SELECT user_id, device_id, registered_at, last_seen_at FROM devices ORDER BY user_id, device_id",
        // Byte order, as SQLite sorts, whatever the database's collation.
        postgres: "SELECT user_id, device_id, registered_at, last_seen_at FROM devices
                   ORDER BY user_id, device_id COLLATE \"C\"",
        read: |r| {
            Ok(Record::Device {
                user_id: r.text(0)?,
                device_id: r.text(1)?,
                registered_at: r.int(2)?,
                last_seen_at: r.int(3)?,
            })
        },
    },
    Kind {
        sqlite: "SELECT id, user_id, created_at, expires_at FROM sessions ORDER BY id",
        postgres: "SELECT id, user_id, created_at, expires_at FROM sessions ORDER BY id",
        read: |r| {
            Ok(Record::Session {
                id: r.text(0)?,
                user_id: r.text(1)?,
                created_at: r.int(2)?,
                expires_at: r.int(3)?,
            })
        },
    },
    Kind {
        sqlite: "SELECT user_id, at, via, device_id, succeeded, reason FROM logins ORDER BY id",
        postgres: "SELECT user_id, at, via, device_id, succeeded, reason FROM logins ORDER BY id",
        read: |r| {
            Ok(Record::Login {
                user_id: r.text(0)?,
                at: r.int(1)?,
                via: r.text(2)?,
                device_id: r.opt_text(3)?,
                succeeded: r.flag(4)?,
                reason: r.opt_text(5)?,
            })
        },
    },
    Kind {
        sqlite: "SELECT m.email, m.key_hash, m.created_at,
                        COALESCE((SELECT json_group_array(account_id) FROM
                                  (SELECT account_id FROM member_accounts WHERE member_email_key = m.email_key
                                   ORDER BY account_id)), '[]')
                 FROM members m ORDER BY m.email_key",
        postgres: "SELECT m.email, m.key_hash, m.created_at,
                          COALESCE(array_agg(ma.account_id ORDER BY ma.account_id)
                                   FILTER (WHERE ma.account_id IS NOT NULL), '{}')
                   FROM members m LEFT JOIN member_accounts ma ON ma.member_email_key = m.email_key
                   GROUP BY m.email_key ORDER BY m.email_key",
        read: |r| {
            Ok(Record::Member {
                email: r.text(0)?,
                key_hash: hex::encode(r.bytes(1)?),
                created_at: r.int(2)?,
                accounts: r.list(3)?,
            })
        },
    },
    Kind {
        sqlite: "SELECT id, name, value_hash, policies, status, not_before, expires_on, created_at, modified_at
                 FROM tokens ORDER BY id",
        postgres: "SELECT id, name, value_hash, policies, status, not_before, expires_on, created_at, modified_at
                   FROM tokens ORDER BY id",
        read: |r| {
            Ok(Record::Token {
                id: r.text(0)?,
                name: r.text(1)?,
                value_hash: hex::encode(r.bytes(2)?),
                policies: r.text(3)?,
                status: r.text(4)?,
                not_before: r.opt_int(5)?,
                expires_on: r.opt_int(6)?,
                created_at: r.int(7)?,
                modified_at: r.int(8)?,
            })
        },
    },
    Kind {
        sqlite: "SELECT id, account_id, name, type, config, scim_config, scim_secret_hash, created_at, updated_at
                 FROM identity_providers ORDER BY created_at, id",
        postgres: "SELECT id, account_id, name, type, config, scim_config, scim_secret_hash, created_at, updated_at
                   FROM identity_providers ORDER BY created_at, id",
        read: |r| {
            Ok(Record::IdentityProvider {
                id: r.text(0)?,
                account_id: r.text(1)?,
                name: r.text(2)?,
                kind: r.text(3)?,
                config: r.text(4)?,
                scim_config: r.text(5)?,
                scim_secret_hash: r.opt_bytes(6)?.map(hex::encode),
                created_at: r.int(7)?,
                updated_at: r.int(8)?,
            })
        },
    },
    Kind {
        sqlite: "SELECT id, provider_id, user_id, user_name_key, external_id, email_key, display_name, active,
                        resource, version, created_at, updated_at
                 FROM scim_users ORDER BY seq",
        postgres: "SELECT id, provider_id, user_id, user_name_key, external_id, email_key, display_name, active,
                          resource, version, created_at, updated_at
                   FROM scim_users ORDER BY seq",
        read: |r| {
            Ok(Record::ScimUser {
                id: r.text(0)?,
                provider_id: r.text(1)?,
                user_id: r.opt_text(2)?,
                user_name_key: r.text(3)?,
                external_id: r.opt_text(4)?,
                email_key: r.opt_text(5)?,
                display_name: r.opt_text(6)?,
                active: r.flag(7)?,
                resource: r.text(8)?,
                version: r.int(9)?,
                created_at: r.int(10)?,
                updated_at: r.int(11)?,
            })
        },
    },
    Kind {
        sqlite: "SELECT g.id, g.provider_id, g.display_name, g.external_id, g.resource, g.version, g.created_at,
                        g.updated_at,
                        (SELECT json_group_array(user_id) FROM (SELECT user_id FROM scim_group_members m
                                                                WHERE m.group_id = g.id ORDER BY user_id))
                 FROM scim_groups g ORDER BY g.seq",
        postgres: "SELECT g.id, g.provider_id, g.display_name, g.external_id, g.resource, g.version, g.created_at,
                          g.updated_at,
                          ARRAY(SELECT m.user_id FROM scim_group_members m WHERE m.group_id = g.id ORDER BY m.user_id)
                   FROM scim_groups g ORDER BY g.seq",
        read: |r| {
            Ok(Record::ScimGroup {
                id: r.text(0)?,
                provider_id: r.text(1)?,
                display_name: r.text(2)?,
                external_id: r.opt_text(3)?,
                resource: r.text(4)?,
                version: r.int(5)?,
                created_at: r.int(6)?,
                updated_at: r.int(7)?,
                members: r.list(8)?,
            })
        },
    },
    Kind {
        sqlite: "SELECT seq, at, account_id, actor_kind, actor_id, action, subject, before, after
                 FROM audit_events ORDER BY seq",
        postgres: "SELECT seq, at, account_id, actor_kind, actor_id, action, subject, before, after
                   FROM audit_events ORDER BY seq",
        read: |r| {
            Ok(Record::Audit {
                seq: r.int(0)?,
                at: r.int(1)?,
                account_id: r.opt_text(2)?,
                actor_kind: r.text(3)?,
                actor_id: r.text(4)?,
                action: r.text(5)?,
                subject: r.text(6)?,
                before: r.opt_text(7)?,
                after: r.opt_text(8)?,
            })
        },
    },
    Kind {
        sqlite: "SELECT next_due FROM sweep_schedule WHERE id = 1",
        postgres: "SELECT next_due FROM sweep_schedule WHERE id = 1",
        read: |r| Ok(Record::SweepSchedule { next_due: r.int(0)? }),
    },
];
