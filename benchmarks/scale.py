"""The connection log at scale: every listing under three plan modes, recording, and the purge.

    .venv/bin/python benchmarks/scale.py [--rows N] [--repeat N] [--markdown FILE] [--only PART]

Builds ``--rows`` connection logs (1,000,000 by default; docs/benchmarks.md's figures are for
10,000,000) on a private embedded PostgreSQL in a temporary directory on disk, stopped and
removed at the end. Unlike the tests' scratch server it is durable, as a production server is
(fsync, synchronous_commit and full_page_writes on; checked, and printed with the file system):
every commit waits for its WAL to reach the disk, which one-by-one recording pays per event. The
data: 20 organizations, 2,000 users and as many workspaces (workspace n is user n's, in
organization n mod 20), 30 days of events in time order, a third of them web events (by a
random user), the rest sessions, one in twenty of them never disconnected. The rows are
made by the server (generate_series), with the table's indexes dropped meanwhile and built
afterwards, foreign keys unchecked (the rows are consistent by construction); the build time is
reported, then VACUUM ANALYZE.

Then, in three plan modes (each on new connections): psycopg's default (a statement is
prepared from its fifth execution, and the server may then settle on one generic plan),
forced custom plans (prepared, ``plan_cache_mode = force_custom_plan``) and forced generic
plans (prepared from the first call, ``force_generic_plan``), it times every case: page 1 (50
rows) of the keyset and the offset listing, the capped count (cap 1000) and the authorized
keyset listing for a reader of 1 and of 5 organizations, for no filter, every filter alone and
the common pairs; each the median of ``--repeat`` calls after two warm-up calls. Every mode must
return the same rows. Any case over the 50 ms target gets its EXPLAIN (ANALYZE, BUFFERS), taken
by auto_explain from the generated function's own call in that mode. The keyset listing's page
10,000 (the cursor half a million rows deep) is timed against page 1.

Recording: fresh events (sessions of a connect and a disconnect, and web events), stored one by
one in autocommit (``record_event``), in one batch of 100, 1,000 and 10,000 (``record_events``,
one statement and transaction each), and the rows the batch of 10,000 produced, with new ids, by
binary COPY into ``connection_logs`` with all its indexes; each after a CHECKPOINT, in
``ROUNDS`` rounds, the median reported.

Retention: half the rows (those before the middle of the month) are deleted by one plain DELETE
(rolled back, for its time), then by ``connlog.purge`` with its defaults, while another process
records events one by one (new web events, and disconnects of old open sessions the purge is
deleting): the longest batch and the longest recording call are reported.

Not a test: timings depend on the machine and on its load.
"""

from __future__ import annotations

import argparse
import hashlib
import multiprocessing
import os
import random
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from ipaddress import IPv4Address
from multiprocessing.connection import Connection as Pipe
from pathlib import Path
from typing import Any, Final
from uuid import UUID, uuid4

import psycopg

from connlog.codegen.database import embedded, scratch
from connlog.generated.connection_logs import (
    count_connection_logs,
    get_authorized_connection_logs_page,
    get_connection_logs_offset,
    get_connection_logs_page,
)
from connlog.generated.models import ConnectionStatus, ConnectionType
from connlog.purge import DEFAULT_BATCH_SIZE, DEFAULT_BATCH_TIME, purge
from connlog.record import ConnectionEvent, record_event, record_events

REPO: Final = Path(__file__).resolve().parent.parent
MIGRATIONS: Final = REPO / "migrations"
TARGET_MS: Final = 50.0
PAGE: Final = 50
DEEP_PAGE: Final = 10_000
START: Final = datetime(2026, 11, 1, tzinfo=UTC)
DAYS: Final = 30

Conn = psycopg.Connection[Any]


def md5_uuid(text: str) -> UUID:
    """The uuid the build gives an entity: md5 of its name, as the server's md5(...)::uuid."""
    return UUID(hashlib.md5(text.encode()).hexdigest())


def org(n: int) -> UUID:
    return md5_uuid(f"org{n}")


def user(n: int) -> UUID:
    return md5_uuid(f"user{n}")


