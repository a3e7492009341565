-- Fail fast rather than queue behind live traffic (and block it) while waiting for a lock.
SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '5min';

-- squawk-ignore ban-drop-function -- a rollback removes exactly what its migration created
DROP FUNCTION connection_log_session_id(uuid, uuid, text);
-- squawk-ignore ban-drop-function -- a rollback removes exactly what its migration created
DROP FUNCTION reject_arguments(text);
