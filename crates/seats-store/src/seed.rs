//! The seed file (docs/contract.md §9): accounts with users, members and tokens to load into an empty
//! database.
//!
//! A seed is read as a stream: each user is checked and handed to a [`SeedSink`] (the
//! backend's bulk loader) as soon as it is parsed, so a 1M-user file never sits in memory.
//! Problems are collected, not fatal; the backend loads everything in one transaction and
//! rolls it back if any problem was found, so an invalid seed writes nothing. Duplicates that
//! need every user to be seen (an email or seat uid twice in an account, a user id twice in
//! the seed) are found by the sink: the SQLite loader by its unique indexes, [`parse`] in
//! memory.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::io::Read;

use seats_types::{formats, Policy, Timestamp, TokenStatus};
use serde::de::{DeserializeSeed, Error as _, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

use crate::secret::{Secret, SecretHash};
use crate::{StoreError, StoreResult};

/// The built-in demo seed: the example values of Cloudflare's documentation, so its curl
/// example works as written.
pub const DEMO_SEED: &str = include_str!("demo_seed.json");

/// Default `seat_limit` of an account: the size of Cloudflare's Free plan.
pub const DEFAULT_SEAT_LIMIT: u64 = 50;

/// Most problems reported; the rest are counted.
const MAX_PROBLEMS: usize = 1000;

/// An account of the seed, without its users (they are streamed).
#[derive(Debug)]
pub struct SeedAccount {
    pub id: String,
    pub name: String,
    pub seat_limit: u64,
    /// Organization settings (docs/contract.md §7), normalized.
    pub organization: Option<serde_json::Map<String, serde_json::Value>>,
}

/// A user of a seeded account. `seat_uid` and `id` are generated when absent.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedUser {
    #[serde(default)]
    pub id: Option<String>,
    pub email: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub seat_uid: Option<String>,
    #[serde(default)]
    pub access_seat: bool,
    #[serde(default)]
    pub gateway_seat: bool,
    /// That many device registrations are created (requires `gateway_seat`).
    #[serde(default)]
    pub active_device_count: u64,
    /// With `access_seat`, also opens a session at that time (24 h lifetime).
    #[serde(default)]
    pub last_successful_login: Option<Timestamp>,
}

/// What a backend stores for a seeded user beyond its own fields: ids (generated, time-ordered,
/// when absent) and the times the expiry sweep judges.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSeedUser {
    pub id: String,
    pub seat_uid: String,
    pub last_successful_login: Option<i64>,
    pub seat_granted_at: Option<i64>,
    /// The latest of last login, seat grant and device activity.
    pub active_at: i64,
}

impl SeedUser {
    /// The stored form of this user, loaded at `now_us` (microseconds since the epoch).
    pub fn stored(&self, now_us: i64) -> StoredSeedUser {
        let holds = self.access_seat || self.gateway_seat;
        let last_login = self.last_successful_login.map(|t| t.unix_micros());
        // A seeded seat counts as granted at the user's last login, if the seed says when.
        let granted = holds.then_some(last_login.unwrap_or(now_us));
        let devices_seen = (self.active_device_count > 0).then_some(now_us);
        StoredSeedUser {
            id: self
                .id
                .as_ref()
                .map_or_else(|| uuid::Uuid::now_v7().to_string(), |id| id.to_ascii_lowercase()),
            seat_uid: self
                .seat_uid
                .clone()
                .unwrap_or_else(|| uuid::Uuid::now_v7().to_string()),
            last_successful_login: last_login,
            seat_granted_at: granted,
            active_at: [last_login, granted, devices_seen]
                .into_iter()
                .flatten()
                .max()
                .unwrap_or(0),
        }
    }
}

/// A member of the seed. Its key is hashed before it is stored.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedMember {
    pub email: String,
    #[serde(deserialize_with = "deserialize_secret")]
    pub api_key: Secret,
    #[serde(default)]
    pub accounts: Vec<String>,
}

/// A token of the seed. Its value is hashed before it is stored.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedToken {
    #[serde(default)]
    pub id: Option<String>,
    pub name: String,
    #[serde(deserialize_with = "deserialize_secret")]
    pub value: Secret,
    pub policies: Vec<Policy>,
    #[serde(default)]
    pub status: Option<TokenStatus>,
    #[serde(default)]
    pub not_before: Option<Timestamp>,
    #[serde(default)]
    pub expires_on: Option<Timestamp>,
}

