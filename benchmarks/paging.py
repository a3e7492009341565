"""Keyset against offset pagination of the connection log, from page 1 to page 1000.

    .venv/bin/python benchmarks/paging.py [--rows N] [--repeat N] [--markdown FILE]

Loads ``--rows`` connection logs (200,000 by default; with COPY, after the
organizations, users and workspaces they point at) into a migrated scratch
database, then times the repository's two listing functions, newest first,
100 rows a page, no filters:

- keyset: ``get_connection_logs_page``, given the previous page's last row
  (``after_connect_time``, ``after_id``), as a client walking the pages holds it;
- offset: ``get_connection_logs_offset`` with ``offset = (page - 1) * 100``.

Each method is measured three times, each time on new connections: planned per
call (``prepare_threshold=None``: every call planned with its own values); with
psycopg's default (prepared from the fifth execution; the server may then switch
to one generic plan for every value, when it guesses that plan no dearer than
the custom ones); and with the generic plan forced (prepared from the first call,
``plan_cache_mode = force_generic_plan``): what a prepared statement costs once
the server has switched, whichever page made it switch. Every page is warmed up with
two calls, then timed on a warm cache: the median of ``--repeat`` calls, or of
three once they pass a second. Both methods must return the same rows on every
page measured.

Then EXPLAIN (ANALYZE, BUFFERS off) of page 1000 by each method: the custom plan
(the values bound, as the generated functions send them), and the generic plan a
prepared statement can end up with (``plan_cache_mode = force_generic_plan``).

The server is a private embedded PostgreSQL in a temporary directory
(``codegen.database.embedded`` with its own cluster), stopped and removed at the end, so
a development server is never touched.

Not a test: timings depend on the machine; the ratios are what to read.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from ipaddress import IPv4Address
from pathlib import Path
from typing import Any, Final
from uuid import UUID

import psycopg

from connlog.codegen.database import embedded, scratch
from connlog.generated.connection_logs import (
    GET_CONNECTION_LOGS_OFFSET,
    GET_CONNECTION_LOGS_PAGE,
    get_connection_logs_offset,
    get_connection_logs_page,
)
from connlog.generated.models import ConnectionLog

REPO: Final = Path(__file__).resolve().parent.parent
MIGRATIONS: Final = REPO / "migrations"
PAGE_SIZE: Final = 100
PAGES: Final = (1, 100, 1000)
ORGS: Final = 5
USERS: Final = 200
WORKSPACES: Final = 500
WEB: Final = ("workspace_app", "port_forwarding")
TYPES: Final = ("ssh", "vscode", "jetbrains", "reconnecting_pty", *WEB)

COPY: Final = """COPY connection_logs (
    id, connect_time, organization_id, workspace_owner_id, workspace_id, workspace_name,
    agent_name, type, ip, code, user_agent, user_id, slug_or_port, connection_id,
    disconnect_time, disconnect_reason
) FROM STDIN (FORMAT BINARY)"""
COPY_TYPES: Final = (
    "uuid",
    "timestamptz",
    "uuid",
    "uuid",
    "uuid",
    "text",
    "text",
    "text",  # binary COPY carries no type: an enum label is read as its text
    "inet",
    "int4",
    "text",
    "uuid",
    "text",
    "uuid",
    "timestamptz",
    "text",
)
# Where page N starts: the last row of page N - 1, as a client walking the pages holds it.
CURSOR_BEFORE: Final = """
    SELECT connect_time, id FROM connection_logs
    ORDER BY connect_time DESC, id DESC OFFSET %s LIMIT 1
