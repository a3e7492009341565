"""A generated module imports exactly the names its text uses: ``imports.Namespace``."""

from __future__ import annotations

import pytest

from connlog.codegen.model import CodegenErrors
from connlog.codegen.python.forms import ModelsModule, RowClass
from connlog.codegen.python.imports import Namespace, free_names
from connlog.codegen.python.plan.namespace import namespace
from connlog.codegen.python.types import Override

MODULE = """
import psycopg

GET: Final = "SELECT 1"


class GetRow:
    id: UUID
    at: datetime | None


def get(conn: psycopg.Connection[object], *, date: date, row_id: int = LIMIT) -> GetRow:
    row = _fetch(conn, GET, (date,))
    values = [Jsonb(x) for x in row]

    def inner() -> None:
        print(values, row_id)

    inner()
    return cast("GetRow | Decimal", _load(row))
"""


def test_free_names_are_what_the_module_reads_and_does_not_define() -> None:
    # Parameters and locals (row, values, x, inner) are the function's own, closures
    # included; annotations and defaults are read from the module, and so is cast's string.
    assert free_names(MODULE) == {
        "Final", "UUID", "datetime", "date", "int", "object", "LIMIT", "_fetch", "Jsonb",
        "print", "cast", "Decimal", "_load",
    }  # fmt: skip


def test_a_module_imports_only_the_names_it_uses() -> None:
    names = Namespace.of(
        [
            ("typing", "Final"),
            ("typing", "cast"),
            ("typing", "Any"),  # unused: not imported
            ("uuid", "UUID"),
            ("datetime", "datetime"),
            ("datetime", "date"),
            ("decimal", "Decimal"),
            ("psycopg.types.json", "Jsonb"),
            ("._runtime", "fetch as _fetch"),
            ("._runtime", "load as _load"),
            (".models", "LIMIT"),
        ],
        always=[(".sync", "Exported as Exported")],
    )
    assert names.imports(MODULE) == (
        "from ._runtime import fetch as _fetch, load as _load",
        "from .models import LIMIT",
        "from .sync import Exported as Exported",
        "from datetime import date, datetime",
        "from decimal import Decimal",
        "from psycopg.types.json import Jsonb",
        "from typing import Final, cast",
        "from uuid import UUID",
    )


def test_a_name_nothing_imports_is_a_generator_bug_not_a_broken_module() -> None:
    with pytest.raises(AssertionError, match=r"\['Jsonb', '_fetch'"):
        Namespace.of([("typing", "Final")]).imports("x: Final = _fetch(Jsonb(1))\n")


def _models(*tables: str) -> ModelsModule:
    return ModelsModule("models.py", "migrations", (), tuple(RowClass(t, "", ()) for t in tables))


def test_overrides_and_models_names_are_in_the_namespace() -> None:
    names = dict(
        namespace(_models("Invoice"), {"tsvector": Override("mylib.Vec", load="mylib.parse")}).names
    )
    assert names["Vec"] == ("mylib", "Vec")
    assert names["parse"] == ("mylib", "parse")
    assert names["Invoice"] == (".models", "Invoice")
    assert names["UUID"] == ("uuid", "UUID")


def test_an_override_shadowing_a_name_of_the_generated_code_is_an_error() -> None:
    with pytest.raises(CodegenErrors) as caught:
        namespace(_models("Invoice"), {"uuid": Override("myapp.ids.UUID")})
    (error,) = caught.value.errors
    assert error.message == (
        "override 'uuid': 'myapp.ids.UUID' would be imported as 'UUID', "
        "a name the generated code already imports from 'uuid'"
    )
    with pytest.raises(CodegenErrors, match=r"'app\.Invoice' would be imported as 'Invoice'"):
        namespace(_models("Invoice"), {"money": Override("app.Invoice")})


def test_a_model_shadowing_a_name_of_the_generated_code_is_an_error() -> None:
    with pytest.raises(CodegenErrors) as caught:
        namespace(_models("Decimal", "Invoice"), {})
    (error,) = caught.value.errors
    assert (str(error.location), error.message) == (
        "migrations:1:1",
        "models.py would declare 'Decimal', a name the generated code imports from 'decimal'",
    )