/// A seed's account, member or token as a backend stores it: the organization and policies
/// as JSON text, the member's email folded, secrets hashed, a token's id generated if absent.
/// Made on the thread that reads the document, so the writing thread only writes.
pub(crate) enum SeedRecord {
    Account {
        id: String,
        name: String,
        seat_limit: u64,
        organization: Option<String>,
    },
    Member {
        key: String,
        email: String,
        hash: SecretHash,
        accounts: Vec<String>,
    },
    Token {
        id: String,
        name: String,
        hash: SecretHash,
        policies: String,
        status: &'static str,
        not_before: Option<i64>,
        expires_on: Option<i64>,
    },
}

impl SeedRecord {
    pub(crate) fn account(account: &SeedAccount) -> StoreResult<SeedRecord> {
        Ok(SeedRecord::Account {
            id: account.id.clone(),
            name: account.name.clone(),
            seat_limit: account.seat_limit,
            organization: account
                .organization
                .as_ref()
                .map(serde_json::to_string)
                .transpose()
                .map_err(StoreError::other)?,
        })
    }

    pub(crate) fn member(member: &SeedMember) -> SeedRecord {
        SeedRecord::Member {
            key: formats::email_key(&member.email),
            email: member.email.clone(),
            hash: member.api_key.hash(),
            accounts: member.accounts.clone(),
        }
    }

    pub(crate) fn token(token: &SeedToken) -> StoreResult<SeedRecord> {
        Ok(SeedRecord::Token {
            id: token
                .id
                .clone()
                .unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string()),
            name: token.name.clone(),
            hash: token.value.hash(),
            policies: serde_json::to_string(&token.policies).map_err(StoreError::other)?,
            status: token.status.unwrap_or(TokenStatus::Active).as_str(),
            not_before: token.not_before.map(|t| t.unix_micros()),
            expires_on: token.expires_on.map(|t| t.unix_micros()),
        })
    }
}

fn deserialize_secret<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Secret, D::Error> {
    String::deserialize(d).map(Secret::new)
}

/// Bytes asked of a seed's reader at a time.
const READ_BUFFER: usize = 256 * 1024;

/// A seed document to load: bytes or a file, read once, as a stream.
pub struct SeedDocument {
    reader: Box<dyn Read + Send>,
}

impl fmt::Debug for SeedDocument {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SeedDocument")
    }
}

impl SeedDocument {
    pub fn from_bytes(bytes: impl Into<Vec<u8>>) -> Self {
        SeedDocument {
            reader: Box::new(std::io::Cursor::new(bytes.into())),
        }
    }

    /// Streams the file; it is checked while it loads.
    pub fn open(path: &std::path::Path) -> std::io::Result<Self> {
        let file = std::fs::File::open(path)?;
        // Buffered where it is read: [`stream`], [`SeedDocument::digest`].
        Ok(SeedDocument { reader: Box::new(file) })
    }

    pub fn into_reader(self) -> Box<dyn Read + Send> {
        self.reader
    }

    /// The SHA-256 of the document's bytes, read to the end: what tells two seeds apart
    /// without keeping either.
    pub fn digest(self) -> std::io::Result<[u8; 32]> {
        let (mut document, digest) = self.hashed();
        let mut buf = vec![0; READ_BUFFER];
        loop {
            match document.reader.read(&mut buf) {
                Ok(0) => return Ok(digest.finish()),
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// The same document, hashing its bytes as they are read, and what gives their SHA-256
    /// once they have been: a load reads a valid document to its end, so after a load the
    /// digest is [`SeedDocument::digest`]'s, without reading the document twice.
    pub fn hashed(self) -> (SeedDocument, SeedDigest) {
        let digest = SeedDigest::default();
        let reader = Hashing {
            inner: self.reader,
            hasher: digest.0.clone(),
        };
        (
            SeedDocument {
                reader: Box::new(reader),
            },
            digest,
        )
    }
}

/// The SHA-256 of what has been read of a [`SeedDocument::hashed`] document.
#[derive(Default)]
pub struct SeedDigest(std::sync::Arc<std::sync::Mutex<sha2::Sha256>>);

impl SeedDigest {
    /// The digest of the bytes read so far (all of them, after a load or a [`SeedDocument::digest`]).
    pub fn finish(self) -> [u8; 32] {
        use sha2::Digest;
        let hasher = self.0.lock().unwrap_or_else(|e| e.into_inner()).clone();
        hasher.finalize().into()
    }
}

impl fmt::Debug for SeedDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SeedDigest")
    }
}

/// A reader that hashes what passes through it.
struct Hashing {
    inner: Box<dyn Read + Send>,
    hasher: std::sync::Arc<std::sync::Mutex<sha2::Sha256>>,
}

impl Read for Hashing {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        use sha2::Digest;
        let n = self.inner.read(buf)?;
        self.hasher.lock().unwrap_or_else(|e| e.into_inner()).update(&buf[..n]);
        Ok(n)
    }
}

