-- The audit log, as far as the connection log is concerned: connect, disconnect, open and close
-- events used to be audited here, and retention removes what is left of them.

-- name: DeleteOldAuditLogConnectionEvents :one
-- Deletes at most limit_count audit_logs rows recording a connect, disconnect, open or close
-- older than before_time (and, given from_time, not before from_time), oldest first, skipping
-- rows another transaction has locked. Rows of any other action are never touched. Returns how
-- many it deleted, and the newest time among them: the next batch's from_time.
WITH deleted AS (
    DELETE FROM audit_logs
    -- An array, not IN (subquery): the planner then fetches the victims by primary key.
    WHERE id = ANY(ARRAY(
        SELECT id
        FROM audit_logs
        WHERE action IN ('connect', 'disconnect', 'open', 'close')
            AND time < @before_time::timestamptz
            -- Read through idx_audit_logs_connection_events_time (migration 0007: these four
            -- actions alone), which keeps deleted rows until VACUUM: without a lower bound
            -- each batch would walk past all of them again.
            AND time >= COALESCE(sqlc.narg(from_time)::timestamptz, '-infinity')
        ORDER BY time
        LIMIT @limit_count::integer
        -- Rows someone else holds are left for a later batch: a purge never waits on a writer.
        FOR UPDATE SKIP LOCKED
    ))
    RETURNING time
)
SELECT count(*) AS deleted, max(time) AS newest_time
FROM deleted;
