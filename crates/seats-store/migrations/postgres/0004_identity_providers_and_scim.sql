-- Identity providers (Cloudflare's Access identity providers API) and what their SCIM clients
-- provision. A SCIM user is the identity provider's record of a person; it is linked to the
-- account's user of the same email (created, holding no seat, if there was none).

CREATE TABLE identity_providers (
    id          TEXT COLLATE "C" PRIMARY KEY,
    account_id  TEXT COLLATE "C" NOT NULL REFERENCES accounts (id),
    name        TEXT NOT NULL,
    type        TEXT NOT NULL,
    config      TEXT NOT NULL,           -- JSON object, as given
    scim_config TEXT NOT NULL,           -- JSON object: the flags, never the secret
    scim_secret_hash BYTEA UNIQUE,        -- SHA-256 of the SCIM bearer secret
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
CREATE INDEX identity_providers_by_account ON identity_providers (account_id, created_at, id);

CREATE TABLE scim_users (
    seq           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id            TEXT COLLATE "C" NOT NULL UNIQUE,
    provider_id   TEXT COLLATE "C" NOT NULL REFERENCES identity_providers (id) ON DELETE CASCADE,
    user_id       TEXT COLLATE "C" REFERENCES users (id) ON DELETE SET NULL,
    user_name_key TEXT NOT NULL,         -- lowercased userName (caseExact false)
    external_id   TEXT,
    email_key     TEXT,                  -- lowercased email the account user is linked by
    display_name  TEXT,
    active        BOOLEAN NOT NULL,
    resource      TEXT NOT NULL,         -- JSON: the resource as given, without id and meta
    version       BIGINT NOT NULL,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);
CREATE UNIQUE INDEX scim_users_by_user_name ON scim_users (provider_id, user_name_key);
CREATE INDEX scim_users_by_external_id ON scim_users (provider_id, external_id);
CREATE INDEX scim_users_by_email ON scim_users (provider_id, email_key);
CREATE INDEX scim_users_by_display_name ON scim_users (provider_id, display_name);
CREATE INDEX scim_users_by_creation ON scim_users (provider_id, seq);
CREATE INDEX scim_users_by_user ON scim_users (user_id);

CREATE TABLE scim_groups (
    seq           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id            TEXT COLLATE "C" NOT NULL UNIQUE,
    provider_id   TEXT COLLATE "C" NOT NULL REFERENCES identity_providers (id) ON DELETE CASCADE,
    display_name  TEXT NOT NULL,
    external_id   TEXT,
    resource      TEXT NOT NULL,         -- JSON, without id, meta and members
    version       BIGINT NOT NULL,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);
CREATE UNIQUE INDEX scim_groups_by_display_name ON scim_groups (provider_id, display_name);
CREATE INDEX scim_groups_by_external_id ON scim_groups (provider_id, external_id);
CREATE INDEX scim_groups_by_creation ON scim_groups (provider_id, seq);

CREATE TABLE scim_group_members (
    group_id TEXT COLLATE "C" NOT NULL REFERENCES scim_groups (id) ON DELETE CASCADE,
    user_id  TEXT COLLATE "C" NOT NULL REFERENCES scim_users (id) ON DELETE CASCADE,
    PRIMARY KEY (group_id, user_id)
);
CREATE INDEX scim_group_members_by_user ON scim_group_members (user_id);
