-- Per-key controls. allowed_cidrs is a JSON array of CIDR strings, masked
-- ("[]": any address). credits_remaining is NULL for a key without an
-- allowance of uses; otherwise the uses left as of credits_since (INTEGER
-- microseconds, UTC), set back to credits_refill at the start of each
-- credits_interval period ('day' or 'month', UTC; '' and 0 without refill)
-- by the statement that spends the first use of the period.
ALTER TABLE gatehouse_keys ADD COLUMN allowed_cidrs TEXT NOT NULL DEFAULT '[]';
ALTER TABLE gatehouse_keys ADD COLUMN credits_remaining INTEGER;
ALTER TABLE gatehouse_keys ADD COLUMN credits_refill INTEGER NOT NULL DEFAULT 0;
ALTER TABLE gatehouse_keys ADD COLUMN credits_interval TEXT NOT NULL DEFAULT '';
ALTER TABLE gatehouse_keys ADD COLUMN credits_since INTEGER;