/// What a loaded seed held.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SeedSummary {
    pub accounts: usize,
    pub users: usize,
    pub members: usize,
    pub tokens: usize,
}

/// One thing wrong with a seed file, located by a JSON pointer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeedProblem {
    pub pointer: String,
    pub problem: String,
}

impl fmt::Display for SeedProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let at = if self.pointer.is_empty() {
            "(document)"
        } else {
            &self.pointer
        };
        write!(f, "{at}: {}", self.problem)
    }
}

/// Why a seed was refused: every problem found, in document order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeedError {
    pub problems: Vec<SeedProblem>,
}

impl fmt::Display for SeedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.problems.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{p}")?;
        }
        Ok(())
    }
}

impl std::error::Error for SeedError {}

/// Which uniqueness rule a user broke.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DuplicateField {
    /// A user id twice in the seed.
    Id,
    /// An email twice in one account (ASCII case-insensitive).
    Email,
    /// A seat uid twice in one account.
    SeatUid,
}

/// A user that repeats an earlier one, by position in the document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Duplicate {
    pub field: DuplicateField,
    /// Index of the account in `accounts`, and of the user in its `users`.
    pub account: usize,
    pub user: usize,
    pub value: String,
    /// The earlier user of the same account, for emails and seat uids.
    pub first: Option<usize>,
}

/// Where a checked seed goes: a backend's loader, or nowhere ([`parse`]).
pub trait SeedSink {
    /// A checked user of account `account` (its index), at `/accounts/{account}/users/{user}`.
    fn user(&mut self, account: usize, account_id: &str, user: usize, seed: &SeedUser) -> StoreResult<()>;
    /// A checked account, after its users.
    fn account(&mut self, index: usize, account: &SeedAccount) -> StoreResult<()>;
    fn member(&mut self, member: &SeedMember) -> StoreResult<()>;
    fn token(&mut self, token: &SeedToken) -> StoreResult<()>;
    /// Once every user is in: the duplicates among them.
    fn duplicates(&mut self) -> StoreResult<Vec<Duplicate>>;
}

/// Reads a seed from `reader` into `sink`, checking everything. Returns what it held, or
/// [`StoreError::InvalidSeed`] with every problem (the caller then discards what the sink
/// received), or the sink's own error.
pub fn stream(reader: impl Read, sink: &mut dyn SeedSink) -> StoreResult<SeedSummary> {
    let mut loader = Loader {
        sink,
        problems: Vec::new(),
        more_problems: 0,
        account_ids: HashSet::new(),
        members: Vec::new(),
        tokens: Vec::new(),
        summary: SeedSummary::default(),
        failed: None,
    };
    // serde_json takes its input a byte at a time. Std's `BufReader` hands out a byte from its
    // buffer without a call; any other reader (the document's boxed one, even a `BufReader`
    // behind the box) takes a virtual `read` call per byte, which was a tenth of a seed's
    // instructions.
    let reader = std::io::BufReader::with_capacity(READ_BUFFER, reader);
    let mut de = serde_json::Deserializer::from_reader(reader);
    let mut track = serde_path_to_error::Track::new();
    let parsed = DocumentSeed(&mut loader)
        .deserialize(serde_path_to_error::Deserializer::new(&mut de, &mut track))
        .and_then(|()| de.end());
    if let Some(e) = loader.failed.take() {
        return Err(e);
    }
    if let Err(e) = parsed {
        let problem = if e.is_syntax() || e.is_eof() || e.is_io() {
            format!("invalid JSON: {e}")
        } else {
            e.to_string()
        };
        return Err(StoreError::InvalidSeed(SeedError {
            problems: vec![SeedProblem {
                pointer: path_to_pointer(&track.path()),
                problem,
            }],
        }));
    }
    loader.finish()
}

/// Checks a whole seed document in memory (for small documents: tests, the demo seed).
pub fn parse(bytes: &[u8]) -> Result<SeedDocument, SeedError> {
    match stream(bytes, &mut MemorySink::default()) {
        Ok(_) => Ok(SeedDocument::from_bytes(bytes)),
        Err(StoreError::InvalidSeed(e)) => Err(e),
        Err(e) => Err(SeedError {
            problems: vec![SeedProblem {
                pointer: String::new(),
                problem: e.to_string(),
            }],
        }),
    }
}

