"""Soundness, by running it: a value the generated types call not null is never NULL.

For every golden case with generated code and for the repository itself, the committed
manifest (``analysis.json``, what the generated types are built from) is checked against
PostgreSQL: the tables are filled with random rows, NULLs in every nullable column and
NULL elements in arrays, every query runs with random parameters (None where the
generated signature accepts it), and each result is held to what the manifest claims:

- a column not ``nullable`` holds no NULL;
- an array column not ``element_nullable`` holds no NULL element;
- a query whose ``row_is_certain`` (``:one`` returning ``Row``) returns exactly one row.

Values are drawn from small pools (so joins and ``WHERE x = @x`` meet), sent in text form
with unknown types (the server parses them as the type it described), and foreign keys
are off (``session_replication_role = replica``) so that any row may reference any other.
A statement the random values make fail (a unique or check violation) is rolled back to
its savepoint and skipped; every query must still succeed at least once. Each query's own
changes are rolled back after it is checked, so every query sees the random rows.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from psycopg.adapt import Transformer
from psycopg.pq import ExecStatus, Format

from connlog.codegen.analysis import cache
from connlog.codegen.database import scratch
from connlog.codegen.model import Analysis, AnalyzedQuery, PgType
from tests.codegen.conftest import CASES
from tests.conftest import MIGRATIONS_DIR, REPO_ROOT, start_server

# (name, migrations, manifest) of every compiled golden case, and the repository's.
TARGETS = [
    (case.name, case / "migrations", case / "expected" / cache.MANIFEST_FILE)
    for case in sorted(CASES.iterdir())
    if (case / "expected" / cache.MANIFEST_FILE).is_file()
] + [("queries", MIGRATIONS_DIR, REPO_ROOT / "generated" / cache.MANIFEST_FILE)]

ROWS_PER_TABLE = 6
RUNS_PER_QUERY = 3

_UUIDS = (
    "00000000-0000-0000-0000-000000000001",
    "00000000-0000-0000-0000-000000000002",
    "7f2c1d3e-0000-4000-8000-000000000003",
)
_TIMESTAMPS = ("2024-01-01 00:00:00+00", "2024-06-01 12:30:00+00", "infinity", "-infinity")
# Text forms by type name; "" is a value too (the empty string), never NULL.
_POOLS: dict[str, tuple[str, ...]] = {
    "int2": ("0", "1", "2", "-1"),
    "int4": ("0", "1", "2", "-1"),
    "int8": ("0", "1", "2", "-1"),
    "oid": ("0", "1", "2"),
    "numeric": ("0", "1.5", "-2", "NaN"),
    "float4": ("0", "1.5", "-1", "NaN"),
    "float8": ("0", "1.5", "-1", "Infinity"),
    "text": ("", "a", "b", "A", "xx"),
    "varchar": ("", "a", "b"),
    "bpchar": ("a", "b"),
    "char": ("a", "b"),
    "name": ("a", "b"),
    "citext": ("a", "A"),
    "bool": ("t", "f"),
    "uuid": _UUIDS,
    "timestamptz": _TIMESTAMPS,
    "timestamp": ("2024-01-01 00:00:00", "infinity"),
    "date": ("2024-01-01", "infinity"),
    "time": ("12:00", "00:00"),
    "timetz": ("12:00+00",),
    "interval": ("0", "1 day", "-1 hour"),
    "bytea": ("\\x", "\\x00ff"),
    "json": ("null", "{}", '{"a": null}', "[1, null]", '"a"'),
    "jsonb": ("null", "{}", '{"a": null}', "[1, null]", '"a"'),
    "inet": ("10.0.0.1", "::1", "10.0.0.0/8"),
    "cidr": ("10.0.0.0/8", "::/0"),
    "int4range": ("empty", "[1,3)", "(,5)", "(,)"),
    "int8range": ("empty", "[1,3)", "(,)"),
    "numrange": ("empty", "[1.5,2)", "(,)"),
    "daterange": ("empty", "[2024-01-01,2024-02-01)", "(,)"),
    "tsrange": ("empty", "(,)"),
    "tstzrange": ("empty", "(,)"),
    "bit": ("101", "000"),
    "varbit": ("", "1", "10110"),
    "point": ("(0,0)", "(1.5,-2)"),
    "lseg": ("[(0,0),(1,1)]",),
    "line": ("{1,-1,0}",),
    "box": ("(1,1),(0,0)",),
    "path": ("((0,0),(1,0),(1,1))", "[(0,0),(1,1)]"),
    "polygon": ("((0,0),(1,0),(1,1))",),
    "circle": ("<(0,0),2>", "<(1,1),0>"),
    "hstore": ("", '"a"=>"1"', '"a"=>NULL'),
    "ltree": ("", "top", "top.science"),
}


@dataclass
class Findings:
    """What the runs saw: claims broken, and which queries ever succeeded."""

    broken: list[str] = field(default_factory=list[str])
    succeeded: set[str] = field(default_factory=set[str])
    with_rows: set[str] = field(default_factory=set[str])  # returned at least one row


def _base(pg: PgType) -> PgType:
    while pg.base is not None:
        pg = pg.base
    return pg


def _value(pg: PgType, rng: random.Random, nullable: bool, nulls: float = 0.5) -> str | None:
    """A text-form value of ``pg``: NULL with probability ``nulls`` when ``nullable``."""
    if nullable and rng.random() < nulls:
        return None
    pg = _base(pg)
    if pg.element is not None:
        # Any array may hold NULL elements, whatever its column says. Two of them, always:
        # array_agg of arrays rejects empty ones and mixed lengths.
        items = [_value(pg.element, rng, True, nulls) for _ in range(2)]
        quoted = ("NULL" if i is None else '"' + i.replace("\\", "\\\\").replace('"', '\\"') + '"'
                  for i in items)  # fmt: skip
        return "{" + ",".join(quoted) + "}"
    if pg.fields:
        # A composite: any attribute may be NULL, whatever the column says of the value.
        fields = [_value(f.type, rng, True, nulls) for f in pg.fields]
        quoted = ("" if f is None else '"' + f.replace("\\", "\\\\").replace('"', '\\"') + '"'
                  for f in fields)  # fmt: skip
        return "(" + ",".join(quoted) + ")"
    if pg.enum_labels:
        return rng.choice(pg.enum_labels)
    pool = _POOLS.get(pg.name)
    return rng.choice(pool) if pool else None


class Database:
    """A raw libpq connection: text-form parameters of unknown type, one savepoint each."""

    def __init__(self, conn: psycopg.Connection[tuple[object, ...]]) -> None:
        self.pgconn = conn.pgconn
        # Any array's text form parses as text[]: enough to find its NULL elements; any
        # composite's as a record of text fields.
        self.arrays = Transformer(conn).get_loader(1009, Format.TEXT)
        self.records = Transformer(conn).get_loader(2249, Format.TEXT)
        self.command("SET session_replication_role = replica")

    def command(self, statement: str) -> None:
        result = self.pgconn.exec_(statement.encode())
        assert result.status == ExecStatus.COMMAND_OK, result.error_message.decode()

    def run(
        self, statement: str, values: list[str | None], *, keep: bool = False
    ) -> list[list[bytes | None]] | None:
        """The rows of ``statement``, or None when it failed.

        It runs in a savepoint, rolled back after it unless ``keep``; the three are sent as
        one pipeline, so that a query setting the transaction's own limits (e.g.
        ``idle_in_transaction_session_timeout``) is undone before the server waits again.
        """
        pg = self.pgconn
        params = [None if v is None else v.encode() for v in values]
        end = b"RELEASE SAVEPOINT attempt" if keep else b"ROLLBACK TO SAVEPOINT attempt"
        pg.enter_pipeline_mode()
        pg.send_query_params(b"SAVEPOINT attempt", None)
        pg.send_query_params(statement.encode(), params, [0] * len(params))
        pg.send_query_params(end, None)
        pg.pipeline_sync()
        results: list[psycopg.pq.abc.PGresult] = []
        while (result := pg.get_result()) is None or result.status != ExecStatus.PIPELINE_SYNC:
            if result is not None:
                results.append(result)
        pg.exit_pipeline_mode()
        _, outcome, ended = results
        if outcome.status not in (ExecStatus.TUPLES_OK, ExecStatus.COMMAND_OK):
            self.command("ROLLBACK TO SAVEPOINT attempt")  # the pipeline skipped its end
            return None
        assert ended.status == ExecStatus.COMMAND_OK, ended.error_message.decode()
        return [
            [outcome.get_value(row, col) for col in range(outcome.nfields)]
            for row in range(outcome.ntuples)
        ]

    def null_element(self, text: bytes) -> bool:
        def walk(items: object) -> Iterator[object]:
            for item in items if isinstance(items, list) else [items]:
                if isinstance(item, list):
                    yield from walk(item)
                else:
                    yield item

        return any(item is None for item in walk(self.arrays.load(text)))

    def broken_fields(self, pg: PgType, text: bytes, where: str) -> Iterator[str]:
        """Where a value of ``pg`` breaks its composite attributes' claims (and nested ones)."""
        pg = _base(pg)
        if pg.element is not None:
            for item in self.arrays.load(text):
                if isinstance(item, str):
                    yield from self.broken_fields(pg.element, item.encode(), f"{where}[]")
            return
        if not pg.fields:
            return
        for attribute, value in zip(pg.fields, self.records.load(text), strict=True):
            inner = f"{where}.{attribute.name}"
            if value is None and not attribute.nullable:
                yield f"{inner} is NULL"
            elif isinstance(value, str):
                yield from self.broken_fields(attribute.type, value.encode(), inner)


