-- A listing's page planned with its own values, whatever plan the calling statement runs.
-- depends: 0005_connection_log_scale
--
-- connection_logs_newest (0005) is inlined into the calling query. Under a generic plan (a
-- server or pooler set to plan_cache_mode = force_generic_plan) that query is planned without its
-- values: every branch is there, and each branch's LIMIT max_rows, a value the plan cannot see,
-- is costed at a tenth of the rows it limits. At ten million rows that estimate passes
-- jit_above_cost, and the server JIT-compiles the plan on every call (80-300 ms for a plan that
-- runs in under a millisecond). connection_logs_newest_page returns the same rows (their id and
-- connect_time, what a listing needs to order and fetch its page), but is a
-- PL/pgSQL function, which the planner never inlines: the calling statement sees a function
-- scan of about a page of rows (ROWS 100), and the function's one statement is planned on every
-- call with the call's values (plan_cache_mode = force_custom_plan, set for the function alone),
-- so the branches not taken are gone and the LIMIT is the page's: the estimate is honest, under
-- any plan of the caller and any server setting. The listings call it; the counts keep calling
-- connection_logs_newest inlined, since their generic plans stay cheap (their LIMIT is not
-- under a sort) and an uncapped count then streams rather than gathering every row first.
-- Fail fast rather than queue behind live traffic (and block it) while waiting for a lock.
SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '5min';

CREATE FUNCTION connection_logs_newest_page(
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
    -- What a listing orders and fetches its page by, and no more: nothing read by the table's
    -- column order (a row type is, and a column dropped and added again moves).
    RETURNS TABLE (id uuid, connect_time timestamptz)
    LANGUAGE plpgsql
    STABLE
    PARALLEL UNSAFE
    -- A page (or an offset and a page): what the calling statement is planned for.
    ROWS 100
    SET plan_cache_mode = force_custom_plan
    AS $$
BEGIN
    RETURN QUERY
    SELECT newest.id, newest.connect_time
    FROM connection_logs_newest(
        filter_organization_id, filter_workspace_owner, filter_workspace_owner_id,
        filter_workspace_owner_email, filter_types, filter_user_id, filter_username,
        filter_user_email, filter_connected_after, filter_connected_before, filter_workspace_id,
        filter_connection_id, filter_ongoing, filter_completed, reader_site_wide,
        reader_organization_ids, after_connect_time, after_id, max_rows) AS newest;
END
$$;

COMMENT ON FUNCTION connection_logs_newest_page(
    uuid, text, uuid, text, connection_type[], uuid, text, text, timestamptz, timestamptz, uuid,
    uuid, boolean, boolean, boolean, uuid[], timestamptz, uuid, bigint
) IS
    'The id and connect_time of connection_logs_newest''s rows, planned with each call''s values (never inlined).';
