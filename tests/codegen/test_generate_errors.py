"""Mistakes outside the query files: migrations, configuration, and every error at once.

Each is a located ``path:line:column: error:`` message, exit status 1, and
nothing written; none is a traceback.
"""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest

from connlog.codegen import write
from connlog.codegen.analysis.analyze import embed_relations
from connlog.codegen.python.render import RenderedFile
from tests.codegen.conftest import run_codegen

MIGRATION = """-- The first migration.
CREATE TABLE books (id int8 PRIMARY KEY, title text NOT NULL);

CREATE TABLE borrowers (id int8 PRIMARY KEY, book_id int8 REFERENCES books (id));
"""
QUERIES = """-- name: GetBook :one
SELECT * FROM books WHERE id = @id;
"""


def _project(root: Path, *, config: str = "", migration: str = MIGRATION) -> Path:
    """A project in ``root``: pyproject.toml, migrations/, queries/; returns the out dir."""
    (root / "migrations").mkdir()
    (root / "migrations" / "0001_books.sql").write_text(migration)
    (root / "queries").mkdir()
    (root / "queries" / "books.sql").write_text(QUERIES)
    (root / "pyproject.toml").write_text(
        '[tool.codegen]\nmigrations = "migrations"\nqueries = "queries"\nout = "out"\n' + config
    )
    return root / "out"


BROKEN = (
    MIGRATION
    + """
-- A typo, on line 7.
CREATE TABEL loans (id int8);
"""
)


@pytest.mark.parametrize("command", ["generate", "check"])
def test_a_migration_the_server_rejects_is_located_in_its_file(
    tmp_path: Path, server_url: str, command: str
) -> None:
    out = _project(tmp_path, migration=BROKEN)
    result = run_codegen(command, "--database", server_url, cwd=tmp_path)
    assert result.code == 1
    # check first says why the manifest does not answer, then tries to describe.
    expected = "migrations/0001_books.sql:7:8: error: migration 0001_books: syntax error"
    assert f'{expected} at or near "TABEL"' in result.stderr.splitlines(), result.stderr
    assert "Traceback" not in result.stderr
    assert not out.exists()


def test_schema_reports_a_broken_migration_too(tmp_path: Path, server_url: str) -> None:
    _project(tmp_path, migration=BROKEN)
    result = run_codegen(
        "schema", "--database", server_url, "--migrations", "migrations", cwd=tmp_path
    )
    assert result.code == 1
    assert result.stderr.startswith("migrations/0001_books.sql:7:8: error: "), result.stderr
    assert not (tmp_path / "generated").exists()


def test_a_migration_yoyo_cannot_load_is_an_error(tmp_path: Path, server_url: str) -> None:
    out = _project(tmp_path, migration="-- depends: 0000_nowhere\n" + MIGRATION)
    result = run_codegen("generate", "--database", server_url, cwd=tmp_path)
    assert result.code == 1
    assert result.stderr.startswith(
        "migrations/0001_books.sql:1:1: error: migration 0001_books depends on a migration "
        "that does not exist"
    ), result.stderr
    assert not out.exists()


def test_a_missing_migrations_directory_is_an_error(tmp_path: Path, server_url: str) -> None:
    out = _project(tmp_path)
    result = run_codegen("generate", "--migrations", "typo", "--database", server_url, cwd=tmp_path)
    assert result.code == 1
    assert "error: migrations directory" in result.stderr
    assert "typo' does not exist" in result.stderr
    assert not out.exists()


def test_parse_and_server_errors_are_reported_together(tmp_path: Path, server_url: str) -> None:
    out = _project(tmp_path)
    (tmp_path / "queries" / "a_broken.sql").write_text("-- name: Broken :one\nSELEC 1;\n")
    (tmp_path / "queries" / "z_unknown.sql").write_text(
        "-- name: Unknown :many\nSELECT colour FROM books;\n"
    )
    result = run_codegen("generate", "--database", server_url, cwd=tmp_path)
    assert result.code == 1
    lines = [line for line in result.stderr.splitlines() if ": error: " in line]
    assert [line.split(": error: ")[0] for line in lines] == [
        "queries/a_broken.sql:2:1",
        "queries/z_unknown.sql:2:8",
    ], result.stderr
    assert 'column "colour" does not exist' in lines[1]
    assert "codegen: 2 errors; nothing written" in result.stderr
    assert not out.exists()


