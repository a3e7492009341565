"""Parameters' Python names: plan's, from the SQL names parse keeps as written."""

from __future__ import annotations

import keyword

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connlog.codegen.model import (
    Analysis,
    AnalyzedParam,
    CodegenErrors,
    Location,
    PgType,
    SourceFile,
)
from connlog.codegen.parsing.parse import parse_file
from connlog.codegen.python.forms import Function
from connlog.codegen.python.names import RESERVED_PARAMETER_NAMES, python_identifier, snake_case
from connlog.codegen.python.plan import plan
from connlog.codegen.python.plan.parameters import parameter_names
from tests.codegen.conftest import TEXT, analyzed

PATH = "queries/q.sql"


def functions(text: str, types: dict[str, PgType] | None = None) -> tuple[Function, ...]:
    """Parse ``text`` and plan it, as if analyze had typed every parameter ``types`` says."""
    queries = tuple(analyzed(q, types) for q in parse_file(SourceFile(PATH, text)))
    planned = plan(Analysis(queries, (), ()), migrations_source="migrations", sources=(PATH,))
    (module,) = planned.modules
    return module.functions


def arguments(text: str) -> list[str]:
    (function,) = functions(text)
    return [argument.name for argument in function.arguments]


def plan_errors(text: str) -> list[tuple[Location | None, str, str | None]]:
    with pytest.raises(CodegenErrors) as info:
        functions(text)
    return [(e.location, e.message, e.hint) for e in info.value.errors]


def test_python_names_are_snake_case_and_not_keywords() -> None:
    assert arguments(
        '-- name: Q :exec\nSELECT @userId, @id, @limit, @type, @from, @"Weird Name", @"é"'
    ) == ["user_id", "id", "limit", "type", "from_", "weird_name", "param"]


def test_positional_parameters_named_after_columns() -> None:
    text = "-- name: Q :exec\nUPDATE t SET class = $1 WHERE t.id = $2 OR u.id = $3 AND $4 > 0"
    assert arguments(text) == ["class_", "id", "id_2", "param4"]


def test_the_generated_functions_own_names_are_numbered() -> None:
    assert arguments("-- name: Q :exec\nSELECT @conn, @cur, @row") == ["conn_2", "cur_2", "row_2"]
    # A name as written is kept; the renamed one goes around it.
    assert arguments("-- name: Q :exec\nSELECT @conn, @conn_2") == ["conn_3", "conn_2"]
    assert arguments("-- name: Q :exec\nSELECT * FROM t WHERE conn = $1") == ["conn_2"]


def test_two_spellings_of_one_python_name_is_a_located_error() -> None:
    # The location is the later spelling's first occurrence, as parse reported it before.
    assert plan_errors(
        "-- name: A :exec\nSELECT 1;\n"
        "-- name: I :exec\nSELECT @userId, @user_id, @UserId, @user_id;\n"
    ) == [
        (
            Location(PATH, 4, 17),
            "parameters 'userId' and 'user_id' both become the Python name 'user_id'",
            "spell them the same way to make them one parameter, or rename one",
        ),
        (
            Location(PATH, 4, 27),
            "parameters 'userId' and 'UserId' both become the Python name 'user_id'",
            "spell them the same way to make them one parameter, or rename one",
        ),
    ]


def test_positional_parameters_meeting_two_spellings_collide_too() -> None:
    ((where, message, _),) = plan_errors(
        '-- name: Q :exec\nSELECT * FROM t WHERE "userId" = $1 AND user_id = $2'
    )
    assert where == Location(PATH, 2, 51)
    assert message == "parameters 'userId' and 'user_id' both become the Python name 'user_id'"


def test_every_query_is_checked() -> None:
    text = '-- name: A :exec\nSELECT @a, @A;\n-- name: B :exec\nSELECT @from, @"from", @From;\n'
    found = plan_errors(text)
    assert [(where.line, where.column) for where, _, _ in found if where] == [(2, 12), (4, 24)]


def test_guards_name_the_python_argument() -> None:
    timestamptz = PgType(1184, "timestamptz", "pg_catalog", "D")
    (function,) = functions("-- name: Q :exec\nSELECT @createdAt", {"createdAt": timestamptz})
    assert function.values == "(_aware(created_at, 'created_at'),)"


# --- properties -----------------------------------------------------------------


def _params(names: list[str]) -> tuple[AnalyzedParam, ...]:
    return tuple(
        AnalyzedParam(n, name, TEXT, False, Location(PATH, 1, n))
        for n, name in enumerate(names, start=1)
    )


@given(st.lists(st.text(max_size=12), max_size=12, unique=True))
def test_mangled_names_are_unique_valid_identifiers(names: list[str]) -> None:
    bases = [python_identifier(name) for name in names]
    if len(set(bases)) < len(bases):
        with pytest.raises(CodegenErrors) as info:
            parameter_names(_params(names))
        assert len(info.value.errors) == len(bases) - len(set(bases))
        return
    idents = parameter_names(_params(names))
    assert len(idents) == len(names)
    assert len(set(idents)) == len(idents)
    for name, ident in zip(names, idents, strict=True):
        assert ident.isidentifier()
        assert ident.isascii()
        assert not keyword.iskeyword(ident)
        assert ident not in RESERVED_PARAMETER_NAMES
        # Only a reserved name is changed, and then only by a number.
        base = python_identifier(name)
        assert ident == base or (base in RESERVED_PARAMETER_NAMES and ident.startswith(base))


@pytest.mark.parametrize(
    ("name", "snake"),
    [
        ("GetConnectionLog", "get_connection_log"),
        ("userID", "user_id"),
        ("HTTPServer", "http_server"),
        ("already_snake", "already_snake"),
        ("with space-dash", "with_space_dash"),
    ],
)
def test_snake_case(name: str, snake: str) -> None:
    assert snake_case(name) == snake


def test_required_parameters_come_first_and_values_keep_sql_order() -> None:
    (function,) = functions("-- name: Q :exec\nSELECT sqlc.narg(a), @b, sqlc.narg(c), @d")
    assert [(a.name, a.default) for a in function.arguments] == [
        ("b", ""),
        ("d", ""),
        ("a", " = None"),
        ("c", " = None"),
    ]
    # The values tuple follows the placeholders $1..$4, whatever the signature's order.
    assert function.values == "(a, b, c, d)"
