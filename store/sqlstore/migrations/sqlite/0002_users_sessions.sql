-- Users, reminders sent, login sessions and registered signing keys.
-- Same conventions as 0001: INTEGER microseconds since the Unix epoch
-- (UTC), NULL for never, JSON text for lists.

-- Users. email is stored normalised (trimmed, lower case); '' means none,
-- so uniqueness applies to non-empty addresses only. password_hash is a
-- PHC string (argon2id), never a password.
CREATE TABLE gatehouse_users (
    id            TEXT    NOT NULL PRIMARY KEY,
    tenant_id     TEXT    NOT NULL DEFAULT '',
    email         TEXT    NOT NULL DEFAULT '',
    name          TEXT    NOT NULL DEFAULT '',
    level         TEXT    NOT NULL DEFAULT 'member',
    scopes        TEXT    NOT NULL DEFAULT '[]',
    password_hash TEXT    NOT NULL DEFAULT '',
    created_at    INTEGER NOT NULL
);

CREATE UNIQUE INDEX gatehouse_users_email ON gatehouse_users (email) WHERE email <> '';
CREATE INDEX gatehouse_users_tenant ON gatehouse_users (tenant_id, id);

-- One row per reminder sent: the primary key makes a reminder for a key
-- and threshold go out at most once, whichever process sends it.
CREATE TABLE gatehouse_key_reminders (
    key_id      TEXT    NOT NULL,
    threshold   TEXT    NOT NULL,
    reminded_at INTEGER NOT NULL,
    PRIMARY KEY (key_id, threshold)
);

-- Login sessions, found by the digest of the cookie value (never the value).
CREATE TABLE gatehouse_sessions (
    digest       BLOB    NOT NULL PRIMARY KEY CHECK (length(digest) = 32),
    user_id      TEXT    NOT NULL,
    tenant_id    TEXT    NOT NULL DEFAULT '',
    scopes       TEXT    NOT NULL DEFAULT '[]',
    created_at   INTEGER NOT NULL,
    last_seen_at INTEGER,
    expires_at   INTEGER
);

CREATE INDEX gatehouse_sessions_user ON gatehouse_sessions (user_id);

-- Public keys registered for personal access tokens (JWTs a user mints
-- with the private half, which the server never sees).
CREATE TABLE gatehouse_signing_keys (
    kid        TEXT    NOT NULL PRIMARY KEY,
    owner_id   TEXT    NOT NULL DEFAULT '',
    tenant_id  TEXT    NOT NULL DEFAULT '',
    name       TEXT    NOT NULL DEFAULT '',
    algorithm  TEXT    NOT NULL,
    public_key BLOB    NOT NULL,
    scopes     TEXT    NOT NULL DEFAULT '[]',
    created_at INTEGER NOT NULL,
    expires_at INTEGER
);

CREATE INDEX gatehouse_signing_keys_owner ON gatehouse_signing_keys (owner_id, kid);
