-- The connection log: recording events, listing, counting and purging sessions.
--
-- How events become rows (UpsertConnectionLog and BatchUpsertConnectionLogs share these rules,
-- and the stored rows depend only on the SET of events seen, never on their order or repetition):
--
-- * Web events (type workspace_app or port_forwarding) and events without a connection_id are
--   standalone: each is its own row, keyed by its event id. A web event's connection_id is not
--   stored (the unique index would otherwise pair web events), nor is a disconnect time.
-- * The other events of one session share (connection_id, workspace_id, agent_name). Their row's
--   id is derived from that key (md5 of 'connection_id/workspace_id/agent_name' read as a uuid),
--   or is the id of the row the session already has (the platform's earlier code gave rows
--   random ids): connection_log_session_id() finds it, under a transaction-level advisory lock
--   of the session that every writer takes first, so writers of one session never race to
--   insert its first row. Every event of a session thus targets one primary key: one
--   ON CONFLICT (id) arbiter merges sessions and makes a repeated web event a no-op; the id
--   never changes once the row exists (links and keyset cursors stay valid); and a batch can
--   group its events by the derived id. Event ids of session events are therefore not stored.
-- * connect_time is the earliest time of any event of the row. ASSUMPTION: a session's connect
--   events are never later than its disconnect events. Under it, this equals the earliest
--   connect's time once a connect has been seen, and the earliest disconnect's time before.
--   (Without it no rule can be exact: a row made by a disconnect alone stores connect_time =
--   disconnect_time and cannot tell whether a connect at that very instant was seen.)
-- * disconnect_time, disconnect_reason and (for sessions) code come from the earliest disconnect,
--   exact-time ties going to the smallest (disconnect_reason, code), bytewise, NULLs last. A
--   row that has seen no disconnect has all three NULL: it is open.
-- * Every other column (organization_id, workspace_owner_id, workspace_id, workspace_name,
--   agent_name, type, ip, and a web event's user_agent, user_id, slug_or_port and code: a
--   session's are NULL) comes from
--   one event: the one whose values sort first in that column order (type by enum order, text
--   bytewise, NULLs last). They agree across a session's events in practice; the rule only makes
--   disagreement deterministic. Session types sort before web types, so a web code never
--   shadows a session's.

-- name: UpsertConnectionLog :one
-- Records one connection event and returns its row as stored after merging.
-- Repeating an event, or recording a session's events in any order, gives the same row.
INSERT INTO connection_logs AS cl (
    id,
    connect_time,
    organization_id,
    workspace_owner_id,
    workspace_id,
    workspace_name,
    agent_name,
    type,
    ip,
    code,
    user_agent,
    user_id,
    slug_or_port,
    connection_id,
    disconnect_time,
    disconnect_reason
)
VALUES (
    CASE
        WHEN @type::connection_type IN ('workspace_app', 'port_forwarding')
            OR sqlc.narg(connection_id)::uuid IS NULL
            THEN @id::uuid
        -- The row the session already has, else its own derived id, under the session's lock.
        ELSE connection_log_session_id(
            sqlc.narg(connection_id)::uuid, @workspace_id::uuid, @agent_name::text
        )
    END,
    @time::timestamptz,
    @organization_id::uuid,
    @workspace_owner_id::uuid,
    @workspace_id::uuid,
    @workspace_name::text,
    @agent_name::text,
    @type::connection_type,
    sqlc.narg(ip)::inet,
    -- A session's code is its exit code: only a disconnect carries one.
    CASE
        WHEN @type::connection_type IN ('workspace_app', 'port_forwarding')
            OR @connection_status::connection_status = 'disconnected'
            THEN sqlc.narg(code)::integer
    END,
    -- The connecting user, their agent and the app or port: a web request's alone (NULL for a
    -- session, as the columns' comments say, so the connecting-user filters never match one).
    CASE
        WHEN @type::connection_type IN ('workspace_app', 'port_forwarding')
            THEN sqlc.narg(user_agent)::text
    END,
    CASE
        WHEN @type::connection_type IN ('workspace_app', 'port_forwarding')
            THEN sqlc.narg(user_id)::uuid
    END,
    CASE
        WHEN @type::connection_type IN ('workspace_app', 'port_forwarding')
            THEN sqlc.narg(slug_or_port)::text
    END,
    CASE
        WHEN @type::connection_type NOT IN ('workspace_app', 'port_forwarding')
            THEN sqlc.narg(connection_id)::uuid
    END,
    CASE
        -- A NULL status would silently record a disconnect as a connect.
        WHEN reject_arguments(CASE
            WHEN @connection_status::connection_status IS NULL
                THEN 'UpsertConnectionLog: connection_status is NULL: every event needs one'
        END)
            AND @type::connection_type NOT IN ('workspace_app', 'port_forwarding')
            AND @connection_status::connection_status = 'disconnected'
            THEN @time::timestamptz
    END,
    CASE
        WHEN @type::connection_type NOT IN ('workspace_app', 'port_forwarding')
            AND @connection_status::connection_status = 'disconnected'
            THEN sqlc.narg(disconnect_reason)::text
    END
)
-- Merging into the stored row: connection_log_merged() (migration 0005), which
-- BatchUpsertConnectionLogs calls the same way.
ON CONFLICT (id) DO UPDATE SET
    (
        connect_time,
        organization_id,
        workspace_owner_id,
        workspace_id,
        workspace_name,
        agent_name,
        type,
        ip,
        user_agent,
        user_id,
        slug_or_port,
        code,
        disconnect_time,
        disconnect_reason
    ) = (
        SELECT
            merged.connect_time,
            merged.organization_id,
            merged.workspace_owner_id,
            merged.workspace_id,
            merged.workspace_name,
            merged.agent_name,
            merged.type,
            merged.ip,
            merged.user_agent,
            merged.user_id,
            merged.slug_or_port,
            merged.code,
            merged.disconnect_time,
            merged.disconnect_reason
        FROM connection_log_merged(cl, excluded) AS merged
    )
RETURNING *;

-- name: BatchUpsertConnectionLogs :many
-- params: rows
-- Records many connection events in one round trip, one statement for them all.
--
-- Each event is one params row; a required field left None, a naive time or an unknown label
-- stores nothing, and the error names the event (params[2].time, or time[3] counted from 1 in
-- the server's message). The outcome is exactly that of recording the events one by one, in any
-- order: events of one session are first merged here by the same rules (a single INSERT ... ON
-- CONFLICT cannot touch a row twice), then merged into the stored row. Returns each touched row
-- as stored, once.
WITH argument AS (
    -- unnest pads shorter arrays with NULLs, which would silently turn a disconnect into a
    -- connect or drop a field: refuse unequal lengths, and NULLs where a value is required.
    SELECT reject_arguments((
        SELECT CASE
            WHEN length IS NULL THEN format('BatchUpsertConnectionLogs: %s is NULL, not an array', name)
            WHEN length <> cardinality(@id::uuid[])
                THEN format(
                    'BatchUpsertConnectionLogs: %s has %s elements but id has %s: '
                    'every array needs one element per event',
                    name, length, cardinality(@id::uuid[]))
            ELSE format(
                'BatchUpsertConnectionLogs: %s[%s] is NULL: every event needs a %s',
                name, first_null, name)
        END
        FROM (
            VALUES
            (1, 'id', cardinality(@id::uuid[]), array_position(@id::uuid[], NULL)),
            (2, 'time', cardinality(@time::timestamptz[]), array_position(@time::timestamptz[], NULL)),
            (3, 'organization_id', cardinality(@organization_id::uuid[]), array_position(@organization_id::uuid[], NULL)),
            (4, 'workspace_owner_id', cardinality(@workspace_owner_id::uuid[]), array_position(@workspace_owner_id::uuid[], NULL)),
            (5, 'workspace_id', cardinality(@workspace_id::uuid[]), array_position(@workspace_id::uuid[], NULL)),
            (6, 'workspace_name', cardinality(@workspace_name::text[]), array_position(@workspace_name::text[], NULL)),
            (7, 'agent_name', cardinality(@agent_name::text[]), array_position(@agent_name::text[], NULL)),
            (8, 'type', cardinality(@type::connection_type[]), array_position(@type::connection_type[], NULL)),
            (9, 'code', cardinality(@code::integer[]), NULL),
            (10, 'ip', cardinality(@ip::inet[]), NULL),
            (11, 'user_agent', cardinality(@user_agent::text[]), NULL),
            (12, 'user_id', cardinality(@user_id::uuid[]), NULL),
            (13, 'slug_or_port', cardinality(@slug_or_port::text[]), NULL),
            (14, 'connection_id', cardinality(@connection_id::uuid[]), NULL),
            (15, 'disconnect_reason', cardinality(@disconnect_reason::text[]), NULL),
            (16, 'connection_status', cardinality(@connection_status::connection_status[]), array_position(@connection_status::connection_status[], NULL))
        ) AS array_argument (position, name, length, first_null)
        WHERE length IS NULL OR length <> cardinality(@id::uuid[]) OR first_null IS NOT NULL
        ORDER BY position
        LIMIT 1
    )) AS checked
),
event AS (
    SELECT
        e.*,
        e.type IN ('workspace_app', 'port_forwarding') AS web,
        e.type NOT IN ('workspace_app', 'port_forwarding')
            AND e.connection_status = 'disconnected' AS ends_session
    FROM unnest(
        @id::uuid[],
        @time::timestamptz[],
        @organization_id::uuid[],
        @workspace_owner_id::uuid[],
        @workspace_id::uuid[],
        @workspace_name::text[],
        @agent_name::text[],
        @type::connection_type[],
        sqlc.narg(code)::integer[],
        sqlc.narg(ip)::inet[],
        sqlc.narg(user_agent)::text[],
        sqlc.narg(user_id)::uuid[],
        sqlc.narg(slug_or_port)::text[],
        sqlc.narg(connection_id)::uuid[],
        sqlc.narg(disconnect_reason)::text[],
        @connection_status::connection_status[]
    ) AS e (
        id, time, organization_id, workspace_owner_id, workspace_id, workspace_name, agent_name,
        type, code, ip, user_agent, user_id, slug_or_port, connection_id, disconnect_reason,
        connection_status
    )
    WHERE (SELECT checked FROM argument)
),
-- Each event as UpsertConnectionLog would insert it, keyed by the id a new row gets.
candidate AS (
    SELECT
        CASE
            WHEN web OR connection_id IS NULL THEN id
            ELSE md5(connection_id::text || '/' || workspace_id::text || '/' || agent_name)::uuid
        END AS id,
        time AS connect_time,
        organization_id,
        workspace_owner_id,
        workspace_id,
        workspace_name,
        agent_name,
        type,
        ip,
        CASE WHEN web OR ends_session THEN code END AS code,
        CASE WHEN web THEN user_agent END AS user_agent,
        CASE WHEN web THEN user_id END AS user_id,
        CASE WHEN web THEN slug_or_port END AS slug_or_port,
        CASE WHEN NOT web THEN connection_id END AS connection_id,
        CASE WHEN ends_session THEN time END AS disconnect_time,
        CASE WHEN ends_session THEN disconnect_reason END AS disconnect_reason
    FROM event
),
-- The id each session's row has, taken under the session's transaction-level advisory lock (see
-- connection_log_session_id in migrations/0004): in derived-id order, and all of them before any
-- row is touched (merged below waits for the whole list), so that concurrent batches always take
-- the locks in one order and cannot deadlock, neither on them nor on rows locked meanwhile.
-- A session whose row the platform's earlier code wrote gets that row's (random) id.
session AS MATERIALIZED (
    SELECT key.id, connection_log_session_id(key.connection_id, key.workspace_id, key.agent_name)
        AS stored_id
    FROM (
        SELECT DISTINCT id, connection_id, workspace_id, agent_name
        FROM candidate
        WHERE connection_id IS NOT NULL
    ) AS key
    ORDER BY key.id
),
-- The same three choices as the ON CONFLICT clause below, over all of a row's candidates.
started AS (
    SELECT id, min(connect_time) AS connect_time
    FROM candidate
    GROUP BY id
),
first AS (
    SELECT DISTINCT ON (id) *
    FROM candidate
    ORDER BY
        id,
        type,
        organization_id,
        workspace_owner_id,
        workspace_id,
        workspace_name COLLATE "C",
        agent_name COLLATE "C",
        ip NULLS LAST,
        user_agent COLLATE "C" NULLS LAST,
        user_id NULLS LAST,
        slug_or_port COLLATE "C" NULLS LAST,
        CASE WHEN type IN ('workspace_app', 'port_forwarding') THEN code END NULLS LAST
),
ended AS (
    SELECT DISTINCT ON (id) id, disconnect_time, disconnect_reason, code
    FROM candidate
    WHERE disconnect_time IS NOT NULL
    ORDER BY id, disconnect_time, disconnect_reason COLLATE "C" NULLS LAST, code NULLS LAST
),
merged AS (
    SELECT
        COALESCE(session.stored_id, first.id) AS id,
        started.connect_time,
        first.organization_id,
        first.workspace_owner_id,
        first.workspace_id,
        first.workspace_name,
        first.agent_name,
        first.type,
        first.ip,
        CASE
            WHEN first.type IN ('workspace_app', 'port_forwarding') THEN first.code
            ELSE ended.code
        END AS code,
        first.user_agent,
        first.user_id,
        first.slug_or_port,
        first.connection_id,
        ended.disconnect_time,
        ended.disconnect_reason
    FROM first
    JOIN started USING (id)
    LEFT JOIN ended USING (id)
    LEFT JOIN session USING (id)
    -- Evaluated once, before any row: every session lock is held before the first insert.
    WHERE (SELECT count(*) FROM session) IS NOT NULL
)
INSERT INTO connection_logs AS cl (
    id,
    connect_time,
    organization_id,
    workspace_owner_id,
    workspace_id,
    workspace_name,
    agent_name,
    type,
    ip,
    code,
    user_agent,
    user_id,
    slug_or_port,
    connection_id,
    disconnect_time,
    disconnect_reason
)
SELECT
    id,
    connect_time,
    organization_id,
    workspace_owner_id,
    workspace_id,
    workspace_name,
    agent_name,
    type,
    ip,
    code,
    user_agent,
    user_id,
    slug_or_port,
    connection_id,
    disconnect_time,
    disconnect_reason
FROM merged
-- Rows are inserted and locked in id order (and sessions under their advisory locks), so
-- concurrent batches cannot deadlock each other.
ORDER BY id
ON CONFLICT (id) DO UPDATE SET
    (
        connect_time,
        organization_id,
        workspace_owner_id,
        workspace_id,
        workspace_name,
        agent_name,
        type,
        ip,
        user_agent,
        user_id,
        slug_or_port,
        code,
        disconnect_time,
        disconnect_reason
    ) = (
        SELECT
            merged.connect_time,
            merged.organization_id,
            merged.workspace_owner_id,
            merged.workspace_id,
            merged.workspace_name,
            merged.agent_name,
            merged.type,
            merged.ip,
            merged.user_agent,
            merged.user_id,
            merged.slug_or_port,
            merged.code,
            merged.disconnect_time,
            merged.disconnect_reason
        FROM connection_log_merged(cl, excluded) AS merged
    )
RETURNING *;

-- Listing and counting. psycopg prepares a statement from its fifth execution, and PostgreSQL may
-- then run it with one GENERIC plan, made without the parameter values. So each query below has to
-- plan well both ways (benchmarks/scale.py measures both, at ten million rows):
--
-- * Which rows a listing selects is written once, in connection_log_matches() (migration 0005:
--   the filters, the reader and the keyset cursor), and read through connection_logs_newest(),
--   which walks the index of the first filter given newest first and stops at the rows asked for,
--   whichever filters are given, under either plan (see their comments). The planner inlines both.
--   The listings read it through connection_logs_newest_page() (migration 0006), whose one
--   statement is planned with each call's values: inlined into a generic plan, the branches'
--   LIMITs, values it cannot see, are costed at a tenth of the table, which at ten million rows
--   makes the server JIT-compile every call. The counts' generic plans stay cheap inlined.
-- * Filtering, ordering and paging read connection_logs alone; the page's few rows are then
--   fetched by primary key and joined to their users and organization. Joining first let a
--   generic plan loop over users, reading every log of each, for seconds a page.
-- * The joins never add, drop or repeat a row (foreign keys: every log has its workspace owner and
--   organization; users.id is unique), so the counts need none of them.


-- name: GetConnectionLogsOffset :many
-- filters: ConnectionLogFilters
-- Connection logs, newest first (connect_time, then id), a page at a time by offset.
-- Filters (each optional, None for "any"): organization_id; workspace_owner (username, any case);
-- workspace_owner_id; workspace_owner_email (any case); types (any of; an empty list matches
-- nothing); user_id; username and user_email of the connecting user (any case); connected_after
-- and connected_before (inclusive); workspace_id; connection_id; status ('ongoing' or 'completed').
-- limit defaults to 100, offset to 0.
SELECT
    sqlc.embed(connection_logs),
    -- The connecting user: web events only, NULL for SSH sessions.
    users.username AS user_username,
    users.name AS user_name,
    users.email AS user_email,
    workspace_owner.username AS workspace_owner_username,
    organizations.name AS organization_name,
    organizations.display_name AS organization_display_name,
    organizations.icon AS organization_icon
FROM connection_logs
JOIN users AS workspace_owner ON workspace_owner.id = connection_logs.workspace_owner_id
JOIN organizations ON organizations.id = connection_logs.organization_id
LEFT JOIN users ON users.id = connection_logs.user_id
-- The page: the ids of the matching rows, found in connection_logs alone (see above), then
-- fetched by primary key.
WHERE connection_logs.id = ANY(ARRAY(
    SELECT newest.id
    FROM connection_logs_newest_page(
        sqlc.narg(organization_id)::uuid,
        sqlc.narg(workspace_owner)::text,
        sqlc.narg(workspace_owner_id)::uuid,
        sqlc.narg(workspace_owner_email)::text,
        sqlc.narg(types)::connection_type[],
        sqlc.narg(user_id)::uuid,
        sqlc.narg(username)::text,
        sqlc.narg(user_email)::text,
        sqlc.narg(connected_after)::timestamptz,
        sqlc.narg(connected_before)::timestamptz,
        sqlc.narg(workspace_id)::uuid,
        sqlc.narg(connection_id)::uuid,
        -- status: 'ongoing' or 'completed' (the function takes it as those two tests)
        sqlc.narg(status)::text = 'ongoing',
        sqlc.narg(status)::text = 'completed',
        -- Every row is readable.
        true,
        NULL,
        -- No cursor.
        NULL,
        NULL,
        COALESCE(sqlc.narg(limit)::integer, 100) + COALESCE(sqlc.narg(offset)::integer, 0)
    ) AS newest
    ORDER BY newest.connect_time DESC, newest.id DESC
    LIMIT COALESCE(sqlc.narg(limit)::integer, 100)
    OFFSET COALESCE(sqlc.narg(offset)::integer, 0)
))
ORDER BY connection_logs.connect_time DESC, connection_logs.id DESC;

-- name: GetConnectionLogsPage :many
-- filters: ConnectionLogFilters
-- Connection logs, newest first, a page at a time by keyset: pass the previous page's last
-- row as after_connect_time and after_id (neither for the first page).
-- Filters (each optional, None for "any"): organization_id; workspace_owner (username, any case);
-- workspace_owner_id; workspace_owner_email (any case); types (any of; an empty list matches
-- nothing); user_id; username and user_email of the connecting user (any case); connected_after
-- and connected_before (inclusive); workspace_id; connection_id; status ('ongoing' or 'completed').
-- limit defaults to 100.
SELECT
    sqlc.embed(connection_logs),
    -- The connecting user: web events only, NULL for SSH sessions.
    users.username AS user_username,
    users.name AS user_name,
    users.email AS user_email,
    workspace_owner.username AS workspace_owner_username,
    organizations.name AS organization_name,
    organizations.display_name AS organization_display_name,
    organizations.icon AS organization_icon
FROM connection_logs
JOIN users AS workspace_owner ON workspace_owner.id = connection_logs.workspace_owner_id
JOIN organizations ON organizations.id = connection_logs.organization_id
LEFT JOIN users ON users.id = connection_logs.user_id
-- The page: the ids of the matching rows, found in connection_logs alone (see above), then
-- fetched by primary key.
WHERE connection_logs.id = ANY(ARRAY(
    SELECT newest.id
    FROM connection_logs_newest_page(
        sqlc.narg(organization_id)::uuid,
        sqlc.narg(workspace_owner)::text,
        sqlc.narg(workspace_owner_id)::uuid,
        sqlc.narg(workspace_owner_email)::text,
        sqlc.narg(types)::connection_type[],
        sqlc.narg(user_id)::uuid,
        sqlc.narg(username)::text,
        sqlc.narg(user_email)::text,
        sqlc.narg(connected_after)::timestamptz,
        sqlc.narg(connected_before)::timestamptz,
        sqlc.narg(workspace_id)::uuid,
        sqlc.narg(connection_id)::uuid,
        -- status: 'ongoing' or 'completed' (the function takes it as those two tests)
        sqlc.narg(status)::text = 'ongoing',
        sqlc.narg(status)::text = 'completed',
        -- Every row is readable.
        true,
        NULL,
        sqlc.narg(after_connect_time)::timestamptz,
        -- Only with after_connect_time, which a cursor needs.
        CASE WHEN sqlc.narg(after_connect_time)::timestamptz IS NOT NULL
            THEN sqlc.narg(after_id)::uuid END,
        COALESCE(sqlc.narg(limit)::integer, 100)
    ) AS newest
    ORDER BY newest.connect_time DESC, newest.id DESC
    LIMIT COALESCE(sqlc.narg(limit)::integer, 100)
))
ORDER BY connection_logs.connect_time DESC, connection_logs.id DESC;

-- name: CountConnectionLogs :one
-- filters: ConnectionLogFilters
-- How many connection logs match the filters. With count_cap, counting stops at
-- count_cap + 1 rows: a result above count_cap means "more than count_cap".
-- Filters (each optional, None for "any"): organization_id; workspace_owner (username, any case);
-- workspace_owner_id; workspace_owner_email (any case); types (any of; an empty list matches
-- nothing); user_id; username and user_email of the connecting user (any case); connected_after
-- and connected_before (inclusive); workspace_id; connection_id; status ('ongoing' or 'completed').
SELECT count(*) AS count
FROM (
    SELECT 1
    FROM connection_logs_newest(
        sqlc.narg(organization_id)::uuid,
        sqlc.narg(workspace_owner)::text,
        sqlc.narg(workspace_owner_id)::uuid,
        sqlc.narg(workspace_owner_email)::text,
        sqlc.narg(types)::connection_type[],
        sqlc.narg(user_id)::uuid,
        sqlc.narg(username)::text,
        sqlc.narg(user_email)::text,
        sqlc.narg(connected_after)::timestamptz,
        sqlc.narg(connected_before)::timestamptz,
        sqlc.narg(workspace_id)::uuid,
        sqlc.narg(connection_id)::uuid,
        -- status: 'ongoing' or 'completed' (the function takes it as those two tests)
        sqlc.narg(status)::text = 'ongoing',
        sqlc.narg(status)::text = 'completed',
        -- Every row is readable.
        true,
        NULL,
        -- No cursor.
        NULL,
        NULL,
        sqlc.narg(count_cap)::bigint + 1
    ) AS newest
    LIMIT sqlc.narg(count_cap)::bigint + 1  -- LIMIT NULL: no limit
) AS counted;

-- name: GetAuthorizedConnectionLogsOffset :many
-- filters: ConnectionLogFilters
-- Connection logs, newest first (connect_time, then id), a page at a time by offset.
-- Authorized: only rows the reader may read, site_wide or in readable_organization_ids.
-- Filters (each optional, None for "any"): organization_id; workspace_owner (username, any case);
-- workspace_owner_id; workspace_owner_email (any case); types (any of; an empty list matches
-- nothing); user_id; username and user_email of the connecting user (any case); connected_after
-- and connected_before (inclusive); workspace_id; connection_id; status ('ongoing' or 'completed').
-- limit defaults to 100, offset to 0.
SELECT
    sqlc.embed(connection_logs),
    -- The connecting user: web events only, NULL for SSH sessions.
    users.username AS user_username,
    users.name AS user_name,
    users.email AS user_email,
    workspace_owner.username AS workspace_owner_username,
    organizations.name AS organization_name,
    organizations.display_name AS organization_display_name,
    organizations.icon AS organization_icon
FROM connection_logs
JOIN users AS workspace_owner ON workspace_owner.id = connection_logs.workspace_owner_id
JOIN organizations ON organizations.id = connection_logs.organization_id
LEFT JOIN users ON users.id = connection_logs.user_id
-- The page: the ids of the matching rows, found in connection_logs alone (see above), then
-- fetched by primary key.
WHERE connection_logs.id = ANY(ARRAY(
    SELECT newest.id
    FROM connection_logs_newest_page(
        sqlc.narg(organization_id)::uuid,
        sqlc.narg(workspace_owner)::text,
        sqlc.narg(workspace_owner_id)::uuid,
        sqlc.narg(workspace_owner_email)::text,
        sqlc.narg(types)::connection_type[],
        sqlc.narg(user_id)::uuid,
        sqlc.narg(username)::text,
        sqlc.narg(user_email)::text,
        sqlc.narg(connected_after)::timestamptz,
        sqlc.narg(connected_before)::timestamptz,
        sqlc.narg(workspace_id)::uuid,
        sqlc.narg(connection_id)::uuid,
        -- status: 'ongoing' or 'completed' (the function takes it as those two tests)
        sqlc.narg(status)::text = 'ongoing',
        sqlc.narg(status)::text = 'completed',
        @site_wide::boolean,
        @readable_organization_ids::uuid[],
        -- No cursor.
        NULL,
        NULL,
        COALESCE(sqlc.narg(limit)::integer, 100) + COALESCE(sqlc.narg(offset)::integer, 0)
    ) AS newest
    ORDER BY newest.connect_time DESC, newest.id DESC
    LIMIT COALESCE(sqlc.narg(limit)::integer, 100)
    OFFSET COALESCE(sqlc.narg(offset)::integer, 0)
))
ORDER BY connection_logs.connect_time DESC, connection_logs.id DESC;

-- name: GetAuthorizedConnectionLogsPage :many
-- filters: ConnectionLogFilters
-- Connection logs, newest first, a page at a time by keyset: pass the previous page's last
-- row as after_connect_time and after_id (neither for the first page).
-- Authorized: only rows the reader may read, site_wide or in readable_organization_ids.
-- Filters (each optional, None for "any"): organization_id; workspace_owner (username, any case);
-- workspace_owner_id; workspace_owner_email (any case); types (any of; an empty list matches
-- nothing); user_id; username and user_email of the connecting user (any case); connected_after
-- and connected_before (inclusive); workspace_id; connection_id; status ('ongoing' or 'completed').
-- limit defaults to 100.
SELECT
    sqlc.embed(connection_logs),
    -- The connecting user: web events only, NULL for SSH sessions.
    users.username AS user_username,
    users.name AS user_name,
    users.email AS user_email,
    workspace_owner.username AS workspace_owner_username,
    organizations.name AS organization_name,
    organizations.display_name AS organization_display_name,
    organizations.icon AS organization_icon
FROM connection_logs
JOIN users AS workspace_owner ON workspace_owner.id = connection_logs.workspace_owner_id
JOIN organizations ON organizations.id = connection_logs.organization_id
LEFT JOIN users ON users.id = connection_logs.user_id
-- The page: the ids of the matching rows, found in connection_logs alone (see above), then
-- fetched by primary key.
WHERE connection_logs.id = ANY(ARRAY(
    SELECT newest.id
    FROM connection_logs_newest_page(
        sqlc.narg(organization_id)::uuid,
        sqlc.narg(workspace_owner)::text,
        sqlc.narg(workspace_owner_id)::uuid,
        sqlc.narg(workspace_owner_email)::text,
        sqlc.narg(types)::connection_type[],
        sqlc.narg(user_id)::uuid,
        sqlc.narg(username)::text,
        sqlc.narg(user_email)::text,
        sqlc.narg(connected_after)::timestamptz,
        sqlc.narg(connected_before)::timestamptz,
        sqlc.narg(workspace_id)::uuid,
        sqlc.narg(connection_id)::uuid,
        -- status: 'ongoing' or 'completed' (the function takes it as those two tests)
        sqlc.narg(status)::text = 'ongoing',
        sqlc.narg(status)::text = 'completed',
        @site_wide::boolean,
        @readable_organization_ids::uuid[],
        sqlc.narg(after_connect_time)::timestamptz,
        -- Only with after_connect_time, which a cursor needs.
        CASE WHEN sqlc.narg(after_connect_time)::timestamptz IS NOT NULL
            THEN sqlc.narg(after_id)::uuid END,
        COALESCE(sqlc.narg(limit)::integer, 100)
    ) AS newest
    ORDER BY newest.connect_time DESC, newest.id DESC
    LIMIT COALESCE(sqlc.narg(limit)::integer, 100)
))
ORDER BY connection_logs.connect_time DESC, connection_logs.id DESC;

-- name: CountAuthorizedConnectionLogs :one
-- filters: ConnectionLogFilters
-- How many connection logs match the filters. With count_cap, counting stops at
-- count_cap + 1 rows: a result above count_cap means "more than count_cap".
-- Authorized: only rows the reader may read, site_wide or in readable_organization_ids.
-- Filters (each optional, None for "any"): organization_id; workspace_owner (username, any case);
-- workspace_owner_id; workspace_owner_email (any case); types (any of; an empty list matches
-- nothing); user_id; username and user_email of the connecting user (any case); connected_after
-- and connected_before (inclusive); workspace_id; connection_id; status ('ongoing' or 'completed').
SELECT count(*) AS count
FROM (
    SELECT 1
    FROM connection_logs_newest(
        sqlc.narg(organization_id)::uuid,
        sqlc.narg(workspace_owner)::text,
        sqlc.narg(workspace_owner_id)::uuid,
        sqlc.narg(workspace_owner_email)::text,
        sqlc.narg(types)::connection_type[],
        sqlc.narg(user_id)::uuid,
        sqlc.narg(username)::text,
        sqlc.narg(user_email)::text,
        sqlc.narg(connected_after)::timestamptz,
        sqlc.narg(connected_before)::timestamptz,
        sqlc.narg(workspace_id)::uuid,
        sqlc.narg(connection_id)::uuid,
        -- status: 'ongoing' or 'completed' (the function takes it as those two tests)
        sqlc.narg(status)::text = 'ongoing',
        sqlc.narg(status)::text = 'completed',
        @site_wide::boolean,
        @readable_organization_ids::uuid[],
        -- No cursor.
        NULL,
        NULL,
        sqlc.narg(count_cap)::bigint + 1
    ) AS newest
    LIMIT sqlc.narg(count_cap)::bigint + 1  -- LIMIT NULL: no limit
) AS counted;

-- name: DeleteOldConnectionLogs :one
-- Deletes at most limit_count connection logs that started before before_time (and, given
-- from_time, not before from_time), oldest first, skipping rows a writer holds at that moment.
-- Returns how many it deleted, and the newest connect_time among them: the next batch's
-- from_time. Retention calls it until it deletes none (connlog.purge).
WITH deleted AS (
    DELETE FROM connection_logs
    -- An array, not IN (subquery): the planner then fetches the victims by primary key.
    WHERE id = ANY(ARRAY(
        SELECT id
        FROM connection_logs
        WHERE connect_time < @before_time::timestamptz
            -- Deleted rows stay in the connect_time index until VACUUM: without a lower bound,
            -- every batch would walk past all the rows the batches before it deleted (at five
            -- million, 90 ms a batch, and growing).
            AND connect_time >= COALESCE(sqlc.narg(from_time)::timestamptz, '-infinity')
        ORDER BY connect_time
        LIMIT @limit_count::integer
        -- Waiting for a row a recording batch holds, while that batch waits for a row this delete
        -- already holds, is a deadlock: the purge never waits, and takes skipped rows next time.
        FOR UPDATE SKIP LOCKED
    ))
    RETURNING connect_time
)
SELECT count(*) AS deleted, max(connect_time) AS newest_connect_time
FROM deleted;

-- Retention runs each batch under this transaction-level advisory lock, so two purges never
-- delete at once: the second one gets false and returns. The lock ends with the transaction,
-- so it is the same on one connection or behind a transaction pooler, and a purge whose client
-- stops answering loses it once its transaction has been idle for idle_timeout_ms: the server
-- then ends the session. The key is arbitrary but fixed: the bytes of 'connlog' read as a
-- bigint (0x636f6e6e6c6f67).

-- name: TryLockPurge :one
-- Takes the purge lock for this transaction if no one holds it; true when taken. Sets this
-- transaction's idle_in_transaction_session_timeout and lock_timeout to idle_timeout_ms, so a
-- batch whose client stopped, or that waits on a lock inside the server, cannot keep the purge
-- lock (and the rows it holds) longer than that.
SELECT set_config('idle_in_transaction_session_timeout', @idle_timeout_ms::integer::text, true)
    IS NOT NULL
    AND set_config('lock_timeout', @idle_timeout_ms::integer::text, true) IS NOT NULL
    AND taken AS "acquired!"
FROM pg_try_advisory_xact_lock(27988542784040807) AS lock (taken);