/// Finds duplicates with hash maps; keeps nothing else.
#[derive(Default)]
struct MemorySink {
    ids: HashSet<String>,
    emails: HashMap<(usize, String), usize>,
    seat_uids: HashMap<(usize, String), usize>,
    found: Vec<Duplicate>,
}

impl SeedSink for MemorySink {
    fn user(&mut self, account: usize, _: &str, user: usize, seed: &SeedUser) -> StoreResult<()> {
        let mut dup = |field, value: &str, first| {
            self.found.push(Duplicate {
                field,
                account,
                user,
                value: value.to_owned(),
                first,
            })
        };
        if let Some(id) = &seed.id {
            if !self.ids.insert(id.to_ascii_lowercase()) {
                dup(DuplicateField::Id, id, None);
            }
        }
        if let Some(&first) = self.emails.get(&(account, formats::email_key(&seed.email))) {
            dup(DuplicateField::Email, &seed.email, Some(first));
        } else {
            self.emails.insert((account, formats::email_key(&seed.email)), user);
        }
        if let Some(uid) = &seed.seat_uid {
            if let Some(&first) = self.seat_uids.get(&(account, uid.clone())) {
                dup(DuplicateField::SeatUid, uid, Some(first));
            } else {
                self.seat_uids.insert((account, uid.clone()), user);
            }
        }
        Ok(())
    }

    fn account(&mut self, _: usize, _: &SeedAccount) -> StoreResult<()> {
        Ok(())
    }

    fn member(&mut self, _: &SeedMember) -> StoreResult<()> {
        Ok(())
    }

    fn token(&mut self, _: &SeedToken) -> StoreResult<()> {
        Ok(())
    }

    fn duplicates(&mut self) -> StoreResult<Vec<Duplicate>> {
        Ok(std::mem::take(&mut self.found))
    }
}

/// Where a problem sits in the document, so problems sort into document order: the section,
/// the item in it, the place within the item, then the order of checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Order(Section, usize, Place, usize);

/// The document's sections, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Section {
    Accounts,
    Members,
    Tokens,
}

/// A place within an item, in document order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Place {
    /// The item's own fields, numbered in the order the item lists them.
    Field(usize),
    /// An account's user at this index.
    User(usize),
    /// An account's organization, after its users.
    Organization,
    /// What only the whole account shows (seats over the limit), last.
    Whole,
}

struct Loader<'s> {
    sink: &'s mut dyn SeedSink,
    problems: Vec<(Order, SeedProblem)>,
    more_problems: usize,
    account_ids: HashSet<String>,
    members: Vec<SeedMember>,
    tokens: Vec<SeedToken>,
    summary: SeedSummary,
    /// The sink's error, which stops the stream.
    failed: Option<StoreError>,
}

