"""Deploys that race: two `yoyo apply` runs at once on a fresh database.

yoyo serialises them with a row in its `yoyo_lock` table; the loser of the race to create
that table swallows the duplicate-table error, then waits (up to yoyo's fixed 10 s) for the
winner's lock and finds nothing left to apply. Nothing of ours works around it: this test
runs the real command line, twice, in parallel, and checks yoyo's own records.
"""

from __future__ import annotations

import psycopg
import pytest

from codegen.database import migrate
from tests.migrations.migration_support import MIGRATIONS_DIR, applied_ids, start_yoyo

IDS = migrate.ordered_ids(MIGRATIONS_DIR)


# Twice, each on a fresh database: one lucky interleaving should not make it pass.
@pytest.mark.parametrize("attempt", [1, 2])
def test_two_yoyo_apply_processes_started_at_once_both_succeed_and_apply_each_once(
    empty_db_url: str, attempt: int
) -> None:
    processes = [start_yoyo(empty_db_url, "apply", "--batch") for _ in range(2)]
    outputs = [process.communicate(timeout=60)[0] for process in processes]

    for process, output in zip(processes, outputs, strict=True):
        assert process.returncode == 0, f"yoyo apply exited {process.returncode}:\n{output}"
    assert applied_ids(empty_db_url) == IDS
    with psycopg.connect(empty_db_url) as conn:
        # _yoyo_log keeps one row per apply ever run: a migration applied twice shows here.
        applies = conn.execute(
            "SELECT migration_id, count(*) FROM _yoyo_log WHERE operation = 'apply' "
            "GROUP BY migration_id ORDER BY migration_id"
        ).fetchall()
        assert applies == [(migration_id, 1) for migration_id in IDS]
        assert conn.execute("SELECT count(*) FROM yoyo_lock").fetchone() == (0,)