def workspace(n: int) -> UUID:
    return md5_uuid(f"ws{n}")


# The platform, then the log, in time order: row n at START + n/rows of 30 days. A third are web
# events (n divisible by 3), by a random user; the others sessions, one in twenty never ended.
# (The last statement takes parameters, so its modulo signs are written %%.)
BUILD: Final = (
    """
    INSERT INTO organizations (id, name, display_name)
    SELECT md5('org' || o)::uuid, 'org' || o, 'Organization ' || o FROM generate_series(0, 19) AS o
    """,
    """
    INSERT INTO users (id, username, email, name)
    SELECT md5('user' || u)::uuid, 'user' || u, 'user' || u || '@example.com', 'User ' || u
    FROM generate_series(0, 1999) AS u
    """,
    """
    INSERT INTO workspaces (id, owner_id, organization_id, name)
    SELECT md5('ws' || w)::uuid, md5('user' || w)::uuid, md5('org' || (w % 20))::uuid, 'ws-' || w
    FROM generate_series(0, 1999) AS w
    """,
    """
    INSERT INTO connection_logs (
        id, connect_time, organization_id, workspace_owner_id, workspace_id, workspace_name,
        agent_name, type, ip, code, user_agent, user_id, slug_or_port, connection_id,
        disconnect_time, disconnect_reason
    )
    SELECT
        CASE WHEN web THEN md5('web' || n)::uuid
            ELSE md5(
                md5('conn' || n)::uuid::text || '/' || md5('ws' || w)::uuid::text || '/main'
            )::uuid
        END,
        at,
        md5('org' || (w %% 20))::uuid,
        md5('user' || w)::uuid,
        md5('ws' || w)::uuid,
        'ws-' || w,
        'main',
        (ARRAY['ssh', 'vscode', 'jetbrains', 'reconnecting_pty', 'workspace_app',
               'port_forwarding']::connection_type[])[
            CASE WHEN web THEN 5 + n %% 2 ELSE 1 + n %% 4 END],
        '10.0.0.0'::inet + (n %% 65536),
        CASE WHEN web THEN 200 WHEN ended THEN 0 END,
        CASE WHEN web THEN 'Mozilla/5.0' END,
        CASE WHEN web THEN md5('user' || (requester %% 2000))::uuid END,
        CASE WHEN web THEN 'code-server' END,
        CASE WHEN NOT web THEN md5('conn' || n)::uuid END,
        CASE WHEN ended THEN at + (n %% 7200) * interval '1 second' END,
        CASE WHEN ended THEN 'client closed' END
    FROM (
        SELECT n, web, NOT web AND abs(hashint4(n + 104729)) %% 20 <> 7 AS ended, w, requester,
            %(start)s::timestamptz + (n::float8 / %(rows)s) * interval '30 days' AS at
        FROM (
            SELECT n, n %% 3 = 0 AS web, abs(hashint4(n)) %% 2000 AS w,
                abs(hashint4(n + 7919)) AS requester
            FROM generate_series(1, %(rows)s::integer) AS n
        ) AS numbered
    ) AS event
    """,
)


