"""The main job's connection-log half (``./dev demo``) on a fresh database."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from connlog import day


def _stored(conn: psycopg.Connection[Any]) -> list[tuple[Any, ...]]:
    return conn.execute("SELECT * FROM connection_logs ORDER BY id").fetchall()


def test_the_day_is_recorded_listed_and_purged(
    db: psycopg.Connection[Any], capsys: pytest.CaptureFixture[str]
) -> None:
    day.run(db)
    shown = capsys.readouterr().out

    assert "recorded" in shown and "keyset paging" in shown and "purged" in shown
    actions = {a for (a,) in db.execute("SELECT DISTINCT action::text FROM audit_logs")}
    assert actions == {"login", "write"}, "only the connection events leave the audit log"
    earliest = db.execute("SELECT min(connect_time) FROM connection_logs").fetchone()
    assert earliest is not None and earliest[0] >= day.DAY.replace(hour=12)


def test_running_the_day_again_leaves_the_same_rows(
    db: psycopg.Connection[Any], capsys: pytest.CaptureFixture[str]
) -> None:
    day.run(db)
    first = _stored(db)
    day.run(db)
    assert _stored(db) == first
    assert first, "the day leaves rows after noon"
