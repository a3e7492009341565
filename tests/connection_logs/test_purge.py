"""Retention: the deletes remove only old rows, oldest first, a batch at a time; purge runs them
to the end under an advisory lock that a second purge never waits for."""

from __future__ import annotations

import hashlib
import os
import random
import signal
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any, Final

import psycopg
import pytest

from connlog.generated.audit_logs import (
    DELETE_OLD_AUDIT_LOG_CONNECTION_EVENTS,
    delete_old_audit_log_connection_events,
)
from connlog.generated.connection_logs import delete_old_connection_logs, try_lock_purge
from connlog.generated.models import AuditAction, ConnectionLog
from connlog.purge import PurgeResult, _Resumed, next_batch_size, purge
from connlog.record import ConnectionEvent, record_events
from tests.conftest import REPO_ROOT
from tests.connection_logs.world import (
    CUTOFF,
    PURGE_LOCK_HELD,
    T0,
    World,
    disconnect_of,
    example_events,
    new_session_connect,
    random_id,
    stored,
)

INSERT_AUDIT_LOG = """
    INSERT INTO audit_logs (id, time, user_id, organization_id, resource_type, resource_id,
                            resource_target, action, status_code, request_id)
    VALUES (%s, %s, %s, %s, 'workspace', %s, 'ws', %s, 200, %s)
"""


def add_audit_logs(db: psycopg.Connection[Any], world: World) -> None:
    """Every action, once an hour for ten hours."""
    user, org = world.users[0], world.organizations[0]
    with db.cursor() as cur:
        cur.executemany(
            INSERT_AUDIT_LOG,
            [
                (
                    uuid.uuid4(),
                    T0 + timedelta(hours=h),
                    user.id,
                    org.id,
                    uuid.uuid4(),
                    a,
                    uuid.uuid4(),
                )
                for h in range(10)
                for a in AuditAction
            ],
        )


def audit_log_actions(db: psycopg.Connection[Any]) -> list[tuple[datetime, str]]:
    return list(db.execute("SELECT time, action::text FROM audit_logs ORDER BY time, action"))


def test_deleting_old_connection_logs_takes_the_oldest_first_and_at_most_the_limit(
    db: psycopg.Connection[Any], world: World
) -> None:
    record_events(db, example_events(world, sessions=30, web=30))
    logs = sorted(stored(db), key=lambda log: log.connect_time)
    old = [log for log in logs if log.connect_time < CUTOFF]
    assert len(old) > 8

    first = delete_old_connection_logs(db, before_time=CUTOFF, limit_count=5)
    assert (first.deleted, first.newest_connect_time) == (5, old[4].connect_time)
    remaining = {log.id for log in stored(db)}
    assert all(log.id not in remaining for log in old[:5])
    assert all(log.id in remaining for log in old[5:]), "the oldest go first"

    while delete_old_connection_logs(db, before_time=CUTOFF, limit_count=5).deleted:
        pass
    assert [log.id for log in sorted(stored(db), key=lambda log: log.connect_time)] == [
        log.id for log in logs if log.connect_time >= CUTOFF
    ]