def test_server_and_planning_errors_are_reported_together(tmp_path: Path, server_url: str) -> None:
    """A query the server rejects does not hide one only planning rejects, nor the reverse."""
    out = _project(tmp_path)
    (tmp_path / "queries" / "a_unknown.sql").write_text(
        "-- name: Unknown :many\nSELECT colour FROM books;\n"
    )
    (tmp_path / "queries" / "z_unmapped.sql").write_text(
        "-- name: Unmapped :one\nSELECT to_tsvector(title) AS doc FROM books;\n"
    )
    result = run_codegen("generate", "--database", server_url, cwd=tmp_path)
    assert result.code == 1
    lines = [line for line in result.stderr.splitlines() if ": error: " in line]
    assert [line.split(": error: ")[0] for line in lines] == [
        "queries/a_unknown.sql:2:8",
        "queries/z_unmapped.sql:1:1",
    ], result.stderr
    assert "'pg_catalog.tsvector', which has no Python mapping" in lines[1]
    assert not out.exists()


@pytest.mark.parametrize(
    ("config", "where", "message"),
    [
        ('overrides = "citext"\n', 5, "[tool.codegen.overrides] must be a table, not 'citext'"),
        ("database = 5\n", 5, "[tool.codegen] database = 5 must be a string"),
        ('\n[tool.ruff]\nline-length = "long"\n', 7, "[tool.ruff] line-length = 'long'"),
    ],
)
def test_a_config_mistake_is_located_at_its_line(
    tmp_path: Path, config: str, where: int, message: str
) -> None:
    out = _project(tmp_path, config=config)
    result = run_codegen("generate", cwd=tmp_path)
    assert result.code == 1
    assert result.stderr.startswith(f"{tmp_path / 'pyproject.toml'}:{where}:1: error: {message}")
    assert not out.exists()


def test_embed_names_a_table_of_the_top_level_from_clause_only() -> None:
    subquery = "SELECT b.*, (SELECT count(*) FROM borrowers b) AS n FROM books b"
    assert embed_relations(subquery)["b"] == ((None, "books"),)
    joined = "SELECT 1 FROM public.books b JOIN (SELECT 1) s ON true, borrowers"
    assert embed_relations(joined) == {
        "b": (("public", "books"),),
        "s": (None,),
        "borrowers": ((None, "borrowers"),),
    }
    cte = "WITH books AS (SELECT 1) SELECT 1 FROM books"
    assert embed_relations(cte) == {"books": (None,)}
    assert embed_relations("SELECT 1 FROM books b, borrowers b")["b"] == (
        (None, "books"),
        (None, "borrowers"),
    )


def test_embed_beside_a_subquery_with_the_same_alias(tmp_path: Path, server_url: str) -> None:
    out = _project(tmp_path)
    (tmp_path / "queries" / "books.sql").write_text(
        "-- name: BooksAndCounts :many\n"
        "SELECT sqlc.embed(b), (SELECT count(*) FROM borrowers b) AS n FROM books b;\n"
    )
    result = run_codegen("generate", "--database", server_url, cwd=tmp_path)
    assert result.code == 0, result.stderr
    module = (out / "books.py").read_text()
    assert "    book: Book\n    n: int\n" in module, module  # count(*): one row, never NULL


def test_a_ruff_failure_names_the_config_and_says_why(tmp_path: Path) -> None:
    project = tmp_path / "pyproject.toml"
    project.write_text(
        textwrap.dedent("""
        [tool.ruff]
        no-such-setting = 1
        """)
    )
    with pytest.raises(write.FormatError, match="ruff check --select I --fix failed") as failed:
        write.finish([RenderedFile("x.py", "x = 1\n")], project=project)
    assert str(project) in str(failed.value)
    assert "no-such-setting" in str(failed.value)


def test_params_rows_needs_array_parameters_and_knows_one_spelling(
    tmp_path: Path, server_url: str
) -> None:
    out = _project(tmp_path)
    (tmp_path / "queries" / "books.sql").write_text(
        textwrap.dedent("""\
            -- name: AddBooks :exec
            -- params: rows
            INSERT INTO books (id, title)
            SELECT id, @title::text FROM unnest(@ids::int8[]) AS id;

            -- name: GetBooks :many
            -- params: columns
            SELECT * FROM books WHERE id = ANY(@ids::int8[]);
            """)
    )
    result = run_codegen("generate", "--database", server_url, cwd=tmp_path)
    assert result.code == 1
    lines = result.stderr.splitlines()
    assert (
        "queries/books.sql:4:12: error: query AddBooks takes `-- params: rows`, "
        "but parameter 'title' is not an array" in lines
    ), result.stderr
    assert "queries/books.sql:7:1: error: unknown parameter style 'columns'" in lines, result.stderr
    assert not out.exists()


