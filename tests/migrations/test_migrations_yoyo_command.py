"""``./dev yoyo``: either URL spelling works, mistakes are one located line, not a traceback."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from connlog.codegen.database import migrate
from connlog.codegen.model import CodegenErrors
from tests.codegen.conftest import run_codegen
from tests.migrations.migration_support import MIGRATIONS_DIR, REPO_ROOT, applied_ids, tables

IDS = migrate.ordered_ids(MIGRATIONS_DIR)
NO_ROLLBACK = (
    "migrations/0999_no_way_back.sql:1:1: error: migration 0999_no_way_back has no rollback file"
)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of the repository's migrations and yoyo.ini, as a user's checkout has them."""
    shutil.copytree(MIGRATIONS_DIR, tmp_path / "migrations")
    shutil.copy(REPO_ROOT / "yoyo.ini", tmp_path / "yoyo.ini")
    return tmp_path


def _yoyo(project: Path, *args: str, url: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    if url is not None:
        env["DATABASE_URL"] = url
    return subprocess.run(
        [sys.executable, "-m", "connlog.codegen.database.yoyo_command", *args],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_libpq_url_that_db_url_prints_works_for_yoyo(project: Path, empty_db_url: str) -> None:
    assert empty_db_url.startswith("postgresql://")
    result = _yoyo(project, "apply", "--batch", url=empty_db_url)
    assert result.returncode == 0, result.stderr
    assert applied_ids(empty_db_url) == IDS


def test_database_flag_in_either_spelling(project: Path, empty_db_url: str) -> None:
    yoyo_spelling = migrate.yoyo_url(empty_db_url)
    result = _yoyo(project, "apply", "--batch", "--database", yoyo_spelling)
    assert result.returncode == 0, result.stderr
    listed = _yoyo(project, "list", "-d", empty_db_url)
    assert listed.returncode == 0, listed.stderr
    assert all(f"A         {migration_id}" in listed.stdout for migration_id in IDS)


@pytest.mark.parametrize("spelling", ["-d{}", "--data={}", "--datab {}"])
def test_every_spelling_of_the_database_option_wins_over_database_url(
    project: Path, empty_db_url: str, db_url: str, spelling: str
) -> None:
    """argparse takes -dURL and any prefix of --database: each must name the database used,
    not lose to $DATABASE_URL (which migrated another database, silently)."""
    result = _yoyo(project, "apply", "--batch", *spelling.format(empty_db_url).split(), url=db_url)
    assert result.returncode == 0, result.stderr
    assert applied_ids(empty_db_url) == IDS


def test_bare_yoyo_without_a_url_says_what_to_set_in_one_line(project: Path) -> None:
    result = subprocess.run(
        [str(Path(sys.executable).with_name("yoyo")), "list", "--batch"],
        cwd=project,
        env={k: v for k, v in os.environ.items() if k != "DATABASE_URL"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1] == "yoyo: error: Please specify a database uri"


def test_a_broken_migration_is_reported_at_its_file_line_and_column(
    project: Path, empty_db_url: str
) -> None:
    (project / "migrations" / "0999_broken.sql").write_text(
        f"-- depends: {IDS[-1]}\nALTER TABLE users\n    ADD COLUMN nickname texx;\n"
    )
    (project / "migrations" / "0999_broken.rollback.sql").write_text(
        "ALTER TABLE users DROP COLUMN nickname;\n"
    )
    result = _yoyo(project, "apply", "--batch", url=empty_db_url)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith(
        'migrations/0999_broken.sql:3:25: error: migration 0999_broken: type "texx" does not exist'
    ), result.stderr
    assert applied_ids(empty_db_url) == IDS  # the good ones went in, the broken one did not


def test_a_migration_without_a_rollback_is_refused_before_anything_is_applied(
    project: Path, empty_db_url: str
) -> None:
    (project / "migrations" / "0999_no_way_back.sql").write_text(
        f"-- depends: {IDS[-1]}\nALTER TABLE users ADD COLUMN nickname text;\n"
    )
    result = _yoyo(project, "apply", "--batch", url=empty_db_url)
    assert result.returncode == 1
    assert result.stderr.splitlines()[0] == (NO_ROLLBACK)
    assert tables(empty_db_url) == set()

    with pytest.raises(CodegenErrors, match="0999_no_way_back has no rollback file"):
        migrate.apply_all(empty_db_url, project / "migrations")
    assert tables(empty_db_url) == set()


def test_a_rollback_whose_file_is_missing_is_refused(project: Path, empty_db_url: str) -> None:
    """Without its file, yoyo's rollback would only unmark the migration, keeping its objects."""
    assert _yoyo(project, "apply", "--batch", url=empty_db_url).returncode == 0
    (project / "migrations" / f"{IDS[-1]}.rollback.sql").unlink()
    result = _yoyo(project, "rollback", "--batch", "-r", IDS[-1], url=empty_db_url)
    assert result.returncode == 1
    assert f"migration {IDS[-1]} has no rollback file" in result.stderr.splitlines()[0]
    assert applied_ids(empty_db_url) == IDS


@pytest.mark.parametrize("command", ["generate", "check"])
def test_generate_and_check_refuse_a_migration_without_a_rollback(
    project: Path, server_url: str, command: str
) -> None:
    (project / "migrations" / "0999_no_way_back.sql").write_text(
        f"-- depends: {IDS[-1]}\nALTER TABLE users ADD COLUMN nickname text;\n"
    )
    (project / "queries").mkdir()
    result = run_codegen(
        command,
        "--migrations",
        "migrations",
        "--queries",
        "queries",
        "--out",
        "out",
        "--database",
        server_url,
        cwd=project,
    )
    assert result.code == 1
    assert NO_ROLLBACK in result.stderr.splitlines(), result.stderr
    assert not (project / "out").exists()
