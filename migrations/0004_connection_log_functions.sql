-- Two functions the connection log's queries need and SQL alone cannot express:
-- reject_arguments(problem) lets a plain query refuse bad arguments with an error naming them
-- (BatchUpsertConnectionLogs checks its arrays with it); connection_log_session_id() finds a
-- session's row under a lock, with a snapshot taken after the lock (see its comment).
-- depends: 0003_connection_logs_ip_nullable
-- Fail fast rather than queue behind live traffic (and block it) while waiting for a lock.
SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '5min';

CREATE FUNCTION reject_arguments(problem text) RETURNS boolean
    LANGUAGE plpgsql
    -- Volatile: evaluated where the query places it, never folded away or skipped.
    VOLATILE
    AS $$
BEGIN
    IF problem IS NOT NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value', MESSAGE = problem;
    END IF;
    RETURN true;
END
$$;

COMMENT ON FUNCTION reject_arguments(text) IS
    'Raises problem as an invalid_parameter_value error unless it is NULL; returns true otherwise.';

CREATE FUNCTION connection_log_session_id(connection uuid, workspace uuid, agent text)
    RETURNS uuid
    LANGUAGE plpgsql
    -- Volatile, so that under READ COMMITTED its query takes a new snapshot, after the lock.
    VOLATILE
    STRICT
    AS $$
DECLARE
    derived uuid := md5(connection::text || '/' || workspace::text || '/' || agent)::uuid;
    stored uuid;
BEGIN
    -- Every writer of a session holds this lock from here to the end of its transaction, so two
    -- never insert a session's first row at once: ON CONFLICT retries only on its arbiter, and
    -- the loser would fail on the other unique index. The lock's key grows with the derived id
    -- (its first 31 bits), so writers taking several sessions' locks in derived-id order take
    -- them in one order, and cannot deadlock on them.
    PERFORM pg_advisory_xact_lock(
        1668247150,  -- 'conn'
        (('x' || left(derived::text, 8))::bit(32)::bigint >> 1)::integer
    );
    -- Rows this code writes have the derived id; the platform's earlier code gave its rows
    -- random ids. Read now, the row any writer before us left is visible.
    SELECT cl.id INTO stored
    FROM connection_logs AS cl
    WHERE cl.connection_id = connection AND cl.workspace_id = workspace AND cl.agent_name = agent;
    RETURN COALESCE(stored, derived);
END
$$;

COMMENT ON FUNCTION connection_log_session_id(uuid, uuid, text) IS
    'The id of the session''s row (its existing row''s, else md5 of connection/workspace/agent), under the session''s transaction-level advisory lock.';
