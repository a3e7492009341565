"""The main job's migration step: applies what is pending, then reports the tables."""

from __future__ import annotations

import pytest

from connlog import demo
from connlog.codegen.database import migrate
from tests.migrations.migration_support import MIGRATIONS_DIR


def test_first_run_applies_every_migration_and_lists_the_tables(
    empty_db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    demo.migrate_and_report(empty_db_url)
    out = capsys.readouterr().out
    assert out.startswith("applied:\n")
    for migration_id in migrate.ordered_ids(MIGRATIONS_DIR):
        assert f"  {migration_id}\n" in out
    assert "  connection_logs" in out and "0 rows" in out


def test_second_run_has_nothing_to_apply(
    empty_db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    demo.migrate_and_report(empty_db_url)
    capsys.readouterr()
    demo.migrate_and_report(empty_db_url)
    assert "migrations: nothing to apply" in capsys.readouterr().out