def build(conn: Conn, rows: int) -> list[tuple[str, float]]:
    """Fill the migrated database; the seconds each step took."""
    steps: list[tuple[str, float]] = []
    began = time.perf_counter()
    conn.execute("SET maintenance_work_mem = '1GB'")
    # Recreated afterwards from their own definitions, whatever the migrations made them.
    indexes = conn.execute(
        """
        SELECT index.relname::text, pg_get_indexdef(index.oid), constraint_.conname::text,
            pg_get_constraintdef(constraint_.oid)
        FROM pg_index
        JOIN pg_class AS index ON index.oid = pg_index.indexrelid
        LEFT JOIN pg_constraint AS constraint_ ON constraint_.conindid = index.oid
            AND constraint_.contype IN ('p', 'u')
        WHERE pg_index.indrelid = 'connection_logs'::regclass
        ORDER BY index.relname
        """
    ).fetchall()
    with conn.transaction():
        for name, _, constraint, _ in indexes:
            if constraint is None:
                conn.execute(f'DROP INDEX "{name}"')
            else:
                conn.execute(f'ALTER TABLE connection_logs DROP CONSTRAINT "{constraint}"')
        # The rows are consistent by construction: no foreign key triggers per row.
        conn.execute("SET LOCAL session_replication_role = replica")
        *platform, log = BUILD
        for statement in platform:
            conn.execute(statement)
        conn.execute(log, {"rows": rows, "start": START})
    steps.append(
        (f"{rows:,} rows (INSERT ... SELECT generate_series)", time.perf_counter() - began)
    )
    began = time.perf_counter()
    for _, definition, constraint, constraint_definition in indexes:
        if constraint is None:
            conn.execute(definition)
        else:
            conn.execute(
                f'ALTER TABLE connection_logs ADD CONSTRAINT "{constraint}" {constraint_definition}'
            )
    steps.append((f"{len(indexes)} indexes of connection_logs", time.perf_counter() - began))
    began = time.perf_counter()
    conn.execute("VACUUM ANALYZE")
    steps.append(("VACUUM ANALYZE", time.perf_counter() - began))
    return steps


@dataclass(frozen=True, slots=True)
class Case:
    label: str
    filters: dict[str, Any]


def cases(conn: Conn) -> list[Case]:
    """No filter, every filter alone, and the common pairs; values inside organization 3."""
    session = conn.execute(
        "SELECT connection_id FROM connection_logs WHERE workspace_id = %s"
        " AND connection_id IS NOT NULL ORDER BY connect_time DESC LIMIT 1",
        [workspace(3)],
    ).fetchone()
    assert session is not None
    day = timedelta(days=1)
    return [
        Case("no filter", {}),
        Case("organization_id", {"organization_id": org(3)}),
        Case("workspace_owner", {"workspace_owner": "USER3"}),
        Case("workspace_owner_id", {"workspace_owner_id": user(3)}),
        Case("workspace_owner_email", {"workspace_owner_email": "user3@example.com"}),
        Case("types", {"types": [ConnectionType.SSH]}),
        Case("user_id", {"user_id": user(23)}),
        Case("username", {"username": "user23"}),
        Case("user_email", {"user_email": "USER23@example.com"}),
        Case("connected_after (last day)", {"connected_after": START + 29 * day}),
        Case("connected_before (day 10)", {"connected_before": START + 10 * day}),
        Case("workspace_id", {"workspace_id": workspace(3)}),
        Case("connection_id", {"connection_id": session[0]}),
        Case("status ongoing", {"status": "ongoing"}),
        Case("status completed", {"status": "completed"}),
        Case("organization + username", {"organization_id": org(3), "username": "user23"}),
        Case(
            "workspace owner + types",
            {"workspace_owner": "user3", "types": [ConnectionType.SSH, ConnectionType.VSCODE]},
        ),
        Case(
            "organization + time range (day 15)",
            {
                "organization_id": org(3),
                "connected_after": START + 15 * day,
                "connected_before": START + 16 * day,
            },
        ),
        Case("types + status", {"types": [ConnectionType.SSH], "status": "ongoing"}),
    ]


def _ids(rows: Sequence[Any]) -> list[UUID]:
    return [row.connection_log.id for row in rows]


# What each operation returns, compared across modes: the page's ids, or the count.
Operation = Callable[[Conn, dict[str, Any]], object]
OPERATIONS: Final[tuple[tuple[str, Operation], ...]] = (
    ("keyset page 1", lambda c, f: _ids(get_connection_logs_page(c, **f, limit=PAGE))),
    (
        "offset page 1",
        lambda c, f: _ids(get_connection_logs_offset(c, **f, limit=PAGE, offset=0)),
    ),
    ("count (cap 1000)", lambda c, f: count_connection_logs(c, **f, count_cap=1000)),
    (
        "authorized, 1 org",
        lambda c, f: _ids(
            get_authorized_connection_logs_page(
                c, site_wide=False, readable_organization_ids=[org(3)], **f, limit=PAGE
            )
        ),
    ),
    (
        "authorized, 5 orgs",
        lambda c, f: _ids(
            get_authorized_connection_logs_page(
                c,
                site_wide=False,
                readable_organization_ids=[org(n) for n in range(3, 8)],
                **f,
                limit=PAGE,
            )
        ),
    ),
)

