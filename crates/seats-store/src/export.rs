//! The whole state of a database as a stream of records, for moving a deployment from one
//! backend to another (`seats export`, `seats import`): one JSON object per line, a header
//! first, then every table in an order that satisfies its references.
//!
//! Secrets are not in it: tokens and member keys travel as the SHA-256 hashes the database
//! holds. Figures the database maintains (seats in use, user and audit counts, a user's last
//! activity) are not either; the importing backend computes them. Times are microseconds
//! since the Unix epoch, as both backends store them, so nothing is rounded on the way.

use serde::{Deserialize, Serialize};

use crate::value::Value;

/// The header's `format`.
pub const FORMAT: &str = "seats-export";
/// The header's `version`: what this build writes and reads.
pub const VERSION: u32 = 1;

/// The first line: which format, and which version of it, the lines below are in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Header {
    pub format: String,
    pub version: u32,
}

/// An account, with its organization.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Account {
    pub id: String,
    pub name: String,
    pub seat_limit: u64,
    /// The organization's fields as JSON text, if it has one.
    pub organization: Option<String>,
    pub organization_created_at: Option<i64>,
    pub organization_updated_at: Option<i64>,
    pub created_at: i64,
}

/// A user of an account, with the seats it holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct User {
    pub id: String,
    pub account_id: String,
    pub email: String,
    pub name: String,
    pub seat_uid: String,
    pub access_seat: bool,
    pub gateway_seat: bool,
    pub seat_granted_at: Option<i64>,
    pub last_successful_login: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A device registration: a device a user enrolled. Exports written before registrations had
/// their own ids leave out `id`, `name`, `client_version` and `revoked_at`: an import gives
/// such a registration a new id, an empty name, and counts it as not revoked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Device {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub user_id: String,
    pub device_id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub client_version: Option<String>,
    pub registered_at: i64,
    pub last_seen_at: i64,
    #[serde(default)]
    pub revoked_at: Option<i64>,
}

/// A session of a user.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Session {
    pub id: String,
    pub user_id: String,
    pub created_at: i64,
    pub expires_at: i64,
}

/// Logins in the order they happened (their numbers are the importer's).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Login {
    pub user_id: String,
    pub at: i64,
    pub via: String,
    pub device_id: Option<String>,
    pub succeeded: bool,
    pub reason: Option<String>,
}

/// An operator member: an email, a global API key, the accounts it may reach.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Member {
    pub email: String,
    /// SHA-256 of the global API key, hex.
    pub key_hash: String,
    pub created_at: i64,
    pub accounts: Vec<String>,
}

/// An API token.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Token {
    pub id: String,
    pub name: String,
    /// SHA-256 of the token, hex.
    pub value_hash: String,
    /// The policies as JSON text.
    pub policies: String,
    pub status: String,
    pub not_before: Option<i64>,
    pub expires_on: Option<i64>,
    pub created_at: i64,
    pub modified_at: i64,
}

/// An identity provider; its SCIM secret travels as the SHA-256 hash the database holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdentityProvider {
    pub id: String,
    pub account_id: String,
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    /// JSON text.
    pub config: String,
    /// JSON text.
    pub scim_config: String,
    pub scim_secret_hash: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A SCIM user, in the order they were created.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScimUser {
    pub id: String,
    pub provider_id: String,
    pub user_id: Option<String>,
    pub user_name_key: String,
    pub external_id: Option<String>,
    pub email_key: Option<String>,
    pub display_name: Option<String>,
    pub active: bool,
    /// JSON text.
    pub resource: String,
    pub version: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A SCIM group with the ids of its members, in the order groups were created.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScimGroup {
    pub id: String,
    pub provider_id: String,
    pub display_name: String,
    pub external_id: Option<String>,
    /// JSON text.
    pub resource: String,
    pub version: i64,
    pub created_at: i64,
    pub updated_at: i64,
    pub members: Vec<String>,
}

/// An audit event with its place in the one order of the log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Audit {
    pub seq: i64,
    pub at: i64,
    pub account_id: Option<String>,
    pub actor_kind: String,
    pub actor_id: String,
    pub action: String,
    pub subject: String,
    pub before: Option<String>,
    pub after: Option<String>,
}

/// When the seat expiry sweep runs next.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SweepSchedule {
    pub next_due: i64,
}

/// The last line: how many records came between the header and it. An import without it
/// (a file cut short) stores nothing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct End {
    pub records: u64,
}

