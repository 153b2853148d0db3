-- API keys. The key itself is never stored: only its digest (SHA-256, or
-- HMAC-SHA-256 with a pepper kept outside the database) and its last 4
-- characters. Keys are found by digest through the unique index.
-- Times are INTEGER microseconds since the Unix epoch, UTC; NULL means never.
-- scopes is a JSON array of strings, metadata a JSON object of strings.
CREATE TABLE gatehouse_keys (
    id           TEXT    NOT NULL PRIMARY KEY,
    digest       BLOB    NOT NULL UNIQUE CHECK (length(digest) = 32),
    prefix       TEXT    NOT NULL DEFAULT '',
    last4        TEXT    NOT NULL DEFAULT '',
    name         TEXT    NOT NULL DEFAULT '',
    description  TEXT    NOT NULL DEFAULT '',
    owner_id     TEXT    NOT NULL DEFAULT '',
    tenant_id    TEXT    NOT NULL DEFAULT '',
    scopes       TEXT    NOT NULL DEFAULT '[]',
    role         TEXT    NOT NULL DEFAULT '',
    created_by   TEXT    NOT NULL DEFAULT '',
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER,
    last_used_at INTEGER,
    revoked_at   INTEGER,
    metadata     TEXT    NOT NULL DEFAULT '{}'
);

CREATE INDEX gatehouse_keys_owner ON gatehouse_keys (owner_id, id);
CREATE INDEX gatehouse_keys_tenant ON gatehouse_keys (tenant_id, id);
CREATE INDEX gatehouse_keys_expiry ON gatehouse_keys (expires_at)
    WHERE expires_at IS NOT NULL AND revoked_at IS NULL;

-- The change log: every update, revocation and deletion of a key appends
-- the key's digest in the same transaction. Watchers in every process that
-- shares the file poll it (seq > last seen) and drop those digests from
-- their caches; they prune rows older than their retention. AUTOINCREMENT
-- keeps seq from ever being reused, so a watcher can tell pruned rows from
-- rows it has not read yet.
CREATE TABLE gatehouse_key_changes (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    digest     BLOB    NOT NULL,
    changed_at INTEGER NOT NULL
);

CREATE INDEX gatehouse_key_changes_at ON gatehouse_key_changes (changed_at);
