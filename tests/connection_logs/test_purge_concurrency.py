"""The purge against recording batches: two processes record batches (late disconnects of old
sessions among new sessions' events) for seconds while a third purges sixty thousand old
rows; neither side ever fails (no deadlock), and what is left is exactly the new rows."""

from __future__ import annotations

import hashlib
import random
import time
from collections.abc import Iterator
from datetime import timedelta
from itertools import islice
from typing import Any, Final
from uuid import UUID

import psycopg
import pytest

from connlog.purge import PurgeResult, purge
from connlog.record import ConnectionEvent, record_events
from tests.connection_logs.processes import assert_none_failed, barrier, run_processes
from tests.connection_logs.world import (
    CONNECTED,
    SESSION_TYPES,
    T0,
    World,
    disconnect_of,
    expected_logs,
    new_session_connect,
    random_id,
    stored,
)

# Sized so that the first purge lasts most of the writing. The late
# disconnects fall among the WINDOW oldest rows, at least four of the purge's batches. Without
# SKIP LOCKED it fails every run (DeadlockDetected, 4 runs of 4 at these sizes, session 5). The
# stale-snapshot bug of connection_log_session_id (STABLE for VOLATILE) it caught in 3 runs of 3
# before the purge resumed where its last batch stopped, and in 1 of 3 since (at 100,000 rows and
# 5 s of writing): test_purge.py's
# test_a_batch_that_waited_while_a_purge_and_a_writer_replaced_a_row_merges_into_the_new_one
# takes that interleaving step by step, and fails every time with the bug.
OLD_SESSIONS: Final = 60_000
CUTOFF: Final = T0
OLDEST: Final = T0 - timedelta(days=3)
WRITING_SECONDS: Final = 3.0
BATCH: Final = 100
WINDOW: Final = 1000

# Old sessions, one a second from OLDEST (the last ends before CUTOFF), connected and still
# open; one in ten has a random id, as the platform's earlier code wrote them.
LOAD_OLD_SESSIONS: Final = """
    INSERT INTO connection_logs (id, connect_time, organization_id, workspace_owner_id,
                                 workspace_id, workspace_name, agent_name, type, connection_id)
    SELECT
        CASE WHEN n %% 10 = 0 THEN gen_random_uuid()
             ELSE md5(session.id::text || '/' || w.id::text || '/main')::uuid END,
        %(oldest)s + n * interval '1 second',
        w.organization_id, w.owner_id, w.id, w.name, 'main', 'ssh', session.id
    FROM generate_series(0, %(sessions)s - 1) AS n
    CROSS JOIN LATERAL (SELECT md5('old-' || n)::uuid AS id) AS session
    JOIN workspaces AS w ON w.id = (%(workspaces)s::uuid[])[n %% cardinality(%(workspaces)s) + 1]
"""


CHECK_OLD_ROWS: Final = """
    SELECT
        count(*) FILTER (WHERE disconnect_time IS NOT NULL),
        count(*) FILTER (WHERE NOT (
            CASE WHEN disconnect_time IS NULL
                THEN disconnect_reason IS NULL AND code IS NULL
                ELSE disconnect_reason = 'late' AND code = 1
                    AND connect_time <= disconnect_time
                    AND connection_id = md5('old-' || extract(
                        epoch FROM disconnect_time - %(oldest)s - interval '30 minutes'
                    )::bigint)::uuid
            END
        ))
    FROM connection_logs
    WHERE connect_time < %(cutoff)s
"""


def old_session(world: World, n: int) -> ConnectionEvent:
    """The connect LOAD_OLD_SESSIONS stored for old session ``n``."""
    workspace = world.workspaces[n % len(world.workspaces)]
    return ConnectionEvent(
        id=UUID(int=n),
        time=OLDEST + timedelta(seconds=n),
        organization_id=workspace.organization.id,
        workspace_owner_id=workspace.owner.id,
        workspace_id=workspace.id,
        workspace_name=workspace.name,
        agent_name="main",
        type=SESSION_TYPES[0],
        connection_status=CONNECTED,
        connection_id=UUID(hashlib.md5(f"old-{n}".encode()).hexdigest()),
    )


def new_sessions(world: World, rnd: random.Random) -> Iterator[ConnectionEvent]:
    """Events of new sessions (after the cutoff): a connect, then a disconnect."""
    while True:
        workspace = rnd.choice(world.workspaces)
        connect = new_session_connect(
            rnd, workspace, CUTOFF + timedelta(seconds=rnd.randint(0, 3600))
        )
        yield connect
        yield disconnect_of(
            connect, random_id(rnd), connect.time + timedelta(seconds=rnd.randint(0, 600)), code=0
        )


