"""Behind a real pgbouncer in transaction mode, and through psycopg_pool: the generated functions
work with prepare_threshold=None, and the purge, which is tied to no server session, neither
fails nor leaves its lock behind. (The pooler hands server connections out round robin, so
consecutive transactions of one client change server connection: see tests/connection_logs/
pooler.py.)"""

from __future__ import annotations

import threading
from typing import Any

import psycopg
import pytest
from psycopg_pool import ConnectionPool

from connlog.generated.connection_logs import count_connection_logs, get_connection_logs_offset
from connlog.purge import PurgeResult, purge
from connlog.record import ConnectionEvent, record_event, record_events
from tests.connection_logs import pooler
from tests.connection_logs.world import (
    CUTOFF,
    PURGE_LOCK_HELD,
    World,
    example_events,
    expected_logs,
    stored,
)

CLIENTS = 4


def spread_over_server_connections(url: str) -> None:
    """Open CLIENTS server connections in the pool: CLIENTS clients in a transaction at once."""
    clients = [psycopg.connect(url) for _ in range(CLIENTS)]
    try:
        for client in clients:
            client.execute("SELECT 1")  # each now holds a server connection of its own
        for client in clients:
            client.commit()  # a transaction a client leaves open costs its server connection
    finally:
        for client in clients:
            client.close()


def advisory_locks(db: psycopg.Connection[Any]) -> int:
    count = db.execute(PURGE_LOCK_HELD).fetchone()
    db.commit()
    assert count is not None
    return int(count[0])


def test_automatic_prepared_statements_fail_behind_a_transaction_pooler(pooled_url: str) -> None:
    # Why docs/operations.md says prepare_threshold=None: psycopg prepares a statement on its fifth
    # run, on one server connection, and the next run asks another server for it.
    spread_over_server_connections(pooled_url)
    with (
        psycopg.connect(pooled_url, autocommit=True) as conn,
        pytest.raises(psycopg.errors.InvalidSqlStatementName, match="does not exist"),
    ):
        for _ in range(20):
            conn.execute("SELECT 1 WHERE %s", [True])


def test_generated_functions_through_pgbouncer_and_psycopg_pool(
    db: psycopg.Connection[Any], pooled_url: str, world: World
) -> None:
    spread_over_server_connections(pooled_url)
    events = example_events(world, sessions=120, web=40)
    shares = [events[i::CLIENTS] for i in range(CLIENTS)]
    failures: list[BaseException] = []
    pool = ConnectionPool(
        pooled_url,
        min_size=CLIENTS,
        max_size=CLIENTS,
        kwargs={"prepare_threshold": None, "autocommit": True},
        open=False,
    )

    def client(share: list[ConnectionEvent], batched: bool) -> None:
        try:
            for start in range(0, len(share), 5):
                with pool.connection() as conn:
                    chunk = share[start : start + 5]
                    if batched:
                        record_events(conn, chunk)
                    else:
                        for event in chunk:
                            record_event(conn, event)
                    # Reads on the same pooled connections, past psycopg's prepare threshold.
                    get_connection_logs_offset(conn, limit=10)
                    count_connection_logs(conn)
        except BaseException as exc:
            failures.append(exc)

    with pool:
        threads = [
            threading.Thread(target=client, args=(share, n % 2 == 1))
            for n, share in enumerate(shares)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a client hung behind the pooler"
    assert failures == []
    assert stored(db) == expected_logs(events)


def test_a_purge_through_pgbouncer_fails_nothing_and_leaves_no_lock(
    db: psycopg.Connection[Any], pooled_url: str, world: World
) -> None:
    record_events(db, example_events(world, sessions=60, web=60))
    db.commit()
    old = [log for log in stored(db) if log.connect_time < CUTOFF]
    db.commit()
    spread_over_server_connections(pooled_url)

    # psycopg's default prepare_threshold: the purge must not depend on it.
    with psycopg.connect(pooled_url, autocommit=True) as conn:
        first = purge(conn, before=CUTOFF, batch_size=3)
        assert advisory_locks(db) == 0, "the purge lock stayed on a server connection"
        second = purge(conn, before=CUTOFF, batch_size=3)
        assert conn.prepare_threshold == 5, "the caller's setting is restored"
    assert first == PurgeResult(skipped=False, connection_logs=len(old))
    assert second == PurgeResult(skipped=False)
    assert [log for log in stored(db) if log.connect_time < CUTOFF] == []


def test_without_pgbouncer_a_user_who_cannot_install_it_is_told_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.setattr("shutil.which", lambda *_, **__: None)
    monkeypatch.setattr("os.geteuid", lambda: 1000)
    with pytest.raises(pooler.PoolerUnavailable, match=r"apt-get install pgbouncer"):
        pooler.find_pgbouncer()
