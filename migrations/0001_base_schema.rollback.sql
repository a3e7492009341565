-- Fail fast rather than queue behind live traffic (and block it) while waiting for a lock.
SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '5min';

-- squawk-ignore ban-drop-table -- a rollback removes exactly what its migration created
DROP TABLE audit_logs;
-- squawk-ignore ban-drop-table -- a rollback removes exactly what its migration created
DROP TABLE workspaces;
-- squawk-ignore ban-drop-table -- a rollback removes exactly what its migration created
DROP TABLE users;
-- squawk-ignore ban-drop-table -- a rollback removes exactly what its migration created
DROP TABLE organizations;
-- squawk-ignore ban-drop-type -- a rollback removes exactly what its migration created
DROP TYPE audit_action;
-- squawk-ignore ban-drop-type -- a rollback removes exactly what its migration created
DROP TYPE login_type;
-- squawk-ignore ban-drop-type -- a rollback removes exactly what its migration created
DROP TYPE user_status;
