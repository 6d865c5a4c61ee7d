//! Loading a seed into an empty PostgreSQL database, in one transaction.
//!
//! The document is read and checked on a blocking thread ([`seed::stream`]); what it holds
//! comes over a small channel to this task in batches, so memory stays flat. Users land in
//! a temporary staging table first: the duplicates among them are found there with their
//! places in the document, and only a clean seed is moved into `users`, with the per-row
//! triggers set aside and the account figures computed once.

use deadpool_postgres::GenericClient;
use seats_types::{formats, Timestamp};
use tokio::sync::{mpsc, oneshot};

use super::bulk::{self, Activity};
use super::is_empty;
use super::{execute, query};
use crate::rules::SESSION_LIFETIME_US;
use crate::seed::{
    self, Duplicate, DuplicateField, SeedAccount, SeedDocument, SeedMember, SeedRecord, SeedSink, SeedSummary,
    SeedToken, SeedUser,
};
use crate::{Conflict, StoreError, StoreResult};

/// Users sent and written together.
const BATCH: usize = 5_000;

/// A user ready to store, with its place in the document.
#[derive(Default)]
struct UserRows {
    account_index: Vec<i64>,
    user_index: Vec<i64>,
    /// The id as the seed gave it (for duplicate reports), or NULL.
    given_id: Vec<Option<String>>,
    id: Vec<String>,
    account_id: Vec<String>,
    email: Vec<String>,
    email_key: Vec<String>,
    name: Vec<String>,
    seat_uid: Vec<String>,
    seat_uid_given: Vec<bool>,
    access: Vec<bool>,
    gateway: Vec<bool>,
    granted: Vec<Option<i64>>,
    last_login: Vec<Option<i64>>,
    active_at: Vec<i64>,
    devices: Vec<i64>,
}

impl UserRows {
    fn len(&self) -> usize {
        self.id.len()
    }
}

enum Item {
    Users(Box<UserRows>),
    Record(SeedRecord),
}

/// What the checking thread sends the writer: rows to store, or a question about the rows
/// stored so far.
enum Message {
    Store(Item),
    Duplicates(oneshot::Sender<StoreResult<Vec<Duplicate>>>),
}

/// The blocking side: turns checked seed items into rows and sends them.
struct ChannelSink {
    items: mpsc::Sender<Message>,
    users: Box<UserRows>,
    now_us: i64,
}

impl ChannelSink {
    fn send(&self, item: Item) -> StoreResult<()> {
        self.send_message(Message::Store(item))
    }

    fn send_message(&self, message: Message) -> StoreResult<()> {
        self.items
            .blocking_send(message)
            .map_err(|_| StoreError::other("the seed writer stopped"))
    }

    fn flush(&mut self) -> StoreResult<()> {
        if self.users.len() > 0 {
            let users = std::mem::take(&mut self.users);
            self.send(Item::Users(users))?;
        }
        Ok(())
    }
}

impl SeedSink for ChannelSink {
    fn user(&mut self, account: usize, account_id: &str, index: usize, user: &SeedUser) -> StoreResult<()> {
        let stored = user.stored(self.now_us);
        let u = &mut self.users;
        u.account_index.push(account as i64);
        u.user_index.push(index as i64);
        u.given_id.push(user.id.clone());
        u.id.push(stored.id);
        u.account_id.push(account_id.to_owned());
        u.email.push(user.email.clone());
        u.email_key.push(formats::email_key(&user.email));
        u.name.push(user.name.clone());
        u.seat_uid_given.push(user.seat_uid.is_some());
        u.seat_uid.push(stored.seat_uid);
        u.access.push(user.access_seat);
        u.gateway.push(user.gateway_seat);
        u.granted.push(stored.seat_granted_at);
        u.last_login.push(stored.last_successful_login);
        u.active_at.push(stored.active_at);
        u.devices
            .push(i64::try_from(user.active_device_count).unwrap_or(i64::MAX));
        if self.users.len() >= BATCH {
            self.flush()?;
        }
        Ok(())
    }

    fn account(&mut self, _: usize, account: &SeedAccount) -> StoreResult<()> {
        self.send(Item::Record(SeedRecord::account(account)?))
    }

    fn member(&mut self, member: &SeedMember) -> StoreResult<()> {
        self.send(Item::Record(SeedRecord::member(member)))
    }

    fn token(&mut self, token: &SeedToken) -> StoreResult<()> {
        self.send(Item::Record(SeedRecord::token(token)?))
    }

