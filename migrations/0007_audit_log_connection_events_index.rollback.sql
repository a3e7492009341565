-- Outside a transaction, as its migration. yoyo pairs the statements of the two files one for
-- one, this file's first with the migration's last: the index build is undone by two drops (its
-- own, and one for the leftover drop before it, which finds nothing).
-- squawk-ignore-file ban-concurrent-index-creation-in-transaction -- yoyo runs this file outside one
SET lock_timeout = '1min';
SET statement_timeout = 0;

DROP INDEX CONCURRENTLY IF EXISTS idx_audit_logs_connection_events_time;
DROP INDEX CONCURRENTLY IF EXISTS idx_audit_logs_connection_events_time;

RESET statement_timeout;
RESET lock_timeout;
