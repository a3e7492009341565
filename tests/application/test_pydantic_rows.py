"""pydantic (and so FastAPI) accepts every generated row class, JSON columns included.

Rows are frozen dataclasses; pydantic validates and dumps them as they are. The one supported
way to turn a row into JSON is pydantic's: ``TypeAdapter(Row).dump_json(row)`` (FastAPI does
this for a response model). ``json.dumps(dataclasses.asdict(row))`` is not: the standard
library's encoder knows no UUID, datetime, ip address or Decimal.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb
from pydantic import PydanticSchemaGenerationError, TypeAdapter

from connlog.generated.connection_logs import GetConnectionLogsOffsetRow, get_connection_logs_offset
from connlog.generated.models import AuditAction, AuditLog, JsonValue
from tests.conftest import REPO_ROOT

PACKAGES = ["generated"] + [
    f"tests.cases.{case.parent.name}.expected"
    for case in sorted((REPO_ROOT / "tests" / "cases").glob("*/expected"))
]


def _row_classes(package: str) -> list[type[Any]]:
    """Every dataclass a package's modules define (models, rows, parameter rows)."""
    folder = REPO_ROOT / Path(*package.split("."))
    classes: dict[str, type[Any]] = {}
    for path in sorted(folder.rglob("*.py")):
        module = importlib.import_module(
            ".".join([package, *path.relative_to(folder).with_suffix("").parts])
        )
        for name, value in vars(module).items():
            defined_here = getattr(value, "__module__", None) == module.__name__
            if isinstance(value, type) and dataclasses.is_dataclass(value) and defined_here:
                classes[f"{value.__module__}.{name}"] = value
    return list(classes.values())


@pytest.mark.parametrize("package", PACKAGES)
def test_pydantic_builds_a_validator_and_schema_for_every_row_class(package: str) -> None:
    classes = _row_classes(package)
    assert classes, f"{package} defines no row classes"
    for cls in classes:
        if any("Range[" in str(f.type) for f in dataclasses.fields(cls)):
            # psycopg's Range and Multirange (range columns) are not pydantic types: such a
            # row is for Python callers; an API converts it (the type table says so).
            with pytest.raises(PydanticSchemaGenerationError, match=r"psycopg\.types"):
                TypeAdapter(cls)
            continue
        adapter = TypeAdapter(cls)
        assert adapter.json_schema()["type"] == "object", cls


def test_listing_rows_round_trip_through_pydantic_json(db: psycopg.Connection[Any]) -> None:
    for fixture in sorted((REPO_ROOT / "tests" / "fixtures").glob("*.sql")):
        db.execute(fixture.read_bytes())
    rows = get_connection_logs_offset(db, limit=50)
    assert rows
    adapter = TypeAdapter(list[GetConnectionLogsOffsetRow])
    assert adapter.validate_json(adapter.dump_json(rows)) == rows
    with pytest.raises(TypeError, match="not JSON serializable"):
        json.dumps(dataclasses.asdict(rows[0]))


def test_json_columns_round_trip(db: psycopg.Connection[Any]) -> None:
    for fixture in sorted((REPO_ROOT / "tests" / "fixtures").glob("*.sql")):
        db.execute(fixture.read_bytes())
    diff: JsonValue = {"name": ["old", "new"], "nested": {"n": 1.5, "ok": True, "none": None}}
    db.execute("UPDATE audit_logs SET diff = %s, additional_fields = %s", [Jsonb(diff), Jsonb([1])])
    # Built by name from the model's own fields: an added column cannot shift anything.
    columns = sql.SQL(", ").join(sql.Identifier(f.name) for f in dataclasses.fields(AuditLog))
    with db.cursor(row_factory=dict_row) as cur:
        cur.execute(sql.SQL("SELECT {} FROM audit_logs LIMIT 1").format(columns))
        stored = cur.fetchone()
    assert stored is not None
    row = AuditLog(**{**stored, "action": AuditAction(stored["action"])})  # psycopg reads a str
    assert row.diff == diff
    adapter = TypeAdapter(AuditLog)
    assert adapter.validate_json(adapter.dump_json(row)) == row


def test_identical_results_are_one_class() -> None:
    """The plain and authorized listings return rows of one class, whatever name is used."""
    from connlog.generated import connection_logs as queries

    assert (
        queries.GetConnectionLogsOffsetRow
        is queries.GetConnectionLogsPageRow
        is queries.GetAuthorizedConnectionLogsOffsetRow
        is queries.GetAuthorizedConnectionLogsPageRow
    )