"""

Connection = psycopg.Connection[tuple[Any, ...]]
Cursor = tuple[datetime, UUID] | None


def load(conn: Connection, rows: int, rng: random.Random) -> None:
    """The platform (organizations, users, workspaces), then ``rows`` connection logs by COPY.

    A month of events, every type: sessions with a connection id (most of them
    ended), web events with the requesting user, status code and slug.
    """
    orgs = [UUID(int=1 + n) for n in range(ORGS)]
    users = [UUID(int=1000 + n) for n in range(USERS)]
    workspaces = [
        (UUID(int=100_000 + n), users[n % USERS], orgs[n % ORGS], f"ws-{n}")
        for n in range(WORKSPACES)
    ]
    start = datetime(2025, 3, 1, tzinfo=UTC)
    month = 30 * 86400 * 1_000_000
    with conn.transaction(), conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO organizations (id, name, display_name) VALUES (%s, %s, %s)",
            [(org, f"org{n}", f"Organization {n}") for n, org in enumerate(orgs)],
        )
        cur.executemany(
            "INSERT INTO users (id, username, email) VALUES (%s, %s, %s)",
            [(user, f"user{n}", f"user{n}@example.com") for n, user in enumerate(users)],
        )
        cur.executemany(
            "INSERT INTO workspaces (id, owner_id, organization_id, name) VALUES (%s, %s, %s, %s)",
            workspaces,
        )
        with cur.copy(COPY) as copy:
            copy.set_types(list(COPY_TYPES))
            for n in range(rows):
                workspace, owner, org, name = workspaces[rng.randrange(WORKSPACES)]
                kind = TYPES[rng.randrange(len(TYPES))]
                connected = start + timedelta(microseconds=rng.randrange(month))
                web = kind in WEB
                ended = not web and rng.random() < 0.8
                copy.write_row(
                    (
                        UUID(int=rng.getrandbits(128)),
                        connected,
                        org,
                        owner,
                        workspace,
                        name,
                        "main",
                        kind,
                        IPv4Address(0x0A000000 + rng.randrange(1 << 16)),
                        200 if web else (0 if ended else None),
                        "Mozilla/5.0" if web else None,
                        users[rng.randrange(USERS)] if web else None,
                        "code-server" if web else None,
                        None if web else UUID(int=n + 1),
                        connected + timedelta(seconds=rng.randrange(1, 7200)) if ended else None,
                        "client closed" if ended else None,
                    )
                )
    conn.execute("VACUUM ANALYZE")


def median_call(
    call: Callable[[], list[ConnectionLog]], repeat: int
) -> tuple[float, list[ConnectionLog]]:
    """Median seconds of up to ``repeat`` calls after two warm-up calls; and the rows returned.

    Once three timed calls have taken more than a second, it stops there: a slow plan
    is measured, not waited on.
    """
    rows = call()
    call()
    times: list[float] = []
    while len(times) < repeat and not (len(times) >= 3 and sum(times) > 1.0):
        started = time.perf_counter()
        rows = call()
        times.append(time.perf_counter() - started)
    return statistics.median(times), rows


def explain(conn: Connection, query: str, params: Sequence[object]) -> list[str]:
    """EXPLAIN ANALYZE with the values bound, as the generated function runs it (custom plan).

    Its top node, the scan of connection_logs with its index condition, and the times.
    """
    with psycopg.RawCursor(conn) as cur:
        cur.execute("EXPLAIN (ANALYZE, BUFFERS off) " + query, params)
        return summary([str(row[0]) for row in cur])


def explain_generic(conn: Connection, query: str, params: Sequence[object]) -> list[str]:
    """EXPLAIN ANALYZE of the statement prepared, run with the plan made for no values.

    The plan a prepared statement (psycopg prepares after five executions) gets once
    the server settles on a generic plan; ``force_generic_plan`` asks for it at once.
    """
    conn.execute("SET plan_cache_mode = force_generic_plan")
    try:
        with psycopg.RawCursor(conn) as cur:
            cur.execute("PREPARE bench_generic AS " + query)
        arguments = ", ".join(["%s"] * len(params))
        with psycopg.ClientCursor(conn) as cur:
            cur.execute(
                f"EXPLAIN (ANALYZE, BUFFERS off) EXECUTE bench_generic({arguments})", params
            )
            return summary([str(row[0]) for row in cur])
    finally:
        conn.execute("DEALLOCATE bench_generic")
        conn.execute("RESET plan_cache_mode")


def summary(plan: list[str]) -> list[str]:
    lines = [plan[0]]
    for number, line in enumerate(plan[1:], start=1):
        if " on connection_logs" in line:
            lines.append(line.strip())
            following = plan[number + 1].strip() if number + 1 < len(plan) else ""
            if following.startswith(("Index Cond", "Recheck Cond")):
                lines.append("  " + following)
        elif line.startswith(("Planning Time", "Execution Time")):
            lines.append(line)
    return lines


# How each connection plans: never prepared, so every call is planned with its values;
# psycopg's default, prepared from the fifth call, after which the server may switch to one
# generic plan for all values; or prepared at once and always run with the generic plan.
# (label, prepare_threshold, plan_cache_mode or None for the server's default)
MODES: Final = (
    ("planned per call (prepare_threshold=None)", None, None),
    ("psycopg default (prepared after 5 calls)", 5, None),
    ("generic plan forced (force_generic_plan)", 0, "force_generic_plan"),
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--markdown", type=Path, default=None)
    args = parser.parse_args()
    if args.rows < PAGES[-1] * PAGE_SIZE:
        parser.error(f"--rows must be at least {PAGES[-1] * PAGE_SIZE} for page {PAGES[-1]}")
    rng = random.Random(20250314)
    began = time.perf_counter()

    timings: dict[tuple[str, str], dict[int, float]] = {}
    with embedded.temporary_cluster(prefix="connlog-paging-") as cluster:
        server_url = embedded.ensure_running(cluster)
        with (
            scratch.migrated_database(server_url, MIGRATIONS, prefix="bench_paging") as url,
            psycopg.connect(url, autocommit=True) as conn,
        ):
            server_version = conn.info.server_version
            loading = time.perf_counter()
            load(conn, args.rows, rng)
            loaded = time.perf_counter() - loading

            cursors: dict[int, Cursor] = {}
            for page in PAGES:
                found = None
                if page > 1:
                    found = conn.execute(CURSOR_BEFORE, [(page - 1) * PAGE_SIZE - 1]).fetchone()
                cursors[page] = None if found is None else (found[0], found[1])

            for mode, threshold, plan_cache_mode in MODES:
                options = "" if plan_cache_mode is None else f"-c plan_cache_mode={plan_cache_mode}"
                with (
                    psycopg.connect(url, autocommit=True, options=options) as keyset_conn,
                    psycopg.connect(url, autocommit=True, options=options) as offset_conn,
                ):
                    keyset_conn.prepare_threshold = threshold
                    offset_conn.prepare_threshold = threshold
                    by_keyset = timings[("keyset", mode)] = {}
                    by_offset = timings[("offset", mode)] = {}
                    for page in PAGES:

                        def keyset(cursor: Cursor = cursors[page]) -> list[ConnectionLog]:
                            rows = get_connection_logs_page(
                                keyset_conn,
                                after_connect_time=None if cursor is None else cursor[0],
                                after_id=None if cursor is None else cursor[1],
                                limit=PAGE_SIZE,
                            )
                            return [row.connection_log for row in rows]

                        def offset(page: int = page) -> list[ConnectionLog]:
                            rows = get_connection_logs_offset(
                                offset_conn, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE
                            )
                            return [row.connection_log for row in rows]

                        by_keyset[page], keyset_rows = median_call(keyset, args.repeat)
                        by_offset[page], offset_rows = median_call(offset, args.repeat)
                        if keyset_rows != offset_rows or len(keyset_rows) != PAGE_SIZE:
                            raise SystemExit(f"page {page}: keyset and offset differ")

            deepest = PAGES[-1]
            cursor = cursors[deepest]
            assert cursor is not None
            keyset_params = (None,) * 13 + (cursor[0], cursor[1], PAGE_SIZE)
            offset_params = (None,) * 13 + (PAGE_SIZE, (deepest - 1) * PAGE_SIZE)
            plans = [
                (
                    f"keyset, page {deepest}, custom plan",
                    explain(conn, GET_CONNECTION_LOGS_PAGE, keyset_params),
                ),
                (
                    f"offset, page {deepest}, custom plan",
                    explain(conn, GET_CONNECTION_LOGS_OFFSET, offset_params),
                ),
                (
                    f"keyset, page {deepest}, generic plan",
                    explain_generic(conn, GET_CONNECTION_LOGS_PAGE, keyset_params),
                ),
                (
                    f"offset, page {deepest}, generic plan",
                    explain_generic(conn, GET_CONNECTION_LOGS_OFFSET, offset_params),
                ),
            ]
    elapsed = time.perf_counter() - began

    def ms(seconds: float) -> str:
        return f"{seconds * 1000:,.1f}"

    header = " | ".join(f"page {page}" for page in PAGES)
    ratios = " | ".join(f"page {page} / page 1" for page in PAGES[1:])
    lines = [
        f"{args.rows:,} connection logs, {PAGE_SIZE} rows a page, newest first, no filters; "
        f"median ms of up to {args.repeat} calls, warm cache (Python {sys.version.split()[0]}, "
        f"psycopg {psycopg.__version__}, PostgreSQL "
        f"{server_version // 10000}.{server_version % 10000}, {os.cpu_count()} CPUs):",
        "",
        f"| method | plans | {header} | {ratios} |",
        "|---|---|" + "---:|" * (len(PAGES) * 2 - 1),
    ]
    for (method, mode), by_page in timings.items():
        cells = " | ".join(ms(by_page[page]) for page in PAGES)
        grow = " | ".join(f"{by_page[page] / by_page[1]:.1f}x" for page in PAGES[1:])
        lines.append(f"| {method} | {mode} | {cells} | {grow} |")
    for mode, _, _ in MODES:
        versus = " | ".join(
            f"{timings[('offset', mode)][page] / timings[('keyset', mode)][page]:.1f}x"
            for page in PAGES
        )
        lines.append(f"| offset / keyset | {mode} | {versus} |" + " |" * (len(PAGES) - 1))
    for title, plan in plans:
        lines += ["", f"EXPLAIN (ANALYZE, BUFFERS off), {title}:", "", "```", *plan, "```"]
    lines += [
        "",
        f"Page {deepest}'s keyset cursor is page {deepest - 1}'s last row; its offset is "
        f"{(deepest - 1) * PAGE_SIZE:,}.",
        f"Loading {args.rows:,} rows (COPY, then VACUUM ANALYZE): {loaded:.1f} s; "
        f"total run time: {elapsed:.1f} s.",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.markdown is not None:
        args.markdown.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
