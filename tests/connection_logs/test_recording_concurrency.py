"""Recording under concurrency: several processes recording the first events of the same new
sessions at the same instant, one by one and in batches, all succeed, and the stored rows are
those of the set of events, as if recorded by one writer."""

from __future__ import annotations

import random
import time
from datetime import timedelta
from typing import Any

import psycopg
import pytest

from connlog.record import ConnectionEvent, record_event, record_events
from tests.connection_logs.processes import assert_none_failed, barrier, run_processes
from tests.connection_logs.world import (
    T0,
    World,
    disconnect_of,
    expected_logs,
    new_session_connect,
    random_id,
    stored,
)

WRITERS = 4
ROUNDS = 150
SESSIONS_PER_ROUND = 4


def a_round_of_sessions(world: World, rnd: random.Random, n: int) -> list[ConnectionEvent]:
    """``n`` new sessions, each a connect, a disconnect, and sometimes a reconnect's pair, all
    sharing two agents of one workspace (so the sessions' rows sit side by side)."""
    workspace = world.workspaces[n % len(world.workspaces)]
    events: list[ConnectionEvent] = []
    for _ in range(SESSIONS_PER_ROUND):
        connect = new_session_connect(rnd, workspace, T0 + timedelta(seconds=rnd.randint(0, 3)))
        disconnect = disconnect_of(
            connect,
            random_id(rnd),
            connect.time + timedelta(seconds=rnd.randint(0, 3)),
            code=rnd.choice([0, 1, 130]),
            reason=rnd.choice(["exit", "timeout", None]),
        )
        events += [connect, disconnect]
        if rnd.random() < 0.5:
            events.append(
                disconnect_of(
                    connect,
                    random_id(rnd),
                    disconnect.time + timedelta(seconds=1),
                    code=0,
                    reason=disconnect.disconnect_reason,
                )
            )
    return events


def record_rounds(
    url: str, rounds: list[list[ConnectionEvent]], batched: bool, seed: int, start: Any
) -> float:
    """Record each round's events in an order of this writer's own, waiting at ``start`` so that
    every writer begins each round at the same instant; returns the seconds spent recording."""
    rnd = random.Random(seed)
    spent = 0.0
    with psycopg.connect(url, autocommit=True) as conn:
        for events in rounds:
            mine = rnd.sample(events, len(events))
            start.wait(timeout=10)
            began = time.monotonic()
            if batched:
                cut = rnd.randint(1, len(mine))
                record_events(conn, mine[:cut])
                record_events(conn, mine[cut:])
            else:
                for event in mine:
                    record_event(conn, event)
            spent += time.monotonic() - began
    return spent


@pytest.mark.race
def test_writers_recording_new_sessions_at_the_same_instant_all_succeed(
    db: psycopg.Connection[Any], db_url: str, world: World
) -> None:
    rnd = random.Random(9)
    rounds = [a_round_of_sessions(world, rnd, n) for n in range(ROUNDS)]
    start = barrier(WRITERS)

    # Half the writers record one event at a time, half in batches: both paths race each other.
    results = run_processes(
        record_rounds,
        [(db_url, rounds, writer % 2 == 1, writer, start) for writer in range(WRITERS)],
        timeout=60,
    )

    assert_none_failed(results)
    assert stored(db) == expected_logs(e for events in rounds for e in events)
