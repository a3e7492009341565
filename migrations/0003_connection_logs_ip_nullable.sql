-- A connection whose client address is unknown (say, a proxied request with no
-- remote address) is still recorded, with a NULL ip, rather than lost.
-- depends: 0002_connection_logs
-- Fail fast rather than queue behind live traffic (and block it) while waiting for a lock.
SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '5min';

-- squawk-ignore ban-drop-not-null -- the point of this migration; readers get `ip: str | None`
ALTER TABLE connection_logs ALTER COLUMN ip DROP NOT NULL;

COMMENT ON COLUMN connection_logs.ip IS 'The client address; NULL when it was not known.';
