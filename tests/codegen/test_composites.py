"""Composite types, compiled and run: a frozen dataclass each, registered by name per connection."""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import cast

import psycopg
import pytest

from connlog.codegen.database import migrate
from tests.codegen.conftest import (
    CASES,
    bound_queries,
    generate_case,
    import_generated,
    run_codegen,
)

CASE = CASES / "composite_types"


def test_composites_round_trip(fresh_package: Path, empty_db_url: str, flavor: str) -> None:
    assert generate_case(CASE, fresh_package).code == 0
    migrate.apply_all(empty_db_url, CASE / "migrations")
    models = import_generated(fresh_package, "models")
    money, item = models.MoneyAmount, models.LineItem
    with bound_queries(fresh_package, "queries", empty_db_url, flavor) as q:
        total = money("EUR", 1250)
        items = [item("a", money(None, 5), ["x", None], datetime.date(2024, 1, 1)), None]
        order = q.insert_order(id=1, total=total, refund=None, items=items)
        # Nested composites, arrays of them with a NULL element, NULL attributes.
        assert order == models.Order(1, total, None, items)
        q.insert_order(id=2, total=money(None, None), refund=money("", 0), items=[])
        row = q.get_total(id=2)
        assert row.total == money(None, None) and row.refund == money("", 0)
        assert row.cents is None
        assert [r.id for r in q.list_items()] == [1, 2]
        # A composite parameter, and one built by the query.
        assert q.find_by_total(total=total) == [1]
        assert q.make_amount(currency="USD", cents=3) == money("USD", 3)
        # Registered once, on the connection: its own queries load the dataclass too.
        conn = cast("psycopg.Connection[object] | psycopg.AsyncConnection[object]", q.conn)
        info = conn.adapters.types.get("public.money_amount")
        assert info is not None and getattr(info, "python_type", None) is money


def test_a_naive_datetime_in_a_composite_parameter_is_refused(
    fresh_package: Path, empty_db_url: str
) -> None:
    case = fresh_package.parent / "naive"
    (case / "migrations").mkdir(parents=True)
    (case / "migrations" / "0001_at.sql").write_text(
        "CREATE TYPE stamp AS (at timestamptz);\nCREATE TABLE t (s stamp);\n"
    )
    (case / "migrations" / "0001_at.rollback.sql").write_text("DROP TABLE t;\nDROP TYPE stamp;\n")
    (case / "queries.sql").write_text("-- name: Add :exec\nINSERT INTO t (s) VALUES (@s);\n")
    assert generate_case(case, fresh_package).code == 0
    migrate.apply_all(empty_db_url, case / "migrations")
    models = import_generated(fresh_package, "models")
    runtime = import_generated(fresh_package, "_runtime")
    with bound_queries(fresh_package, "queries", empty_db_url, "sync") as q:
        q.add(s=models.Stamp(datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC)))
        with pytest.raises(runtime.ArgumentError, match=r"Stamp\.at=.*with a time zone"):
            q.add(s=models.Stamp(datetime.datetime(2024, 1, 1)))


def test_a_drifted_composite_is_a_clear_error(
    fresh_package: Path, empty_db_url: str, flavor: str
) -> None:
    assert generate_case(CASE, fresh_package).code == 0
    migrate.apply_all(empty_db_url, CASE / "migrations")
    runtime = import_generated(fresh_package, "_runtime")
    with bound_queries(fresh_package, "queries", empty_db_url, flavor) as early:
        assert early.make_amount(currency="USD", cents=3).cents == 3
        with psycopg.connect(empty_db_url, autocommit=True) as admin:
            admin.execute("ALTER TYPE money_amount RENAME ATTRIBUTE cents TO amount")
        # Looked up once per connection: one that registered it reads on by position.
        assert early.make_amount(currency="USD", cents=4).cents == 4
    with (
        bound_queries(fresh_package, "queries", empty_db_url, flavor) as q,
        pytest.raises(runtime.CompositeDriftError) as caught,
    ):
        q.make_amount(currency="USD", cents=3)
    assert caught.value.composite == "public.money_amount"
    assert "(currency pg_catalog.text, amount pg_catalog.int8)" in str(caught.value)
    assert "not those of MoneyAmount (currency pg_catalog.text, cents pg_catalog.int8)" in str(
        caught.value
    )
    assert "regenerate" in str(caught.value)


