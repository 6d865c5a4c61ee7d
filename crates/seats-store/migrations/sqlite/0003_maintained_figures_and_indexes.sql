-- Flat cost at any size: what a request reads is kept up to date, not counted, and every
-- lookup a request makes goes through an index.
--
-- * accounts.seats_in_use, user_count and audit_count are maintained by triggers in the same
--   transaction as every change to users and audit_events, so no code path can forget them.
-- * users gets a stable integer row number (`seq`): the trigram search index refers to it, and
--   VACUUM may renumber the implicit rowid of a table without one. SQLite cannot add a primary
--   key to a table, so the table is rebuilt (the runner turns foreign keys off around this).
-- * users.active_at is the latest activity the expiry sweep judges (last login, seat grant,
--   latest device activity), maintained by triggers, so a sweep reads only the stale seats.

ALTER TABLE accounts ADD COLUMN seats_in_use INTEGER NOT NULL DEFAULT 0;
ALTER TABLE accounts ADD COLUMN user_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE accounts ADD COLUMN audit_count INTEGER NOT NULL DEFAULT 0;

CREATE TABLE users_new (
    seq                   INTEGER PRIMARY KEY,
    id                    TEXT NOT NULL UNIQUE,
    account_id            TEXT NOT NULL REFERENCES accounts (id),
    email                 TEXT NOT NULL,
    email_key             TEXT NOT NULL, -- ASCII-lowercased email
    name                  TEXT NOT NULL,
    seat_uid              TEXT NOT NULL,
    access_seat           INTEGER NOT NULL CHECK (access_seat IN (0, 1)),
    gateway_seat          INTEGER NOT NULL CHECK (gateway_seat IN (0, 1)),
    seat_granted_at       INTEGER,       -- set while the user holds a seat
    last_successful_login INTEGER,
    active_at             INTEGER NOT NULL DEFAULT 0,
    created_at            INTEGER NOT NULL,
    updated_at            INTEGER NOT NULL
) STRICT;

INSERT INTO users_new (id, account_id, email, email_key, name, seat_uid, access_seat, gateway_seat,
                       seat_granted_at, last_successful_login, created_at, updated_at)
SELECT id, account_id, email, email_key, name, seat_uid, access_seat, gateway_seat,
       seat_granted_at, last_successful_login, created_at, updated_at
FROM users ORDER BY created_at, id;

DROP TABLE users;
ALTER TABLE users_new RENAME TO users;

CREATE UNIQUE INDEX users_by_email ON users (account_id, email_key);
CREATE UNIQUE INDEX users_by_seat_uid ON users (account_id, seat_uid);
CREATE INDEX users_by_creation ON users (account_id, created_at, id);
CREATE INDEX users_by_name ON users (account_id, name, created_at, id);
CREATE INDEX users_by_activity ON users (account_id, active_at) WHERE access_seat = 1 OR gateway_seat = 1;
CREATE INDEX devices_by_activity ON devices (user_id, last_seen_at);
CREATE INDEX sessions_by_user_expiry ON sessions (user_id, expires_at);
DROP INDEX sessions_by_user;

-- Substring search over email and name (docs/contract.md §6, `search`). Trigrams match case-insensitively;
-- queries re-check the exact rule, so results are those of `instr(lower(...))`.
CREATE VIRTUAL TABLE users_search USING fts5 (
    email, name, content = 'users', content_rowid = 'seq', tokenize = 'trigram'
);

-- Backfill what existing databases hold.
UPDATE users SET active_at = MAX(
    COALESCE(last_successful_login, 0), COALESCE(seat_granted_at, 0),
    COALESCE((SELECT MAX(d.last_seen_at) FROM devices d WHERE d.user_id = users.id), 0));