def test_a_batch_from_a_time_deletes_nothing_older(
    db: psycopg.Connection[Any], world: World
) -> None:
    # Where the batch before stopped: the rows older than that stay for a pass from the oldest.
    record_events(db, example_events(world, sessions=30, web=30))
    old = sorted(
        (log for log in stored(db) if log.connect_time < CUTOFF), key=lambda log: log.connect_time
    )
    since = old[len(old) // 2].connect_time

    batch = delete_old_connection_logs(db, before_time=CUTOFF, from_time=since, limit_count=1000)

    newer = [log for log in old if log.connect_time >= since]
    assert (batch.deleted, batch.newest_connect_time) == (len(newer), newer[-1].connect_time)
    assert {log.id for log in stored(db) if log.connect_time < CUTOFF} == {
        log.id for log in old if log.connect_time < since
    }
    nothing = delete_old_connection_logs(db, before_time=CUTOFF, from_time=since, limit_count=9)
    assert (nothing.deleted, nothing.newest_connect_time) == (0, None)


def test_an_audit_log_batch_from_a_time_deletes_nothing_older(
    db: psycopg.Connection[Any], world: World
) -> None:
    add_audit_logs(db, world)
    connection_actions = {"connect", "disconnect", "open", "close"}
    old = [(time, action) for time, action in audit_log_actions(db) if time < CUTOFF]
    times = sorted({time for time, action in old if action in connection_actions})
    since = times[len(times) // 2]  # where the batch before stopped

    batch = delete_old_audit_log_connection_events(
        db, before_time=CUTOFF, from_time=since, limit_count=1000
    )

    newer = [(t, a) for t, a in old if a in connection_actions and t >= since]
    assert (batch.deleted, batch.newest_time) == (len(newer), times[-1])
    assert [row for row in audit_log_actions(db) if row[0] < CUTOFF] == [
        row for row in old if row not in newer
    ]
    nothing = delete_old_audit_log_connection_events(
        db, before_time=CUTOFF, from_time=since, limit_count=9
    )
    assert (nothing.deleted, nothing.newest_time) == (0, None)


def test_each_batch_of_a_table_starts_where_the_one_before_stopped() -> None:
    """What purge() gives each table's delete (the connection log's and the audit log's): the
    newest time the batch before deleted, kept through a batch that deleted nothing."""
    asked: list[datetime | None] = []
    answers = iter([(3, T0), (2, T0 + timedelta(hours=1)), (0, None), (1, T0 + timedelta(hours=2))])

    def delete(start: datetime | None, size: int) -> tuple[int, datetime | None]:
        asked.append(start)
        return next(answers)

    batches = _Resumed(delete)
    assert [batches.delete(10) for _ in range(4)] == [3, 2, 0, 1]
    assert asked == [None, T0, T0 + timedelta(hours=1), T0 + timedelta(hours=1)]


def test_the_audit_log_delete_reads_only_connection_events_through_their_own_index(
    db: psycopg.Connection[Any], world: World
) -> None:
    """The partial index of migration 0007 holds only the rows the purge deletes; the query's
    actions must stay exactly the index's, or the planner cannot use it (and the first batch
    of every purge walks past every older row of another action, which is never deleted)."""
    add_audit_logs(db, world)
    db.execute("SET enable_seqscan = off")  # a few rows: the planner would rather read them all
    with psycopg.RawCursor(db) as cur:  # the generated statement, as the function sends it
        cur.execute("EXPLAIN " + DELETE_OLD_AUDIT_LOG_CONNECTION_EVENTS, (CUTOFF, None, 10))
        plan = "\n".join(str(row[0]) for row in cur.fetchall())
    assert "idx_audit_logs_connection_events_time" in plan, plan
    db.rollback()


def test_deleting_old_audit_log_connection_events_touches_no_other_action(
    db: psycopg.Connection[Any], world: World
) -> None:
    add_audit_logs(db, world)
    before = audit_log_actions(db)
    connection_actions = {"connect", "disconnect", "open", "close"}

    batch = delete_old_audit_log_connection_events(db, before_time=CUTOFF, limit_count=3)
    assert (batch.deleted, batch.newest_time) == (3, T0)
    deleted = set(before) - set(audit_log_actions(db))
    assert {action for _, action in deleted} <= connection_actions
    assert {time for time, _ in deleted} == {T0}, "the oldest go first"

    while delete_old_audit_log_connection_events(db, before_time=CUTOFF, limit_count=3).deleted:
        pass
    assert audit_log_actions(db) == [
        (time, action)
        for time, action in before
        if not (action in connection_actions and time < CUTOFF)
    ]


def test_purge_deletes_everything_old_in_batches_and_reports_it(
    db: psycopg.Connection[Any], world: World
) -> None:
    record_events(db, example_events(world, sessions=30, web=30))
    add_audit_logs(db, world)
    db.commit()
    logs = stored(db)
    audits = audit_log_actions(db)
    db.commit()

    result = purge(db, before=CUTOFF, batch_size=4)

    assert result == PurgeResult(
        skipped=False,
        connection_logs=sum(log.connect_time < CUTOFF for log in logs),
        audit_logs=5 * 4,  # hours 0-4, four connection actions each
    )
    assert result.connection_logs > 4, "more than one batch"
    assert stored(db) == [log for log in logs if log.connect_time >= CUTOFF]
    assert len(audit_log_actions(db)) == len(audits) - 20
    db.commit()
    assert purge(db, before=CUTOFF, batch_size=4) == PurgeResult(skipped=False)


def test_a_second_purge_skips_while_one_runs(
    db: psycopg.Connection[Any], db_url: str, world: World
) -> None:
    record_events(db, example_events(world, sessions=10, web=10))
    db.commit()
    before = stored(db)
    db.commit()
    with psycopg.connect(db_url) as other:
        holder = try_lock_purge(other, idle_timeout_ms=60_000)
        assert holder is True

        assert purge(db, before=CUTOFF) == PurgeResult(skipped=True)
        assert stored(db) == before
        db.commit()

        # The lock is the transaction's: it ends with it.
        other.rollback()
    assert purge(db, before=CUTOFF).skipped is False


def hold_table(conn: psycopg.Connection[Any]) -> None:
    """Make every delete of connection_logs wait until ``conn`` ends its transaction."""
    conn.execute("LOCK TABLE connection_logs IN SHARE MODE")


def test_a_purge_started_while_another_runs_returns_at_once(
    db_url: str, db: psycopg.Connection[Any], world: World
) -> None:
    record_events(db, example_events(world, sessions=20, web=20))
    db.commit()
    old = [log for log in stored(db) if log.connect_time < CUTOFF]
    db.commit()
    results: list[PurgeResult] = []

    with psycopg.connect(db_url, autocommit=True) as first, psycopg.connect(db_url) as blocker:
        # The first purge stops inside its first batch, lock in hand.
        hold_table(blocker)
        running = threading.Thread(target=lambda: results.append(purge(first, before=CUTOFF)))
        running.start()
        try:
            wait_for_purge_lock(db)
            # Were the lock not honoured, this purge would wait for the table and time out.
            with psycopg.connect(db_url, autocommit=True, options="-c lock_timeout=5s") as second:
                assert purge(second, before=CUTOFF) == PurgeResult(skipped=True)
        finally:
            blocker.rollback()
            running.join(timeout=30)
    assert results == [PurgeResult(skipped=False, connection_logs=len(old), audit_logs=0)]


def wait_for_purge_lock(db: psycopg.Connection[Any], *, held: bool = True) -> None:
    """Until the purge lock is held (or, with ``held=False``, free), at most 10 s."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        count = db.execute(PURGE_LOCK_HELD).fetchone()
        db.commit()
        if count == ((1,) if held else (0,)):
            return
        time.sleep(0.01)
    raise AssertionError(f"the purge lock was never {'taken' if held else 'released'}")


STOPPABLE_PURGE = """
import sys
from datetime import datetime, timedelta
import psycopg
from connlog.purge import purge

with psycopg.connect(sys.argv[1], autocommit=True) as conn:
    purge(conn, before=datetime.fromisoformat(sys.argv[2]), idle_timeout=timedelta(seconds=1))
"""


def test_a_purge_whose_client_stopped_loses_its_lock(
    db_url: str, db: psycopg.Connection[Any], world: World
) -> None:
    record_events(db, example_events(world, sessions=20, web=20))
    db.commit()
    with psycopg.connect(db_url) as blocker:
        hold_table(blocker)
        stopped = subprocess.Popen(
            [sys.executable, "-c", STOPPABLE_PURGE, db_url, CUTOFF.isoformat()], cwd=REPO_ROOT
        )
        try:
            wait_for_purge_lock(db)
            # A hung client: its batch's delete finishes on the server, and the transaction
            # then waits, idle, for a COMMIT that never comes.
            os.kill(stopped.pid, signal.SIGSTOP)
            blocker.rollback()
            wait_for_purge_lock(db, held=False)
            assert purge(db, before=CUTOFF).skipped is False
        finally:
            os.kill(stopped.pid, signal.SIGKILL)
            stopped.wait(timeout=10)
    assert [log for log in stored(db) if log.connect_time < CUTOFF] == []


def test_purge_leaves_rows_a_writer_holds_for_the_next_one(
    db_url: str, db: psycopg.Connection[Any], world: World
) -> None:
    record_events(db, example_events(world, sessions=20, web=20))
    db.commit()
    old = sorted(
        (log for log in stored(db) if log.connect_time < CUTOFF), key=lambda log: log.connect_time
    )
    db.commit()
    with psycopg.connect(db_url) as writer:
        writer.execute("SELECT 1 FROM connection_logs WHERE id = %s FOR UPDATE", [old[0].id])
        # Waiting for the held row would hit the lock timeout instead.
        with psycopg.connect(db_url, autocommit=True, options="-c lock_timeout=5s") as conn:
            result = purge(conn, before=CUTOFF, batch_size=3)
        assert result == PurgeResult(skipped=False, connection_logs=len(old) - 1)
        assert [log.id for log in stored(db) if log.connect_time < CUTOFF] == [old[0].id]
        db.commit()
    assert purge(db, before=CUTOFF).connection_logs == 1


SESSION_LOCK: Final = """
    SELECT pg_advisory_xact_lock(
        1668247150, (('x' || left(md5(%s::text || '/' || %s::text || '/' || %s)::uuid::text, 8))
                     ::bit(32)::bigint >> 1)::integer)
"""


def _derived(event: ConnectionEvent) -> uuid.UUID:
    text = f"{event.connection_id}/{event.workspace_id}/{event.agent_name}"
    return uuid.UUID(hashlib.md5(text.encode()).hexdigest())


def _waiting_on_a_lock(conn: psycopg.Connection[Any], pid: int) -> bool:
    row = conn.execute("SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", [pid])
    return row.fetchone() == ("Lock",)


def test_a_batch_that_waited_while_a_purge_and_a_writer_replaced_a_row_merges_into_the_new_one(
    db_url: str, db: psycopg.Connection[Any], world: World
) -> None:
    """The stale-snapshot race, step by step: a batch's statement starts while an old session's
    row (a random id, as the earlier code wrote) exists, and waits for another session's lock;
    meanwhile the purge deletes that row and a writer records the session again (a new row,
    the derived id). The batch must then find the new row, not the one its statement first saw:
    with connection_log_session_id STABLE (one snapshot for the statement) it inserted a second
    row for the session, UniqueViolation."""
    rnd = random.Random(5)
    workspace = world.workspaces[0]
    first, second = sorted(
        (new_session_connect(rnd, workspace, CUTOFF - timedelta(hours=1)) for _ in range(2)),
        key=_derived,
    )  # the batch takes first's lock, then second's
    old_row = random_id(rnd)
    record_events(db, [replace(second, id=old_row)])
    db.execute("UPDATE connection_logs SET id = %s WHERE id = %s", [old_row, _derived(second)])
    db.commit()
    late = disconnect_of(second, random_id(rnd), CUTOFF + timedelta(minutes=5), code=1)
    batch = [disconnect_of(first, random_id(rnd), CUTOFF + timedelta(minutes=5), code=0), late]
    outcome: list[BaseException | list[ConnectionLog]] = []
    with (
        psycopg.connect(db_url) as holder,
        psycopg.connect(db_url, autocommit=True) as waiting,
        # Autocommit: a transaction reads pg_stat_activity once, and sees that all along.
        psycopg.connect(db_url, autocommit=True) as watching,
    ):
        holder.execute(SESSION_LOCK, [first.connection_id, first.workspace_id, first.agent_name])

        def record_the_batch() -> None:
            try:
                outcome.append(record_events(waiting, batch))
            except psycopg.Error as exc:
                outcome.append(exc)

        recording = threading.Thread(target=record_the_batch)
        recording.start()
        deadline = time.monotonic() + 10
        while not _waiting_on_a_lock(watching, waiting.info.backend_pid):
            assert time.monotonic() < deadline, "the batch never waited for the held lock"
            time.sleep(0.005)
        assert purge(db, before=CUTOFF).connection_logs == 1, "the old row, gone"
        record_events(db, [late])  # the session recorded again: a row with the derived id
        db.commit()
        holder.commit()  # the batch goes on
        recording.join(timeout=30)
    assert len(outcome) == 1 and not isinstance(outcome[0], BaseException), outcome
    rows = [log for log in stored(db) if log.connection_id == second.connection_id]
    assert [(log.id, log.disconnect_time) for log in rows] == [(_derived(second), late.time)]


def test_purge_releases_its_lock_even_when_a_batch_fails(
    db: psycopg.Connection[Any], db_url: str, world: World
) -> None:
    with pytest.raises(psycopg.errors.NumericValueOutOfRange):
        purge(db, before=CUTOFF, batch_size=2**40)
    # From another session: the failed purge's own session could take a lock it still held.
    with psycopg.connect(db_url) as other:
        held = try_lock_purge(other, idle_timeout_ms=60_000)
        assert held is True, "the failed purge let go of the lock"


def test_purge_refuses_a_naive_cutoff_and_an_open_transaction(db: psycopg.Connection[Any]) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        purge(db, before=datetime(2024, 1, 1))
    with pytest.raises(ValueError, match="batch_size"):
        purge(db, before=CUTOFF, batch_size=0)
    with pytest.raises(ValueError, match="idle_timeout"):
        purge(db, before=CUTOFF, idle_timeout=timedelta(0))
    db.execute("SELECT 1")
    with pytest.raises(psycopg.ProgrammingError, match="inside"):
        purge(db, before=CUTOFF)


def test_after_a_slow_batch_the_purge_takes_smaller_ones(
    db: psycopg.Connection[Any], world: World
) -> None:
    # A writer of a row a batch holds waits for the batch's end: batches must stay short.
    workspace = world.workspaces[0]
    db.execute(
        "INSERT INTO connection_logs (id, connect_time, organization_id, workspace_owner_id,"
        " workspace_id, workspace_name, agent_name, type, code)"
        " SELECT gen_random_uuid(), %s - n * interval '1 second', %s, %s, %s, %s, 'main',"
        " 'workspace_app', 200 FROM generate_series(1, 120) AS n",
        [CUTOFF, workspace.organization.id, workspace.owner.id, workspace.id, workspace.name],
    )
    # Every deleted row costs 4 ms: a batch of 40 takes 160 ms, eight times the 20 ms aimed at.
    db.execute(
        "CREATE FUNCTION slow_delete() RETURNS trigger LANGUAGE plpgsql AS"
        " $$ BEGIN PERFORM pg_sleep(0.004); RETURN OLD; END $$"
    )
    db.execute(
        "CREATE TRIGGER slow_delete BEFORE DELETE ON connection_logs"
        " FOR EACH ROW EXECUTE FUNCTION slow_delete()"
    )
    db.commit()
    old = sum(log.connect_time < CUTOFF for log in stored(db))
    db.commit()
    batches: list[tuple[int, float]] = []

    result = purge(
        db,
        before=CUTOFF,
        batch_size=40,
        batch_time=timedelta(milliseconds=20),
        on_batch=lambda rows, seconds: batches.append((rows, seconds)),
    )

    assert result.connection_logs == old == sum(rows for rows, _ in batches)
    sizes = [rows for rows, _ in batches]
    assert sizes[0] == 40, "the first batch is batch_size rows"
    # 40 rows in at least 160 ms: at most 40 * 20 / 160 = 5 rows next, and never more than 10
    # (twice 5) after any batch as slow as these.
    assert max(sizes[1:]) <= 10, sizes
    assert len(batches) > (old - 40) // 10, "the rest in small batches"


@pytest.mark.parametrize(
    ("size", "seconds", "expected"),
    [
        (1000, 0.100, 250),  # four times too slow: a quarter
        (1000, 0.020, 1000),  # quicker than aimed at, but never above the largest
        (100, 0.001, 200),  # far quicker: at most double
        (10, 10.0, 1),  # never below one row
        (100, 0.0, 200),  # a clock that did not move: double
    ],
)
def test_the_next_batch_is_sized_to_take_the_time_aimed_at(
    size: int, seconds: float, expected: int
) -> None:
    assert next_batch_size(size, seconds, 0.025, 1000) == expected
