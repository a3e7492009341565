"""Shared by the migration tests: paths, the real yoyo CLI, and a few catalog look-ups."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Final

import psycopg

from connlog.codegen.database import migrate

REPO_ROOT: Final = Path(__file__).resolve().parents[2]
MIGRATIONS_DIR: Final = REPO_ROOT / "migrations"
FIXTURES_DIR: Final = REPO_ROOT / "tests" / "fixtures"
BIN: Final = Path(sys.executable).parent  # the .venv's tools: yoyo, squawk
YOYO_TABLES: Final = frozenset(migrate.YOYO_TABLES)


def start_yoyo(url: str, *args: str) -> subprocess.Popen[str]:
    """Start ``./dev yoyo ARGS`` from the repository root, as a developer would run it.

    yoyo.ini there names the migrations folder; the database is $DATABASE_URL, here in the
    libpq spelling that ``./dev db url`` prints.
    """
    env = {**os.environ, "DATABASE_URL": url}
    return subprocess.Popen(
        [sys.executable, "-m", "connlog.codegen.database.yoyo_command", *args],
        cwd=REPO_ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def run_yoyo(url: str, *args: str) -> str:
    """Run yoyo to completion; fail with its output unless it exits 0."""
    process = start_yoyo(url, *args)
    output, _ = process.communicate(timeout=60)
    assert process.returncode == 0, f"yoyo {' '.join(args)} exited {process.returncode}:\n{output}"
    return output


def tables(url: str) -> set[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        return {str(name) for (name,) in rows}


def applied_ids(url: str) -> list[str]:
    """The migration ids yoyo has recorded as applied, in id order."""
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT migration_id FROM _yoyo_migration ORDER BY migration_id")
        return [str(migration_id) for (migration_id,) in rows]


def load_fixture(url: str, migration_id: str) -> None:
    """Insert the rows in tests/fixtures/<migration_id>.sql (one transaction)."""
    with psycopg.connect(url) as conn:
        # As bytes: the script is a file's contents, not a literal query (psycopg wants one).
        conn.execute((FIXTURES_DIR / f"{migration_id}.sql").read_bytes())
