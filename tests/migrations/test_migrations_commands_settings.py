"""``sum`` and ``schema`` read the same settings as ``generate``: another project's layout works."""

from __future__ import annotations

from pathlib import Path

from connlog.codegen.database import checksums
from tests.codegen.conftest import run_codegen

MIGRATION = "CREATE TABLE books (id int8 PRIMARY KEY, title text NOT NULL);\n"


def _project(root: Path) -> Path:
    """A project whose folders are not the defaults, named in its [tool.codegen]."""
    (root / "db" / "changes").mkdir(parents=True)
    (root / "db" / "changes" / "0001_books.sql").write_text(MIGRATION)
    (root / "pyproject.toml").write_text(
        '[tool.codegen]\nmigrations = "db/changes"\nqueries = "sql"\nout = "app/data"\n'
    )
    return root


def test_sum_writes_the_configured_migrations_folders_sum(tmp_path: Path) -> None:
    project = _project(tmp_path)
    result = run_codegen("sum", cwd=project)
    assert result.code == 0, result.stderr
    assert (project / "db" / "changes" / checksums.SUM_FILE).is_file()
    assert not (project / "migrations").exists()
    assert run_codegen("sum", "--check", cwd=project).code == 0


def test_schema_writes_into_the_configured_out_folder_only(tmp_path: Path, server_url: str) -> None:
    project = _project(tmp_path)
    result = run_codegen("schema", "--database", server_url, cwd=project)
    assert result.code == 0, result.stderr
    assert result.stdout == "wrote app/data/schema.sql\n"
    assert "CREATE TABLE public.books" in (project / "app" / "data" / "schema.sql").read_text()
    assert not (project / "generated").exists()
    checked = run_codegen("schema", "--check", "--database", server_url, cwd=project)
    assert checked.code == 0, checked.stderr
