"""Deploys that race: two `yoyo apply` runs at once on a fresh database.

yoyo serialises them with a row in its `yoyo_lock` table; the loser of the race to create
that table swallows the duplicate-table error, then waits (up to yoyo's fixed 10 s) for the
winner's lock and finds nothing left to apply. A winner still migrating after the timeout makes
the loser raise LockTimeout, having applied nothing: rerunning it is safe. Nothing of ours
works around it: these tests run the real command line in parallel (and yoyo's own lock, with a
shorter timeout than its command line's) and check yoyo's own records.
"""

from __future__ import annotations

import time
from pathlib import Path

import psycopg
import pytest
from yoyo import get_backend, read_migrations
from yoyo.exceptions import LockTimeout

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
def test_a_run_that_waits_too_long_for_yoyos_lock_gets_lock_timeout_and_applies_nothing(
    empty_db_url: str, tmp_path: Path
) -> None:
    """yoyo's own lock, with a 1 s timeout asked of it here (its command line always waits
    10 s, as docs/migrations.md says: no need to wait that long to see the same lock)."""
    (tmp_path / "0001_slow.sql").write_text("SELECT pg_sleep(4);\nCREATE TABLE slow (id int);\n")
    first = start_yoyo(empty_db_url, "apply", "--batch", str(tmp_path))
    try:
        deadline = time.monotonic() + 10
        while not _yoyo_locked(empty_db_url):
            assert time.monotonic() < deadline, "the first apply never took yoyo's lock"
            time.sleep(0.05)
        backend = get_backend(migrate.yoyo_url(empty_db_url))
        try:
            with pytest.raises(LockTimeout), backend.lock(timeout=1):
                backend.apply_migrations(backend.to_apply(read_migrations(str(tmp_path))))
        finally:
            backend.connection.close()
        assert applied_ids(empty_db_url) == [], "the first is still migrating"
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
