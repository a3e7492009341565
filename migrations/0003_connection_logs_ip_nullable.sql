-- A connection whose client address is unknown (say, a proxied request with no
-- remote address) is still recorded, with a NULL ip, rather than lost.
-- depends: 0002_connection_logs
ALTER TABLE connection_logs ALTER COLUMN ip DROP NOT NULL;

COMMENT ON COLUMN connection_logs.ip IS 'The client address; NULL when it was not known.';
