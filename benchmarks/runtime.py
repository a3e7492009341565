"""What a generated function costs per call, next to hand-written psycopg doing the same work.

    .venv/bin/python benchmarks/runtime.py [--rounds N] [--markdown FILE]

Three paths, each timed as a generated function and as hand-written psycopg 3
running the same SQL on the same connection:

- ``:one`` by primary key: ``GetConnectionLog`` (``SELECT * FROM connection_logs
  WHERE id = @id``), generated into a throwaway package in a temporary directory
  (the repository's queries have no plain get-by-id);
- ``:many`` of 1000 rows: ``ListConnectionLogs`` (the same throwaway package,
  one table) and the repository's ``get_connection_logs_offset(limit=1000)``
  (three joins, 23 columns, a nested ``ConnectionLog`` in every row);
- the insert path: the repository's ``upsert_connection_log`` against a
  ``RawCursor`` executing ``UPSERT_CONNECTION_LOG`` with the same parameters.

Hand-written reads come three ways: tuple rows (the baseline every ratio is
against), ``class_row`` of a dataclass, and ``dict_row``. The joined listing is
also built, from the same tuples, into the row types the generator could emit
instead (a frozen dataclass through dataclass's own ``__init__``, as the rows
were built before; ``typing.NamedTuple``; a frozen ``msgspec.Struct`` when
msgspec is installed), and the generated function runs on a second connection
where psycopg loads the enum itself (``psycopg.types.enum.register_enum``). A
floor beside them,
``execute`` alone, is the server, the wire and libpq with no Python row built
(psycopg holds the whole result once ``execute`` returns). Every connection keeps
psycopg's default ``prepare_threshold`` (5), and every variant is warmed up past
it first, so all of them run as server-side prepared statements.

Each figure is the median, over ``--rounds`` rounds, of the mean time per call
in a block of calls; the variants of a case take turns within each round, so
drift on a busy machine hits them alike. The server is a private embedded
PostgreSQL in a temporary directory (``codegen.database.embedded`` with its own cluster),
stopped and removed at the end, so a development server is never touched.

Not a test: timings depend on the machine; the ratios are what to read.
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import importlib
import os
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from ipaddress import IPv4Address, IPv6Address, ip_address
from pathlib import Path
from typing import Any, Final, NamedTuple
from uuid import UUID, uuid4

import psycopg
from psycopg.rows import class_row, dict_row
from psycopg.types.enum import EnumInfo, register_enum

from connlog.codegen.database import embedded, scratch
from connlog.generated._runtime import enum_label
from connlog.generated.connection_logs import (
    GET_CONNECTION_LOGS_OFFSET,
    UPSERT_CONNECTION_LOG,
    GetConnectionLogsOffsetRow,
    get_connection_logs_offset,
    upsert_connection_log,
)
from connlog.generated.models import ConnectionLog, ConnectionStatus, ConnectionType

REPO: Final = Path(__file__).resolve().parent.parent
MIGRATIONS: Final = REPO / "migrations"
ROWS: Final = 3000
MANY: Final = 1000
# The server's work and the wire, no Python rows: psycopg has the whole result once
# execute returns, and builds rows only when they are fetched.
FLOOR: Final = "execute only, no rows built (floor)"

# The throwaway package: what a plain get-by-id and list look like when generated.
QUERIES: Final = """-- name: GetConnectionLog :one
SELECT * FROM connection_logs WHERE id = @id;

