-- Settings the processes sharing a database must agree on, one row each,
-- written once by the first process that needs them (INSERT ... ON
-- CONFLICT DO NOTHING) and compared by every later one. The first is
-- "pepper": a fingerprint of the pepper the key digests are made with,
-- never the pepper itself.
CREATE TABLE gatehouse_settings (
    name  text NOT NULL PRIMARY KEY,
    value text NOT NULL
);