# (label, prepare_threshold, plan_cache_mode or None for the server's default)
Mode = tuple[str, int | None, str | None]
MODES: Final[tuple[Mode, ...]] = (
    ("default", 5, None),
    ("custom", 0, "force_custom_plan"),
    ("generic", 0, "force_generic_plan"),
)


def connect(url: str, threshold: int | None, plan_cache_mode: str | None) -> Conn:
    options = "" if plan_cache_mode is None else f"-c plan_cache_mode={plan_cache_mode}"
    conn = psycopg.connect(url, autocommit=True, options=options)
    conn.prepare_threshold = threshold
    return conn


def median_ms(call: Callable[[], object], repeat: int) -> tuple[float, object]:
    """Median milliseconds of ``repeat`` calls after two warm-up calls; and what they returned."""
    result = call()
    call()
    times: list[float] = []
    for _ in range(repeat):
        began = time.perf_counter()
        result = call()
        times.append((time.perf_counter() - began) * 1000)
    return statistics.median(times), result


def explained(url: str, mode: Mode, call: Callable[[Conn], object], repeat: int) -> list[str]:
    """The plan of the call, as auto_explain logs it, in the mode's steady state."""
    _, threshold, plan_cache_mode = mode
    with connect(url, threshold, plan_cache_mode) as conn:
        notices: list[str] = []
        conn.add_notice_handler(lambda notice: notices.append(notice.message_primary or ""))
        conn.execute("LOAD 'auto_explain'")
        conn.execute("SET auto_explain.log_analyze = on")
        conn.execute("SET auto_explain.log_buffers = on")
        conn.execute("SET client_min_messages = log")
        for _ in range(repeat + 2):
            call(conn)
        conn.execute("SET auto_explain.log_min_duration = 0")
        call(conn)
        conn.execute("SET auto_explain.log_min_duration = -1")
    return [line for notice in notices if "Query Text" in notice for line in notice.splitlines()]


def listings(url: str, repeat: int) -> tuple[list[str], list[str]]:
    """The table of every case in every mode, and the plans of the cases over the target."""
    with psycopg.connect(url, autocommit=True) as conn:
        all_cases = cases(conn)
    timings: dict[tuple[str, str, str], float] = {}
    results: dict[tuple[str, str], object] = {}
    for mode in MODES:
        label, threshold, plan_cache_mode = mode
        with connect(url, threshold, plan_cache_mode) as conn:
            for operation, run in OPERATIONS:
                for case in all_cases:

                    def call(run: Operation = run, case: Case = case) -> object:
                        return run(conn, case.filters)

                    ms, result = median_ms(call, repeat)
                    timings[(label, operation, case.label)] = ms
                    first = results.setdefault((operation, case.label), result)
                    if result != first:
                        raise SystemExit(f"{operation}, {case.label}: {label} plans differ")
    lines = [
        f"Median ms of {repeat} calls (target: under {TARGET_MS:.0f} ms); "
        "default / forced custom / forced generic plans:",
        "",
        "| case | " + " | ".join(operation for operation, _ in OPERATIONS) + " |",
        "|---|" + "---:|" * len(OPERATIONS),
    ]
    over: list[tuple[Mode, str, Operation, Case]] = []
    for case in all_cases:
        cells: list[str] = []
        for operation, run in OPERATIONS:
            figures = []
            for mode in MODES:
                ms = timings[(mode[0], operation, case.label)]
                figures.append(f"**{ms:.1f}**" if ms > TARGET_MS else f"{ms:.1f}")
                if ms > TARGET_MS:
                    over.append((mode, operation, run, case))
            cells.append(" / ".join(figures))
        lines.append(f"| {case.label} | " + " | ".join(cells) + " |")
    plans: list[str] = []
    for mode, operation, run, case in over:

        def traced(conn: Conn, run: Operation = run, case: Case = case) -> object:
            return run(conn, case.filters)

        plan = explained(url, mode, traced, repeat)
        plans += ["", f"{operation}, {case.label}, {mode[0]} plans:", "", "```", *plan, "```"]
    return lines, plans