impl Loader<'_> {
    fn problem(&mut self, order: Order, pointer: String, problem: String) {
        if self.problems.len() < MAX_PROBLEMS {
            self.problems.push((order, SeedProblem { pointer, problem }));
        } else {
            self.more_problems += 1;
        }
    }

    /// Hands a result of the sink on, keeping its error to return instead of the parser's.
    fn sunk<E: serde::de::Error>(&mut self, result: StoreResult<()>) -> Result<(), E> {
        result.map_err(|e| {
            self.failed = Some(e);
            E::custom("the seed could not be stored")
        })
    }

    /// A user's own problems; true when it may be stored.
    fn check_user(&mut self, account: usize, index: usize, user: &SeedUser) -> bool {
        let at = format!("/accounts/{account}/users/{index}");
        let order = |k| Order(Section::Accounts, account, Place::User(index), k);
        let before = self.problems.len() + self.more_problems;
        if user.id.as_ref().is_some_and(|id| uuid::Uuid::parse_str(id).is_err()) {
            self.problem(order(0), format!("{at}/id"), "user id must be a UUID".into());
        }
        if !formats::is_email(&user.email) {
            self.problem(order(1), format!("{at}/email"), "not a valid email address".into());
        }
        if let Some(p) = formats::text_problem("name", &user.name, formats::MAX_NAME_CHARS) {
            self.problem(order(1), format!("{at}/name"), p);
        }
        if let Some(p) = user.seat_uid.as_deref().and_then(formats::seat_uid_problem) {
            self.problem(order(2), format!("{at}/seat_uid"), p.into());
        }
        if user.active_device_count > 0 && !user.gateway_seat {
            self.problem(
                order(3),
                format!("{at}/active_device_count"),
                "devices are registered through Gateway: requires gateway_seat true".into(),
            );
        }
        self.problems.len() + self.more_problems == before
    }

    fn check_account(&mut self, index: usize, account: &mut SeedAccount, seated: u64) {
        let at = format!("/accounts/{index}");
        if !formats::is_account_id(&account.id) {
            self.problem(
                Order(Section::Accounts, index, Place::Field(0), 0),
                format!("{at}/id"),
                "account id must be 32 lowercase hex characters".into(),
            );
        } else if !self.account_ids.insert(account.id.clone()) {
            self.problem(
                Order(Section::Accounts, index, Place::Field(0), 0),
                format!("{at}/id"),
                format!("duplicate account id {}", account.id),
            );
        }
        if let Some(p) = formats::text_problem("name", &account.name, formats::MAX_NAME_CHARS) {
            self.problem(
                Order(Section::Accounts, index, Place::Field(0), 1),
                format!("{at}/name"),
                p,
            );
        }
        if i64::try_from(account.seat_limit).is_err() {
            self.problem(
                Order(Section::Accounts, index, Place::Field(0), 2),
                format!("{at}/seat_limit"),
                format!("seat_limit must be an integer between 0 and {}", i64::MAX),
            );
        }
        if let Some(org) = account.organization.take() {
            match crate::organization::normalize(&org, false) {
                // Normalized: `""` expiry becomes `null`, unknown fields go.
                Ok(normal) => account.organization = Some(normal),
                Err(found) => {
                    for (i, (pointer, message)) in found.into_iter().enumerate() {
                        self.problem(
                            Order(Section::Accounts, index, Place::Organization, i),
                            format!("{at}/organization{pointer}"),
                            message,
                        );
                    }
                }
            }
        }
        if seated > account.seat_limit {
            self.problem(
                Order(Section::Accounts, index, Place::Whole, 0),
                format!("{at}/seat_limit"),
                format!(
                    "account over its limit: {seated} users hold a seat, seat_limit is {}",
                    account.seat_limit
                ),
            );
        }
    }

    fn finish(mut self) -> StoreResult<SeedSummary> {
        let mut emails = HashSet::new();
        for (m, member) in std::mem::take(&mut self.members).into_iter().enumerate() {
            let at = format!("/members/{m}");
            let before = self.problems.len();
            if !formats::is_email(&member.email) {
                self.problem(
                    Order(Section::Members, m, Place::Field(0), 0),
                    format!("{at}/email"),
                    "not a valid email address".into(),
                );
            } else if !emails.insert(formats::email_key(&member.email)) {
                self.problem(
                    Order(Section::Members, m, Place::Field(0), 0),
                    format!("{at}/email"),
                    format!("duplicate member {}", member.email),
                );
            }
            if !formats::is_api_key(member.api_key.expose()) {
                self.problem(
                    Order(Section::Members, m, Place::Field(1), 0),
                    format!("{at}/api_key"),
                    "api_key must be 32-64 ASCII letters and digits".into(),
                );
            }
            for (i, id) in member.accounts.iter().enumerate() {
                if !self.account_ids.contains(id) {
                    self.problem(
                        Order(Section::Members, m, Place::Field(2 + i), 0),
                        format!("{at}/accounts/{i}"),
                        format!("unknown account {id}"),
                    );
                }
            }
            if self.problems.len() == before {
                self.summary.members += 1;
                self.sink.member(&member)?;
            }
        }
        let mut hashes = HashSet::new();
        let mut ids = HashSet::new();
        for (t, token) in std::mem::take(&mut self.tokens).into_iter().enumerate() {
            let at = format!("/tokens/{t}");
            let before = self.problems.len();
            if let Some(id) = &token.id {
                if !(1..=64).contains(&id.len()) || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
                    self.problem(
                        Order(Section::Tokens, t, Place::Field(0), 0),
                        format!("{at}/id"),
                        "token id must be 1-64 letters, digits or '-'".into(),
                    );
                } else if !ids.insert(id.clone()) {
                    self.problem(
                        Order(Section::Tokens, t, Place::Field(0), 0),
                        format!("{at}/id"),
                        format!("duplicate token id {id}"),
                    );
                }
            }
            if !formats::is_api_token(token.value.expose()) {
                self.problem(
                    Order(Section::Tokens, t, Place::Field(1), 0),
                    format!("{at}/value"),
                    "token value must be 1-255 characters of [A-Za-z0-9._~+/=-]".into(),
                );
            } else if !hashes.insert(token.value.hash().0) {
                self.problem(
                    Order(Section::Tokens, t, Place::Field(1), 0),
                    format!("{at}/value"),
                    "duplicate token value".into(),
                );
            }
            if token.status == Some(TokenStatus::Expired) {
                self.problem(
                    Order(Section::Tokens, t, Place::Field(2), 0),
                    format!("{at}/status"),
                    "status must be active or disabled; expiry comes from expires_on".into(),
                );
            }
            for (p, policy) in token.policies.iter().enumerate() {
                for pr in policy_problems(policy) {
                    self.problem(
                        Order(Section::Tokens, t, Place::Field(3 + p), 0),
                        format!("{at}/policies/{p}{}", pr.pointer),
                        pr.problem,
                    );
                }
            }
            if self.problems.len() == before {
                self.summary.tokens += 1;
                self.sink.token(&token)?;
            }
        }
        for d in self.sink.duplicates()? {
            let at = format!("/accounts/{}/users/{}", d.account, d.user);
            let first = |f: Option<usize>| {
                f.map(|f| format!(" (first at /accounts/{}/users/{f})", d.account))
                    .unwrap_or_default()
            };
            let (field, k, problem) = match d.field {
                DuplicateField::Id => ("id", 0, format!("duplicate user id {}", d.value)),
                DuplicateField::Email => ("email", 1, format!("duplicate email {}{}", d.value, first(d.first))),
                DuplicateField::SeatUid => (
                    "seat_uid",
                    2,
                    format!("duplicate seat_uid {}{}", d.value, first(d.first)),
                ),
            };
            self.problem(
                Order(Section::Accounts, d.account, Place::User(d.user), k),
                format!("{at}/{field}"),
                problem,
            );
        }
        if self.problems.is_empty() {
            return Ok(self.summary);
        }
        self.problems.sort_by_key(|(order, _)| *order);
        let mut problems: Vec<SeedProblem> = self.problems.into_iter().map(|(_, p)| p).collect();
        if self.more_problems > 0 {
            problems.push(SeedProblem {
                pointer: String::new(),
                problem: format!("and {} more problems", self.more_problems),
            });
        }
        Err(StoreError::InvalidSeed(SeedError { problems }))
    }
}

