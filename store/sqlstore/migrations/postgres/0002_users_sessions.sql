-- Users, reminders sent, login sessions and registered signing keys.
-- Same conventions as 0001: timestamptz, NULL for never, JSON text for
-- lists, IDs in the "C" collation (byte order, as Go sorts them).

-- Users. email is stored normalised (trimmed, lower case); '' means none,
-- so uniqueness applies to non-empty addresses only. password_hash is a
-- PHC string (argon2id), never a password.
CREATE TABLE gatehouse_users (
    id            text COLLATE "C" NOT NULL PRIMARY KEY,
    tenant_id     text    NOT NULL DEFAULT '',
    email         text    NOT NULL DEFAULT '',
    name          text    NOT NULL DEFAULT '',
    level         text    NOT NULL DEFAULT 'member',
    scopes        text    NOT NULL DEFAULT '[]',
    password_hash text    NOT NULL DEFAULT '',
    created_at    timestamptz NOT NULL
);

CREATE UNIQUE INDEX gatehouse_users_email ON gatehouse_users (email) WHERE email <> '';
CREATE INDEX gatehouse_users_tenant ON gatehouse_users (tenant_id, id);

-- One row per reminder sent: the primary key makes a reminder for a key
-- and threshold go out at most once, whichever process sends it.
CREATE TABLE gatehouse_key_reminders (
    key_id      text    NOT NULL,
    threshold   text    NOT NULL,
    reminded_at timestamptz NOT NULL,
    PRIMARY KEY (key_id, threshold)
);

-- Login sessions, found by the digest of the cookie value (never the value).
CREATE TABLE gatehouse_sessions (
    digest       bytea    NOT NULL PRIMARY KEY CHECK (octet_length(digest) = 32),
    user_id      text    NOT NULL,
    tenant_id    text    NOT NULL DEFAULT '',
    scopes       text    NOT NULL DEFAULT '[]',
    created_at   timestamptz NOT NULL,
    last_seen_at timestamptz,
    expires_at   timestamptz
);

CREATE INDEX gatehouse_sessions_user ON gatehouse_sessions (user_id);

-- Public keys registered for personal access tokens (JWTs a user mints
-- with the private half, which the server never sees).
CREATE TABLE gatehouse_signing_keys (
    kid        text COLLATE "C" NOT NULL PRIMARY KEY,
    owner_id   text    NOT NULL DEFAULT '',
    tenant_id  text    NOT NULL DEFAULT '',
    name       text    NOT NULL DEFAULT '',
    algorithm  text    NOT NULL,
    public_key bytea    NOT NULL,
    scopes     text    NOT NULL DEFAULT '[]',
    created_at timestamptz NOT NULL,
    expires_at timestamptz
);

CREATE INDEX gatehouse_signing_keys_owner ON gatehouse_signing_keys (owner_id, kid);