def deep_page(url: str, rows: int, repeat: int) -> list[str]:
    """Keyset page 10,000 (or the deepest there is) against page 1, no filter, every mode."""
    page = min(DEEP_PAGE, rows // PAGE)
    with psycopg.connect(url, autocommit=True) as conn:
        cursor = conn.execute(
            "SELECT connect_time, id FROM connection_logs ORDER BY connect_time DESC, id DESC"
            " OFFSET %s LIMIT 1",
            [(page - 1) * PAGE - 1],
        ).fetchone()
    assert cursor is not None
    lines = [
        "",
        f"Keyset page {page:,} (the cursor {(page - 1) * PAGE:,} rows deep) against page 1, "
        "no filter (target: at most 1.5x):",
        "",
        "| plans | page 1 ms | page " + f"{page:,}" + " ms | ratio |",
        "|---|---:|---:|---:|",
    ]
    for label, threshold, plan_cache_mode in MODES:
        with connect(url, threshold, plan_cache_mode) as conn:
            first, _ = median_ms(lambda: get_connection_logs_page(conn, limit=PAGE), repeat)
            deep, found = median_ms(
                lambda: get_connection_logs_page(
                    conn, after_connect_time=cursor[0], after_id=cursor[1], limit=PAGE
                ),
                repeat,
            )
            assert isinstance(found, list) and len(found) == PAGE
        lines.append(f"| {label} | {first:.1f} | {deep:.1f} | {deep / first:.2f}x |")
    return lines


def uncapped_counts(url: str) -> list[str]:
    """The exact count (no cap) once per mode, for no filter and for one workspace."""
    lines = [
        "",
        "Uncapped counts (one call each; no target):",
        "",
        "| plans | no filter ms | workspace_id ms |",
        "|---|---:|---:|",
    ]
    for label, threshold, plan_cache_mode in MODES:
        with connect(url, threshold, plan_cache_mode) as conn:
            for _ in range(2 if threshold else 0):  # past the threshold: prepared
                count_connection_logs(conn, workspace_id=workspace(3))
            cells: list[str] = []
            only: list[dict[str, Any]] = [{}, {"workspace_id": workspace(3)}]
            for filters in only:
                began = time.perf_counter()
                count_connection_logs(conn, **filters)
                cells.append(f"{(time.perf_counter() - began) * 1000:,.0f}")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return lines


def new_events(sessions: int, web: int, at: datetime, rng: random.Random) -> list[ConnectionEvent]:
    """Fresh events after the month: each session's connect and disconnect, and web events."""
    events: list[ConnectionEvent] = []
    for n in range(sessions + web):
        w = rng.randrange(2000)
        when = at + timedelta(microseconds=n)
        common: dict[str, Any] = {
            "organization_id": org(w % 20),
            "workspace_owner_id": user(w),
            "workspace_id": workspace(w),
            "workspace_name": f"ws-{w}",
            "agent_name": "main",
            "ip": IPv4Address(0x0A000000 + rng.randrange(65536)),
        }
        if n < sessions:
            connection = uuid4()
            for status, offset in (
                (ConnectionStatus.CONNECTED, 0),
                (ConnectionStatus.DISCONNECTED, 60),
            ):
                disconnected = status is ConnectionStatus.DISCONNECTED
                events.append(
                    ConnectionEvent(
                        id=uuid4(),
                        time=when + timedelta(seconds=offset),
                        type=ConnectionType.SSH,
                        connection_status=status,
                        connection_id=connection,
                        code=0 if disconnected else None,
                        disconnect_reason="client closed" if disconnected else None,
                        **common,
                    )
                )
        else:
            events.append(
                ConnectionEvent(
                    id=uuid4(),
                    time=when,
                    type=ConnectionType.WORKSPACE_APP,
                    connection_status=ConnectionStatus.CONNECTED,
                    code=200,
                    user_agent="Mozilla/5.0",
                    user_id=user(rng.randrange(2000)),
                    slug_or_port="code-server",
                    **common,
                )
            )
    rng.shuffle(events)
    return events


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


ROUNDS: Final = 5


def _copy_rows(conn: Conn, ids: list[UUID]) -> float:
    """Seconds a binary COPY of the rows ``ids`` name, again under new ids, takes."""
    rows = conn.execute(
        "SELECT connect_time, organization_id, workspace_owner_id, workspace_id,"
        " workspace_name, agent_name, type::text, ip, code, user_agent, user_id, slug_or_port,"
        " connection_id, disconnect_time, disconnect_reason"
        " FROM connection_logs WHERE id = ANY(%s)",
        [ids],
    ).fetchall()
    copied = [(uuid4(), *row[:12], None if row[12] is None else uuid4(), *row[13:]) for row in rows]
    _checkpoint(conn)
    began = time.perf_counter()
    with conn.cursor() as cur, cur.copy(COPY) as copy:
        copy.set_types(list(COPY_TYPES))
        for row in copied:
            copy.write_row(row)
    return time.perf_counter() - began


def _checkpoint(conn: Conn) -> None:
    """Every timed run starts right after a checkpoint: none inherits the pages another one
    already wrote in full to the WAL (the first change of a page after a checkpoint writes the
    whole page), so each pays what it would in steady state."""
    conn.execute("CHECKPOINT")


def recording(url: str, rng: random.Random) -> list[str]:
    """Events per second one by one, in batches, and by COPY of the rows they make: the median
    of ROUNDS rounds, each of every way in turn."""
    after = START + timedelta(days=DAYS + 1)
    sizes = (100, 1_000, 10_000)
    hows = ["one by one", *(f"batches of {size:,}" for size in sizes), "COPY"]
    seconds: dict[str, list[float]] = {how: [] for how in hows}
    counts: dict[str, tuple[int, int]] = {}  # events, rows
    with psycopg.connect(url, autocommit=True) as conn:
        for _ in range(ROUNDS):
            one_by_one = new_events(1000, 1000, after, rng)
            _checkpoint(conn)
            began = time.perf_counter()
            for event in one_by_one:
                record_event(conn, event)
            seconds["one by one"].append(time.perf_counter() - began)
            counts["one by one"] = (len(one_by_one), 2000)
            stored_ids: list[UUID] = []
            for size in sizes:
                # One batch of exactly `size` events (sessions and web events in the usual mix).
                events = new_events(size // 3, size // 3, after, rng)[:size]
                _checkpoint(conn)
                began = time.perf_counter()
                stored = record_events(conn, events)
                seconds[f"batches of {size:,}"].append(time.perf_counter() - began)
                counts[f"batches of {size:,}"] = (len(events), len(stored))
                stored_ids = [row.id for row in stored]
            # The rows the batch of 10,000 produced, again under new ids, by binary COPY.
            seconds["COPY"].append(_copy_rows(conn, stored_ids))
            counts["COPY"] = (0, len(stored_ids))
    median = {how: statistics.median(taken) for how, taken in seconds.items()}
    copy_rate = counts["COPY"][1] / median["COPY"]  # rows a second
    base_rate = counts["one by one"][0] / median["one by one"]
    lines = [
        "",
        "Recording fresh events (2 of 3 sessions of a connect and a disconnect, 1 of 3 web "
        f"events) into the full table, autocommit; median of {ROUNDS} rounds, each after a "
        "CHECKPOINT:",
        "",
        "| how | events | rows | seconds | events/s | vs one by one | COPY / this |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for how in hows[:-1]:
        events_count, rows_count = counts[how]
        rate = events_count / median[how]
        # COPY time for this many rows, at the COPY's measured rate, over this way's time.
        lines.append(
            f"| {how} | {events_count:,} | {rows_count:,} | {median[how]:.3f} | {rate:,.0f} | "
            f"{rate / base_rate:.1f}x | {rows_count / copy_rate / median[how]:.2f}x |"
        )
    lines += [
        f"| binary COPY of the rows of the batch of 10,000 | | {counts['COPY'][1]:,} | "
        f"{median['COPY']:.3f} | ({copy_rate:,.0f} rows/s) | | 1.00x |",
        "",
        "COPY / this is the time a binary COPY of the same resulting rows takes over this way's "
        "time (target for batches: at least 0.5); vs one by one the speed-up (target: at least "
        "20x). Every round's seconds: "
        + "; ".join(f"{how} " + ", ".join(f"{t:.3f}" for t in seconds[how]) for how in hows)
        + ".",
    ]
    return lines


def _recorder(url: str, sessions: list[tuple[Any, ...]], stop: Any, out: Pipe) -> None:
    """Record events one by one until told to stop; send back every call's seconds."""
    rng = random.Random(7)
    latencies: list[float] = []
    with psycopg.connect(url, autocommit=True) as conn:
        n = 0
        while not stop.is_set():
            if n % 2 == 0 and sessions:
                # The disconnect of an old open session: a row the purge is deleting.
                connection_id, workspace_id, organization_id, owner_id, name, at = sessions.pop()
                event = ConnectionEvent(
                    id=uuid4(),
                    time=at + timedelta(minutes=5),
                    organization_id=organization_id,
                    workspace_owner_id=owner_id,
                    workspace_id=workspace_id,
                    workspace_name=name,
                    agent_name="main",
                    type=ConnectionType.SSH,
                    connection_status=ConnectionStatus.DISCONNECTED,
                    connection_id=connection_id,
                    code=0,
                    disconnect_reason="late disconnect",
                )
            else:
                (event,) = new_events(0, 1, START + timedelta(days=DAYS + 2), rng)
            began = time.perf_counter()
            record_event(conn, event)
            latencies.append(time.perf_counter() - began)
            n += 1
    out.send(latencies)


def retention(url: str) -> list[str]:
    """One plain DELETE of the older half (rolled back) against the purge's batches."""
    cutoff = START + timedelta(days=DAYS / 2)
    with psycopg.connect(url, autocommit=True) as conn:
        old = conn.execute(
            "SELECT count(*) FROM connection_logs WHERE connect_time < %s", [cutoff]
        ).fetchone()
        assert old is not None
        began = time.perf_counter()
        with conn.transaction(force_rollback=True):
            conn.execute("DELETE FROM connection_logs WHERE connect_time < %s", [cutoff])
        plain = time.perf_counter() - began
        open_sessions = conn.execute(
            "SELECT connection_id, workspace_id, organization_id, workspace_owner_id,"
            " workspace_name, connect_time FROM connection_logs"
            " WHERE connect_time < %s AND disconnect_time IS NULL AND connection_id IS NOT NULL"
            " ORDER BY connect_time DESC LIMIT 20000",
            [cutoff],
        ).fetchall()
    context = multiprocessing.get_context("spawn")
    stop = context.Event()
    receiver, sender = context.Pipe(duplex=False)
    recorder = context.Process(target=_recorder, args=(url, open_sessions, stop, sender))
    recorder.start()
    batches: list[tuple[int, float]] = []
    try:
        time.sleep(1)
        began = time.perf_counter()
        with psycopg.connect(url, autocommit=True) as conn:
            result = purge(
                conn, before=cutoff, on_batch=lambda rows, seconds: batches.append((rows, seconds))
            )
        purged = time.perf_counter() - began
    finally:
        stop.set()
        latencies: list[float] = receiver.recv() if receiver.poll(60) else []
        recorder.join(60)
    assert result.connection_logs >= old[0], result
    ms = sorted(latencies)
    seconds = [taken for _, taken in batches]
    sizes = [rows for rows, _ in batches]
    return [
        "",
        f"Retention: {old[0]:,} rows older than the middle of the month. One plain DELETE: "
        f"{plain:.1f} s (rolled back). The purge (connlog.purge, batches of at most "
        f"{DEFAULT_BATCH_SIZE:,} rows sized to take {DEFAULT_BATCH_TIME.total_seconds() * 1000:.0f}"
        f" ms): {len(batches):,} batches (median {statistics.median(sizes):,.0f} rows) in "
        f"{purged:.1f} s ({purged / plain:.1f}x the plain DELETE); the longest batch "
        f"{max(seconds) * 1000:.0f} ms (median {statistics.median(seconds) * 1000:.1f} ms; "
        "target: at most 250 ms). Meanwhile one process recorded "
        f"{len(ms):,} events one by one (half of them disconnects of old sessions being purged): "
        f"the longest call {ms[-1] * 1000:.0f} ms, the 99th percentile "
        f"{ms[int(len(ms) * 0.99)] * 1000:.1f} ms (target: no wait over 100 ms).",
    ]


def machine() -> str:
    load = os.getloadavg()
    return (
        f"Python {sys.version.split()[0]}, psycopg {psycopg.__version__}, {os.cpu_count()} CPUs, "
        f"load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} (1 / 5 / 15 min) at the start"
    )


# What a production server would do about durability, which recording pays for at every commit.
DURABILITY: Final = ("fsync", "synchronous_commit", "full_page_writes", "wal_sync_method")
PARTS: Final = ("listings", "recording", "retention")


def server_settings(conn: Conn, data: Path) -> str:
    """The settings the figures depend on, as the server reports them, and where its data is."""
    settings = {
        name: conn.execute("SELECT current_setting(%s)", [name]).fetchone()
        for name in ("shared_buffers", "jit", *DURABILITY)
    }
    # A commit must wait for its WAL to reach the disk, as on a production server: a figure
    # taken without that flush would flatter every way that commits often.
    if any(settings[name] != ("on",) for name in DURABILITY[:3]):
        raise SystemExit(f"the benchmark's server is not durable: {settings}")
    mount = max(
        (line.split() for line in Path("/proc/mounts").read_text().splitlines()),
        key=lambda fields: len(fields[1]) if str(data).startswith(fields[1]) else -1,
    )
    described = ", ".join(f"{name} {value[0]}" for name, value in settings.items() if value)
    return f"{described}; data on {mount[2]} ({mount[0]} at {mount[1]})"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--markdown", type=Path, default=None)
    parser.add_argument(
        "--only", choices=PARTS, action="append", help="time only this part (repeatable)"
    )
    args = parser.parse_args()
    if args.rows < 100_000:
        parser.error("--rows must be at least 100,000")
    parts = set(args.only or PARTS)
    began = time.perf_counter()
    header = machine()
    rng = random.Random(20261201)
    table: list[str] = []
    plans: list[str] = []
    deep: list[str] = []
    recorded: list[str] = []
    purged: list[str] = []
    # Durable, on the disk under the system's temporary directory: see server_settings.
    with embedded.temporary_cluster(prefix="connlog-scale-", durable=True) as cluster:
        server_url = embedded.ensure_running(cluster)
        with scratch.migrated_database(server_url, MIGRATIONS, prefix="bench_scale") as url:
            with psycopg.connect(url, autocommit=True) as conn:
                version = conn.info.server_version
                server = server_settings(conn, cluster.data)
                steps = build(conn, args.rows)
            print(f"built in {sum(s for _, s in steps):.0f} s", file=sys.stderr, flush=True)
            # Each part's figures on stderr as soon as it is done: a long run cut short keeps them.
            if "listings" in parts:
                table, plans = listings(url, args.repeat)
                deep = deep_page(url, args.rows, args.repeat) + uncapped_counts(url)
                print("\n".join([*table, *deep]), file=sys.stderr, flush=True)
            if "recording" in parts:
                recorded = recording(url, rng)
                print("\n".join(recorded), file=sys.stderr, flush=True)
            if "retention" in parts:
                purged = retention(url)
    lines = [
        f"{args.rows:,} connection logs, PostgreSQL {version // 10000}.{version % 10000} "
        f"(embedded: {server}); {header}.",
        "",
        "Build: " + "; ".join(f"{what} {seconds:.1f} s" for what, seconds in steps) + ".",
        "",
        *table,
        *deep,
        *recorded,
        *purged,
        *plans,
        "",
        f"Total run time: {time.perf_counter() - began:.0f} s.",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.markdown is not None:
        args.markdown.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
