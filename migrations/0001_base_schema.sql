-- The platform tables the connection log references and reads.
-- Fail fast rather than queue behind live traffic (and block it) while waiting for a lock.
SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '5min';

CREATE TYPE user_status AS ENUM ('active', 'dormant', 'suspended');

CREATE TYPE login_type AS ENUM ('password', 'github', 'oidc', 'token', 'none');

CREATE TYPE audit_action AS ENUM (
    'create',
    'write',
    'delete',
    'start',
    'stop',
    'login',
    'logout',
    'register',
    'connect',
    'disconnect',
    'open',
    'close'
);

COMMENT ON TYPE audit_action IS 'What an audited request did to its resource.';

CREATE TABLE organizations (
    id uuid NOT NULL,
    name text NOT NULL,
    display_name text NOT NULL,
    description text NOT NULL DEFAULT '',
    icon text NOT NULL DEFAULT '',
    created_at timestamp with time zone NOT NULL DEFAULT now(),
    updated_at timestamp with time zone NOT NULL DEFAULT now(),
    is_default boolean NOT NULL DEFAULT false,
    PRIMARY KEY (id)
);

CREATE UNIQUE INDEX idx_organizations_name_lower ON organizations (lower(name));

-- At most one organization is the default one.
CREATE UNIQUE INDEX idx_organizations_single_default ON organizations (is_default) WHERE is_default;

CREATE TABLE users (
    id uuid NOT NULL,
    email text NOT NULL,
    username text NOT NULL,
    name text NOT NULL DEFAULT '',
    avatar_url text NOT NULL DEFAULT '',
    created_at timestamp with time zone NOT NULL DEFAULT now(),
    updated_at timestamp with time zone NOT NULL DEFAULT now(),
    last_seen_at timestamp with time zone NOT NULL DEFAULT '0001-01-01 00:00:00+00',
    status user_status NOT NULL DEFAULT 'dormant',
    login_type login_type NOT NULL DEFAULT 'password',
    rbac_roles text[] NOT NULL DEFAULT '{}',
    quiet_hours_schedule text NOT NULL DEFAULT '',
    deleted boolean NOT NULL DEFAULT false,
    PRIMARY KEY (id)
);

-- Usernames and emails are unique, ignoring case, among users that still exist.
CREATE UNIQUE INDEX idx_users_username_lower ON users (lower(username)) WHERE NOT deleted;
CREATE UNIQUE INDEX idx_users_email_lower ON users (lower(email)) WHERE NOT deleted;

CREATE TABLE workspaces (
    id uuid NOT NULL,
    owner_id uuid NOT NULL REFERENCES users (id) ON DELETE RESTRICT,
    organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE RESTRICT,
    name text NOT NULL,
    created_at timestamp with time zone NOT NULL DEFAULT now(),
    updated_at timestamp with time zone NOT NULL DEFAULT now(),
    deleted boolean NOT NULL DEFAULT false,
    PRIMARY KEY (id)
);

CREATE INDEX idx_workspaces_owner_id ON workspaces (owner_id);
CREATE INDEX idx_workspaces_organization_id ON workspaces (organization_id);

CREATE TABLE audit_logs (
    id uuid NOT NULL,
    time timestamp with time zone NOT NULL,
    user_id uuid NOT NULL,
    organization_id uuid NOT NULL,
    ip inet,
    user_agent text NOT NULL DEFAULT '',
    resource_type text NOT NULL,
    resource_id uuid NOT NULL,
    resource_target text NOT NULL,
    action audit_action NOT NULL,
    diff jsonb NOT NULL DEFAULT '{}',
    -- squawk-ignore prefer-bigint-over-int -- an HTTP status code: three digits
    status_code integer NOT NULL,
    additional_fields jsonb NOT NULL DEFAULT '{}',
    request_id uuid NOT NULL,
    resource_icon text NOT NULL DEFAULT '',
    PRIMARY KEY (id)
);

-- Retention deletes the oldest rows first, a batch at a time.
CREATE INDEX idx_audit_logs_time ON audit_logs (time);
