"""The type table and the naming rules, on plain dataclasses: no database."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from connlog.codegen.model import CodegenError, CompositeField, Location, PgType
from connlog.codegen.python.names import class_name, singular
from connlog.codegen.python.types import (
    AWARE_GUARD,
    DATE_GUARD,
    ENUM_GUARD,
    NAIVE_GUARD,
    Guard,
    Override,
    python_type,
)

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
        ("inet", "Inet"),
        ("cidr", "Cidr"),
    ],
)
def test_builtin_types(pg: str, annotation: str) -> None:
    assert python_type(_builtin(pg), where=WHERE).annotation == annotation


def test_json_parameters_are_wrapped() -> None:
    pytype = python_type(_builtin("jsonb"), where=WHERE)
    assert pytype.dump == "Jsonb({})"


def test_domain_is_its_base_and_an_array_of_one_is_refused() -> None:
    domain = PgType(2, "positive", "public", "N", base=_builtin("int4"))
    assert python_type(domain, where=WHERE).annotation == "int"
    # psycopg has no loader for the array type of a domain (or of an extension's type): its
    # values would arrive as their text form, '{1,2}', typed as lists.
    for element in (domain, PgType(6, "citext", "public", "S")):
        array = PgType(3, f"_{element.name}", "public", "A", element=element)
        with pytest.raises(CodegenError, match=r"an array psycopg has no loader for"):
            python_type(array, where=WHERE)


def test_enums_and_enum_arrays() -> None:
    enum = PgType(4, "user_status", "public", "E", enum_labels=("active",))
    scalar = python_type(enum, where=WHERE)
    # Loaded by the runtime's enum_label, whose error names the column (plan fills it in).
    assert (scalar.annotation, scalar.load) == (
        "UserStatus",
        "_enum_label(UserStatus, {}, __column__)",
    )
    array = python_type(PgType(5, "_user_status", "public", "A", element=enum), where=WHERE)
    assert array.annotation == "list[UserStatus]"
    assert array.enum_array == "UserStatus"


def test_unmapped_type_names_it_and_suggests_an_override() -> None:
    with pytest.raises(CodegenError) as caught:
        python_type(_builtin("tsvector"), where=WHERE, subject="column 'v' of query Q")
    assert "'pg_catalog.tsvector'" in caught.value.message
    assert caught.value.hint is not None and "[tool.codegen.overrides]" in caught.value.hint
    assert str(caught.value).startswith("queries/x.sql:3:1: error: column 'v' of query Q")


def test_override_maps_a_type() -> None:
    overrides = {"tsvector": Override("mylib.Vec")}
    pytype = python_type(_builtin("tsvector"), where=WHERE, overrides=overrides)
    assert pytype.annotation == "Vec"
    assert (pytype.load, pytype.dump) == (None, None)


@dataclass(frozen=True, slots=True)
class _Source:
    table: str | None
    table_column: str | None


def test_column_override_composes_with_the_base_conversions() -> None:
    jsonb = _builtin("jsonb")
    overrides = {
        "docs.box": Override("app.geo.Box", load="app.geo.box_from_json", dump="app.geo.box_json"),
        "jsonb": Override("app.types.Meta"),
    }
    box = python_type(jsonb, where=WHERE, overrides=overrides, column=_Source("docs", "box"))
    assert box.annotation == "Box"
    assert box.load == "box_from_json({})"
    # Still wrapped in Jsonb after the override's own dump.
    assert box.dump == "Jsonb(box_json({}))"
    # Any other jsonb value: the type override, an annotation only.
    other = python_type(jsonb, where=WHERE, overrides=overrides, column=_Source("docs", "meta"))
    assert (other.annotation, other.load, other.dump) == ("Meta", None, "Jsonb({})")


def test_override_of_an_enum_loads_after_the_enum() -> None:
    enum = PgType(1, "exit_code", "public", "E", enum_labels=("ok", "failed"))
    overrides = {"exit_code": Override("app.Code", load="app.to_code", dump="builtins.str")}
    pytype = python_type(enum, where=WHERE, overrides=overrides)
    assert pytype.load == "to_code(_enum_label(ExitCode, {}, __column__))"
    assert pytype.dump == "str({})"
    array = python_type(
        PgType(2, "_int4", "pg_catalog", "A", element=_builtin("int4")),
        where=WHERE,
        overrides={"int4": Override("app.Id", load="app.Id")},
    )
    assert (array.annotation, array.load) == ("list[Id]", "[Id(x) for x in {}]")


def test_override_that_is_not_an_import_path() -> None:
    with pytest.raises(CodegenError, match="python = 'not a path' is not an import path"):
        python_type(_builtin("int4"), where=WHERE, overrides={"int4": Override("not a path")})


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


def test_guards_are_set_by_the_type_and_cleared_by_overrides() -> None:
    mood = PgType(5, "mood", "public", "E", enum_labels=("happy",))
    moods = PgType(6, "_mood", "public", "A", element=mood)
    assert python_type(mood, where=None).guard == Guard(ENUM_GUARD, "Mood")
    assert python_type(moods, where=None).guard == Guard(ENUM_GUARD, "Mood", each=True)
    assert python_type(_builtin("timestamptz"), where=None).guard == Guard(AWARE_GUARD)
    assert python_type(_builtin("timestamp"), where=None).guard == Guard(NAIVE_GUARD)
    assert python_type(_builtin("date"), where=None).guard == Guard(DATE_GUARD)
    # An override naming a class of the same name is still the override's business.
    same_name = {"mood": Override("myapp.Mood")}
    assert python_type(mood, where=None, overrides=same_name).guard is None
    assert python_type(moods, where=None, overrides=same_name).guard is None
    assert python_type(moods, where=None).parameter == "Sequence[Mood | MoodLabel | None]"
    assert python_type(mood, where=None).parameter == "Mood | MoodLabel"
    assert python_type(moods, where=None).annotation == "list[Mood]"


@pytest.mark.parametrize("name", ["ltree", "hstore", "citext", "lquery"])
def test_extension_types_are_their_text_form(name: str) -> None:
    # An extension installs base types into any schema; psycopg loads them as text.
    category = "S" if name == "citext" else "U"
    pg = PgType(oid=90001, name=name, schema="ext", category=category)
    assert python_type(pg, where=WHERE).annotation == "str"


def test_a_pseudo_type_or_a_tables_row_type_stays_an_error() -> None:
    for pg, why in (
        (PgType(oid=2249, name="record", schema="pg_catalog", category="P"), "no Python mapping"),
        # A table's row type has no fields recorded: its model's NOT NULL would be a lie.
        (PgType(oid=90002, name="users", schema="public", category="C"), "a table's row type"),
    ):
        with pytest.raises(CodegenError, match=why) as caught:
            python_type(pg, where=WHERE)
        assert caught.value.location == WHERE and caught.value.hint


_MONEY = PgType(
    90010,
    "money_amount",
    "public",
    "C",
    fields=(
        CompositeField("currency", _builtin("text")),
        CompositeField("cents", _builtin("int8", "N")),
    ),
)


def test_a_composite_is_its_dataclass_registered_with_the_types_it_nests() -> None:
    item = PgType(90011, "line_item", "public", "C", fields=(CompositeField("price", _MONEY),))
    items = PgType(90012, "_line_item", "public", "A", element=item)
    pytype = python_type(items, where=WHERE, element_nullable=True)
    assert pytype.annotation == "list[LineItem | None]"
    assert pytype.composites == ("MONEY_AMOUNT_COMPOSITE", "LINE_ITEM_COMPOSITE")
    assert pytype.load is not None and "_composite_value(LineItem, x, " in pytype.load
    # A type override keeps what psycopg loads, so the registration stays.
    overridden = python_type(_MONEY, where=WHERE, overrides={"money_amount": Override("m.Money")})
    assert overridden.annotation == "Money"
    assert overridden.composites == ("MONEY_AMOUNT_COMPOSITE",)


def test_a_composite_with_a_json_attribute_is_an_error_an_override_answers() -> None:
    mood = PgType(90013, "mood", "public", "E", enum_labels=("happy",))
    jsonb = _builtin("jsonb", "U")
    feeling = PgType(
        90014,
        "feeling",
        "public",
        "C",
        fields=(CompositeField("mood", mood), CompositeField("note", jsonb)),
    )
    with pytest.raises(CodegenError, match=r"whose field 'note' has type 'pg_catalog\.jsonb'") as e:
        python_type(feeling, where=WHERE, subject="column 'f' of query Q")
    assert e.value.location == WHERE
    assert e.value.hint is not None and '"feeling" = { python' in e.value.hint
    # An enum attribute alone is converted by the runtime: it maps.
    calm = PgType(90015, "calm", "public", "C", fields=(CompositeField("mood", mood),))
    assert python_type(calm, where=WHERE).annotation == "Calm"
    # Overridden, the value is psycopg's text form, given to the override's load.
    loaded = Override("m.Feeling", load="m.feeling_from_text")
    pytype = python_type(feeling, where=WHERE, overrides={"feeling": loaded})
    assert pytype.annotation == "Feeling" and pytype.load == "feeling_from_text({})"
    assert pytype.composites == ()
