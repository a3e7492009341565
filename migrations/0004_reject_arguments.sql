-- reject_arguments(problem): lets a plain SQL query refuse bad arguments with an error that
-- names them (BatchUpsertConnectionLogs checks its arrays with it), where SQL alone could only
-- fail later with a message about something else, or not at all.
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