    fn duplicates(&mut self) -> StoreResult<Vec<Duplicate>> {
        self.flush()?;
        let (reply, answer) = oneshot::channel();
        self.send_message(Message::Duplicates(reply))?;
        answer
            .blocking_recv()
            .map_err(|_| StoreError::other("the seed writer stopped"))?
    }
}

/// Loads `document` into an empty database; with `wipe`, empties it first in the same
/// transaction (a reset).
pub(super) async fn load(
    client: &mut deadpool_postgres::Object,
    document: SeedDocument,
    now: Timestamp,
    wipe: bool,
) -> StoreResult<SeedSummary> {
    let tx = client.transaction().await?;
    tx.batch_execute(super::UNBOUNDED).await?;
    if wipe {
        super::wipe(&tx).await?;
    }
    // Two nodes started with the same seed: one loads it, the other finds it not empty.
    tx.batch_execute("LOCK TABLE accounts IN EXCLUSIVE MODE").await?;
    if !is_empty(&tx).await? {
        return Err(StoreError::Conflict(Conflict::NotEmpty));
    }
    tx.batch_execute(
        "CREATE TEMPORARY TABLE seed_users (
             account_index BIGINT NOT NULL, user_index BIGINT NOT NULL, given_id TEXT,
             id TEXT COLLATE \"C\" NOT NULL, account_id TEXT COLLATE \"C\" NOT NULL, email TEXT NOT NULL,
             email_key TEXT COLLATE \"C\" NOT NULL, name TEXT NOT NULL, seat_uid TEXT COLLATE \"C\" NOT NULL,
             seat_uid_given BOOLEAN NOT NULL, access_seat BOOLEAN NOT NULL, gateway_seat BOOLEAN NOT NULL,
             seat_granted_at BIGINT, last_successful_login BIGINT, active_at BIGINT NOT NULL, devices BIGINT NOT NULL
         ) ON COMMIT DROP",
    )
    .await?;

    let now_us = now.unix_micros();
    let (items, mut incoming) = mpsc::channel(4);
    let reader = document.into_reader();
    let checking = tokio::task::spawn_blocking(move || {
        let mut sink = ChannelSink {
            items,
            users: Box::default(),
            now_us,
        };
        seed::stream(reader, &mut sink)
    });
    let mut stored: StoreResult<()> = Ok(());
    while let Some(item) = incoming.recv().await {
        if stored.is_err() {
            // Drain, so the checking thread is not left blocked on a full channel.
            if let Message::Duplicates(reply) = item {
                let _ = reply.send(Err(StoreError::other("the seed could not be stored")));
            }
            continue;
        }
        stored = match item {
            Message::Duplicates(reply) => {
                let _ = reply.send(duplicates(&tx).await);
                Ok(())
            }
            Message::Store(item) => store(&tx, item, now_us).await,
        };
    }
    let summary = checking
        .await
        .map_err(|e| StoreError::other(format!("the seed reader failed: {e}")))?;
    stored?;
    let summary = summary?;

    let load = bulk::begin(&tx, bulk::Keys::Rebuilt).await?;
    tx.batch_execute(&format!(
        "INSERT INTO users (id, account_id, email, email_key, name, seat_uid, access_seat, gateway_seat,
                            seat_granted_at, last_successful_login, active_at, created_at, updated_at)
         SELECT id, account_id, email, email_key, name, seat_uid, access_seat, gateway_seat,
                seat_granted_at, last_successful_login, active_at, {now_us}, {now_us}
         FROM seed_users ORDER BY account_index, user_index;
         INSERT INTO devices (user_id, device_id, registered_at, last_seen_at)
         SELECT s.id, gen_random_uuid()::text, {now_us}, {now_us}
         FROM seed_users s, generate_series(1, s.devices) WHERE s.devices > 0;
         INSERT INTO sessions (id, user_id, created_at, expires_at)
         SELECT gen_random_uuid()::text, s.id, s.last_successful_login,
                s.last_successful_login + {session}
         FROM seed_users s WHERE s.access_seat AND s.last_successful_login IS NOT NULL;",
        session = SESSION_LIFETIME_US
    ))
    .await?;
    bulk::finish(&tx, load, Activity::Given).await?;
    tx.commit().await?;
    Ok(summary)
}

