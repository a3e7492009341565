-- The connection log: one row per SSH/IDE session, workspace app open or port forward.
-- depends: 0001_base_schema
-- Fail fast rather than queue behind live traffic (and block it) while waiting for a lock.
SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '5min';

CREATE TYPE connection_status AS ENUM (
    'connected',
    'disconnected'
);

CREATE TYPE connection_type AS ENUM (
    -- SSH events
    'ssh',
    'vscode',
    'jetbrains',
    'reconnecting_pty',
    -- Web events
    'workspace_app',
    'port_forwarding'
);

CREATE TABLE connection_logs (
    id uuid NOT NULL,
    connect_time timestamp with time zone NOT NULL,
    organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    workspace_owner_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    workspace_id uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    workspace_name text NOT NULL,
    agent_name text NOT NULL,
    type connection_type NOT NULL,
    ip inet NOT NULL,
    -- squawk-ignore prefer-bigint-over-int -- the seed's type; HTTP statuses and exit codes fit
    code integer,
    -- Web events only.
    user_agent text,
    user_id uuid,
    slug_or_port text,
    -- SSH events only.
    connection_id uuid,
    disconnect_time timestamp with time zone,
    disconnect_reason text,
    PRIMARY KEY (id)
);

COMMENT ON COLUMN connection_logs.code IS
    'HTTP status of a web request, or exit code of an SSH session; for SSH sessions NULL until the disconnect is recorded.';
COMMENT ON COLUMN connection_logs.user_agent IS
    'User-Agent header of a web request; NULL for SSH sessions.';
COMMENT ON COLUMN connection_logs.user_id IS
    'The user who made a web request; NULL for SSH sessions.';
COMMENT ON COLUMN connection_logs.slug_or_port IS
    'The app slug opened, or the port forwarded, by a web request; NULL for SSH sessions.';
COMMENT ON COLUMN connection_logs.connection_id IS
    'The agent-assigned session id that pairs a connect with its disconnect; not guaranteed unique across agents.';
COMMENT ON COLUMN connection_logs.disconnect_time IS
    'When the session ended; NULL for web requests, and for SSH sessions until the disconnect is recorded.';
COMMENT ON COLUMN connection_logs.disconnect_reason IS
    'Why the session ended; NULL for web requests, and for SSH sessions until the disconnect is recorded.';

COMMENT ON TYPE audit_action IS
    'What an audited request did to its resource. connect, disconnect, open and close are no longer written here: the connection_logs table records those events.';

-- Pairs a session's disconnect with its connect.
CREATE UNIQUE INDEX idx_connection_logs_connection_id_workspace_id_agent_name
    ON connection_logs (connection_id, workspace_id, agent_name);

COMMENT ON INDEX idx_connection_logs_connection_id_workspace_id_agent_name IS
    'Upserts of SSH events conflict here, merging a disconnect into its connect. Web events have a NULL connection_id, and NULLs never collide, so each web event keeps its own row.';

CREATE INDEX idx_connection_logs_connect_time_desc ON connection_logs USING btree (connect_time DESC);
CREATE INDEX idx_connection_logs_organization_id ON connection_logs USING btree (organization_id);
CREATE INDEX idx_connection_logs_workspace_owner_id ON connection_logs USING btree (workspace_owner_id);
CREATE INDEX idx_connection_logs_workspace_id ON connection_logs USING btree (workspace_id);
