-- Fail fast rather than queue behind live traffic (and block it) while waiting for a lock.
SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '5min';

-- squawk-ignore ban-drop-function -- a rollback removes exactly what its migration created
DROP FUNCTION connection_logs_newest_page(
    uuid, text, uuid, text, connection_type[], uuid, text, text, timestamptz, timestamptz, uuid,
    uuid, boolean, boolean, boolean, uuid[], timestamptz, uuid, bigint
);