def _fill(db: Database, analysis: Analysis, rng: random.Random) -> None:
    for table in analysis.tables:
        names = ", ".join(f'"{c.name}"' for c in table.columns)
        places = ", ".join(f"${i + 1}" for i in range(len(table.columns)))
        insert = (
            f'INSERT INTO "{table.schema}"."{table.name}" ({names}) '
            f"OVERRIDING SYSTEM VALUE VALUES ({places})"
        )
        for _ in range(ROWS_PER_TABLE):
            db.run(insert, [_value(c.type, rng, c.nullable) for c in table.columns], keep=True)


def _check(db: Database, query: AnalyzedQuery, rng: random.Random, found: Findings) -> None:
    # Mostly NULL (every optional filter off), half, or hardly any (arrays of NOT NULL values).
    nulls = rng.choice((0.05, 0.5, 0.95))
    values = [_value(p.type, rng, p.nullable, nulls) for p in query.params]
    rows = db.run(query.sql, values)
    if rows is None:
        return
    found.succeeded.add(query.name)
    if rows:
        found.with_rows.add(query.name)
    where = f"{query.source}: {query.name} with {values}"
    if query.row_is_certain and len(rows) != 1:
        found.broken.append(f"{where}: certain of one row, got {len(rows)}")
    for row in rows:
        for column, value in zip(query.columns, row, strict=True):
            if value is None and not column.nullable:
                found.broken.append(f"{where}: column {column.name!r} is NULL")
            elif (
                value is not None
                and _base(column.type).element is not None
                and not column.element_nullable
                and db.null_element(value)
            ):
                found.broken.append(f"{where}: column {column.name!r} has a NULL element")
            if value is not None:
                found.broken.extend(db.broken_fields(column.type, value, f"{where}: {column.name}"))


