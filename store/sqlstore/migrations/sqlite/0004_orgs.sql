-- Organizations and single-use sign-in tokens. Same conventions as 0001:
-- INTEGER microseconds since the Unix epoch (UTC), NULL for never,
-- booleans as INTEGER 0 or 1.

-- Organizations: an ID (the tenant_id of their users and keys) and a name,
-- and optionally their own key expiry policy: has_policy 0 means the
-- application's default applies, and the policy columns are ignored.
CREATE TABLE gatehouse_orgs (
    id                    TEXT    NOT NULL PRIMARY KEY,
    name                  TEXT    NOT NULL DEFAULT '',
    created_at            INTEGER NOT NULL,
    has_policy            INTEGER NOT NULL DEFAULT 0,
    require_expiry        INTEGER NOT NULL DEFAULT 0,
    max_lifetime_days     INTEGER NOT NULL DEFAULT 0,
    default_lifetime_days INTEGER NOT NULL DEFAULT 0,
    policy_updated_at     INTEGER,
    policy_updated_by     TEXT    NOT NULL DEFAULT ''
);

-- Sign-in links' tokens, found by digest (never the token). A token is
-- consumed by deleting its row: the DELETE that returns it is the one
-- winner among concurrent uses.
CREATE TABLE gatehouse_signin_tokens (
    digest     BLOB    NOT NULL PRIMARY KEY CHECK (length(digest) = 32),
    user_id    TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER
);

CREATE INDEX gatehouse_signin_tokens_expires ON gatehouse_signin_tokens (expires_at);
