-- Identity providers (Cloudflare's Access identity providers API) and what their SCIM clients
-- provision. A SCIM user is the identity provider's record of a person; it is linked to the
-- account's user of the same email (created, holding no seat, if there was none).

CREATE TABLE identity_providers (
    id          TEXT PRIMARY KEY NOT NULL,
    account_id  TEXT NOT NULL REFERENCES accounts (id),
    name        TEXT NOT NULL,
    type        TEXT NOT NULL,
    config      TEXT NOT NULL,           -- JSON object, as given
    scim_config TEXT NOT NULL,           -- JSON object: the flags, never the secret
    scim_secret_hash BLOB UNIQUE,        -- SHA-256 of the SCIM bearer secret
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
) STRICT;
CREATE INDEX identity_providers_by_account ON identity_providers (account_id, created_at, id);

CREATE TABLE scim_users (
    seq           INTEGER PRIMARY KEY,
    id            TEXT NOT NULL UNIQUE,
    provider_id   TEXT NOT NULL REFERENCES identity_providers (id) ON DELETE CASCADE,
    user_id       TEXT REFERENCES users (id) ON DELETE SET NULL,
    user_name_key TEXT NOT NULL,         -- lowercased userName (caseExact false)
    external_id   TEXT,
    email_key     TEXT,                  -- lowercased email the account user is linked by
    display_name  TEXT,
    active        INTEGER NOT NULL CHECK (active IN (0, 1)),
    resource      TEXT NOT NULL,         -- JSON: the resource as given, without id and meta
    version       INTEGER NOT NULL,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
) STRICT;
CREATE UNIQUE INDEX scim_users_by_user_name ON scim_users (provider_id, user_name_key);
CREATE INDEX scim_users_by_external_id ON scim_users (provider_id, external_id);
CREATE INDEX scim_users_by_email ON scim_users (provider_id, email_key);
CREATE INDEX scim_users_by_display_name ON scim_users (provider_id, display_name);
CREATE INDEX scim_users_by_creation ON scim_users (provider_id, seq);
CREATE INDEX scim_users_by_user ON scim_users (user_id);

CREATE TABLE scim_groups (
    seq           INTEGER PRIMARY KEY,
    id            TEXT NOT NULL UNIQUE,
    provider_id   TEXT NOT NULL REFERENCES identity_providers (id) ON DELETE CASCADE,
    display_name  TEXT NOT NULL,
    external_id   TEXT,
    resource      TEXT NOT NULL,         -- JSON, without id, meta and members
    version       INTEGER NOT NULL,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
) STRICT;
CREATE UNIQUE INDEX scim_groups_by_display_name ON scim_groups (provider_id, display_name);
CREATE INDEX scim_groups_by_external_id ON scim_groups (provider_id, external_id);
CREATE INDEX scim_groups_by_creation ON scim_groups (provider_id, seq);

CREATE TABLE scim_group_members (
    group_id TEXT NOT NULL REFERENCES scim_groups (id) ON DELETE CASCADE,
    user_id  TEXT NOT NULL REFERENCES scim_users (id) ON DELETE CASCADE,
    PRIMARY KEY (group_id, user_id)
) STRICT;
CREATE INDEX scim_group_members_by_user ON scim_group_members (user_id);
