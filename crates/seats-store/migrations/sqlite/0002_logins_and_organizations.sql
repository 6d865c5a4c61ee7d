-- Authentication events (accepted and refused), and when an organization was created and changed.
CREATE TABLE logins (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id   TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    at        INTEGER NOT NULL,
    via       TEXT NOT NULL CHECK (via IN ('access', 'gateway')),
    device_id TEXT,
    succeeded INTEGER NOT NULL CHECK (succeeded IN (0, 1)),
    reason    TEXT
) STRICT;
CREATE INDEX logins_by_user ON logins (user_id, id);

ALTER TABLE accounts ADD COLUMN organization_created_at INTEGER;
ALTER TABLE accounts ADD COLUMN organization_updated_at INTEGER;
