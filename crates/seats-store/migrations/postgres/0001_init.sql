-- The PostgreSQL schema: the same tables and maintained figures as SQLite's migrations
-- 0001-0004, written for PostgreSQL. Times are microseconds since the Unix epoch (UTC), as in
-- SQLite, so both backends read and write the same numbers. Text keys use the "C" collation:
-- byte order, as SQLite compares, whatever the database's locale.

CREATE TABLE accounts (
    id                      TEXT COLLATE "C" PRIMARY KEY,
    name                    TEXT NOT NULL,
    seat_limit              BIGINT NOT NULL CHECK (seat_limit >= 0),
    organization            TEXT,             -- JSON object; NULL until one is created
    organization_created_at BIGINT,
    organization_updated_at BIGINT,
    created_at              BIGINT NOT NULL,
    -- Maintained by triggers on users, in the transaction of every change.
    seats_in_use            BIGINT NOT NULL DEFAULT 0,
    user_count              BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE users (
    id                    TEXT COLLATE "C" PRIMARY KEY,
    account_id            TEXT COLLATE "C" NOT NULL REFERENCES accounts (id),
    email                 TEXT NOT NULL,
    email_key             TEXT COLLATE "C" NOT NULL, -- ASCII-lowercased email
    name                  TEXT COLLATE "C" NOT NULL,
    seat_uid              TEXT COLLATE "C" NOT NULL,
    access_seat           BOOLEAN NOT NULL,
    gateway_seat          BOOLEAN NOT NULL,
    seat_granted_at       BIGINT,                   -- set while the user holds a seat
    last_successful_login BIGINT,
    -- The latest of last login, seat grant and device activity: what the expiry sweep judges.
    active_at             BIGINT NOT NULL DEFAULT 0,
    created_at            BIGINT NOT NULL,
    updated_at            BIGINT NOT NULL
);
CREATE UNIQUE INDEX users_by_email ON users (account_id, email_key);
CREATE UNIQUE INDEX users_by_seat_uid ON users (account_id, seat_uid);
CREATE INDEX users_by_creation ON users (account_id, created_at, id);
CREATE INDEX users_by_name ON users (account_id, name, created_at, id);
CREATE INDEX users_by_activity ON users (account_id, active_at) WHERE access_seat OR gateway_seat;
-- Substring search (docs/contract.md §6, `search`) with ASCII case folding, as SQLite's lower() does:
-- translate() folds exactly A-Z, where PostgreSQL's lower() would follow the locale.
CREATE INDEX users_search_email ON users USING gin
    ((translate(email, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz')) public.gin_trgm_ops);
CREATE INDEX users_search_name ON users USING gin
    ((translate(name, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz')) public.gin_trgm_ops);

CREATE TABLE devices (
    user_id       TEXT COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    device_id     TEXT NOT NULL,
    registered_at BIGINT NOT NULL,
    last_seen_at  BIGINT NOT NULL,
    PRIMARY KEY (user_id, device_id)
);
CREATE INDEX devices_by_activity ON devices (user_id, last_seen_at);

CREATE TABLE sessions (
    id         TEXT COLLATE "C" PRIMARY KEY,
    user_id    TEXT COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_by_user_expiry ON sessions (user_id, expires_at);

CREATE TABLE logins (
    id        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id   TEXT COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    at        BIGINT NOT NULL,
    via       TEXT NOT NULL CHECK (via IN ('access', 'gateway')),
    device_id TEXT,
    succeeded BOOLEAN NOT NULL,
    reason    TEXT
);
CREATE INDEX logins_by_user ON logins (user_id, id);

CREATE TABLE members (
    email_key  TEXT COLLATE "C" PRIMARY KEY,
    email      TEXT NOT NULL,
    key_hash   BYTEA NOT NULL,          -- SHA-256 of the global API key
    created_at BIGINT NOT NULL
);

CREATE TABLE member_accounts (
    member_email_key TEXT COLLATE "C" NOT NULL REFERENCES members (email_key) ON DELETE CASCADE,
    account_id       TEXT COLLATE "C" NOT NULL REFERENCES accounts (id),
    PRIMARY KEY (member_email_key, account_id)
);

CREATE TABLE tokens (
    id          TEXT COLLATE "C" PRIMARY KEY,
    name        TEXT NOT NULL,
    value_hash  BYTEA NOT NULL UNIQUE,  -- SHA-256 of the token
    policies    TEXT NOT NULL,          -- JSON array
    status      TEXT NOT NULL CHECK (status IN ('active', 'disabled')),
    not_before  BIGINT,
    expires_on  BIGINT,
    created_at  BIGINT NOT NULL,
    modified_at BIGINT NOT NULL
);

-- One order for every node: `seq` comes from one sequence.
CREATE TABLE audit_events (
    seq        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at         BIGINT NOT NULL,
    account_id TEXT COLLATE "C",
    actor_kind TEXT NOT NULL,
    actor_id   TEXT NOT NULL,
    action     TEXT NOT NULL,
    subject    TEXT NOT NULL,
    before     TEXT,                    -- JSON
    after      TEXT                     -- JSON
);
CREATE INDEX audit_by_account ON audit_events (account_id, seq);

-- Audit events per account, kept in 16 slots chosen by the writing connection: a counter in
-- the account row would make every audited change of an account wait for the one before it
-- to commit. The total is the sum of at most 16 rows.
CREATE TABLE audit_counts (
    account_id TEXT COLLATE "C" NOT NULL REFERENCES accounts (id),
    slot       SMALLINT NOT NULL,
    n          BIGINT NOT NULL,
    PRIMARY KEY (account_id, slot)
);

-- Moves whenever tokens, members, their account grants or the set of accounts change; every
-- change also notifies channel `seats_credentials`, on which each node listens (see
-- src/postgres/mod.rs).
CREATE TABLE credentials_version (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    version BIGINT NOT NULL
);
INSERT INTO credentials_version (id, version) VALUES (1, 0);

-- Seats in use and user counts follow every insert, delete and seat change of a user.
CREATE FUNCTION users_counts() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        UPDATE accounts SET user_count = user_count + 1,
                            seats_in_use = seats_in_use + (NEW.access_seat OR NEW.gateway_seat)::int
        WHERE id = NEW.account_id;
    ELSIF TG_OP = 'DELETE' THEN
        UPDATE accounts SET user_count = user_count - 1,
                            seats_in_use = seats_in_use - (OLD.access_seat OR OLD.gateway_seat)::int
        WHERE id = OLD.account_id;
    ELSIF (OLD.access_seat OR OLD.gateway_seat) <> (NEW.access_seat OR NEW.gateway_seat) THEN
        UPDATE accounts SET seats_in_use = seats_in_use + (NEW.access_seat OR NEW.gateway_seat)::int
                                                        - (OLD.access_seat OR OLD.gateway_seat)::int
        WHERE id = NEW.account_id;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER users_counts AFTER INSERT OR DELETE OR UPDATE OF access_seat, gateway_seat ON users
    FOR EACH ROW EXECUTE FUNCTION users_counts();

-- The latest activity follows logins, seat grants and device activity.
CREATE FUNCTION users_active_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        NEW.active_at := GREATEST(COALESCE(NEW.last_successful_login, 0), COALESCE(NEW.seat_granted_at, 0));
    ELSIF OLD.last_successful_login IS DISTINCT FROM NEW.last_successful_login
       OR OLD.seat_granted_at IS DISTINCT FROM NEW.seat_granted_at THEN
        NEW.active_at := GREATEST(COALESCE(NEW.last_successful_login, 0), COALESCE(NEW.seat_granted_at, 0),
            COALESCE((SELECT MAX(d.last_seen_at) FROM devices d WHERE d.user_id = NEW.id), 0));
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER users_active_at BEFORE INSERT OR UPDATE OF last_successful_login, seat_granted_at ON users
    FOR EACH ROW EXECUTE FUNCTION users_active_at();

CREATE FUNCTION devices_activity() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    uid TEXT := CASE WHEN TG_OP = 'DELETE' THEN OLD.user_id ELSE NEW.user_id END;
BEGIN
    IF TG_OP = 'INSERT' THEN
        UPDATE users SET active_at = GREATEST(active_at, NEW.last_seen_at) WHERE id = uid;
    ELSE
        UPDATE users SET active_at = GREATEST(COALESCE(last_successful_login, 0), COALESCE(seat_granted_at, 0),
            COALESCE((SELECT MAX(d.last_seen_at) FROM devices d WHERE d.user_id = uid), 0))
        WHERE id = uid;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER devices_activity AFTER INSERT OR DELETE OR UPDATE OF last_seen_at ON devices
    FOR EACH ROW EXECUTE FUNCTION devices_activity();

CREATE FUNCTION audit_count() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO audit_counts (account_id, slot, n) VALUES (NEW.account_id, pg_backend_pid() % 16, 1)
    ON CONFLICT (account_id, slot) DO UPDATE SET n = audit_counts.n + 1;
    RETURN NULL;
END $$;
CREATE TRIGGER audit_count AFTER INSERT ON audit_events
    FOR EACH ROW WHEN (NEW.account_id IS NOT NULL) EXECUTE FUNCTION audit_count();

CREATE FUNCTION credentials_moved() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE credentials_version SET version = version + 1;
    PERFORM pg_notify('seats_credentials', current_schema());
    RETURN NULL;
END $$;
CREATE TRIGGER tokens_move_credentials AFTER INSERT OR UPDATE OR DELETE ON tokens
    FOR EACH STATEMENT EXECUTE FUNCTION credentials_moved();
CREATE TRIGGER members_move_credentials AFTER INSERT OR UPDATE OR DELETE ON members
    FOR EACH STATEMENT EXECUTE FUNCTION credentials_moved();
CREATE TRIGGER member_accounts_move_credentials AFTER INSERT OR DELETE ON member_accounts
    FOR EACH STATEMENT EXECUTE FUNCTION credentials_moved();
CREATE TRIGGER accounts_move_credentials AFTER INSERT ON accounts
    FOR EACH STATEMENT EXECUTE FUNCTION credentials_moved();
