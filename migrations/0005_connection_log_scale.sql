-- The connection log at ten million rows: indexes that serve "filter, then newest first" (each
-- filter's column, then connect_time and id in the listing's order), user look-ups by name and
-- email whatever `deleted` is, and the two rules the queries in queries/connection_logs.sql
-- share, written once here: which rows a listing selects (connection_log_matches, read through
-- connection_logs_newest) and how an event merges into a stored row (connection_log_merged).
-- depends: 0004_connection_log_functions
-- transactional: false
--
-- Outside a transaction, because CREATE INDEX CONCURRENTLY cannot run in one: yoyo runs each
-- statement of this file on its own, committed at once, and so does its rollback. Should a
-- statement fail, yoyo runs the rollback statements of those already done (the rollback file's
-- statements mirror these one for one, last first), and a concurrent build that failed leaves an
-- INVALID index behind: each build first drops a leftover of its own name, so the next apply
-- starts clean. Building concurrently, readers and writers are never blocked: the build's SHARE
-- UPDATE EXCLUSIVE lock conflicts with neither, even while it waits for it or for transactions
-- older than the build, so lock_timeout (which bounds both waits) is a minute, not the usual 5 s
-- that spares live traffic a queue; the builds at ten million rows take minutes, hence no
-- statement_timeout. Both settings are this session's, and reset at the end.
-- squawk-ignore-file ban-concurrent-index-creation-in-transaction -- yoyo runs this file outside one
-- squawk-ignore-file prefer-robust-stmts -- each build is preceded by a drop of any leftover of it
SET lock_timeout = '1min';
SET statement_timeout = 0;

-- The unfiltered listing, the purge and time ranges: connect_time, ties broken by id, as the
-- listings order.
DROP INDEX CONCURRENTLY IF EXISTS idx_connection_logs_connect_time_id;
CREATE INDEX CONCURRENTLY idx_connection_logs_connect_time_id
    ON connection_logs (connect_time DESC, id DESC);

DROP INDEX CONCURRENTLY IF EXISTS idx_connection_logs_workspace_owner_id_connect_time_id;
CREATE INDEX CONCURRENTLY idx_connection_logs_workspace_owner_id_connect_time_id
    ON connection_logs (workspace_owner_id, connect_time DESC, id DESC);

DROP INDEX CONCURRENTLY IF EXISTS idx_connection_logs_workspace_id_connect_time_id;
CREATE INDEX CONCURRENTLY idx_connection_logs_workspace_id_connect_time_id
    ON connection_logs (workspace_id, connect_time DESC, id DESC);

-- Only web events have a connecting user: sessions (user_id NULL) stay out of this index.
DROP INDEX CONCURRENTLY IF EXISTS idx_connection_logs_user_id_connect_time_id;
CREATE INDEX CONCURRENTLY idx_connection_logs_user_id_connect_time_id
    ON connection_logs (user_id, connect_time DESC, id DESC) WHERE user_id IS NOT NULL;

-- The filters by username and email match deleted users too, which the unique indexes
-- (WHERE NOT deleted) cannot serve.
DROP INDEX CONCURRENTLY IF EXISTS idx_users_username_lower_all;
CREATE INDEX CONCURRENTLY idx_users_username_lower_all ON users (lower(username));

DROP INDEX CONCURRENTLY IF EXISTS idx_users_email_lower_all;
CREATE INDEX CONCURRENTLY idx_users_email_lower_all ON users (lower(email));

-- Sessions still open: a few percent of the rows, which the status filter 'ongoing' walks.
DROP INDEX CONCURRENTLY IF EXISTS idx_connection_logs_ongoing_connect_time_id;
CREATE INDEX CONCURRENTLY idx_connection_logs_ongoing_connect_time_id
    ON connection_logs (connect_time DESC, id DESC)
    WHERE disconnect_time IS NULL AND type NOT IN ('workspace_app', 'port_forwarding');