def late_disconnects(world: World, rnd: random.Random, oldest: int) -> list[ConnectionEvent]:
    """Late disconnects of old sessions among the ``WINDOW`` oldest from ``oldest`` on: the rows
    the purge is deleting right now."""
    return [
        disconnect_of(
            old_session(world, n),
            random_id(rnd),
            OLDEST + timedelta(seconds=n, minutes=30),
            code=1,
            reason="late",
        )
        for n in rnd.sample(range(oldest, min(oldest + WINDOW, OLD_SESSIONS)), BATCH // 2)
    ]


def write(url: str, world: World, seed: int, start: Any, purged: Any) -> int:
    """Record batches for WRITING_SECONDS, each half new sessions' events (the ``seed``'s, in
    order), half late disconnects of the oldest sessions left, shuffled, and one more once the
    purger has stopped; returns how many."""
    rnd = random.Random(seed)
    new = new_sessions(world, random.Random(seed))

    def record_a_batch(conn: psycopg.Connection[Any]) -> None:
        row = conn.execute("SELECT min(connect_time) FROM connection_logs").fetchone()
        oldest = 0 if row is None or row[0] is None else (row[0] - OLDEST).total_seconds()
        events = late_disconnects(world, rnd, min(int(oldest), OLD_SESSIONS - WINDOW))
        events += [next(new) for _ in range(BATCH // 2)]
        rnd.shuffle(events)
        record_events(conn, events)

    written = 0
    with psycopg.connect(url, autocommit=True) as conn:
        start.wait(timeout=30)
        end = time.monotonic() + WRITING_SECONDS
        while time.monotonic() < end:
            record_a_batch(conn)
            written += 1
        # The purger's last purge may outlast the writing (a busy machine) and take every late
        # disconnect with it; one batch after it leaves some for the final check to judge.
        purged.wait(timeout=60)
        record_a_batch(conn)
    return written + 1


def purge_while_writing(url: str, start: Any, purged: Any) -> list[PurgeResult]:
    """Purge again and again while the writers write."""
    results: list[PurgeResult] = []
    with psycopg.connect(url, autocommit=True) as conn:
        start.wait(timeout=30)
        end = time.monotonic() + WRITING_SECONDS
        while time.monotonic() < end:
            # Small batches: the first purge, of every old row, lasts most of the writing.
            results.append(purge(conn, before=CUTOFF, batch_size=250))
    purged.wait(timeout=60)
    return results


@pytest.mark.race
def test_purging_while_two_processes_record_batches_never_deadlocks(
    db: psycopg.Connection[Any], db_url: str, world: World
) -> None:
    db.execute(
        LOAD_OLD_SESSIONS,
        {
            "oldest": OLDEST,
            "sessions": OLD_SESSIONS,
            "workspaces": [w.id for w in world.workspaces],
        },
    )
    db.commit()
    start, purged = barrier(3), barrier(3)

    results = run_processes(
        _worker,
        [
            ("write", db_url, world, 1, start, purged),
            ("write", db_url, world, 2, start, purged),
            ("purge", db_url, None, 0, start, purged),
        ],
        timeout=WRITING_SECONDS + 60,
    )
    assert_none_failed(results)
    first_writes, second_writes, purges = results
    assert first_writes > 10 and second_writes > 10, "both writers ran throughout"
    assert purges and not any(p.skipped for p in purges)
    assert sum(p.connection_logs for p in purges) >= OLD_SESSIONS

    # Every old row left is its session's own: open, or closed by exactly that session's late
    # disconnect (session n's is at OLDEST + n s + 30 min), merged into its row or, once the row
    # was purged, a row of its own; never another session's, never half applied.
    checked = db.execute(CHECK_OLD_ROWS, {"oldest": OLDEST, "cutoff": CUTOFF}).fetchone()
    db.commit()
    late, wrong = checked or (0, 0)
    # At least the last batch's: its late disconnects came after the last purge.
    assert late >= BATCH // 2, f"only {late} late disconnects are stored"
    assert wrong == 0, f"{wrong} old rows hold a disconnect that is not their session's"

    # Late disconnects of sessions already purged made old rows again: the next purge takes
    # them, and then exactly the new sessions' rows remain, as recorded.
    purge(db, before=CUTOFF)
    recorded = [
        e
        for seed, count in ((1, first_writes), (2, second_writes))
        for e in islice(new_sessions(world, random.Random(seed)), count * BATCH // 2)
    ]
    assert stored(db) == expected_logs(recorded)


def _worker(kind: str, url: str, world: World | None, seed: int, start: Any, purged: Any) -> Any:
    if kind == "purge":
        return purge_while_writing(url, start, purged)
    assert world is not None
    return write(url, world, seed, start, purged)
