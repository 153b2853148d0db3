-- API keys. The key itself is never stored: only its digest (SHA-256, or
-- HMAC-SHA-256 with a pepper kept outside the database) and its last 4
-- characters. Keys are found by digest through the unique index.
-- Times are timestamptz (microseconds); NULL means never.
-- scopes is a JSON array of strings, metadata a JSON object of strings,
-- both as text so that both dialects read them with one code path.
-- IDs use the "C" collation: byte order, the order Go sorts them in, which
-- the keyset pagination of ListKeys relies on.
--
-- Changes are published with pg_notify('gatehouse_keys', <hex digest>) by
-- the store in the transaction that makes them; there is no change table.
CREATE TABLE gatehouse_keys (
    id           text COLLATE "C" NOT NULL PRIMARY KEY,
    digest       bytea       NOT NULL UNIQUE CHECK (octet_length(digest) = 32),
    prefix       text        NOT NULL DEFAULT '',
    last4        text        NOT NULL DEFAULT '',
    name         text        NOT NULL DEFAULT '',
    description  text        NOT NULL DEFAULT '',
    owner_id     text        NOT NULL DEFAULT '',
    tenant_id    text        NOT NULL DEFAULT '',
    scopes       text        NOT NULL DEFAULT '[]',
    role         text        NOT NULL DEFAULT '',
    created_by   text        NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL,
    expires_at   timestamptz,
    last_used_at timestamptz,
    revoked_at   timestamptz,
    metadata     text        NOT NULL DEFAULT '{}'
);

CREATE INDEX gatehouse_keys_owner ON gatehouse_keys (owner_id, id);
CREATE INDEX gatehouse_keys_tenant ON gatehouse_keys (tenant_id, id);
CREATE INDEX gatehouse_keys_expiry ON gatehouse_keys (expires_at)
    WHERE expires_at IS NOT NULL AND revoked_at IS NULL;
