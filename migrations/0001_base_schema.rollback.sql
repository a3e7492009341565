DROP TABLE audit_logs;
DROP TABLE workspaces;
DROP TABLE users;
DROP TABLE organizations;
DROP TYPE audit_action;
DROP TYPE login_type;
DROP TYPE user_status;
