-- Outside a transaction, as its migration (see there). yoyo pairs the statements of the two files
-- one for one, this file's first with the migration's last, so that undoing the statements of a
-- failed apply runs the right ones: each index build is undone by two drops (its own, and one for
-- the leftover drop before it, which finds nothing).
-- squawk-ignore-file ban-concurrent-index-creation-in-transaction -- yoyo runs this file outside one
-- squawk-ignore-file prefer-robust-stmts -- a failed rebuild here leaves an INVALID index to drop by hand
SET lock_timeout = '1min';
SET statement_timeout = 0;

COMMENT ON FUNCTION connection_log_merged(connection_logs, connection_logs) IS NULL;
-- squawk-ignore ban-drop-function -- a rollback removes exactly what its migration created
DROP FUNCTION connection_log_merged(connection_logs, connection_logs);

COMMENT ON FUNCTION connection_logs_newest(
    uuid, text, uuid, text, connection_type[], uuid, text, text, timestamptz, timestamptz, uuid,
    uuid, boolean, boolean, boolean, uuid[], timestamptz, uuid, bigint
) IS NULL;
-- squawk-ignore ban-drop-function -- a rollback removes exactly what its migration created
DROP FUNCTION connection_logs_newest(
    uuid, text, uuid, text, connection_type[], uuid, text, text, timestamptz, timestamptz, uuid,
    uuid, boolean, boolean, boolean, uuid[], timestamptz, uuid, bigint
);

COMMENT ON FUNCTION connection_log_matches(
    connection_logs, uuid, uuid[], uuid, uuid[], connection_type[], uuid, uuid[], uuid[],
    timestamptz, timestamptz, uuid, uuid, boolean, boolean, boolean, uuid[], timestamptz, uuid
) IS NULL;
-- squawk-ignore ban-drop-function -- a rollback removes exactly what its migration created
DROP FUNCTION connection_log_matches(
    connection_logs, uuid, uuid[], uuid, uuid[], connection_type[], uuid, uuid[], uuid[],
    timestamptz, timestamptz, uuid, uuid, boolean, boolean, boolean, uuid[], timestamptz, uuid
);

CREATE INDEX CONCURRENTLY idx_connection_logs_workspace_id
    ON connection_logs USING btree (workspace_id);
CREATE INDEX CONCURRENTLY idx_connection_logs_workspace_owner_id
    ON connection_logs USING btree (workspace_owner_id);
CREATE INDEX CONCURRENTLY idx_connection_logs_connect_time_desc
    ON connection_logs USING btree (connect_time DESC);

DROP INDEX CONCURRENTLY IF EXISTS idx_connection_logs_ongoing_connect_time_id;
DROP INDEX CONCURRENTLY IF EXISTS idx_connection_logs_ongoing_connect_time_id;

DROP INDEX CONCURRENTLY IF EXISTS idx_users_email_lower_all;
DROP INDEX CONCURRENTLY IF EXISTS idx_users_email_lower_all;

DROP INDEX CONCURRENTLY IF EXISTS idx_users_username_lower_all;
DROP INDEX CONCURRENTLY IF EXISTS idx_users_username_lower_all;

DROP INDEX CONCURRENTLY IF EXISTS idx_connection_logs_user_id_connect_time_id;
DROP INDEX CONCURRENTLY IF EXISTS idx_connection_logs_user_id_connect_time_id;

DROP INDEX CONCURRENTLY IF EXISTS idx_connection_logs_workspace_id_connect_time_id;
DROP INDEX CONCURRENTLY IF EXISTS idx_connection_logs_workspace_id_connect_time_id;

DROP INDEX CONCURRENTLY IF EXISTS idx_connection_logs_workspace_owner_id_connect_time_id;
DROP INDEX CONCURRENTLY IF EXISTS idx_connection_logs_workspace_owner_id_connect_time_id;

DROP INDEX CONCURRENTLY IF EXISTS idx_connection_logs_connect_time_id;
DROP INDEX CONCURRENTLY IF EXISTS idx_connection_logs_connect_time_id;

RESET statement_timeout;
RESET lock_timeout;