async fn store(db: &impl GenericClient, item: Item, now_us: i64) -> StoreResult<()> {
    match item {
        Item::Users(u) => {
            execute(
                db,
                "INSERT INTO seed_users SELECT * FROM UNNEST($1::bigint[], $2::bigint[], $3::text[], $4::text[],
                     $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::bool[], $11::bool[],
                     $12::bool[], $13::bigint[], $14::bigint[], $15::bigint[], $16::bigint[])",
                &[
                    &u.account_index,
                    &u.user_index,
                    &u.given_id,
                    &u.id,
                    &u.account_id,
                    &u.email,
                    &u.email_key,
                    &u.name,
                    &u.seat_uid,
                    &u.seat_uid_given,
                    &u.access,
                    &u.gateway,
                    &u.granted,
                    &u.last_login,
                    &u.active_at,
                    &u.devices,
                ],
            )
            .await?;
        }
        Item::Record(SeedRecord::Account {
            id,
            name,
            seat_limit,
            organization,
        }) => {
            let seat_limit = super::big(seat_limit)?;
            // A repeated account id is reported by the checks; it must not fail the load first.
            execute(
                db,
                "INSERT INTO accounts (id, name, seat_limit, organization, organization_created_at,
                                       organization_updated_at, created_at)
                 VALUES ($1, $2, $3, $4, CASE WHEN $4::text IS NULL THEN NULL ELSE $5::bigint END,
                         CASE WHEN $4::text IS NULL THEN NULL ELSE $5::bigint END, $5)
                 ON CONFLICT (id) DO NOTHING",
                &[&id, &name, &seat_limit, &organization, &now_us],
            )
            .await?;
        }
        Item::Record(SeedRecord::Member {
            key,
            email,
            hash,
            accounts,
        }) => {
            let hash = hash.as_bytes();
            execute(
                db,
                "INSERT INTO members (email_key, email, key_hash, created_at) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (email_key) DO NOTHING",
                &[&key, &email, &hash, &now_us],
            )
            .await?;
            execute(
                db,
                "INSERT INTO member_accounts (member_email_key, account_id) SELECT $1, a FROM UNNEST($2::text[]) AS a
                 ON CONFLICT DO NOTHING",
                &[&key, &accounts],
            )
            .await?;
        }
        Item::Record(SeedRecord::Token {
            id,
            name,
            hash,
            policies,
            status,
            not_before,
            expires_on,
        }) => {
            let hash = hash.as_bytes();
            execute(
                db,
                "INSERT INTO tokens (id, name, value_hash, policies, status, not_before, expires_on, created_at, modified_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) ON CONFLICT DO NOTHING",
                &[&id, &name, &hash, &policies, &status, &not_before, &expires_on, &now_us],
            )
            .await?;
        }
    }
    Ok(())
}

/// Users repeating an earlier one of the document: ids anywhere, emails and seat uids within
/// an account; each with the place of the first, as the in-memory check reports them.
async fn duplicates(db: &impl GenericClient) -> StoreResult<Vec<Duplicate>> {
    let rows = query(
        db,
        "SELECT field, account_index, user_index, value, first FROM (
             SELECT 0 AS field, account_index, user_index, given_id AS value, NULL::bigint AS first,
                    row_number() OVER (PARTITION BY id ORDER BY account_index, user_index) AS n
             FROM seed_users WHERE given_id IS NOT NULL
             UNION ALL
             SELECT 1, account_index, user_index, email,
                    first_value(user_index) OVER w, row_number() OVER w
             FROM seed_users WINDOW w AS (PARTITION BY account_index, email_key ORDER BY user_index)
             UNION ALL
             SELECT 2, account_index, user_index, seat_uid,
                    first_value(user_index) OVER w, row_number() OVER w
             FROM seed_users WHERE seat_uid_given
             WINDOW w AS (PARTITION BY account_index, seat_uid ORDER BY user_index)
         ) d WHERE n > 1 ORDER BY account_index, user_index, field",
        &[],
    )
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Duplicate {
                field: match r.try_get::<_, i32>(0)? {
                    0 => DuplicateField::Id,
                    1 => DuplicateField::Email,
                    _ => DuplicateField::SeatUid,
                },
                account: r.try_get::<_, i64>(1)? as usize,
                user: r.try_get::<_, i64>(2)? as usize,
                value: r.try_get(3)?,
                first: r.try_get::<_, Option<i64>>(4)?.map(|f| f as usize),
            })
        })
        .collect()
}
