"""docs/migrations.md's recipe for a migration, followed to the letter, keeps the suite green.

A copy of the checkout gets the next migration (a nullable column, as the recipe's example), its
rollback and fixture, then ``sum`` and ``generate``; the migration checks, the connection-log
tests (a few examples of each property: tests/migrations/few_examples.py) and mypy then pass in
the copy. Tests that spelled out every column of a table, or
assumed which migration is the last, fail here.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from connlog.codegen.database import migrate
from tests.migrations.migration_support import MIGRATIONS_DIR, REPO_ROOT

IDS = migrate.ordered_ids(MIGRATIONS_DIR)
HEADER = """-- depends: {previous}
-- Fail fast rather than queue behind live traffic (and block it) while waiting for a lock.
SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '5min';
"""
CHECKS = (
    "tests/migrations/test_migrations_files.py",
    "tests/migrations/test_migrations_checksums.py",
    "tests/migrations/test_migrations_reversibility.py",
    "tests/migrations/test_migrations_schema_snapshot.py",
    # Every test that builds or reads whole connection_logs rows (the races and the pooler
    # tests read them the same way, through tests/connection_logs/world.py).
    "tests/connection_logs/test_recording.py",
    "tests/connection_logs/test_listing.py",
    "tests/connection_logs/test_authorization.py",
    "tests/connection_logs/test_purge.py",
)


def _copy_checkout(destination: Path) -> Path:
    """The checkout as git sees it (tracked and new files, nothing ignored)."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO_ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    for name in filter(None, listed.split("\0")):
        source = REPO_ROOT / name
        (destination / name).parent.mkdir(parents=True, exist_ok=True)
        if source.is_symlink():  # connlog/codegen -> ../codegen: the link, not a copy
            (destination / name).symlink_to(source.readlink())
        elif source.is_file():
            shutil.copy2(source, destination / name)
    # Caches only save time, so a copy may miss any of them. mypy's, when a run of the
    # checkout's own left one: mypy rechecks every file whose contents differ from what the
    # cache saw (some 5 s of CPU). (A file mypy replaces mid-copy is left out: shutil.Error.)
    with contextlib.suppress(FileNotFoundError, shutil.Error):
        shutil.copytree(REPO_ROOT / ".mypy_cache", destination / ".mypy_cache")
    # Bytecode, compiled and assert-rewritten (pytest's): each .pyc names its source's mtime and
    # size, which copy2 keeps, so the recipe's edits are compiled again and nothing else is.
    for folder, subfolders, _ in os.walk(REPO_ROOT):
        subfolders[:] = [name for name in subfolders if not name.startswith(".")]
        relative = Path(folder).relative_to(REPO_ROOT)
        if relative.name == "__pycache__" and (destination / relative.parent).is_dir():
            with contextlib.suppress(FileNotFoundError, shutil.Error):
                shutil.copytree(folder, destination / relative, dirs_exist_ok=True)
            subfolders.clear()
    return destination


def _run(clone: Path, *command: str, server_url: str) -> None:
    env = {**os.environ, "CONNLOG_TEST_DATABASE_URL": server_url}
    result = subprocess.run(
        command, cwd=clone, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, f"{' '.join(command)}\n{result.stdout}{result.stderr}"


@pytest.mark.slow
def test_adding_a_nullable_column_by_the_recipe_keeps_the_checks_green(
    tmp_path: Path, server_url: str
) -> None:
    clone = _copy_checkout(tmp_path / "clone")
    number = int(IDS[-1][:4]) + 1
    migration_id = f"{number:04d}_connection_logs_note"
    header = HEADER.format(previous=IDS[-1])
    migrations = clone / "migrations"
    (migrations / f"{migration_id}.sql").write_text(
        "-- A free-text note an operator may attach to a session.\n"
        + header
        + "ALTER TABLE connection_logs ADD COLUMN note text;\n"
    )
    (migrations / f"{migration_id}.rollback.sql").write_text(
        "-- Undo: drop the note column.\n"
        + header
        # Step 4: squawk flags any dropped column; this one is the migration's own.
        + "-- squawk-ignore ban-drop-column -- removes only the column this migration added\n"
        + "ALTER TABLE connection_logs DROP COLUMN note;\n"
    )
    (clone / "tests" / "fixtures" / f"{migration_id}.sql").write_text(
        "UPDATE connection_logs SET note = 'checked by the on-call engineer'\n"
        "WHERE id = '00000000-0000-0000-0000-0000000000c1';\n"
    )
    python = sys.executable
    _run(clone, python, "-m", "connlog.codegen", "sum", server_url=server_url)
    _run(
        clone,
        python,
        "-m",
        "connlog.codegen",
        "generate",
        "--database",
        server_url,
        server_url=server_url,
    )
    assert "note" in (clone / "generated" / "models.py").read_text()
    _run(
        clone,
        python,
        "-m",
        "pytest",
        "-q",
        "-x",
        # One process: the outer run's workers already keep both cores busy.
        "-n",
        "0",
        "-p",
        "no:cacheprovider",
        # A few examples per property test: enough to show a test that no longer fits the table.
        "-p",
        "tests.migrations.few_examples",
        *CHECKS,
        server_url=server_url,
    )
    _run(
        clone,
        python,
        "-m",
        "mypy",
        "--strict",
        "--explicit-package-bases",
        "tests/connection_logs",
        "connlog",
        server_url=server_url,
    )