/// The whole document: `{"accounts": [...], "members": [...], "tokens": [...]}`.
struct DocumentSeed<'a, 's>(&'a mut Loader<'s>);

impl<'de> DeserializeSeed<'de> for DocumentSeed<'_, '_> {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for DocumentSeed<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a seed object with accounts, members and tokens")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        const FIELDS: &[&str] = &["accounts", "members", "tokens"];
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "accounts" => map.next_value_seed(AccountsSeed(&mut *self.0))?,
                "members" => self.0.members = map.next_value()?,
                "tokens" => self.0.tokens = map.next_value()?,
                other => return Err(A::Error::unknown_field(other, FIELDS)),
            }
        }
        Ok(())
    }
}

struct AccountsSeed<'a, 's>(&'a mut Loader<'s>);

impl<'de> DeserializeSeed<'de> for AccountsSeed<'_, '_> {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for AccountsSeed<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of accounts")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut index = 0;
        while seq
            .next_element_seed(AccountSeed {
                loader: &mut *self.0,
                index,
            })?
            .is_some()
        {
            index += 1;
        }
        self.0.summary.accounts = index;
        Ok(())
    }
}

/// One account: its fields in any order; its users are streamed once its id is known (and
/// held until then if `users` comes first).
struct AccountSeed<'a, 's> {
    loader: &'a mut Loader<'s>,
    index: usize,
}

