-- An index of the audit log's connect, disconnect, open and close rows by time, the only rows
-- retention deletes from audit_logs (queries/audit_logs.sql, DeleteOldAuditLogConnectionEvents).
-- Through idx_audit_logs_time, each purge's first batch walked past every older row of another
-- action, which retention never deletes, so a purge cost grew with the whole audit log; this
-- index holds only the rows it deletes, and is empty once they are gone.
-- depends: 0006_connection_log_pages
-- transactional: false
--
-- Outside a transaction, because CREATE INDEX CONCURRENTLY cannot run in one (see 0005 for how
-- yoyo runs such a file and its rollback). Readers and writers are never blocked while it builds.
-- squawk-ignore-file ban-concurrent-index-creation-in-transaction -- yoyo runs this file outside one
-- squawk-ignore-file prefer-robust-stmts -- the build is preceded by a drop of any leftover of it
SET lock_timeout = '1min';
SET statement_timeout = 0;

DROP INDEX CONCURRENTLY IF EXISTS idx_audit_logs_connection_events_time;
CREATE INDEX CONCURRENTLY idx_audit_logs_connection_events_time
    ON audit_logs (time)
    WHERE action IN ('connect', 'disconnect', 'open', 'close');

RESET statement_timeout;
RESET lock_timeout;
