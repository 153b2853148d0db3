-- Webhook endpoints and the outbox of their deliveries. The signing
-- secret is stored as it is ("whsec_..."): HMAC needs it, so whoever reads
-- this table can sign messages as Gatehouse. events is a JSON array of
-- event types ("[]": all), as text.
CREATE TABLE gatehouse_webhook_endpoints (
    id              text COLLATE "C" NOT NULL PRIMARY KEY,
    url             text        NOT NULL,
    secret          text        NOT NULL,
    events          text        NOT NULL DEFAULT '[]',
    created_by      text        NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL,
    failures        integer     NOT NULL DEFAULT 0,
    failing_since   timestamptz, -- the first of the consecutive failures
    disabled_at     timestamptz,
    disabled_reason text        NOT NULL DEFAULT ''
);

-- One row per event and endpoint, written in the transaction that
-- enqueues the event. Pending while next_at is set; a dispatcher leases a
-- row (lease_token, lease_until; claimed with FOR UPDATE SKIP LOCKED)
-- before it sends it, so that two instances do not send it at the same
-- time.
CREATE TABLE gatehouse_webhook_deliveries (
    id              text COLLATE "C" NOT NULL PRIMARY KEY,
    endpoint_id     text COLLATE "C" NOT NULL REFERENCES gatehouse_webhook_endpoints (id) ON DELETE CASCADE,
    event_id        text        NOT NULL,
    event_type      text        NOT NULL,
    payload         text        NOT NULL,
    created_at      timestamptz NOT NULL,
    attempts        integer     NOT NULL DEFAULT 0,
    next_at         timestamptz,
    lease_token     text        NOT NULL DEFAULT '',
    lease_until     timestamptz,
    last_attempt_at timestamptz,
    last_status     integer     NOT NULL DEFAULT 0,
    last_error      text        NOT NULL DEFAULT '',
    delivered_at    timestamptz,
    UNIQUE (endpoint_id, event_id)
);

CREATE INDEX gatehouse_webhook_deliveries_due ON gatehouse_webhook_deliveries (next_at)
    WHERE next_at IS NOT NULL;
CREATE INDEX gatehouse_webhook_deliveries_endpoint ON gatehouse_webhook_deliveries (endpoint_id, id);