@pytest.mark.parametrize(("name", "migrations", "manifest"), TARGETS, ids=[t[0] for t in TARGETS])
def test_not_null_claims_hold_on_random_rows(name: str, migrations: Path, manifest: Path) -> None:
    analysis = cache.loads(manifest.read_text()).analysis
    found = _run(analysis, migrations)
    assert not found.broken, "\n".join(found.broken)
    never = sorted({q.name for q in analysis.queries} - found.succeeded)
    assert not never, f"{name}: these queries never ran on the random rows: {never}"
    # The claims were tested on rows, not vacuously: every row-returning query returned some.
    empty = sorted({q.name for q in analysis.queries if q.columns} - found.with_rows)
    assert not empty, f"{name}: these queries never returned a row: {empty}"


def test_a_false_claim_of_a_composite_attribute_is_found() -> None:
    """The check can fail: a manifest claiming money_amount's cents not NULL is caught."""
    case = CASES / "composite_types"
    analysis = cache.loads((case / "expected" / cache.MANIFEST_FILE).read_text()).analysis

    def claim(pg: PgType) -> PgType:
        if pg.name == "money_amount":
            return replace(pg, fields=tuple(replace(f, nullable=False) for f in pg.fields))
        return replace(pg, element=claim(pg.element)) if pg.element is not None else pg

    queries = tuple(
        replace(q, columns=tuple(replace(c, type=claim(c.type)) for c in q.columns))
        for q in analysis.queries
    )
    found = _run(replace(analysis, queries=queries), case / "migrations")
    assert any(".cents is NULL" in broken for broken in found.broken), found.broken


def _run(analysis: Analysis, migrations: Path) -> Findings:
    """What running ``analysis``'s queries on random rows of ``migrations`` finds."""
    found = Findings()
    with (
        scratch.migrated_database(start_server(), migrations, prefix="codegen_sound") as url,
        psycopg.connect(url, autocommit=True) as conn,
    ):
        db = Database(conn)

        @settings(
            max_examples=20,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=[HealthCheck.too_slow],
        )
        @given(st.integers(min_value=0, max_value=2**32))
        def examples(seed: int) -> None:
            rng = random.Random(seed)
            db.command("BEGIN")
            try:
                _fill(db, analysis, rng)
                for _ in range(RUNS_PER_QUERY):
                    for query in analysis.queries:
                        _check(db, query, rng, found)
            finally:
                db.command("ROLLBACK")

        examples()
    return found