@pytest.mark.parametrize("command", ["generate", "check"])
@pytest.mark.parametrize("where", ["the project's folder", "a query file", "a migration"])
def test_a_path_that_is_not_utf8_is_named_once_and_nothing_is_written(
    tmp_path: Path, server_url: str, command: str, where: str
) -> None:
    """Undecodable bytes in a name (Latin-1 from another system): no PostgreSQL comment,
    manifest or message can hold them, so the run stops at once and says which path."""
    name = os.fsdecode(b"caf\xe9")  # 'caf\udce9': the byte Python could not decode
    root = tmp_path / name if where == "the project's folder" else tmp_path
    root.mkdir(exist_ok=True)
    out = _project(root)
    undecodable = {
        "the project's folder": root,
        "a query file": root / "queries" / f"{name}.sql",
        "a migration": root / "migrations" / f"0002_{name}.sql",
    }[where]
    if where == "a query file":
        (root / "queries" / "books.sql").rename(undecodable)
    elif where == "a migration":
        undecodable.write_text("-- depends: 0001_books\nSELECT 1;\n")
    result = run_codegen(command, "--database", server_url, cwd=root)
    assert result.code == 1
    assert result.stderr.splitlines() == [
        f"error: path {str(undecodable.resolve())!r} is not UTF-8 text (an undecodable byte, "
        "shown as \\udcXX)",
        "  hint: rename it with UTF-8 characters only",
        "codegen: 1 error; nothing written",
    ]
    assert not out.exists()


@pytest.mark.parametrize(
    ("queries", "name"),
    [
        # Query Loan's loader of its embedded book, and query LoanBook's loader.
        (
            "-- name: Loan :many\nSELECT b.id, sqlc.embed(books) FROM borrowers b JOIN books "
            "ON books.id = b.book_id;\n\n-- name: LoanBook :one\nSELECT title, id FROM books "
            "WHERE id = @id;\n",
            "_load_loan_book",
        ),
        # Query Kw's row class over table kw_rows's model, KwRow, which it would replace.
        ("-- name: Kw :many\nSELECT name, id FROM kw_rows;\n", "KwRow"),
        # A :copyfrom's second constant and another query's constant.
        (
            "-- name: Add :copyfrom\nINSERT INTO books (id, title) VALUES (@id, @title);\n\n"
            "-- name: AddCopy :exec\nDELETE FROM books;\n",
            "ADD_COPY",
        ),
    ],
)
def test_a_generated_name_defined_twice_is_refused_naming_the_query(
    tmp_path: Path, server_url: str, queries: str, name: str
) -> None:
    """The later definition would win silently: one loader building another query's rows."""
    kw_rows = "\nCREATE TABLE kw_rows (id int PRIMARY KEY, name text NOT NULL);\n"
    out = _project(tmp_path, migration=MIGRATION + kw_rows)
    (tmp_path / "queries" / "books.sql").write_text(queries)
    result = run_codegen("generate", "--database", server_url, cwd=tmp_path)
    assert result.code == 1, result.stdout
    assert f"the generated name {name!r} is already" in result.stderr
    assert result.stderr.startswith("queries/books.sql:")
    assert not out.exists()


def test_a_copyfrom_value_with_a_cast_is_refused(tmp_path: Path, server_url: str) -> None:
    """COPY sends each value as its column's type: the cast would be skipped, silently (an
    int4 parameter's bytes landed in a text column as 'ABCD')."""
    out = _project(tmp_path)
    (tmp_path / "queries" / "books.sql").write_text(
        "-- name: AddBooks :copyfrom\nINSERT INTO books (id, title) VALUES (@id, @title::int4);\n"
    )
    result = run_codegen("generate", "--database", server_url, cwd=tmp_path)
    assert result.code == 1, result.stdout
    assert result.stderr.startswith("queries/books.sql:1:1: error: query AddBooks is :copyfrom")
    assert "each value must be a parameter, without a cast" in result.stderr
    assert not out.exists()
