"""The type table and the naming rules, on plain dataclasses: no database."""

from __future__ import annotations

import pytest

from codegen.model import CodegenError, Location, PgType
from codegen.plan import singular
from codegen.types import class_name, python_type

WHERE = Location("queries/x.sql", 3, 1)


def _builtin(name: str, category: str = "S") -> PgType:
    return PgType(oid=1, name=name, schema="pg_catalog", category=category)


@pytest.mark.parametrize(
    ("pg", "annotation"),
    [
        ("int2", "int"),
        ("int4", "int"),
        ("int8", "int"),
        ("numeric", "Decimal"),
        ("float8", "float"),
        ("text", "str"),
        ("varchar", "str"),
        ("bpchar", "str"),
        ("bool", "bool"),
        ("uuid", "UUID"),
        ("timestamptz", "datetime"),
        ("timestamp", "datetime"),
        ("date", "date"),
        ("time", "time"),
        ("interval", "timedelta"),
        ("bytea", "bytes"),
        ("jsonb", "JsonValue"),
        ("inet", "IPv4Address | IPv6Address | IPv4Interface | IPv6Interface"),
        ("cidr", "IPv4Network | IPv6Network"),
    ],
)
def test_builtin_types(pg: str, annotation: str) -> None:
    assert python_type(_builtin(pg), where=WHERE).annotation == annotation


def test_json_parameters_are_wrapped() -> None:
    pytype = python_type(_builtin("jsonb"), where=WHERE)
    assert pytype.dump == "Jsonb({})"
    assert ("psycopg.types.json", "Jsonb") in pytype.dump_imports


def test_domain_is_its_base_and_array_is_a_list() -> None:
    domain = PgType(2, "positive", "public", "N", base=_builtin("int4"))
    array = PgType(3, "_positive", "public", "A", element=domain)
    assert python_type(array, where=WHERE).annotation == "list[int]"


def test_enums_and_enum_arrays() -> None:
    enum = PgType(4, "user_status", "public", "E", enum_labels=("active",))
    scalar = python_type(enum, where=WHERE)
    assert (scalar.annotation, scalar.load) == ("UserStatus", "UserStatus({})")
    array = python_type(PgType(5, "_user_status", "public", "A", element=enum), where=WHERE)
    assert array.annotation == "list[UserStatus]"
    assert array.enum_array == "UserStatus"


def test_unmapped_type_names_it_and_suggests_an_override() -> None:
    with pytest.raises(CodegenError) as caught:
        python_type(_builtin("tsvector"), where=WHERE, subject="column 'v' of query Q")
    assert "'pg_catalog.tsvector'" in caught.value.message
    assert caught.value.hint is not None and "[tool.codegen.types]" in caught.value.hint
    assert str(caught.value).startswith("queries/x.sql:3:1: error: column 'v' of query Q")


def test_override_maps_a_type() -> None:
    pytype = python_type(_builtin("tsvector"), where=WHERE, overrides={"tsvector": "mylib.Vec"})
    assert (pytype.annotation, pytype.imports) == ("Vec", frozenset({("mylib", "Vec")}))


@pytest.mark.parametrize(
    ("table", "model"),
    [
        ("connection_logs", "ConnectionLog"),
        ("users", "User"),
        ("policies", "Policy"),
        ("addresses", "Address"),
        ("statuses", "Status"),
        ("boxes", "Box"),
        ("access", "Access"),
        ("data", "Data"),
    ],
)
def test_table_model_names(table: str, model: str) -> None:
    assert class_name(singular(table)) == model