/// Declares the line type [`Record`] (the header, a row, or the end) and [`Row`] (a row
/// alone, what an import stores), from one list of row kinds.
macro_rules! records {
    ($($kind:ident),* $(,)?) => {
        /// One line of an export: `{"record": "<kind>", ...the kind's fields}`.
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        #[serde(tag = "record", rename_all = "snake_case")]
        pub enum Record {
            Header(Header),
            $($kind($kind),)*
            End(End),
        }

        /// A line between the header and the end: one row of the state.
        #[derive(Debug, Clone, PartialEq)]
        pub enum Row {
            $($kind($kind),)*
        }

        /// A line that frames the rows.
        #[derive(Debug, Clone, PartialEq)]
        pub enum Marker {
            Header(Header),
            End(End),
        }

        impl From<Row> for Record {
            fn from(row: Row) -> Record {
                match row {
                    $(Row::$kind(r) => Record::$kind(r),)*
                }
            }
        }

        impl Record {
            /// The row this line carries, or the marker it is.
            pub fn into_row(self) -> Result<Row, Marker> {
                match self {
                    Record::Header(h) => Err(Marker::Header(h)),
                    Record::End(e) => Err(Marker::End(e)),
                    $(Record::$kind(r) => Ok(Row::$kind(r)),)*
                }
            }
        }
    };
}

records!(
    Account,
    User,
    Device,
    Session,
    Login,
    Member,
    Token,
    IdentityProvider,
    ScimUser,
    ScimGroup,
    Audit,
    SweepSchedule,
);

impl Record {
    /// The header this build writes.
    pub fn header() -> Record {
        Record::Header(Header {
            format: FORMAT.into(),
            version: VERSION,
        })
    }