impl<'de> DeserializeSeed<'de> for AccountSeed<'_, '_> {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for AccountSeed<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an account object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        const FIELDS: &[&str] = &["id", "name", "seat_limit", "users", "organization"];
        let (mut id, mut name, mut seat_limit, mut organization) = (None::<String>, None, None, None);
        let mut held: Vec<SeedUser> = Vec::new();
        let mut seated = 0u64;
        let mut users = 0usize;
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "id" => id = Some(map.next_value()?),
                "name" => name = Some(map.next_value()?),
                "seat_limit" => seat_limit = Some(map.next_value()?),
                "organization" => organization = map.next_value()?,
                "users" => match &id {
                    Some(id) => {
                        let seed = UsersSeed {
                            loader: &mut *self.loader,
                            account: self.index,
                            account_id: id,
                            seated: &mut seated,
                            count: &mut users,
                        };
                        map.next_value_seed(seed)?;
                    }
                    None => held = map.next_value()?,
                },
                other => {
                    map.next_value::<IgnoredAny>()?;
                    return Err(A::Error::unknown_field(other, FIELDS));
                }
            }
        }
        let id = id.ok_or_else(|| A::Error::missing_field("id"))?;
        let name = name.ok_or_else(|| A::Error::missing_field("name"))?;
        for user in held {
            let stored = self.loader.user(self.index, &id, users, &user, &mut seated);
            self.loader.sunk(stored)?;
            users += 1;
        }
        let mut account = SeedAccount {
            id,
            name,
            seat_limit: seat_limit.unwrap_or(DEFAULT_SEAT_LIMIT),
            organization,
        };
        self.loader.check_account(self.index, &mut account, seated);
        let stored = self.loader.sink.account(self.index, &account);
        self.loader.sunk(stored)
    }
}

impl Loader<'_> {
    /// Checks one user and hands it to the sink if it is sound.
    fn user(
        &mut self,
        account: usize,
        account_id: &str,
        index: usize,
        user: &SeedUser,
        seated: &mut u64,
    ) -> StoreResult<()> {
        self.summary.users += 1;
        if user.access_seat || user.gateway_seat {
            *seated += 1;
        }
        if self.check_user(account, index, user) {
            self.sink.user(account, account_id, index, user)?;
        }
        Ok(())
    }
}

struct UsersSeed<'a, 's> {
    loader: &'a mut Loader<'s>,
    account: usize,
    account_id: &'a str,
    seated: &'a mut u64,
    count: &'a mut usize,
}

impl<'de> DeserializeSeed<'de> for UsersSeed<'_, '_> {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for UsersSeed<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of users")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(user) = seq.next_element::<SeedUser>()? {
            let stored = self
                .loader
                .user(self.account, self.account_id, *self.count, &user, self.seated);
            self.loader.sunk(stored)?;
            *self.count += 1;
        }
        Ok(())
    }
}

fn path_to_pointer(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut out = String::new();
    for seg in path.iter() {
        match seg {
            Segment::Seq { index } => out.push_str(&format!("/{index}")),
            Segment::Map { key } => out.push_str(&format!("/{}", key.replace('~', "~0").replace('/', "~1"))),
            Segment::Enum { variant } => out.push_str(&format!("/{variant}")),
            Segment::Unknown => {}
        }
    }
    out
}

