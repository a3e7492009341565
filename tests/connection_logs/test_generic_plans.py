"""The listings' generic plans stay cheap however large the table looks to the planner.

A generic plan (``plan_cache_mode = force_generic_plan``, or psycopg's prepared statements once
the server settles on one) is made without the parameter values. The server JIT-compiles any plan
costed over ``jit_above_cost``, on every execution: at ten million rows a listing whose generic
plan was costed that high spent 80-300 ms compiling a plan that ran in under a millisecond.
Here the planner is told the table holds ten million rows (its statistics, which is all it
reads), each listing is prepared, and its generic plan's cost and its run are checked.
"""

from __future__ import annotations

import json
from typing import Any, Final
from uuid import UUID

import psycopg
import pytest
from psycopg import sql

from connlog.generated import connection_logs as queries
from tests.connection_logs.world import World

# What the planner reads about a table's size: rows per page, times the pages it has now.
PRETENDED_ROWS: Final = 10_000_000

# None for each of the twelve filters and status, the first parameters of every listing.
_NO_FILTER: Final[list[object]] = [None] * 13


def _listing_arguments(organization_id: UUID) -> dict[str, tuple[str, list[object]]]:
    """Each listing's SQL, and its arguments ($1 ... $n in order) for page 1 of 50 rows: no
    filter; for the authorized ones, a reader of one organization."""
    return {
        "GetConnectionLogsOffset": (queries.GET_CONNECTION_LOGS_OFFSET, [*_NO_FILTER, 50, 0]),
        "GetConnectionLogsPage": (queries.GET_CONNECTION_LOGS_PAGE, [*_NO_FILTER, None, None, 50]),
        "GetAuthorizedConnectionLogsOffset": (
            queries.GET_AUTHORIZED_CONNECTION_LOGS_OFFSET,
            [*_NO_FILTER, False, [organization_id], 50, 0],
        ),
        "GetAuthorizedConnectionLogsPage": (
            queries.GET_AUTHORIZED_CONNECTION_LOGS_PAGE,
            [*_NO_FILTER, False, [organization_id], None, None, 50],
        ),
    }


def _pretend_the_log_is_large(db: psycopg.Connection[Any], world: World) -> None:
    """A few hundred web events of the world's first workspace, then statistics that say ten
    million: the planner estimates a table's rows as (reltuples / relpages) times its pages now."""
    workspace = world.workspaces[0]
    db.execute(
        "INSERT INTO connection_logs (id, connect_time, organization_id, workspace_owner_id,"
        " workspace_id, workspace_name, agent_name, type, code, user_id)"
        " SELECT gen_random_uuid(), now() - n * interval '1 minute', %s, %s, %s, %s, 'main',"
        " 'workspace_app', 200, %s FROM generate_series(1, 300) AS n",
        [
            workspace.organization.id,
            workspace.owner.id,
            workspace.id,
            workspace.name,
            workspace.owner.id,
        ],
    )
    db.execute("ANALYZE connection_logs")
    pages = db.execute("SELECT pg_relation_size('connection_logs') / 8192").fetchone()
    assert pages is not None and pages[0] >= 1, "the world must have rows on at least a page"
    db.execute(
        "UPDATE pg_class SET reltuples = %s, relpages = %s WHERE oid = 'connection_logs'::regclass",
        [PRETENDED_ROWS, pages[0]],
    )


def _generic_plan(
    db: psycopg.Connection[Any], query: str, arguments: list[object], *, analyze: bool
) -> dict[str, Any]:
    """EXPLAIN (FORMAT JSON) of the generic plan of ``query`` run with ``arguments``."""
    db.execute("SELECT set_config('plan_cache_mode', 'force_generic_plan', true)")
    db.execute(sql.SQL("PREPARE listing AS {}").format(sql.SQL(query)))
    try:
        options = "ANALYZE, FORMAT JSON" if analyze else "FORMAT JSON"
        placeholders = sql.SQL(", ").join(sql.Literal(value) for value in arguments)
        row = db.execute(
            sql.SQL("EXPLAIN ({}) EXECUTE listing({})").format(sql.SQL(options), placeholders)
        ).fetchone()
    finally:
        db.execute("DEALLOCATE listing")
    assert row is not None
    explained = row[0] if isinstance(row[0], list) else json.loads(row[0])
    plan: dict[str, Any] = explained[0]
    return plan


@pytest.mark.parametrize(
    "name",
    [
        "GetConnectionLogsOffset",
        "GetConnectionLogsPage",
        "GetAuthorizedConnectionLogsOffset",
        "GetAuthorizedConnectionLogsPage",
    ],
)
def test_a_listings_generic_plan_at_ten_million_rows_costs_less_than_jit_compiles_for(
    db: psycopg.Connection[Any], world: World, name: str
) -> None:
    _pretend_the_log_is_large(db, world)
    jit_above_cost = db.execute("SELECT current_setting('jit_above_cost')::float8").fetchone()
    assert jit_above_cost is not None
    query, arguments = _listing_arguments(world.organizations[0].id)[name]

    plan = _generic_plan(db, query, arguments, analyze=False)
    cost = plan["Plan"]["Total Cost"]
    assert cost < jit_above_cost[0], (
        f"{name}'s generic plan costs {cost} at {PRETENDED_ROWS:,} rows: the server would "
        f"JIT-compile it (jit_above_cost {jit_above_cost[0]}) on every call"
    )
    run = _generic_plan(db, query, arguments, analyze=True)
    assert "JIT" not in run, f"{name} JIT-compiled its generic plan: {run['JIT']}"
    db.rollback()