    /// The end line after `records` rows.
    pub fn end(records: u64) -> Record {
        Record::End(End { records })
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
    /// The row to store, or `None` for the end record.
    pub(crate) fn next(&mut self, record: Record) -> crate::StoreResult<Option<Row>> {
        let conflict = |m: String| Err(crate::StoreError::Conflict(crate::Conflict::NotAnExport(m)));
        if self.ended {
            return conflict("records after the end record".into());
        }
        match record.into_row() {
            Err(Marker::Header(_)) => conflict("a second header record".into()),
            Err(Marker::End(End { records })) if records != self.summary.records => conflict(format!(
                "the end record counts {records} records, {} came",
                self.summary.records
            )),
            Err(Marker::End(_)) => {
                self.ended = true;
                Ok(None)
            }
            Ok(row) => {
                self.summary.records += 1;
                match row {
                    Row::Account(_) => self.summary.accounts += 1,
                    Row::User(_) => self.summary.users += 1,
                    _ => {}
                }
                Ok(Some(row))
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
        Some(Record::Header(Header { format, version })) if format == FORMAT && *version == VERSION => Ok(()),
        Some(Record::Header(Header { format, version })) => {
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
    pub read: fn(&dyn Cells) -> crate::StoreResult<Row>,
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
            Ok(Row::Account(Account {
                id: r.text(0)?,
                name: r.text(1)?,
                seat_limit: u64::try_from(r.int(2)?).map_err(crate::StoreError::other)?,
                organization: r.opt_text(3)?,
                organization_created_at: r.opt_int(4)?,
                organization_updated_at: r.opt_int(5)?,
                created_at: r.int(6)?,
            }))
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
            Ok(Row::User(User {
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
            }))
        },
    },
    Kind {
        sqlite: "SELECT id, user_id, device_id, name, client_version, registered_at, last_seen_at, revoked_at
                 FROM devices ORDER BY user_id, device_id",
        // Byte order, as SQLite sorts, whatever the database's collation.
        postgres: "SELECT id, user_id, device_id, name, client_version, registered_at, last_seen_at, revoked_at
                   FROM devices ORDER BY user_id, device_id COLLATE \"C\"",
        read: |r| {
            Ok(Row::Device(Device {
                id: Some(r.text(0)?),
                user_id: r.text(1)?,
                device_id: r.text(2)?,
                name: r.text(3)?,
                client_version: r.opt_text(4)?,
                registered_at: r.int(5)?,
                last_seen_at: r.int(6)?,
                revoked_at: r.opt_int(7)?,
            }))
        },
    },
    Kind {
        sqlite: "SELECT id, user_id, created_at, expires_at FROM sessions ORDER BY id",
        postgres: "SELECT id, user_id, created_at, expires_at FROM sessions ORDER BY id",
        read: |r| {
            Ok(Row::Session(Session {
                id: r.text(0)?,
                user_id: r.text(1)?,
                created_at: r.int(2)?,
                expires_at: r.int(3)?,
            }))
        },
    },
    Kind {
        sqlite: "SELECT user_id, at, via, device_id, succeeded, reason FROM logins ORDER BY id",
        postgres: "SELECT user_id, at, via, device_id, succeeded, reason FROM logins ORDER BY id",
        read: |r| {
            Ok(Row::Login(Login {
                user_id: r.text(0)?,
                at: r.int(1)?,
                via: r.text(2)?,
                device_id: r.opt_text(3)?,
                succeeded: r.flag(4)?,
                reason: r.opt_text(5)?,
            }))
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
            Ok(Row::Member(Member {
                email: r.text(0)?,
                key_hash: hex::encode(r.bytes(1)?),
                created_at: r.int(2)?,
                accounts: r.list(3)?,
            }))
        },
    },
    Kind {
        sqlite: "SELECT id, name, value_hash, policies, status, not_before, expires_on, created_at, modified_at
                 FROM tokens ORDER BY id",
        postgres: "SELECT id, name, value_hash, policies, status, not_before, expires_on, created_at, modified_at
                   FROM tokens ORDER BY id",
        read: |r| {
            Ok(Row::Token(Token {
                id: r.text(0)?,
                name: r.text(1)?,
                value_hash: hex::encode(r.bytes(2)?),
                policies: r.text(3)?,
                status: r.text(4)?,
                not_before: r.opt_int(5)?,
                expires_on: r.opt_int(6)?,
                created_at: r.int(7)?,
                modified_at: r.int(8)?,
            }))
        },
    },
    Kind {
        sqlite: "SELECT id, account_id, name, type, config, scim_config, scim_secret_hash, created_at, updated_at
                 FROM identity_providers ORDER BY created_at, id",
        postgres: "SELECT id, account_id, name, type, config, scim_config, scim_secret_hash, created_at, updated_at
                   FROM identity_providers ORDER BY created_at, id",
        read: |r| {
            Ok(Row::IdentityProvider(IdentityProvider {
                id: r.text(0)?,
                account_id: r.text(1)?,
                name: r.text(2)?,
                kind: r.text(3)?,
                config: r.text(4)?,
                scim_config: r.text(5)?,
                scim_secret_hash: r.opt_bytes(6)?.map(hex::encode),
                created_at: r.int(7)?,
                updated_at: r.int(8)?,
            }))
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
            Ok(Row::ScimUser(ScimUser {
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
            }))
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
            Ok(Row::ScimGroup(ScimGroup {
                id: r.text(0)?,
                provider_id: r.text(1)?,
                display_name: r.text(2)?,
                external_id: r.opt_text(3)?,
                resource: r.text(4)?,
                version: r.int(5)?,
                created_at: r.int(6)?,
                updated_at: r.int(7)?,
                members: r.list(8)?,
            }))
        },
    },
    Kind {
        sqlite: "SELECT seq, at, account_id, actor_kind, actor_id, action, subject, before, after
                 FROM audit_events ORDER BY seq",
        postgres: "SELECT seq, at, account_id, actor_kind, actor_id, action, subject, before, after
                   FROM audit_events ORDER BY seq",
        read: |r| {
            Ok(Row::Audit(Audit {
                seq: r.int(0)?,
                at: r.int(1)?,
                account_id: r.opt_text(2)?,
                actor_kind: r.text(3)?,
                actor_id: r.text(4)?,
                action: r.text(5)?,
                subject: r.text(6)?,
                before: r.opt_text(7)?,
                after: r.opt_text(8)?,
            }))
        },
    },
    Kind {
        sqlite: "SELECT next_due FROM sweep_schedule WHERE id = 1",
        postgres: "SELECT next_due FROM sweep_schedule WHERE id = 1",
        read: |r| Ok(Row::SweepSchedule(SweepSchedule { next_due: r.int(0)? })),
    },
];

/// One statement of an import: its text for each backend (PostgreSQL's placeholders on
/// both; the SQLite backend rewrites them) and the values it binds.
pub(crate) struct Write {
    pub sqlite: &'static str,
    pub postgres: &'static str,
    pub params: Vec<Value>,
}

impl Write {
    /// A statement both dialects read alike.
    fn both(sql: &'static str, params: Vec<Value>) -> Write {
        Write {
            sqlite: sql,
            postgres: sql,
            params,
        }
    }
}

/// The statements that store one row of an import, in order: written once for both backends.
/// The values a statement binds, each converted as [`Value::from`] does.
macro_rules! values {
    ($($e:expr),* $(,)?) => {
        vec![$(Value::from($e)),*]
    };
}

pub(crate) fn writes(row: Row) -> crate::StoreResult<Vec<Write>> {
    Ok(match row {
        Row::Account(a) => vec![Write::both(
            "INSERT INTO accounts (id, name, seat_limit, organization, organization_created_at,
                                   organization_updated_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            values![
                a.id,
                a.name,
                i64::try_from(a.seat_limit).map_err(|_| {
                    crate::StoreError::Conflict(crate::Conflict::NotAnExport(format!(
                        "seat_limit {} is out of range",
                        a.seat_limit
                    )))
                })?,
                a.organization,
                a.organization_created_at,
                a.organization_updated_at,
                a.created_at,
            ],
        )],
        Row::User(u) => {
            let email_key = seats_types::formats::email_key(&u.email);
            vec![Write::both(
                "INSERT INTO users (id, account_id, email, email_key, name, seat_uid, access_seat, gateway_seat,
                                    seat_granted_at, last_successful_login, created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
                values![
                    u.id,
                    u.account_id,
                    u.email,
                    email_key,
                    u.name,
                    u.seat_uid,
                    u.access_seat,
                    u.gateway_seat,
                    u.seat_granted_at,
                    u.last_successful_login,
                    u.created_at,
                    u.updated_at,
                ],
            )]
        }
        Row::Device(d) => vec![Write::both(
            "INSERT INTO devices (id, user_id, device_id, name, client_version, registered_at, last_seen_at, revoked_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            values![
                d.id.unwrap_or_else(|| uuid::Uuid::new_v4().to_string()),
                d.user_id,
                d.device_id,
                d.name,
                d.client_version,
                d.registered_at,
                d.last_seen_at,
                d.revoked_at,
            ],
        )],
        Row::Session(s) => vec![Write::both(
            "INSERT INTO sessions (id, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)",
            values![s.id, s.user_id, s.created_at, s.expires_at],
        )],
        Row::Login(l) => vec![Write::both(
            "INSERT INTO logins (user_id, at, via, device_id, succeeded, reason) VALUES ($1, $2, $3, $4, $5, $6)",
            values![l.user_id, l.at, l.via, l.device_id, l.succeeded, l.reason],
        )],
        Row::Member(m) => {
            let key = seats_types::formats::email_key(&m.email);
            let mut out = vec![Write::both(
                "INSERT INTO members (email_key, email, key_hash, created_at) VALUES ($1, $2, $3, $4)",
                values![key.clone(), m.email, hash_from_hex(&m.key_hash)?, m.created_at],
            )];
            out.extend(m.accounts.into_iter().map(|account| {
                Write::both(
                    "INSERT INTO member_accounts (member_email_key, account_id) VALUES ($1, $2)",
                    values![key.clone(), account],
                )
            }));
            out
        }
        Row::Token(t) => vec![Write::both(
            "INSERT INTO tokens (id, name, value_hash, policies, status, not_before, expires_on, created_at, modified_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            values![
                t.id,
                t.name,
                hash_from_hex(&t.value_hash)?,
                t.policies,
                t.status,
                t.not_before,
                t.expires_on,
                t.created_at,
                t.modified_at,
            ],
        )],
        Row::IdentityProvider(p) => vec![Write::both(
            "INSERT INTO identity_providers (id, account_id, name, type, config, scim_config, scim_secret_hash,
                                             created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            values![
                p.id,
                p.account_id,
                p.name,
                p.kind,
                p.config,
                p.scim_config,
                p.scim_secret_hash.as_deref().map(hash_from_hex).transpose()?,
                p.created_at,
                p.updated_at,
            ],
        )],
        Row::ScimUser(u) => vec![Write::both(
            "INSERT INTO scim_users (id, provider_id, user_id, user_name_key, external_id, email_key, display_name,
                                     active, resource, version, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
            values![
                u.id,
                u.provider_id,
                u.user_id,
                u.user_name_key,
                u.external_id,
                u.email_key,
                u.display_name,
                u.active,
                u.resource,
                u.version,
                u.created_at,
                u.updated_at,
            ],
        )],
        Row::ScimGroup(g) => {
            let mut out = vec![Write::both(
                "INSERT INTO scim_groups (id, provider_id, display_name, external_id, resource, version, created_at,
                                          updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                values![
                    g.id.clone(),
                    g.provider_id,
                    g.display_name,
                    g.external_id,
                    g.resource,
                    g.version,
                    g.created_at,
                    g.updated_at,
                ],
            )];
            out.extend(g.members.into_iter().map(|member| {
                Write::both(
                    "INSERT INTO scim_group_members (group_id, user_id) VALUES ($1, $2)",
                    values![g.id.clone(), member],
                )
            }));
            out
        }
        Row::Audit(a) => {
            let params = values![
                a.seq,
                a.at,
                a.account_id,
                a.actor_kind,
                a.actor_id,
                a.action,
                a.subject,
                a.before,
                a.after,
            ];
            // The log's numbers are kept: PostgreSQL's identity column must be told so.
            vec![Write {
                sqlite: "INSERT INTO audit_events (seq, at, account_id, actor_kind, actor_id, action, subject, before, after)
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                postgres: "INSERT INTO audit_events (seq, at, account_id, actor_kind, actor_id, action, subject, before, after)
                           OVERRIDING SYSTEM VALUE VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                params,
            }]
        }
        Row::SweepSchedule(s) => vec![Write::both(
            "UPDATE sweep_schedule SET next_due = $1 WHERE id = 1",
            values![s.next_due],
        )],
    })
}
