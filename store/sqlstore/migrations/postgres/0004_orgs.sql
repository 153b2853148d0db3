-- Organizations and single-use sign-in tokens. Same conventions as 0001:
-- timestamptz, NULL for never, IDs in the "C" collation (byte order, as
-- Go sorts them).

-- Organizations: an ID (the tenant_id of their users and keys) and a name,
-- and optionally their own key expiry policy: has_policy false means the
-- application's default applies, and the policy columns are ignored.
CREATE TABLE gatehouse_orgs (
    id                    text COLLATE "C" NOT NULL PRIMARY KEY,
    name                  text    NOT NULL DEFAULT '',
    created_at            timestamptz NOT NULL,
    has_policy            boolean NOT NULL DEFAULT false,
    require_expiry        boolean NOT NULL DEFAULT false,
    max_lifetime_days     integer NOT NULL DEFAULT 0,
    default_lifetime_days integer NOT NULL DEFAULT 0,
    policy_updated_at     timestamptz,
    policy_updated_by     text    NOT NULL DEFAULT ''
);

-- Sign-in links' tokens, found by digest (never the token). A token is
-- consumed by deleting its row: the DELETE that returns it is the one
-- winner among concurrent uses.
CREATE TABLE gatehouse_signin_tokens (
    digest     bytea NOT NULL PRIMARY KEY CHECK (octet_length(digest) = 32),
    user_id    text  NOT NULL,
    created_at timestamptz NOT NULL,
    expires_at timestamptz
);

CREATE INDEX gatehouse_signin_tokens_expires ON gatehouse_signin_tokens (expires_at);