-- Each is the first column of one above, which serves everything it did (the foreign keys'
-- cascades included); keeping both would only slow every write. (idx_connection_logs_organization_id
-- stays: the listings walk connect_time for an organization, a twentieth of the rows.)
DROP INDEX CONCURRENTLY idx_connection_logs_connect_time_desc;
DROP INDEX CONCURRENTLY idx_connection_logs_workspace_owner_id;
DROP INDEX CONCURRENTLY idx_connection_logs_workspace_id;

-- The listing's rule, written once in two functions that the planner inlines into the calling
-- query (EXPLAIN shows connection_logs, never a function), custom and generic plans alike:
--
-- * connection_log_matches(log, ...): whether one row passes the filters, the reader and the
--   keyset cursor. LANGUAGE sql, a single expression without subqueries, so it is inlined. Each
--   optional filter is "CASE WHEN value IS NULL THEN true ELSE test END" (a custom plan reduces it
--   to the test or to nothing), and the whole is one COALESCE(..., false), which selects the same
--   rows (NULL never matched) but is one clause to the planner: a generic plan, made without the
--   values, guesses every clause it cannot read at half the rows, and a dozen halves would make
--   "about one row", for which sorting every candidate looks cheaper than walking an index.
-- * connection_logs_newest(...): the first max_rows of those rows, newest first (connect_time,
--   then id). One branch per index, each taken only when its filter is the first given of
--   connection_id, user_id, workspace_id, workspace_owner_id, username or user_email (the rows
--   of every user of that name or email, any case, deleted users included, through the lower()
--   indexes), workspace_owner or workspace_owner_email (likewise), status 'ongoing' (the open
--   sessions' index), else connect_time alone; an organization is a twentieth of the rows,
--   which the connect_time walk finds at once. A
--   branch's condition on the parameters alone is evaluated once when the statement starts (a
--   plan's "One-Time Filter"), so the branches not taken cost nothing, and the one taken reads its
--   index newest first from the upper time bound, stopping at max_rows: the LIMIT is inside each
--   branch, so that the planner walks the index rather than sorting every candidate, whichever
--   filters are given and under either plan.
-- Declared PARALLEL UNSAFE (the default, said here because it matters): the planner then makes no
-- parallel plan for a statement calling it, and a branch under a Gather would start its workers
-- even when not taken.
CREATE FUNCTION connection_log_matches(
    log connection_logs,
    filter_organization_id uuid,
    -- The ids of the users a name or email filter names (NULL: no such filter).
    filter_workspace_owner_ids uuid[],
    filter_workspace_owner_id uuid,
    filter_workspace_owner_email_ids uuid[],
    filter_types connection_type[],
    filter_user_id uuid,
    filter_username_ids uuid[],
    filter_user_email_ids uuid[],
    filter_connected_after timestamptz,
    filter_connected_before timestamptz,
    filter_workspace_id uuid,
    filter_connection_id uuid,
    -- The status filter as two tests, status = 'ongoing' and status = 'completed' (both NULL: any
    -- status; both false: a status that matches nothing), so that the calling query only compares
    -- its parameter with the labels and the generator types it Literal['ongoing', 'completed'].
    filter_ongoing boolean,
    filter_completed boolean,
    reader_site_wide boolean,
    reader_organization_ids uuid[],
    after_connect_time timestamptz,
    after_id uuid
)
    RETURNS boolean
    LANGUAGE sql
    STABLE
    PARALLEL UNSAFE
    AS $$
SELECT COALESCE(
    CASE WHEN filter_organization_id IS NULL THEN true
        ELSE log.organization_id = filter_organization_id END
    AND CASE WHEN filter_workspace_owner_ids IS NULL THEN true
        ELSE log.workspace_owner_id = ANY(filter_workspace_owner_ids) END
    AND CASE WHEN filter_workspace_owner_id IS NULL THEN true
        ELSE log.workspace_owner_id = filter_workspace_owner_id END
    AND CASE WHEN filter_workspace_owner_email_ids IS NULL THEN true
        ELSE log.workspace_owner_id = ANY(filter_workspace_owner_email_ids) END
    AND CASE WHEN filter_types IS NULL THEN true
        ELSE log.type = ANY(filter_types) END
    AND CASE WHEN filter_user_id IS NULL THEN true
        ELSE log.user_id = filter_user_id END
    -- The connecting user: sessions have none (user_id NULL), so never match these.
    AND CASE WHEN filter_username_ids IS NULL THEN true
        ELSE log.user_id = ANY(filter_username_ids) END
    AND CASE WHEN filter_user_email_ids IS NULL THEN true
        ELSE log.user_id = ANY(filter_user_email_ids) END
    AND CASE WHEN filter_connected_after IS NULL THEN true
        ELSE log.connect_time >= filter_connected_after END
    AND CASE WHEN filter_connected_before IS NULL THEN true
        ELSE log.connect_time <= filter_connected_before END
    AND CASE WHEN filter_workspace_id IS NULL THEN true
        ELSE log.workspace_id = filter_workspace_id END
    AND CASE WHEN filter_connection_id IS NULL THEN true
        ELSE log.connection_id = filter_connection_id END
    -- Only sessions have a status: web events match neither value (nor does any other value).
    AND CASE WHEN filter_ongoing IS NULL THEN true
        ELSE log.type NOT IN ('workspace_app', 'port_forwarding')
            AND CASE
                WHEN filter_ongoing THEN log.disconnect_time IS NULL
                WHEN filter_completed THEN log.disconnect_time IS NOT NULL
                ELSE false
            END
        END
    -- The reader: everything when site_wide, otherwise the organizations listed.
    AND (reader_site_wide OR log.organization_id = ANY(reader_organization_ids))
    -- After the cursor (the previous page's last row) in the listing order. A cursor without
    -- after_id means "strictly before the time".
    AND CASE WHEN after_connect_time IS NULL THEN true
        ELSE (log.connect_time, log.id) < (after_connect_time, after_id) END,
    false)
$$;

COMMENT ON FUNCTION connection_log_matches(
    connection_logs, uuid, uuid[], uuid, uuid[], connection_type[], uuid, uuid[], uuid[],
    timestamptz, timestamptz, uuid, uuid, boolean, boolean, boolean, uuid[], timestamptz, uuid
) IS
    'Whether a connection log passes the listing filters, the reader and the cursor; inlined.';

CREATE FUNCTION connection_logs_newest(
    filter_organization_id uuid,
    filter_workspace_owner text,
    filter_workspace_owner_id uuid,
    filter_workspace_owner_email text,
    filter_types connection_type[],
    filter_user_id uuid,
    filter_username text,
    filter_user_email text,
    filter_connected_after timestamptz,
    filter_connected_before timestamptz,
    filter_workspace_id uuid,
    filter_connection_id uuid,
    filter_ongoing boolean,
    filter_completed boolean,
    reader_site_wide boolean,
    reader_organization_ids uuid[],
    after_connect_time timestamptz,
    after_id uuid,
    -- NULL: all of them.
    max_rows bigint
)
    RETURNS SETOF connection_logs
    LANGUAGE sql
    STABLE
    PARALLEL UNSAFE
    AS $$
SELECT newest.*
FROM (
    -- Each name or email, as the ids of every user it names: looked up once per call.
    SELECT
        CASE WHEN filter_workspace_owner IS NOT NULL THEN ARRAY(
            SELECT users.id FROM users WHERE lower(users.username) = lower(filter_workspace_owner))
        END AS workspace_owner_ids,
        CASE WHEN filter_workspace_owner_email IS NOT NULL THEN ARRAY(
            SELECT users.id FROM users WHERE lower(users.email) = lower(filter_workspace_owner_email))
        END AS workspace_owner_email_ids,
        CASE WHEN filter_username IS NOT NULL THEN ARRAY(
            SELECT users.id FROM users WHERE lower(users.username) = lower(filter_username))
        END AS username_ids,
        CASE WHEN filter_user_email IS NOT NULL THEN ARRAY(
            SELECT users.id FROM users WHERE lower(users.email) = lower(filter_user_email))
        END AS user_email_ids,
        -- Where every branch's index scan starts: the upper time bound and the cursor's.
        LEAST(COALESCE(filter_connected_before, 'infinity'), COALESCE(after_connect_time, 'infinity'))
            AS upper_bound
    -- A relation of its own (OFFSET 0 keeps the planner from folding it into the branches): its
    -- look-ups then reach connection_log_matches as plain values, which it can be inlined with.
    OFFSET 0
) AS named
CROSS JOIN LATERAL (
    (
        SELECT *
        FROM connection_logs AS log
        WHERE filter_connection_id IS NOT NULL
            AND log.connection_id = filter_connection_id
            AND log.connect_time <= named.upper_bound
            AND connection_log_matches(
                log, filter_organization_id, named.workspace_owner_ids, filter_workspace_owner_id,
                named.workspace_owner_email_ids, filter_types, filter_user_id, named.username_ids,
                named.user_email_ids, filter_connected_after, filter_connected_before,
                filter_workspace_id, filter_connection_id, filter_ongoing, filter_completed,
                reader_site_wide, reader_organization_ids, after_connect_time, after_id)
        ORDER BY log.connect_time DESC, log.id DESC
        LIMIT max_rows
    )
    UNION ALL
    (
        SELECT *
        FROM connection_logs AS log
        WHERE num_nonnulls(filter_connection_id) = 0
            AND filter_user_id IS NOT NULL
            AND log.user_id = filter_user_id
            AND log.connect_time <= named.upper_bound
            AND connection_log_matches(
                log, filter_organization_id, named.workspace_owner_ids, filter_workspace_owner_id,
                named.workspace_owner_email_ids, filter_types, filter_user_id, named.username_ids,
                named.user_email_ids, filter_connected_after, filter_connected_before,
                filter_workspace_id, filter_connection_id, filter_ongoing, filter_completed,
                reader_site_wide, reader_organization_ids, after_connect_time, after_id)
        ORDER BY log.connect_time DESC, log.id DESC
        LIMIT max_rows
    )
    UNION ALL
    (
        SELECT *
        FROM connection_logs AS log
        WHERE num_nonnulls(filter_connection_id, filter_user_id) = 0
            AND filter_workspace_id IS NOT NULL
            AND log.workspace_id = filter_workspace_id
            AND log.connect_time <= named.upper_bound
            AND connection_log_matches(
                log, filter_organization_id, named.workspace_owner_ids, filter_workspace_owner_id,
                named.workspace_owner_email_ids, filter_types, filter_user_id, named.username_ids,
                named.user_email_ids, filter_connected_after, filter_connected_before,
                filter_workspace_id, filter_connection_id, filter_ongoing, filter_completed,
                reader_site_wide, reader_organization_ids, after_connect_time, after_id)
        ORDER BY log.connect_time DESC, log.id DESC
        LIMIT max_rows
    )
    UNION ALL
    (
        SELECT *
        FROM connection_logs AS log
        WHERE num_nonnulls(filter_connection_id, filter_user_id, filter_workspace_id) = 0
            AND filter_workspace_owner_id IS NOT NULL
            AND log.workspace_owner_id = filter_workspace_owner_id
            AND log.connect_time <= named.upper_bound
            AND connection_log_matches(
                log, filter_organization_id, named.workspace_owner_ids, filter_workspace_owner_id,
                named.workspace_owner_email_ids, filter_types, filter_user_id, named.username_ids,
                named.user_email_ids, filter_connected_after, filter_connected_before,
                filter_workspace_id, filter_connection_id, filter_ongoing, filter_completed,
                reader_site_wide, reader_organization_ids, after_connect_time, after_id)
        ORDER BY log.connect_time DESC, log.id DESC
        LIMIT max_rows
    )
    UNION ALL
    (
        -- Each user of that name or email (a name may be a deleted user's too) read newest first
        -- by their own index, then merged.
        SELECT per_user.*
        FROM unnest(COALESCE(named.username_ids, named.user_email_ids)) AS named_user (id)
        CROSS JOIN LATERAL (
            SELECT *
            FROM connection_logs AS log
            WHERE log.user_id = named_user.id
                AND log.connect_time <= named.upper_bound
                AND connection_log_matches(
                    log, filter_organization_id, named.workspace_owner_ids, filter_workspace_owner_id,
                    named.workspace_owner_email_ids, filter_types, filter_user_id, named.username_ids,
                    named.user_email_ids, filter_connected_after, filter_connected_before,
                    filter_workspace_id, filter_connection_id, filter_ongoing, filter_completed,
                    reader_site_wide, reader_organization_ids, after_connect_time, after_id)
            ORDER BY log.connect_time DESC, log.id DESC
            LIMIT max_rows
        ) AS per_user
        WHERE num_nonnulls(
                filter_connection_id, filter_user_id, filter_workspace_id, filter_workspace_owner_id
            ) = 0
            AND num_nonnulls(filter_username, filter_user_email) > 0
        ORDER BY per_user.connect_time DESC, per_user.id DESC
        LIMIT max_rows
    )
    UNION ALL
    (
        -- Likewise, each owner of that name or email.
        SELECT per_owner.*
        FROM unnest(COALESCE(named.workspace_owner_ids, named.workspace_owner_email_ids)) AS named_owner (id)
        CROSS JOIN LATERAL (
            SELECT *
            FROM connection_logs AS log
            WHERE log.workspace_owner_id = named_owner.id
                AND log.connect_time <= named.upper_bound
                AND connection_log_matches(
                    log, filter_organization_id, named.workspace_owner_ids, filter_workspace_owner_id,
                    named.workspace_owner_email_ids, filter_types, filter_user_id, named.username_ids,
                    named.user_email_ids, filter_connected_after, filter_connected_before,
                    filter_workspace_id, filter_connection_id, filter_ongoing, filter_completed,
                    reader_site_wide, reader_organization_ids, after_connect_time, after_id)
            ORDER BY log.connect_time DESC, log.id DESC
            LIMIT max_rows
        ) AS per_owner
        WHERE num_nonnulls(
                filter_connection_id, filter_user_id, filter_workspace_id, filter_workspace_owner_id,
                filter_username, filter_user_email
            ) = 0
            AND num_nonnulls(filter_workspace_owner, filter_workspace_owner_email) > 0
        ORDER BY per_owner.connect_time DESC, per_owner.id DESC
        LIMIT max_rows
    )
    UNION ALL
    (
        SELECT *
        FROM connection_logs AS log
        WHERE num_nonnulls(
                filter_connection_id, filter_user_id, filter_workspace_id, filter_workspace_owner_id,
                filter_username, filter_user_email, filter_workspace_owner,
                filter_workspace_owner_email
            ) = 0
            AND filter_ongoing
            AND log.disconnect_time IS NULL
            AND log.type NOT IN ('workspace_app', 'port_forwarding')
            AND log.connect_time <= named.upper_bound
            AND connection_log_matches(
                log, filter_organization_id, named.workspace_owner_ids, filter_workspace_owner_id,
                named.workspace_owner_email_ids, filter_types, filter_user_id, named.username_ids,
                named.user_email_ids, filter_connected_after, filter_connected_before,
                filter_workspace_id, filter_connection_id, filter_ongoing, filter_completed,
                reader_site_wide, reader_organization_ids, after_connect_time, after_id)
        ORDER BY log.connect_time DESC, log.id DESC
        LIMIT max_rows
    )
    UNION ALL
    (
        SELECT *
        FROM connection_logs AS log
        WHERE num_nonnulls(
                filter_connection_id, filter_user_id, filter_workspace_id, filter_workspace_owner_id,
                filter_username, filter_user_email, filter_workspace_owner,
                filter_workspace_owner_email
            ) = 0
            AND filter_ongoing IS NOT TRUE
            AND log.connect_time <= named.upper_bound
            AND connection_log_matches(
                log, filter_organization_id, named.workspace_owner_ids, filter_workspace_owner_id,
                named.workspace_owner_email_ids, filter_types, filter_user_id, named.username_ids,
                named.user_email_ids, filter_connected_after, filter_connected_before,
                filter_workspace_id, filter_connection_id, filter_ongoing, filter_completed,
                reader_site_wide, reader_organization_ids, after_connect_time, after_id)
        ORDER BY log.connect_time DESC, log.id DESC
        LIMIT max_rows
    )
) AS newest
$$;

COMMENT ON FUNCTION connection_logs_newest(
    uuid, text, uuid, text, connection_type[], uuid, text, text, timestamptz, timestamptz, uuid,
    uuid, boolean, boolean, boolean, uuid[], timestamptz, uuid, bigint
) IS
    'The first max_rows connection logs, newest first, that pass connection_log_matches.';

-- How an event merges into the row stored for it (UpsertConnectionLog and
-- BatchUpsertConnectionLogs both call this from ON CONFLICT DO UPDATE, with the stored row and
-- the one they tried to insert): a join of the two candidates, the earliest start, the first
-- event by the column order, and the first disconnect by (time, reason, code); see the rules at
-- the top of queries/connection_logs.sql. Inlined into the calling statement like the above.
CREATE FUNCTION connection_log_merged(stored connection_logs, incoming connection_logs)
    RETURNS TABLE (
        connect_time timestamptz,
        organization_id uuid,
        workspace_owner_id uuid,
        workspace_id uuid,
        workspace_name text,
        agent_name text,
        type connection_type,
        ip inet,
        user_agent text,
        user_id uuid,
        slug_or_port text,
        code integer,
        disconnect_time timestamptz,
        disconnect_reason text
    )
    LANGUAGE sql
    IMMUTABLE
    PARALLEL SAFE
    AS $$
SELECT
    LEAST(stored.connect_time, incoming.connect_time),
    first.organization_id,
    first.workspace_owner_id,
    first.workspace_id,
    first.workspace_name,
    first.agent_name,
    first.type,
    first.ip,
    first.user_agent,
    first.user_id,
    first.slug_or_port,
    CASE
        WHEN first.type IN ('workspace_app', 'port_forwarding') THEN first.code
        ELSE ended.code
    END,
    ended.disconnect_time,
    ended.disconnect_reason
FROM (
    SELECT *
    FROM (
        VALUES
            (incoming.organization_id, incoming.workspace_owner_id, incoming.workspace_id,
             incoming.workspace_name, incoming.agent_name, incoming.type, incoming.ip,
             incoming.user_agent, incoming.user_id, incoming.slug_or_port, incoming.code),
            (stored.organization_id, stored.workspace_owner_id, stored.workspace_id,
             stored.workspace_name, stored.agent_name, stored.type, stored.ip,
             stored.user_agent, stored.user_id, stored.slug_or_port, stored.code)
    ) AS candidate (
        organization_id, workspace_owner_id, workspace_id, workspace_name, agent_name,
        type, ip, user_agent, user_id, slug_or_port, code
    )
    ORDER BY
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
        -- A session's stored code is its disconnect's, which is no part of this choice.
        CASE WHEN type IN ('workspace_app', 'port_forwarding') THEN code END NULLS LAST
    LIMIT 1
) AS first
LEFT JOIN LATERAL (
    SELECT *
    FROM (
        VALUES
            (incoming.disconnect_time, incoming.disconnect_reason, incoming.code),
            (stored.disconnect_time, stored.disconnect_reason, stored.code)
    ) AS candidate (disconnect_time, disconnect_reason, code)
    WHERE candidate.disconnect_time IS NOT NULL
    ORDER BY
        disconnect_time,
        disconnect_reason COLLATE "C" NULLS LAST,
        code NULLS LAST
    LIMIT 1
) AS ended ON true
$$;

COMMENT ON FUNCTION connection_log_merged(connection_logs, connection_logs) IS
    'The values of a stored connection log after merging an incoming event''s row into it.';

RESET statement_timeout;
RESET lock_timeout;
