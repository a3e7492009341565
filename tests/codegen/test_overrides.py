"""``[tool.codegen.overrides]``: a jsonb column as a TypedDict, one as a dataclass with
load/dump functions, an int column as an IntEnum; round trips against PostgreSQL.

The project is a temporary directory with its own pyproject.toml, migrations,
queries and the application module the overrides name.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import psycopg

from connlog.codegen.database import migrate
from tests.codegen.conftest import import_generated, run_codegen

NO_SERVER = "postgresql://postgres@127.0.0.1:1/nothing"

APP = '''
"""The application types the overrides name."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import IntEnum
from typing import TypedDict


class Meta(TypedDict):
    title: str
    tags: list[str]


@dataclass(frozen=True, slots=True)
class Box:
    width: int
    height: int


def box_from_json(value: object) -> Box:
    assert isinstance(value, dict)
    return Box(int(value["w"]), int(value["h"]))


def box_to_json(box: Box) -> dict[str, int]:
    fields = asdict(box)
    return {"w": fields["width"], "h": fields["height"]}


class ExitCode(IntEnum):
    OK = 0
    FAILED = 1
'''

MIGRATION = """
CREATE TABLE docs (
    id serial PRIMARY KEY,
    meta jsonb NOT NULL,
    box jsonb,
    code int NOT NULL
);
"""

QUERIES = """
-- name: InsertDoc :one
INSERT INTO docs (meta, box, code) VALUES (@meta, @box, @code) RETURNING *;

-- name: GetDoc :one
SELECT * FROM docs WHERE id = @id;

-- name: SetBox :execrows
UPDATE docs SET box = @box WHERE id = @id;

-- name: Boxes :many
SELECT id, box, code FROM docs ORDER BY id;
"""


def _project(root: Path, out: Path, app: str, overrides: str) -> None:
    (root / "migrations").mkdir()
    (root / "migrations" / "0001_docs.sql").write_text(MIGRATION)
    (root / "queries").mkdir()
    (root / "queries" / "docs.sql").write_text(QUERIES)
    (root / f"{app}.py").write_text(APP)
    (root / "pyproject.toml").write_text(
        textwrap.dedent(f"""
        [tool.codegen]
        migrations = "migrations"
        queries = "queries"
        out = "{out.name}"

        [tool.codegen.overrides]
        """)
        + overrides.format(app=app)
    )


OVERRIDES = """
"docs.meta" = {{ python = "{app}.Meta" }}
"docs.box" = {{ python = "{app}.Box", load = "{app}.box_from_json", dump = "{app}.box_to_json" }}
"docs.code" = {{ python = "{app}.ExitCode", load = "{app}.ExitCode", dump = "builtins.int" }}
"""


def test_overrides_show_in_signatures_and_rows_and_round_trip(
    fresh_package: Path, empty_db_url: str, server_url: str
) -> None:
    root = fresh_package.parent
    app = f"app_{fresh_package.name}"
    _project(root, fresh_package, app, OVERRIDES)
    result = run_codegen("generate", "--database", server_url, cwd=root)
    assert result.code == 0, result.stderr

    models_text = (fresh_package / "models.py").read_text()
    assert "    meta: Meta\n    box: Box | None\n    code: ExitCode\n" in models_text
    docs_text = (fresh_package / "docs.py").read_text()
    assert "meta: Meta," in docs_text and "box: Box | None," in docs_text
    assert "code: ExitCode," in docs_text
    assert "Jsonb(box_to_json(box))" in docs_text

    # The generated package and the application type-check together.
    checked = subprocess.run(
        [str(Path(sys.executable).parent / "mypy"), "--strict", fresh_package.name, f"{app}.py"],
        cwd=root,
        capture_output=True,
        text=True,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr

    migrate.apply_all(empty_db_url, root / "migrations")
    docs = import_generated(fresh_package, "docs")
    application = __import__(app)
    meta = {"title": "t", "tags": ["a", "b"]}
    box = application.Box(3, 4)
    with psycopg.connect(empty_db_url) as conn:
        inserted = docs.insert_doc(conn, meta=meta, box=box, code=application.ExitCode.FAILED)
        assert inserted.meta == meta
        assert inserted.box == box
        assert type(inserted.code) is application.ExitCode
        assert inserted.code is application.ExitCode.FAILED
        # Stored as the dump functions made it.
        stored = conn.execute("SELECT box, code FROM docs").fetchone()
        assert stored == ({"w": 3, "h": 4}, 1)
        assert docs.get_doc(conn, id=inserted.id) == inserted
        assert docs.set_box(conn, id=inserted.id, box=None) == 1
        rows = docs.boxes(conn)
        assert [(r.box, r.code) for r in rows] == [(None, application.ExitCode.FAILED)]


def test_changing_an_override_re_renders_without_a_database(
    fresh_package: Path, server_url: str
) -> None:
    root = fresh_package.parent
    app = f"app_{fresh_package.name}"
    _project(root, fresh_package, app, OVERRIDES)
    assert run_codegen("generate", "--database", server_url, cwd=root).code == 0
    pyproject = root / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text().replace(f'"docs.meta" = {{ python = "{app}.Meta" }}\n', "")
    )
    result = run_codegen("generate", "--database", NO_SERVER, cwd=root)
    assert result.code == 0, result.stderr
    assert "(0 described, 4 cached)" in result.stdout
    assert "    meta: JsonValue\n" in (fresh_package / "models.py").read_text()


def test_an_override_that_names_nothing_is_an_error(fresh_package: Path, server_url: str) -> None:
    root = fresh_package.parent
    _project(
        root, fresh_package, "app_x", '"docs.colour" = "builtins.str"\n"hstore" = "builtins.dict"\n'
    )
    result = run_codegen("generate", "--database", server_url, cwd=root)
    assert result.code == 1
    assert "override 'docs.colour': table 'docs' has no column 'colour'" in result.stderr
    assert "override 'hstore' names no table column, and no query or table uses the type" in (
        result.stderr
    )
    assert not fresh_package.exists()


def test_an_override_entry_must_be_well_formed(fresh_package: Path, server_url: str) -> None:
    root = fresh_package.parent
    _project(
        root, fresh_package, "app_y", '"docs.code" = {{ python = "builtins.int", lod = "x.y" }}\n'
    )
    result = run_codegen("generate", "--database", server_url, cwd=root)
    assert result.code == 1
    assert "pyproject.toml:8:1: error: [tool.codegen.overrides] 'docs.code' = " in result.stderr
    assert "is not an override" in result.stderr


def test_a_type_override_reaches_the_fields_of_params_rows(
    fresh_package: Path, server_url: str
) -> None:
    """Each row's value is dumped as a parameter of the element's type would be."""
    root = fresh_package.parent
    app = f"app_{fresh_package.name}"
    box = '"jsonb" = {{ python = "{app}.Box", dump = "{app}.box_to_json" }}\n'
    _project(root, fresh_package, app, box)
    (root / "queries" / "docs.sql").write_text(
        "-- name: InsertBoxes :execrows\n-- params: rows\n"
        "INSERT INTO docs (meta, code) SELECT m, c FROM unnest(@meta::jsonb[], @code::int[]) "
        "AS u(m, c);\n"
    )
    result = run_codegen("generate", "--database", server_url, cwd=root)
    assert result.code == 0, result.stderr
    docs_text = (fresh_package / "docs.py").read_text()
    assert "    meta: Box\n" in docs_text
    assert "Jsonb(box_to_json(p.meta))" in docs_text
