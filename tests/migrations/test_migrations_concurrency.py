"""Deploys that race: two `yoyo apply` runs at once on a fresh database.

yoyo serialises them with a row in its `yoyo_lock` table; the loser of the race to create
that table swallows the duplicate-table error, then waits (up to yoyo's fixed 10 s) for the
winner's lock and finds nothing left to apply. A winner still migrating after 10 s makes the
loser exit with LockTimeout, having applied nothing: rerunning it is safe. Nothing of ours
works around it: these tests run the real command line in parallel and check yoyo's own
records.
"""

from __future__ import annotations

import time
from pathlib import Path

import psycopg
import pytest

from connlog.codegen.database import migrate
from tests.migrations.migration_support import MIGRATIONS_DIR, applied_ids, run_yoyo, start_yoyo

IDS = migrate.ordered_ids(MIGRATIONS_DIR)


# Twice, each on a fresh database: one lucky interleaving should not make it pass.
@pytest.mark.race
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


@pytest.mark.race
def test_an_apply_waiting_over_10_s_for_another_exits_with_lock_timeout_and_applies_nothing(
    empty_db_url: str, tmp_path: Path
) -> None:
    # A migration longer than yoyo's fixed 10 s lock timeout, as docs/migrations.md warns.
    # 14 s: the waiter's own start-up (a Python process) must not eat the margin.
    (tmp_path / "0001_slow.sql").write_text("SELECT pg_sleep(14);\nCREATE TABLE slow (id int);\n")
    first = start_yoyo(empty_db_url, "apply", "--batch", str(tmp_path))
    try:
        deadline = time.monotonic() + 10
        while not _yoyo_locked(empty_db_url):
            assert time.monotonic() < deadline, "the first apply never took yoyo's lock"
            time.sleep(0.05)

        waiting = start_yoyo(empty_db_url, "apply", "--batch", str(tmp_path))
        output, _ = waiting.communicate(timeout=60)
        assert waiting.returncode != 0 and "LockTimeout" in output, output
        assert first.communicate(timeout=60)[0] is not None and first.returncode == 0
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()

    # Rerun once the first is done: nothing left to do, and the migration ran once.
    run_yoyo(empty_db_url, "apply", "--batch", str(tmp_path))
    assert applied_ids(empty_db_url) == ["0001_slow"]


def _yoyo_locked(url: str) -> bool:
    with psycopg.connect(url) as conn:
        try:
            return conn.execute("SELECT count(*) FROM yoyo_lock").fetchone() == (1,)
        except psycopg.errors.UndefinedTable:
            return False
