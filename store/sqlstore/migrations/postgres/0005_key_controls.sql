-- Per-key controls. allowed_cidrs is a JSON array of CIDR strings, masked
-- ('[]': any address), as text like scopes. credits_remaining is NULL for a
-- key without an allowance of uses; otherwise the uses left as of
-- credits_since, set back to credits_refill at the start of each
-- credits_interval period ('day' or 'month', UTC; '' and 0 without refill)
-- by the statement that spends the first use of the period.
ALTER TABLE gatehouse_keys
    ADD COLUMN allowed_cidrs     text        NOT NULL DEFAULT '[]',
    ADD COLUMN credits_remaining bigint,
    ADD COLUMN credits_refill    bigint      NOT NULL DEFAULT 0,
    ADD COLUMN credits_interval  text        NOT NULL DEFAULT '',
    ADD COLUMN credits_since     timestamptz;
