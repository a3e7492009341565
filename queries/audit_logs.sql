-- The audit log, as far as the connection log is concerned: connect, disconnect, open and close
-- events used to be audited here, and retention removes what is left of them.

-- name: DeleteOldAuditLogConnectionEvents :execrows
-- Deletes at most limit_count audit_logs rows recording a connect, disconnect, open or close
-- older than before_time, oldest first, skipping rows another transaction has locked.
-- Rows of any other action are never touched.
DELETE FROM audit_logs
-- An array, not IN (subquery): the planner then fetches the victims by primary key.
WHERE id = ANY(ARRAY(
    SELECT id
    FROM audit_logs
    WHERE action IN ('connect', 'disconnect', 'open', 'close')
        AND time < @before_time::timestamptz
    ORDER BY time
    LIMIT @limit_count::integer
    -- Rows someone else holds are left for a later batch: a purge never waits on a writer.
    FOR UPDATE SKIP LOCKED
));