-- name: ListConnectionLogs :many
SELECT * FROM connection_logs ORDER BY connect_time DESC, id DESC LIMIT @row_limit;
"""
# The same statements as a person writes them for psycopg.
GET_BY_ID: Final = "SELECT * FROM connection_logs WHERE id = %s"
LIST: Final = "SELECT * FROM connection_logs ORDER BY connect_time DESC, id DESC LIMIT %s"

COPY: Final = """COPY connection_logs (
    id, connect_time, organization_id, workspace_owner_id, workspace_id, workspace_name,
    agent_name, type, ip, code, user_agent, user_id, slug_or_port, connection_id,
    disconnect_time, disconnect_reason
) FROM STDIN"""

Connection = psycopg.Connection[tuple[Any, ...]]


@dataclass(frozen=True, slots=True)
class OffsetRow:
    """A flat row of GetConnectionLogsOffset, for ``class_row``."""

    id: UUID
    connect_time: datetime
    organization_id: UUID
    workspace_owner_id: UUID
    workspace_id: UUID
    workspace_name: str
    agent_name: str
    type: str
    ip: IPv4Address | IPv6Address | None
    code: int | None
    user_agent: str | None
    user_id: UUID | None
    slug_or_port: str | None
    connection_id: UUID | None
    disconnect_time: datetime | None
    disconnect_reason: str | None
    user_username: str | None
    user_name: str | None
    user_email: str | None
    workspace_owner_username: str
    organization_name: str
    organization_display_name: str
    organization_icon: str


# The joined row as the other candidate types (nested like the generated one: a log and seven
# more columns). Type checking does not reach inside them: msgspec is optional here.
_LOG_FIELDS: Final = [f.name for f in dataclasses.fields(ConnectionLog)]
_ROW_FIELDS: Final = [f.name for f in dataclasses.fields(GetConnectionLogsOffsetRow)]
FrozenLog: Any = dataclasses.make_dataclass(
    "FrozenLog", _LOG_FIELDS, frozen=True, slots=True
)  # dataclass's own __init__: object.__setattr__ by name for each field
FrozenRow: Any = dataclasses.make_dataclass("FrozenRow", _ROW_FIELDS, frozen=True, slots=True)
TupleLog: Any = NamedTuple("TupleLog", [(name, Any) for name in _LOG_FIELDS])  # type: ignore[misc]
TupleRow: Any = NamedTuple("TupleRow", [(name, Any) for name in _ROW_FIELDS])  # type: ignore[misc]
try:
    # Through importlib: msgspec is no dependency, so mypy may find neither it nor its types.
    msgspec: Any = importlib.import_module("msgspec")

    StructLog: Any = msgspec.defstruct("StructLog", _LOG_FIELDS, frozen=True)
    StructRow: Any = msgspec.defstruct("StructRow", _ROW_FIELDS, frozen=True)
except ImportError:  # not a dependency: pip install msgspec to see it
    StructLog = StructRow = None


def nested(row_class: Any, log_class: Any, enum_column: str) -> Callable[[Any], list[Any]]:
    """Build the joined rows from tuple rows as ``row_class`` holding a ``log_class``."""

    def build(rows: list[tuple[Any, ...]]) -> list[Any]:
        return [
            row_class(
                log_class(
                    *row[:7],
                    enum_label(ConnectionType, row[7], enum_column),
                    *row[8:16],
                ),
                *row[16:],
            )
            for row in rows
        ]

    return build


def by_slot_setters(row_class: Any, log_class: Any, enum_column: str) -> Callable[[Any], list[Any]]:
    """The joined rows as the loaders built them before ``_runtime.builder`` (straight-line, as
    they were generated): ``object.__new__``, then each slot set through its own setter."""
    log_slots = [vars(log_class)[name].__set__ for name in _LOG_FIELDS]
    row_slots = [vars(row_class)[name].__set__ for name in _ROW_FIELDS]

    def load(row: tuple[Any, ...]) -> Any:
        log = object.__new__(log_class)
        log_slots[0](log, row[0])
        log_slots[1](log, row[1])
        log_slots[2](log, row[2])
        log_slots[3](log, row[3])
        log_slots[4](log, row[4])
        log_slots[5](log, row[5])
        log_slots[6](log, row[6])
        log_slots[7](log, enum_label(ConnectionType, row[7], enum_column))
        log_slots[8](log, row[8])
        log_slots[9](log, row[9])
        log_slots[10](log, row[10])
        log_slots[11](log, row[11])
        log_slots[12](log, row[12])
        log_slots[13](log, row[13])
        log_slots[14](log, row[14])
        log_slots[15](log, row[15])
        built = object.__new__(row_class)
        row_slots[0](built, log)
        row_slots[1](built, row[16])
        row_slots[2](built, row[17])
        row_slots[3](built, row[18])
        row_slots[4](built, row[19])
        row_slots[5](built, row[20])
        row_slots[6](built, row[21])
        row_slots[7](built, row[22])
        return built

    return lambda rows: [load(row) for row in rows]


@dataclass(frozen=True, slots=True)
class Platform:
    """The rows connection logs point at."""

    org: UUID
    users: list[UUID]
    workspaces: list[tuple[UUID, UUID, str]]  # id, owner, name


def generate_package(tmp: Path, server_url: str) -> Any:
    """Generate the throwaway queries into ``tmp/pkg/benchgen``; return its query module."""
    queries = tmp / "queries"
    queries.mkdir()
    (queries / "bench.sql").write_text(QUERIES)
    out = tmp / "pkg" / "benchgen"
    command = [sys.executable, "-m", "connlog.codegen", "generate", "--migrations", str(MIGRATIONS)]
    command += ["--queries", str(queries), "--out", str(out), "--database", server_url]
    command += ["--no-warm"]  # a throwaway project: no warm generator left behind for it
    result = subprocess.run(command, cwd=tmp, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"codegen failed:\n{result.stdout}{result.stderr}")
    sys.path.insert(0, str(out.parent))
    return importlib.import_module("benchgen.bench")


def seed(conn: Connection, rng: random.Random) -> Platform:
    """An organization, users, workspaces and ``ROWS`` connection logs of every kind."""
    org = UUID(int=1)
    users = [UUID(int=100 + n) for n in range(10)]
    workspaces = [(UUID(int=1000 + n), users[n % len(users)], f"ws-{n}") for n in range(20)]
    with conn.transaction():
        conn.execute(
            "INSERT INTO organizations (id, name, display_name) VALUES (%s, 'acme', 'Acme')", [org]
        )
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO users (id, username, email) VALUES (%s, %s, %s)",
                [(u, f"user{n}", f"user{n}@example.com") for n, u in enumerate(users)],
            )
            cur.executemany(
                "INSERT INTO workspaces (id, owner_id, organization_id, name) "
                "VALUES (%s, %s, %s, %s)",
                [(w, owner, org, name) for w, owner, name in workspaces],
            )
            start = datetime(2025, 3, 1, tzinfo=UTC)
            with cur.copy(COPY) as copy:
                for _ in range(ROWS):
                    workspace, owner, name = rng.choice(workspaces)
                    kind = rng.choice(list(ConnectionType))
                    connected = start + timedelta(seconds=rng.uniform(0, 30 * 86400))
                    web = kind in (ConnectionType.WORKSPACE_APP, ConnectionType.PORT_FORWARDING)
                    ended = not web and rng.random() < 0.7
                    copy.write_row(
                        (
                            uuid4(),
                            connected,
                            org,
                            owner,
                            workspace,
                            name,
                            "main",
                            kind.value,
                            ip_address(f"10.0.{rng.randrange(256)}.{rng.randrange(256)}"),
                            200 if web else (0 if ended else None),
                            "Mozilla/5.0" if web else None,
                            rng.choice(users) if web else None,
                            "code-server" if web else None,
                            None if web else uuid4(),
                            connected + timedelta(minutes=5) if ended else None,
                            "client closed" if ended else None,
                        )
                    )
    conn.execute("ANALYZE")
    return Platform(org, users, workspaces)


def measure(
    variants: Sequence[tuple[str, Callable[[], object]]], *, calls: int, rounds: int
) -> dict[str, float]:
    """Median over ``rounds`` of the mean seconds per call in blocks of ``calls`` calls.

    The cyclic garbage collector is off inside a block (as in ``timeit``) and run
    between blocks, so its pauses land on no variant in particular.
    """
    for _, call in variants:  # warm-up: past prepare_threshold, caches filled
        for _ in range(max(calls, 10)):
            call()
    samples: dict[str, list[float]] = {label: [] for label, _ in variants}
    try:
        for round_ in range(rounds):
            shift = round_ % len(variants)
            for label, call in [*variants[shift:], *variants[:shift]]:
                gc.collect()
                gc.disable()
                started = time.perf_counter()
                for _ in range(calls):
                    call()
                samples[label].append((time.perf_counter() - started) / calls)
                gc.enable()
    finally:
        gc.enable()
    return {label: statistics.median(values) for label, values in samples.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=25)
    parser.add_argument("--markdown", type=Path, default=None)
    args = parser.parse_args()
    rng = random.Random(20250314)
    began = time.perf_counter()

    results: list[tuple[str, dict[str, float]]] = []
    with embedded.temporary_cluster(prefix="connlog-runtime-") as cluster:
        server_url = embedded.ensure_running(cluster)
        tmp = cluster.base.parent  # the throwaway package goes with the cluster's directory
        bench = generate_package(tmp, server_url)
        get_connection_log: Callable[..., ConnectionLog | None] = bench.get_connection_log
        list_connection_logs: Callable[..., list[ConnectionLog]] = bench.list_connection_logs
        with (
            scratch.migrated_database(server_url, MIGRATIONS, prefix="bench_runtime") as url,
            psycopg.connect(url, autocommit=True) as conn,
            psycopg.connect(url, autocommit=True) as enum_conn,
        ):
            # The enum loaded by psycopg itself, once per connection.
            info = EnumInfo.fetch(enum_conn, "connection_type")
            assert info is not None
            # By label: psycopg maps members by name by default.
            register_enum(
                info, enum_conn, ConnectionType, mapping={m: m.value for m in ConnectionType}
            )
            platform = seed(conn, rng)
            ids = [row[0] for row in conn.execute("SELECT id FROM connection_logs")]
            key = rng.choice(ids)

            server_version = conn.info.server_version
            as_log = class_row(ConnectionLog)
            as_flat = class_row(OffsetRow)

            # A fresh cursor per call, as the generated functions and conn.execute do.
            one = [
                ("generated get_connection_log", lambda: get_connection_log(conn, id=key)),
                ("hand-written, tuple rows", lambda: conn.execute(GET_BY_ID, [key]).fetchone()),
                (FLOOR, lambda: conn.execute(GET_BY_ID, [key])),
                (
                    "hand-written, class_row(ConnectionLog)",
                    lambda: conn.cursor(row_factory=as_log).execute(GET_BY_ID, [key]).fetchone(),
                ),
                (
                    "hand-written, dict_row",
                    lambda: conn.cursor(row_factory=dict_row).execute(GET_BY_ID, [key]).fetchone(),
                ),
            ]
            results.append((":one by primary key", measure(one, calls=200, rounds=args.rounds)))

            many = [
                (
                    "generated list_connection_logs",
                    lambda: list_connection_logs(conn, row_limit=MANY),
                ),
                ("hand-written, tuple rows", lambda: conn.execute(LIST, [MANY]).fetchall()),
                (FLOOR, lambda: conn.execute(LIST, [MANY])),
                (
                    "hand-written, class_row(ConnectionLog)",
                    lambda: conn.cursor(row_factory=as_log).execute(LIST, [MANY]).fetchall(),
                ),
                (
                    "hand-written, dict_row",
                    lambda: conn.cursor(row_factory=dict_row).execute(LIST, [MANY]).fetchall(),
                ),
            ]
            results.append(
                (f":many, {MANY} rows, one table", measure(many, calls=2, rounds=args.rounds))
            )

            offset_params = (None,) * 13 + (MANY, 0)

            def offset_tuples(connection: Connection = conn) -> list[tuple[Any, ...]]:
                cursor = psycopg.RawCursor(connection)
                return cursor.execute(GET_CONNECTION_LOGS_OFFSET, offset_params).fetchall()

            label = "connection_logs.type of query GetConnectionLogsOffset"
            as_frozen = nested(FrozenRow, FrozenLog, label)
            as_tuples = nested(TupleRow, TupleLog, label)
            as_slots = by_slot_setters(FrozenRow, FrozenLog, label)
            as_structs = None if StructLog is None else nested(StructRow, StructLog, label)

            joined = [
                (
                    "generated get_connection_logs_offset",
                    lambda: get_connection_logs_offset(conn, limit=MANY),
                ),
                (
                    "hand-written, tuple rows",
                    lambda: (
                        psycopg.RawCursor(conn)
                        .execute(GET_CONNECTION_LOGS_OFFSET, offset_params)
                        .fetchall()
                    ),
                ),
                (
                    FLOOR,
                    lambda: psycopg.RawCursor(conn).execute(
                        GET_CONNECTION_LOGS_OFFSET, offset_params
                    ),
                ),
                (
                    "hand-written, class_row(flat dataclass)",
                    lambda: (
                        psycopg.RawCursor(conn, row_factory=as_flat)
                        .execute(GET_CONNECTION_LOGS_OFFSET, offset_params)
                        .fetchall()
                    ),
                ),
                (
                    "hand-written, dict_row",
                    lambda: (
                        psycopg.RawCursor(conn, row_factory=dict_row)
                        .execute(GET_CONNECTION_LOGS_OFFSET, offset_params)
                        .fetchall()
                    ),
                ),
                (
                    "frozen dataclass, dataclass's __init__ (the rows before)",
                    lambda: as_frozen(offset_tuples()),
                ),
                (
                    "frozen dataclass, slot setters (the loaders before)",
                    lambda: as_slots(offset_tuples()),
                ),
                ("typing.NamedTuple rows", lambda: as_tuples(offset_tuples())),
                *(
                    [("msgspec.Struct(frozen=True) rows", lambda: as_structs(offset_tuples()))]
                    if as_structs is not None
                    else []
                ),
                (
                    # psycopg loads the enum; the row's look-up of the label still runs.
                    "generated, on a connection with register_enum",
                    lambda: get_connection_logs_offset(enum_conn, limit=MANY),
                ),
            ]
            results.append(
                (
                    f":many, {MANY} rows, 3 joins, 23 columns",
                    measure(joined, calls=1, rounds=args.rounds),
                )
            )

            events = iter(range(10**9))
            connected = datetime(2025, 4, 1, tzinfo=UTC)

            def event() -> dict[str, Any]:
                # A new web event each call: a plain insert through the upsert.
                n = next(events)
                workspace, owner, name = platform.workspaces[n % len(platform.workspaces)]
                return {
                    "type": ConnectionType.WORKSPACE_APP,
                    "id": uuid4(),
                    "workspace_id": workspace,
                    "agent_name": "main",
                    "time": connected + timedelta(microseconds=n),
                    "organization_id": platform.org,
                    "workspace_owner_id": owner,
                    "workspace_name": name,
                    "ip": IPv4Address("10.1.2.3"),
                    "connection_status": ConnectionStatus.CONNECTED,
                    "code": 200,
                    "user_agent": "Mozilla/5.0",
                    "user_id": platform.users[n % len(platform.users)],
                    "slug_or_port": "code-server",
                }

            def handwritten_upsert() -> object:
                e = event()
                params = (
                    e["type"],
                    None,
                    e["id"],
                    e["workspace_id"],
                    e["agent_name"],
                    e["time"],
                    e["organization_id"],
                    e["workspace_owner_id"],
                    e["workspace_name"],
                    e["ip"],
                    e["connection_status"],
                    e["code"],
                    e["user_agent"],
                    e["user_id"],
                    e["slug_or_port"],
                    None,
                )
                with psycopg.RawCursor(conn) as cur:
                    return cur.execute(UPSERT_CONNECTION_LOG, params).fetchone()

            insert = [
                (
                    "generated upsert_connection_log",
                    lambda: upsert_connection_log(conn, **event()),
                ),
                ("hand-written, tuple rows", handwritten_upsert),
            ]
            results.append(
                (
                    "insert: UpsertConnectionLog (a new row, autocommit)",
                    measure(insert, calls=50, rounds=args.rounds),
                )
            )
    elapsed = time.perf_counter() - began

    lines = [
        f"Median µs per call over {args.rounds} rounds (Python {sys.version.split()[0]}, "
        f"psycopg {psycopg.__version__} ({psycopg.pq.__impl__}), PostgreSQL "
        f"{server_version // 10000}.{server_version % 10000}, {os.cpu_count()} CPUs, "
        "local TCP, prepared statements for all):",
        "",
        "| case | variant | µs/call | vs tuple rows | µs over tuple rows |",
        "|---|---|---:|---:|---:|",
    ]
    for case, timings in results:
        baseline = timings["hand-written, tuple rows"]
        for label, seconds in timings.items():
            lines.append(
                f"| {case} | {label} | {seconds * 1e6:,.1f} | {seconds / baseline:.2f}x "
                f"| {(seconds - baseline) * 1e6:+,.1f} |"
            )
    lines += ["", f"Total run time: {elapsed:.1f} s."]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.markdown is not None:
        args.markdown.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
