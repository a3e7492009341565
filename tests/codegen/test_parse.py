"""The load and parse stages: annotations, parameters, locations, errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connlog.codegen.model import CodegenErrors, Command, Location, ParsedQuery, SourceFile
from connlog.codegen.parsing.load import load_queries
from connlog.codegen.parsing.parse import check_unique_names, parse_file, parse_queries

PATH = "queries/q.sql"


def parse(text: str) -> tuple[ParsedQuery, ...]:
    return parse_file(SourceFile(PATH, text))


def one(text: str) -> ParsedQuery:
    (query,) = parse(text)
    return query


def errors(text: str) -> list[tuple[int, int, str]]:
    with pytest.raises(CodegenErrors) as info:
        parse(text)
    for error in info.value.errors:
        assert error.hint, error
    return [
        (e.location.line, e.location.column, e.message) if e.location else (0, 0, e.message)
        for e in info.value.errors
    ]


def params(query: ParsedQuery) -> list[tuple[int, str, bool]]:
    return [(p.number, p.name, p.narg) for p in query.params]


# --- annotations --------------------------------------------------------------


def test_annotation_doc_and_sql() -> None:
    (a, b) = parse(
        "-- leading comment\n\n"
        "-- name: GetConnectionLog :one\n"
        "-- Fetch one log entry.\n"
        "--   indented detail\n"
        "SELECT 1\n  FROM t; -- trailing comment\n\n"
        "-- name: ListAll :many\nselect 2;;\n"
    )
    assert (a.name, a.command) == ("GetConnectionLog", Command.ONE)
    assert a.doc == "Fetch one log entry.\n  indented detail"
    assert a.sql == "SELECT 1\n  FROM t"
    assert a.location == Location(PATH, 3, 1)
    assert (b.name, b.command, b.doc, b.sql) == ("ListAll", Command.MANY, "", "select 2")


def test_a_filters_line_names_the_shared_filters_and_is_not_doc() -> None:
    query = one(
        "-- name: ListLogs :many\n-- filters: LogFilters\n-- Newest first.\n"
        "SELECT 1 WHERE sqlc.narg(a)::int IS NULL"
    )
    assert (query.filters, query.doc) == ("LogFilters", "Newest first.")
    assert one("-- name: Plain :many\nSELECT 1").filters is None


def test_a_filters_name_must_be_a_class_name() -> None:
    assert errors("-- name: ListLogs :many\n-- filters: log filters\nSELECT 1") == [
        (2, 1, "'log filters' is not a class name for the shared filters")
    ]


@pytest.mark.parametrize("command", list(Command))
def test_every_command(command: Command) -> None:
    assert one(f"-- name: Q :{command.value}\nSELECT 1").command is command


def test_comments_inside_the_statement_are_kept() -> None:
    assert one("-- name: Q :one\nSELECT /* why */ 1 -- one\n, 2;").sql == (
        "SELECT /* why */ 1 -- one\n, 2"
    )


def test_empty_file() -> None:
    assert parse("") == ()
    assert parse("-- just a comment\n") == ()


# --- parameters ---------------------------------------------------------------


def test_named_parameters_are_numbered_in_order_and_reused() -> None:
    query = one(
        "-- name: Q :many\n"
        "SELECT * FROM t WHERE a = @userId AND b = sqlc.arg(kind) AND c = sqlc.arg('Other Name')"
        " AND d = @userId AND e = sqlc.narg(note) AND f = @note"
    )
    assert query.sql == (
        "SELECT * FROM t WHERE a = $1 AND b = $2 AND c = $3 AND d = $1 AND e = $4 AND f = $4"
    )
    # SQL names, exactly as written: plan decides the Python ones.
    assert params(query) == [
        (1, "userId", False),
        (2, "kind", False),
        (3, "Other Name", False),
        (4, "note", True),
    ]
    assert query.params[0].location == Location(PATH, 2, 27)


def test_at_parameter_binds_like_a_placeholder() -> None:
    # The grammar reads ``@id + 1`` as ``@(id + 1)``; the token-level rewrite does not.
    query = one("-- name: Q :one\nSELECT @id + 1, @limit, @type, @from")
    assert query.sql == "SELECT $1 + 1, $2, $3, $4"
    assert [p.name for p in query.params] == ["id", "limit", "type", "from"]


def test_array_parameter_keeps_its_cast() -> None:
    query = one("-- name: Q :many\nSELECT * FROM t WHERE id = ANY(@ids::uuid[])")
    assert query.sql == "SELECT * FROM t WHERE id = ANY($1::uuid[])"
    assert params(query) == [(1, "ids", False)]


def test_parameters_are_not_found_in_strings_comments_or_dollar_quotes() -> None:
    query = one(
        "-- name: Q :one\n"
        "SELECT '@a $1', $$ @b $2 $$, $f$ sqlc.arg(c) $f$, \"@d\" /* @e $3 */ -- @f $4\n"
        "FROM t WHERE x = @real"
    )
    assert params(query) == [(1, "real", False)]
    assert query.sql.endswith("WHERE x = $1")
    assert "'@a $1'" in query.sql


def test_abs_operator_is_not_a_parameter() -> None:
    assert one("-- name: Q :one\nSELECT @ -5").params == ()


def test_names_are_kept_as_written() -> None:
    # Python keywords, the generated function's own names and two spellings of one Python
    # name are plan's business (tests/codegen/test_parameter_names.py).
    query = one("-- name: Q :one\nSELECT @conn, @cur, @class, @userId, @user_id, @userId")
    assert [p.name for p in query.params] == ["conn", "cur", "class", "userId", "user_id"]


def test_quoted_names() -> None:
    query = one('-- name: Q :one\nSELECT @"Weird Name", sqlc.arg("x")')
    assert [p.name for p in query.params] == ["Weird Name", "x"]


@pytest.mark.parametrize(
    ("sql", "names"),
    [
        ("SELECT * FROM t WHERE id = $1", ["id"]),
        ("SELECT * FROM t WHERE t.owner_id = $1", ["owner_id"]),
        ("SELECT * FROM t WHERE $1 = id", ["id"]),
        ("SELECT * FROM t WHERE id = $1::int", ["id"]),
        ("SELECT * FROM t WHERE name LIKE $1", ["name"]),
        ("SELECT * FROM t WHERE id = ANY($1)", ["id"]),
        ("INSERT INTO t (a, b) VALUES ($2, $1)", ["b", "a"]),
        ("UPDATE t SET name = $1 WHERE id = $2", ["name", "id"]),
        (
            "INSERT INTO t (a) VALUES ($1) ON CONFLICT (a) DO UPDATE SET b = $2",
            ["a", "b"],
        ),
        ("SELECT $1 + 1, $2", ["param1", "param2"]),
        ("SELECT * FROM t JOIN u ON true WHERE t.id = $1 AND u.id = $2", ["id", "id_2"]),
        ("SELECT * FROM t WHERE a = $1 OR b = $1", ["a"]),
        ("SELECT * FROM t WHERE class = $1", ["class"]),
        ('SELECT * FROM t WHERE "userId" = $1', ["userId"]),
        ("SELECT * FROM t WHERE conn = $1 AND cur = $2", ["conn", "cur"]),
        (
            "SELECT * FROM t WHERE id = $1 OR id = $2 OR id_2 = $3 OR x = $4",
            ["id", "id_2", "id_2_2", "x"],
        ),
    ],
)
def test_positional_parameters_are_named_after_columns(sql: str, names: list[str]) -> None:
    query = one(f"-- name: Q :exec\n{sql}")
    assert query.sql == sql
    assert [p.name for p in query.params] == names
    assert [p.number for p in query.params] == list(range(1, len(names) + 1))


def test_slice_becomes_an_array_parameter() -> None:
    (query,) = parse(
        "-- name: Q :many\nSELECT * FROM t WHERE id IN (sqlc.slice(ids)) AND x NOT IN "
        "(sqlc.slice('xs')) OR y in ( sqlc.slice(ids) )"
    )
    assert query.sql == "SELECT * FROM t WHERE id = ANY($1) AND x <> ALL($2) OR y = ANY($1)"
    assert [(p.number, p.name, p.narg) for p in query.params] == [
        (1, "ids", False),
        (2, "xs", False),
    ]
    assert (query.params[0].location.line, query.params[0].location.column) == (2, 26)


def test_embed() -> None:
    query = one(
        "-- name: Q :many\nSELECT sqlc.embed(u), sqlc.embed(o), 1 FROM users u JOIN o ON true"
    )
    assert query.sql == "SELECT u.*, o.*, 1 FROM users u JOIN o ON true"
    assert query.embeds == ("u", "o")


# --- locations ----------------------------------------------------------------


def test_server_error_position_maps_to_the_file() -> None:
    text = "-- name: Q :one\n-- doc\nSELECT a,\n       sqlc.arg(long_name), nosuch\nFROM t"
    query = one(text)
    assert query.sql == "SELECT a,\n       $1, nosuch\nFROM t"
    # PostgreSQL reports 1-based character positions: pass position - 1.
    position = query.sql.index("nosuch") + 1
    assert query.locate(position - 1) == Location(PATH, 4, 29)
    assert query.locate(query.sql.index("$1")) == Location(PATH, 4, 8)
    assert query.locate(query.sql.index("FROM")) == Location(PATH, 5, 1)


_TERM = st.sampled_from(
    ["x", "1", "é", "'a\nb'", "(x)", "@p", "@other", "sqlc.arg(p)", "sqlc.narg( q )"]
)
_SEPARATOR = st.sampled_from([" + ", "\n + ", " ||\n  ", ",\n", ", "])


@given(st.lists(st.tuples(_SEPARATOR, _TERM), max_size=20), st.integers(0, 3))
def test_every_unchanged_character_maps_to_its_line_and_column(
    terms: list[tuple[str, str]], blank_lines: int
) -> None:
    pieces = ["SELECT ", "x", *(piece for pair in terms for piece in pair), " AS z"]
    body = "".join(pieces)
    text = "-- name: Q :one\n" + "\n" * blank_lines + body + ";\n"
    query = one(text)
    # Walk the source and the rewritten SQL together, skipping the rewritten pieces.
    src = text.index(body)
    out = 0
    for piece in pieces:
        if piece.startswith(("@", "sqlc.")):
            assert query.sql[out] == "$"
            assert query.locate(out) == where(text, src)
            out += 2
        else:
            for k in range(len(piece)):
                assert query.sql[out + k] == text[src + k]
                assert query.locate(out + k) == where(text, src + k)
            out += len(piece)
        src += len(piece)
    assert out == len(query.sql)


def where(text: str, offset: int) -> Location:
    """The obvious, slow way to find the line and column of ``text[offset]``."""
    line = text.count("\n", 0, offset) + 1
    return Location(PATH, line, offset - (text.rfind("\n", 0, offset) + 1) + 1)


# --- errors -------------------------------------------------------------------


def test_syntax_error_points_into_the_file() -> None:
    assert errors("-- name: Q :one\n-- doc\nSELECT @a,\n  FROM t") == [
        (4, 3, 'SQL syntax error: syntax error at or near "FROM"')
    ]


def test_syntax_error_at_end_of_input() -> None:
    ((line, column, message),) = errors("-- name: Q :one\nSELECT (1")
    assert column == 10
    assert (line, message) == (2, "SQL syntax error: syntax error at end of input")


def test_unterminated_string() -> None:
    ((line, column, message),) = errors("-- name: Q :one\nSELECT 'abc\n")
    assert (line, column) == (2, 8)
    assert "unterminated quoted string" in message


def test_every_error_of_the_file_is_reported_in_order() -> None:
    text = (
        "SELECT 0;\n"  # 1 no annotation
        "-- name: A :one\nSELECT 1;\n"  # 2
        "-- name: A :many\nSELECT 2;\n"  # 4 duplicate
        "-- name: B :first\nSELECT 3;\n"  # 6 unknown command
        "-- name: C\nSELECT 4;\n"  # 8 missing command
        "-- name: D :one\nSELECT 5; SELECT 6;\n"  # 10 two statements
        "-- name: E :exec\n-- only a comment\n"  # 12 no statement
        "-- name: F :one\nSELECT $1, @x;\n"  # 14 mixed: fine
        "-- name: G :one\nSELECT $2;\n"  # 16 gap
        "-- name: H :one\nSELECT * FROM t WHERE id=@id;\n"  # 18 glued operator
        "-- name: import :one\nSELECT 1;\n"  # 20 keyword name: fine, import_()
        "-- name: I :one\nSELECT @userId, @user_id;\n"  # 22 fine here: plan's error
        "-- name: J :one\nSELECT sqlc.slice(ids);\n"  # 24 not in an IN list
        "-- name: K :one\nSELECT sqlc.arg(a, b);\n"  # 26 bad macro
        "-- name:\nSELECT 1;\n"  # 28 no name
        "-- name: L :one extra\nSELECT 1;\n"  # 30 trailing words
    )
    found = errors(text)
    assert [(line, column) for line, column, _ in found] == [
        (1, 1),
        (4, 1),
        (6, 1),
        (8, 1),
        (11, 11),
        (12, 1),
        (17, 8),
        (19, 25),
        (25, 8),
        (27, 8),
        (28, 1),
        (30, 1),
    ]
    messages = [message for _, _, message in found]
    assert messages[0] == "statement without a `-- name:` annotation"
    assert messages[1] == "duplicate query name 'A'"
    assert messages[2] == "unknown command ':first' for query 'B'"
    assert messages[3] == "query 'C' has no command"
    assert messages[4] == "query 'D' has more than one statement"
    assert messages[5] == "annotation without a statement"
    assert messages[6] == "$2 is used but $1 is not"
    assert messages[7].startswith("'=@' is read as one operator")
    assert messages[8] == "sqlc.slice(ids) must be the only item of an IN list"
    assert messages[9] == "cannot read 'sqlc.arg' as a sqlc macro"
    assert messages[10] == "annotation without a query name"
    assert messages[11] == "unexpected 'extra' after the command"


def test_unknown_command_lists_the_valid_ones() -> None:
    with pytest.raises(CodegenErrors) as info:
        parse("-- name: Q :first\nSELECT 1")
    (error,) = info.value.errors
    assert error.hint == "use one of " + ", ".join(f":{c.value}" for c in Command)
    assert str(error).startswith(f"{PATH}:1:1: error: unknown command ':first'")


def test_duplicate_names_across_files() -> None:
    a = parse_file(SourceFile("queries/a.sql", "-- name: GetUser :one\nSELECT 1"))
    b = parse_file(SourceFile("queries/b.sql", "-- name: get_user :one\nSELECT 1"))
    check_unique_names(a)
    with pytest.raises(CodegenErrors) as info:
        check_unique_names(a + b)
    (error,) = info.value.errors
    assert error.location == Location("queries/b.sql", 1, 1)
    assert error.message == "duplicate query name 'get_user' (both become 'get_user')"
    assert error.hint is not None and "queries/a.sql:1:1" in error.hint


# --- load ---------------------------------------------------------------------


def test_load_queries_sorted_relative(tmp_path: Path) -> None:
    queries = tmp_path / "queries"
    queries.mkdir()
    (queries / "b.sql").write_text("-- b", encoding="utf-8")
    (queries / "a.sql").write_text("-- a", encoding="utf-8")
    (queries / "notes.txt").write_text("x", encoding="utf-8")
    assert load_queries(queries, tmp_path) == (
        SourceFile("queries/a.sql", "-- a"),
        SourceFile("queries/b.sql", "-- b"),
    )


def test_load_queries_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(CodegenErrors, match="does not exist"):
        load_queries(tmp_path / "nope", tmp_path)


def test_a_broken_query_hides_none_of_the_others() -> None:
    text = (
        "-- name: A :one\nSELECT 1;\n"
        "-- name: B :one\nSELECT FROM WHERE;\n"
        "-- name: C :one\nSELECT @x::int;\n"
        "-- name: D :one\nSELECT 'open;\n"
        "-- name: E :one\nSELECT 2;\n"
    )
    queries, problems = parse_queries(SourceFile(PATH, text))
    assert [q.name for q in queries] == ["A", "C"]  # E is inside D's open string
    found = sorted((e.location, e.message) for e in problems if e.location)
    assert [str(where) for where, _ in found] == [f"{PATH}:4:13", f"{PATH}:8:8"]
    assert "unterminated quoted string" in found[1][1]


def test_block_comment_annotations() -> None:
    (one, many) = parse(
        "/* name: GetUser :one */\nSELECT 1;\n"
        "/* name: ListUsers :many\n   Every user. */\n-- Newest first.\nSELECT 2;\n"
    )
    assert (one.name, one.command, one.doc) == ("GetUser", Command.ONE, "")
    assert (many.name, many.command, many.doc) == (
        "ListUsers",
        Command.MANY,
        "Every user.\nNewest first.",
    )


def test_positional_and_named_parameters_mix() -> None:
    query = one("-- name: Q :one\nSELECT * FROM t WHERE id = $1 AND a = @id AND b = $2 OR c = @id")
    assert query.sql == "SELECT * FROM t WHERE id = $1 AND a = $3 AND b = $2 OR c = $3"
    assert [(p.number, p.name) for p in query.params] == [(1, "id"), (2, "b"), (3, "id_2")]


def test_execlastid_says_to_use_returning() -> None:
    ((line, column, message),) = errors("-- name: AddUser :execlastid\nINSERT INTO t VALUES (1)")
    assert (line, column) == (1, 18)
    assert message == (
        "query 'AddUser': PostgreSQL has no last insert id, so :execlastid is not supported"
    )
