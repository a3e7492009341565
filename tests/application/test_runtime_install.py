"""An application gets the runtime only: the generated modules work without the generator.

``pip install connlog`` brings psycopg and yoyo; the generator's dependencies (pglast, jinja2,
ruff) are the ``[codegen]`` extra. A fresh virtual environment with the plain install imports
the generated modules and runs them against PostgreSQL.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.conftest import REPO_ROOT

# What a wheel of the project is built from (nothing else of the checkout is needed).
SOURCES = ("pyproject.toml", "README.md", "codegen", "generated", "connlog")

APPLICATION = """
import importlib.util
import sys

import psycopg

from connlog.generated.connection_logs import get_connection_logs_offset
from connlog.generated.models import ConnectionType

for heavy in ("pglast", "jinja2", "ruff"):
    assert importlib.util.find_spec(heavy) is None, f"{heavy} is there without [codegen]"
for generic in ("codegen", "generated"):
    assert importlib.util.find_spec(generic) is None, f"the wheel installs a top-level {generic}"

with psycopg.connect(sys.argv[1]) as conn:
    rows = get_connection_logs_offset(conn, limit=50)
    assert rows and all(isinstance(r.connection_log.type, ConnectionType) for r in rows)
    print(len(rows), sorted({r.connection_log.type.value for r in rows}))
"""


@pytest.mark.slow
def test_generated_modules_run_in_a_venv_without_the_codegen_extra(
    tmp_path: Path, db: psycopg.Connection[Any], db_url: str
) -> None:
    for fixture in sorted((REPO_ROOT / "tests" / "fixtures").glob("*.sql")):
        db.execute(fixture.read_bytes())
    db.commit()
    source = tmp_path / "source"
    source.mkdir()
    for name in SOURCES:
        path = REPO_ROOT / name
        if path.is_dir():
            # symlinks=True: connlog/codegen and connlog/generated stay links, as in the checkout.
            shutil.copytree(
                path,
                source / name,
                symlinks=True,
                ignore=shutil.ignore_patterns("__pycache__"),
            )
        else:
            shutil.copy(path, source / name)
    venv = tmp_path / "venv"
    # Without a pip of its own (installing one is most of the cost of making a venv): this
    # venv's pip drives the new one's interpreter (``--python``), as a pip inside it would.
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = str(venv / "bin" / "python")
    pip = [sys.executable, "-m", "pip", "--python", python, "--disable-pip-version-check"]
    # --no-compile: the application compiles what it imports, not every installed module.
    subprocess.run(
        [*pip, "install", "-q", "--no-compile", str(source)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (tmp_path / "app.py").write_text(APPLICATION)
    result = subprocess.run(
        [python, str(tmp_path / "app.py"), db_url],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    count, types = result.stdout.split(" ", 1)
    assert int(count) > 0 and "ssh" in types

    # The generator's command is there, and says in one line what it lacks.
    project = tmp_path / "project"
    (project / "migrations").mkdir(parents=True)
    (project / "queries").mkdir()
    (project / "pyproject.toml").write_text("[tool.codegen]\n")
    generator = subprocess.run(
        [str(venv / "bin" / "codegen"), "generate", "--database", db_url],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert generator.returncode == 1
    assert generator.stderr.strip().startswith("codegen: error: the generator needs its [codegen]")
    assert "Traceback" not in generator.stderr