/// Problems of one token policy, with pointers relative to the policy.
pub fn policy_problems(policy: &Policy) -> Vec<SeedProblem> {
    use seats_types::{PermissionGroup, ACCOUNT_RESOURCE_PREFIX, ALL_ACCOUNTS_RESOURCE};
    let mut out = Vec::new();
    if policy.resources.is_empty() {
        out.push(SeedProblem {
            pointer: "/resources".into(),
            problem: "a policy needs at least one resource".into(),
        });
    }
    for (key, value) in &policy.resources {
        let escaped = key.replace('~', "~0").replace('/', "~1");
        let ok = key == ALL_ACCOUNTS_RESOURCE
            || key
                .strip_prefix(ACCOUNT_RESOURCE_PREFIX)
                .is_some_and(formats::is_account_id);
        if !ok {
            out.push(SeedProblem {
                pointer: format!("/resources/{escaped}"),
                problem: format!("unsupported resource {key}: use com.cloudflare.api.account.<account id> or com.cloudflare.api.account.*"),
            });
        } else if value != "*" {
            out.push(SeedProblem {
                pointer: format!("/resources/{escaped}"),
                problem: "resource value must be \"*\"".into(),
            });
        }
    }
    if policy.permission_groups.is_empty() {
        out.push(SeedProblem {
            pointer: "/permission_groups".into(),
            problem: "a policy needs at least one permission group".into(),
        });
    }
    for (g, group) in policy.permission_groups.iter().enumerate() {
        if PermissionGroup::from_name(&group.name).is_none() {
            out.push(SeedProblem {
                pointer: format!("/permission_groups/{g}/name"),
                problem: format!("unknown permission group {:?}", group.name),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(json: &str) -> Vec<String> {
        match parse(json.as_bytes()) {
            Ok(_) => vec![],
            Err(e) => e.problems.iter().map(|p| p.to_string()).collect(),
        }
    }

    #[test]
    fn demo_seed_is_valid() {
        parse(DEMO_SEED.as_bytes()).expect("demo seed");
        let summary = stream(DEMO_SEED.as_bytes(), &mut MemorySink::default()).unwrap();
        assert_eq!(
            summary,
            SeedSummary {
                accounts: 1,
                users: 1,
                members: 1,
                tokens: 1
            }
        );
    }

    #[test]
    fn names_emails_and_limits_follow_the_api_rules() {
        let long = "n".repeat(256);
        let p = problems(&format!(
            r#"{{"accounts":[{{"id":"699d98642c564d2e855e9661899b7252","name":"{long}","seat_limit":9223372036854775808,
                 "users":[{{"email":"<a@x.com>","name":"a\u0000b"}},{{"email":"b@x.com","name":"{long}"}}],
                 "organization":{{"name":"o","auth_domain":"-bad.example"}}}}]}}"#
        ));
        assert_eq!(
            p,
            vec![
                "/accounts/0/name: name must be at most 255 characters",
                "/accounts/0/seat_limit: seat_limit must be an integer between 0 and 9223372036854775807",
                "/accounts/0/users/0/email: not a valid email address",
                "/accounts/0/users/0/name: name must not contain control characters",
                "/accounts/0/users/1/name: name must be at most 255 characters",
                "/accounts/0/organization/auth_domain: auth_domain must be a host name such as team.cloudflareaccess.com",
            ]
        );
    }

    #[test]
    fn users_before_the_account_id_and_every_kind_of_duplicate() {
        let p = problems(
            r#"{"accounts":[{"users":[{"email":"a@x.com","seat_uid":"s","id":"00000000-0000-4000-8000-000000000001"},
                                       {"email":"b@x.com","seat_uid":"s"}],
                             "id":"699d98642c564d2e855e9661899b7252","name":"x"},
                            {"id":"0123456789abcdef0123456789abcdef","name":"y","users":[
                                       {"email":"c@x.com","id":"00000000-0000-4000-8000-000000000001"}]}]}"#,
        );
        assert_eq!(
            p,
            vec![
                "/accounts/0/users/1/seat_uid: duplicate seat_uid s (first at /accounts/0/users/0)",
                "/accounts/1/users/0/id: duplicate user id 00000000-0000-4000-8000-000000000001",
            ]
        );
    }

    #[test]
    fn bad_json_and_wrong_types_are_located() {
        assert!(problems("{").iter().all(|p| p.contains("invalid JSON")));
        assert_eq!(
            problems(r#"{"accounts":[{"id":"699d98642c564d2e855e9661899b7252","name":"x","seat_limit":"many"}]}"#)
                .len(),
            1
        );
        let p = problems(r#"{"accounts":[{"id":"699d98642c564d2e855e9661899b7252","name":"x","seat_limit":"many"}]}"#);
        assert!(p[0].starts_with("/accounts/0/seat_limit: "), "{p:?}");
        let p = problems(r#"{"acounts":[]}"#);
        assert!(p[0].contains("unknown field `acounts`"), "{p:?}");
    }

    #[test]
    fn reports_every_problem_with_its_pointer() {
        let p = problems(
            r#"{"accounts":[{"id":"699d98642c564d2e855e9661899b7252","name":"x","seat_limit":1,"users":[
                {"email":"a@x.com","access_seat":true},{"email":"A@X.com","gateway_seat":true}]}],
               "members":[{"email":"m@x.com","api_key":"short","accounts":["00000000000000000000000000000000"]}],
               "tokens":[{"name":"t","value":"tok","policies":[{"effect":"allow",
                 "resources":{"com.cloudflare.api.account.*":"*"},"permission_groups":[{"name":"Seats Admin"}]}]}]}"#,
        );
        assert_eq!(
            p,
            vec![
                "/accounts/0/users/1/email: duplicate email A@X.com (first at /accounts/0/users/0)",
                "/accounts/0/seat_limit: account over its limit: 2 users hold a seat, seat_limit is 1",
                "/members/0/api_key: api_key must be 32-64 ASCII letters and digits",
                "/members/0/accounts/0: unknown account 00000000000000000000000000000000",
                "/tokens/0/policies/0/permission_groups/0/name: unknown permission group \"Seats Admin\"",
            ]
        );
    }

    #[test]
    fn devices_need_a_gateway_seat() {
        let p = problems(
            r#"{"accounts":[{"id":"699d98642c564d2e855e9661899b7252","name":"x","users":[
                {"email":"a@x.com","access_seat":true,"active_device_count":2}]}]}"#,
        );
        assert_eq!(p.len(), 1);
        assert!(p[0].starts_with("/accounts/0/users/0/active_device_count: "));
    }
}
