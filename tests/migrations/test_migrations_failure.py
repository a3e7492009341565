"""A migration that fails midway leaves nothing behind, and the next apply starts clean."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from connlog.codegen.database import migrate
from connlog.codegen.database.schema_dump import dump_schema
from connlog.codegen.model import CodegenErrors, Location
from tests.migrations.migration_support import MIGRATIONS_DIR, applied_ids

IDS = migrate.ordered_ids(MIGRATIONS_DIR)
BROKEN_ID = "9999_fails_midway"

# Each statement would stick if the file were not one transaction.
WORK = f"""-- depends: {IDS[-1]}
CREATE TABLE half_done (id integer PRIMARY KEY);
INSERT INTO half_done VALUES (1);
ALTER TABLE connection_logs ADD COLUMN half_done_id integer;
COMMENT ON TABLE organizations IS 'touched by a failed migration';
"""
FAILURE = "SELECT 1 / 0;\n"
ROLLBACK = """DROP TABLE half_done;
ALTER TABLE connection_logs DROP COLUMN half_done_id;
COMMENT ON TABLE organizations IS NULL;
"""


def _add_migration(folder: Path, body: str) -> None:
    (folder / f"{BROKEN_ID}.sql").write_text(body)
    (folder / f"{BROKEN_ID}.rollback.sql").write_text(ROLLBACK)


def test_a_failing_migration_leaves_nothing_behind_and_the_next_apply_starts_clean(
    empty_db_url: str, migrations_copy: Path
) -> None:
    assert migrate.apply_all(empty_db_url, migrations_copy) == IDS
    before = dump_schema(empty_db_url)

    _add_migration(migrations_copy, WORK + FAILURE)
    with pytest.raises(CodegenErrors, match="division by zero") as failed:
        migrate.apply_all(empty_db_url, migrations_copy)
    assert isinstance(failed.value.__cause__, psycopg.errors.DivisionByZero)
    # The server gives no position for this one: the failing statement's start.
    assert failed.value.errors[0].location == Location(
        str(migrations_copy / f"{BROKEN_ID}.sql"), 6, 1
    )

    assert dump_schema(empty_db_url) == before
    assert applied_ids(empty_db_url) == IDS
    with psycopg.connect(empty_db_url) as conn:
        assert conn.execute("SELECT count(*) FROM yoyo_lock").fetchone() == (0,)

    # Retrying hits the same error, not "relation half_done already exists".
    with pytest.raises(CodegenErrors, match="division by zero"):
        migrate.apply_all(empty_db_url, migrations_copy)

    _add_migration(migrations_copy, WORK)
    assert migrate.apply_all(empty_db_url, migrations_copy) == [BROKEN_ID]
    with psycopg.connect(empty_db_url) as conn:
        assert conn.execute("SELECT id FROM half_done").fetchall() == [(1,)]
