-- Webhook endpoints and the outbox of their deliveries. The signing
-- secret is stored as it is ("whsec_..."): HMAC needs it, so whoever reads
-- this table can sign messages as Gatehouse. events is a JSON array of
-- event types ("[]": all). Times are INTEGER microseconds, UTC.
CREATE TABLE gatehouse_webhook_endpoints (
    id              TEXT    NOT NULL PRIMARY KEY,
    url             TEXT    NOT NULL,
    secret          TEXT    NOT NULL,
    events          TEXT    NOT NULL DEFAULT '[]',
    created_by      TEXT    NOT NULL DEFAULT '',
    created_at      INTEGER NOT NULL,
    failures        INTEGER NOT NULL DEFAULT 0,
    failing_since   INTEGER, -- the first of the consecutive failures
    disabled_at     INTEGER,
    disabled_reason TEXT    NOT NULL DEFAULT ''
);

-- One row per event and endpoint, written in the transaction that
-- enqueues the event. Pending while next_at is set; a dispatcher leases a
-- row (lease_token, lease_until) before it sends it, so that two
-- processes do not send it at the same time.
CREATE TABLE gatehouse_webhook_deliveries (
    id              TEXT    NOT NULL PRIMARY KEY,
    endpoint_id     TEXT    NOT NULL REFERENCES gatehouse_webhook_endpoints (id) ON DELETE CASCADE,
    event_id        TEXT    NOT NULL,
    event_type      TEXT    NOT NULL,
    payload         TEXT    NOT NULL,
    created_at      INTEGER NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_at         INTEGER,
    lease_token     TEXT    NOT NULL DEFAULT '',
    lease_until     INTEGER,
    last_attempt_at INTEGER,
    last_status     INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT    NOT NULL DEFAULT '',
    delivered_at    INTEGER,
    UNIQUE (endpoint_id, event_id)
);

CREATE INDEX gatehouse_webhook_deliveries_due ON gatehouse_webhook_deliveries (next_at)
    WHERE next_at IS NOT NULL;
CREATE INDEX gatehouse_webhook_deliveries_endpoint ON gatehouse_webhook_deliveries (endpoint_id, id);
