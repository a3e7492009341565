-- Fail fast rather than queue behind live traffic (and block it) while waiting for a lock.
SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '5min';

-- squawk-ignore ban-drop-table -- a rollback removes exactly what its migration created
DROP TABLE connection_logs;
-- squawk-ignore ban-drop-type -- a rollback removes exactly what its migration created
DROP TYPE connection_type;
-- squawk-ignore ban-drop-type -- a rollback removes exactly what its migration created
DROP TYPE connection_status;
-- The comment audit_action had before 0002 changed it.
COMMENT ON TYPE audit_action IS 'What an audited request did to its resource.';