UPDATE accounts SET
    user_count   = (SELECT COUNT(*) FROM users u WHERE u.account_id = accounts.id),
    seats_in_use = (SELECT COUNT(*) FROM users u WHERE u.account_id = accounts.id
                                               AND (u.access_seat = 1 OR u.gateway_seat = 1)),
    audit_count  = (SELECT COUNT(*) FROM audit_events e WHERE e.account_id = accounts.id);
INSERT INTO users_search (users_search) VALUES ('rebuild');

-- Seats in use and user counts follow every insert, delete and seat change of a user.
CREATE TRIGGER users_count_insert AFTER INSERT ON users BEGIN
    UPDATE accounts SET user_count = user_count + 1,
                        seats_in_use = seats_in_use + (new.access_seat OR new.gateway_seat)
    WHERE id = new.account_id;
    INSERT INTO users_search (rowid, email, name) VALUES (new.seq, new.email, new.name);
    UPDATE users SET active_at = MAX(COALESCE(new.last_successful_login, 0), COALESCE(new.seat_granted_at, 0))
    WHERE seq = new.seq;
END;

CREATE TRIGGER users_count_delete AFTER DELETE ON users BEGIN
    UPDATE accounts SET user_count = user_count - 1,
                        seats_in_use = seats_in_use - (old.access_seat OR old.gateway_seat)
    WHERE id = old.account_id;
    INSERT INTO users_search (users_search, rowid, email, name) VALUES ('delete', old.seq, old.email, old.name);
END;

CREATE TRIGGER users_count_seat AFTER UPDATE OF access_seat, gateway_seat ON users
WHEN (old.access_seat OR old.gateway_seat) <> (new.access_seat OR new.gateway_seat) BEGIN
    UPDATE accounts SET seats_in_use = seats_in_use + (new.access_seat OR new.gateway_seat)
                                                    - (old.access_seat OR old.gateway_seat)
    WHERE id = new.account_id;
END;

CREATE TRIGGER users_search_update AFTER UPDATE OF email, name ON users BEGIN
    INSERT INTO users_search (users_search, rowid, email, name) VALUES ('delete', old.seq, old.email, old.name);
    INSERT INTO users_search (rowid, email, name) VALUES (new.seq, new.email, new.name);
END;

-- The latest activity follows logins, seat grants and device activity.
CREATE TRIGGER users_activity AFTER UPDATE OF last_successful_login, seat_granted_at ON users
WHEN old.last_successful_login IS NOT new.last_successful_login OR old.seat_granted_at IS NOT new.seat_granted_at BEGIN
    UPDATE users SET active_at = MAX(
        COALESCE(new.last_successful_login, 0), COALESCE(new.seat_granted_at, 0),
        COALESCE((SELECT MAX(d.last_seen_at) FROM devices d WHERE d.user_id = new.id), 0))
    WHERE seq = new.seq;
END;

CREATE TRIGGER devices_activity_insert AFTER INSERT ON devices BEGIN
    UPDATE users SET active_at = MAX(active_at, new.last_seen_at) WHERE id = new.user_id;
END;

CREATE TRIGGER devices_activity_update AFTER UPDATE OF last_seen_at ON devices BEGIN
    UPDATE users SET active_at = MAX(
        COALESCE(last_successful_login, 0), COALESCE(seat_granted_at, 0),
        COALESCE((SELECT MAX(d.last_seen_at) FROM devices d WHERE d.user_id = new.user_id), 0))
    WHERE id = new.user_id;
END;

CREATE TRIGGER devices_activity_delete AFTER DELETE ON devices BEGIN
    UPDATE users SET active_at = MAX(
        COALESCE(last_successful_login, 0), COALESCE(seat_granted_at, 0),
        COALESCE((SELECT MAX(d.last_seen_at) FROM devices d WHERE d.user_id = old.user_id), 0))
    WHERE id = old.user_id;
END;

CREATE TRIGGER audit_count_insert AFTER INSERT ON audit_events WHEN new.account_id IS NOT NULL BEGIN
    UPDATE accounts SET audit_count = audit_count + 1 WHERE id = new.account_id;
END;
