-- Dashboard sessions (see dashboard_session.rs): the hash of the cookie's random id, and the
-- hash of the credential the session was opened with, never the credential itself.
CREATE TABLE dashboard_sessions (
    id_hash         BYTEA PRIMARY KEY,
    kind            TEXT NOT NULL CHECK (kind IN ('token', 'key', 'operator')),
    email           TEXT,
    credential_hash BYTEA NOT NULL,
    created_at      BIGINT NOT NULL,   -- microseconds since the Unix epoch, as every time here
    last_seen_at    BIGINT NOT NULL,
    expires_at      BIGINT NOT NULL
);
CREATE INDEX dashboard_sessions_by_credential ON dashboard_sessions (credential_hash, created_at);
-- Keys every server on the database shares (the dashboard signs its sign-in forms with one);
-- the first server to ask for a name stores its own random candidate.
CREATE TABLE server_keys (
    name TEXT PRIMARY KEY,
    key  BYTEA NOT NULL
);
