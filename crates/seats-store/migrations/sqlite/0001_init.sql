-- Initial schema. Times are microseconds since the Unix epoch (UTC).
CREATE TABLE accounts (
    id           TEXT PRIMARY KEY NOT NULL,
    name         TEXT NOT NULL,
    seat_limit   INTEGER NOT NULL CHECK (seat_limit >= 0),
    organization TEXT,              -- JSON object; NULL until one is created
    created_at   INTEGER NOT NULL
) STRICT;

CREATE TABLE users (
    id                    TEXT PRIMARY KEY NOT NULL,
    account_id            TEXT NOT NULL REFERENCES accounts (id),
    email                 TEXT NOT NULL,
    email_key             TEXT NOT NULL, -- ASCII-lowercased email
    name                  TEXT NOT NULL,
    seat_uid              TEXT NOT NULL,
    access_seat           INTEGER NOT NULL CHECK (access_seat IN (0, 1)),
    gateway_seat          INTEGER NOT NULL CHECK (gateway_seat IN (0, 1)),
    seat_granted_at       INTEGER,       -- set while the user holds a seat
    last_successful_login INTEGER,
    created_at            INTEGER NOT NULL,
    updated_at            INTEGER NOT NULL,
    UNIQUE (account_id, email_key),
    UNIQUE (account_id, seat_uid)
) STRICT;

-- Counting seats in use must stay cheap with many users.
CREATE INDEX users_holding_seat ON users (account_id) WHERE access_seat = 1 OR gateway_seat = 1;
CREATE INDEX users_by_creation ON users (account_id, created_at, id);

CREATE TABLE devices (
    user_id       TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    device_id     TEXT NOT NULL,
    registered_at INTEGER NOT NULL,
    last_seen_at  INTEGER NOT NULL,
    PRIMARY KEY (user_id, device_id)
) STRICT;

CREATE TABLE sessions (
    id         TEXT PRIMARY KEY NOT NULL,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
) STRICT;
CREATE INDEX sessions_by_user ON sessions (user_id);

CREATE TABLE members (
    email_key  TEXT PRIMARY KEY NOT NULL,
    email      TEXT NOT NULL,
    key_hash   BLOB NOT NULL,           -- SHA-256 of the global API key
    created_at INTEGER NOT NULL
) STRICT;

CREATE TABLE member_accounts (
    member_email_key TEXT NOT NULL REFERENCES members (email_key) ON DELETE CASCADE,
    account_id       TEXT NOT NULL REFERENCES accounts (id),
    PRIMARY KEY (member_email_key, account_id)
) STRICT;

CREATE TABLE tokens (
    id          TEXT PRIMARY KEY NOT NULL,
    name        TEXT NOT NULL,
    value_hash  BLOB NOT NULL UNIQUE,  -- SHA-256 of the token
    policies    TEXT NOT NULL,          -- JSON array
    status      TEXT NOT NULL CHECK (status IN ('active', 'disabled')),
    not_before  INTEGER,
    expires_on  INTEGER,
    created_at  INTEGER NOT NULL,
    modified_at INTEGER NOT NULL
) STRICT;

CREATE TABLE audit_events (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    at         INTEGER NOT NULL,
    account_id TEXT,
    actor_kind TEXT NOT NULL,
    actor_id   TEXT NOT NULL,
    action     TEXT NOT NULL,
    subject    TEXT NOT NULL,
    before     TEXT,                    -- JSON
    after      TEXT                     -- JSON
) STRICT;
CREATE INDEX audit_by_account ON audit_events (account_id, seq);