def test_a_composite_created_again_under_an_open_connection_is_a_clear_error(
    fresh_package: Path, empty_db_url: str
) -> None:
    assert generate_case(CASE, fresh_package).code == 0
    migrate.apply_all(empty_db_url, CASE / "migrations")
    runtime = import_generated(fresh_package, "_runtime")
    with bound_queries(fresh_package, "queries", empty_db_url, "sync") as q:
        conn = cast("psycopg.Connection[object]", q.conn)
        conn.autocommit = True
        assert q.make_amount(currency="USD", cents=3).cents == 3
        # A new OID for the same name: the registration made for the old one no longer applies.
        conn.execute("DROP TABLE orders; DROP TYPE line_item; DROP TYPE money_amount")
        conn.execute("CREATE TYPE money_amount AS (currency text, cents int8)")
        with pytest.raises(runtime.CompositeDriftError, match="'amount' of query MakeAmount"):
            q.make_amount(currency="USD", cents=3)


def test_a_missing_composite_is_a_clear_error(fresh_package: Path, empty_db_url: str) -> None:
    assert generate_case(CASE, fresh_package).code == 0
    migrate.apply_all(empty_db_url, CASE / "migrations")
    runtime = import_generated(fresh_package, "_runtime")
    with psycopg.connect(empty_db_url, autocommit=True) as admin:
        admin.execute("DROP TABLE orders; DROP TYPE line_item; DROP TYPE money_amount")
    with (
        bound_queries(fresh_package, "queries", empty_db_url, "sync") as q,
        pytest.raises(runtime.CompositeDriftError, match="does not exist in the database"),
    ):
        q.make_amount(currency="USD", cents=3)


def test_an_override_of_a_type_only_a_composite_uses_applies_there(tmp_path: Path) -> None:
    (tmp_path / "migrations").mkdir()
    (tmp_path / "migrations" / "0001_t.sql").write_text("CREATE TYPE span AS (d interval);\n")
    (tmp_path / "migrations" / "0001_t.rollback.sql").write_text("DROP TYPE span;\n")
    (tmp_path / "queries").mkdir()
    (tmp_path / "pyproject.toml").write_text(
        '[tool.codegen]\nmigrations = "migrations"\nqueries = "queries"\nout = "out"\n'
        '[tool.codegen.overrides]\n"interval" = "datetime.timedelta"\n'
    )
    result = run_codegen("generate", cwd=tmp_path)
    assert result.code == 0, result.stderr
    assert "    d: timedelta | None\n" in (tmp_path / "out" / "models.py").read_text()


def test_enum_attributes_load_as_members_and_a_new_label_is_drift(
    fresh_package: Path, empty_db_url: str, flavor: str
) -> None:
    assert generate_case(CASE, fresh_package).code == 0
    migrate.apply_all(empty_db_url, CASE / "migrations")
    models = import_generated(fresh_package, "models")
    runtime = import_generated(fresh_package, "_runtime")
    mood, feeling = models.Mood, models.Feeling
    with bound_queries(fresh_package, "queries", empty_db_url, flavor) as q:
        q.add_person(id=1, feeling=feeling(mood.HAPPY, [mood.SAD, None]))
        q.add_person(id=2, feeling=feeling(None, None))
        got = q.get_feeling(id=1)
        assert got == feeling(mood.HAPPY, [mood.SAD, None])
        assert type(got.mood) is mood and type(got.moods[0]) is mood
        assert q.get_feeling(id=2) == feeling(None, None)
    with psycopg.connect(empty_db_url, autocommit=True) as admin:
        admin.execute("ALTER TYPE mood ADD VALUE 'so-so'")
        admin.execute("UPDATE people SET feeling = ROW('so-so', NULL) WHERE id = 2")
    with (
        bound_queries(fresh_package, "queries", empty_db_url, flavor) as q,
        pytest.raises(runtime.EnumDriftError, match=r"public\.feeling\.mood holds 'so-so'"),
    ):
        q.get_feeling(id=2)
