"""Retention: delete connection logs, and the connection events still in the audit log, older
than a cutoff.

The deletes run in batches, each in its own transaction, so a purge of millions of rows never
holds millions of row locks or one huge transaction. Each batch first takes a transaction-level
advisory lock (``TryLockPurge`` in queries/connection_logs.sql): when another purge holds it, this
one stops at once with ``skipped=True`` instead of deleting the same rows in parallel. The lock
ends with the batch's transaction, so nothing outlives a purge that crashed, and one whose
client stopped answering loses it once its transaction has been idle for ``idle_timeout``.
Nothing here is tied to a server session, so a purge works behind a transaction pooler.

A writer of a row a batch holds waits for that batch's end, so batches are kept short: each one
after the first is sized from the one before to take about ``batch_time`` (at most
``batch_size`` rows, at most twice the last batch's, at least one), whatever the table's size
and the machine's load.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

import psycopg
from psycopg.pq import TransactionStatus

from connlog.generated.audit_logs import delete_old_audit_log_connection_events
from connlog.generated.connection_logs import delete_old_connection_logs, try_lock_purge

DEFAULT_BATCH_SIZE: Final = 1000
# How long a batch should take: what a writer of a row the purge is deleting may have to wait.
# Recording's bound is 100 ms; this leaves room for a batch slowed down by a busy machine.
DEFAULT_BATCH_TIME: Final = timedelta(milliseconds=25)
# Far longer than a batch of DEFAULT_BATCH_SIZE takes, far shorter than "forever".
DEFAULT_IDLE_TIMEOUT: Final = timedelta(seconds=60)
_MAX_TIMEOUT_MS: Final = 2**31 - 1  # the timeouts are integer milliseconds

# One batch of a delete, of at most this many rows: how many it removed.
_DeleteBatch = Callable[[int], int]
# Told of each batch committed: the rows it deleted and the seconds it took.
BatchObserver = Callable[[int, float], object]


@dataclass(frozen=True, slots=True)
class PurgeResult:
    """What one purge did: rows deleted of each kind; ``skipped`` when it stopped because another
    purge was deleting (the counts are then what this one deleted before it stopped)."""

    skipped: bool
    connection_logs: int = 0
    audit_logs: int = 0


def purge(
    conn: psycopg.Connection[object],
    *,
    before: datetime,
    batch_size: int = DEFAULT_BATCH_SIZE,
    batch_time: timedelta = DEFAULT_BATCH_TIME,
    idle_timeout: timedelta = DEFAULT_IDLE_TIMEOUT,
    on_batch: BatchObserver | None = None,
) -> PurgeResult:
    """Delete every connection log that started before ``before``, and every audit_logs row
    recording a connect, disconnect, open or close before it, at most ``batch_size`` rows per
    transaction, until none is left. The first batch of each is ``batch_size`` rows; each later
    one is sized to take about ``batch_time``. ``on_batch`` is told of every committed batch.

    ``conn`` must not be inside a transaction: each batch is committed as it goes. Returns at
    once with ``skipped=True`` when another purge is deleting. Should this process stop between
    a batch's statements, the server ends its session after ``idle_timeout``, releasing the lock.
    Rows a writer holds at that instant are left for the next purge rather than waited for.
    """
    if before.tzinfo is None:
        # A naive cutoff would be read in the server's time zone: a silent off-by-hours.
        raise ValueError(f"before must be timezone-aware, got naive {before!r}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size!r}")
    if batch_time <= timedelta(0):
        raise ValueError(f"batch_time must be positive, got {batch_time!r}")
    idle_timeout_ms = int(idle_timeout.total_seconds() * 1000)
    if not 1 <= idle_timeout_ms <= _MAX_TIMEOUT_MS:
        raise ValueError(
            f"idle_timeout must be between 1 ms and {_MAX_TIMEOUT_MS} ms (PostgreSQL's limit), "
            f"got {idle_timeout!r}"
        )
    if conn.info.transaction_status != TransactionStatus.IDLE:
        raise psycopg.ProgrammingError(
            "purge() commits a transaction per batch, so it cannot run inside one: "
            "commit or roll back first, or pass a connection of its own"
        )

    def connection_logs(start: datetime | None, size: int) -> tuple[int, datetime | None]:
        batch = delete_old_connection_logs(
            conn, before_time=before, from_time=start, limit_count=size
        )
        return batch.deleted, batch.newest_connect_time

    def audit_logs(start: datetime | None, size: int) -> tuple[int, datetime | None]:
        batch = delete_old_audit_log_connection_events(
            conn, before_time=before, from_time=start, limit_count=size
        )
        return batch.deleted, batch.newest_time

    deletes: list[_DeleteBatch] = [_Resumed(connection_logs).delete, _Resumed(audit_logs).delete]
    totals = [0, 0]
    target = batch_time.total_seconds()
    for kind, delete_batch in enumerate(deletes):
        size = batch_size
        # Batches until one deletes nothing, each under the lock in its own transaction.
        while True:
            began = time.perf_counter()
            with _unprepared(conn), conn.transaction():
                acquired = try_lock_purge(conn, idle_timeout_ms=idle_timeout_ms)
                if not acquired:
                    return PurgeResult(True, connection_logs=totals[0], audit_logs=totals[1])
                deleted = delete_batch(size)
            seconds = time.perf_counter() - began
            if deleted == 0:
                break
            totals[kind] += deleted
            if on_batch is not None:
                on_batch(deleted, seconds)
            size = next_batch_size(size, seconds, target, batch_size)
    return PurgeResult(False, connection_logs=totals[0], audit_logs=totals[1])


class _Resumed:
    """Deletes of one table, each starting where the one before stopped.

    Deleted rows stay in the time index until VACUUM, so a batch that started from the oldest
    time would walk past every one of them (at five million, seconds a batch). Rows a writer
    held were skipped on the way, and are left for the next purge, which starts from the oldest.
    """

    def __init__(
        self, delete: Callable[[datetime | None, int], tuple[int, datetime | None]]
    ) -> None:
        self._delete = delete  # (from_time, size) -> (rows deleted, the newest time among them)
        self._from: datetime | None = None

    def delete(self, size: int) -> int:
        deleted, newest = self._delete(self._from, size)
        if newest is not None:
            self._from = newest
        return deleted


def next_batch_size(size: int, seconds: float, target: float, largest: int) -> int:
    """The size of the batch after one of ``size`` rows that took ``seconds``: scaled to take
    ``target`` seconds, growing at most twofold (one quick batch may have been lucky), between
    one row and ``largest``."""
    scaled = size * target / seconds if seconds > 0 else largest
    return max(1, min(largest, 2 * size, int(scaled)))


@contextmanager
def _unprepared(conn: psycopg.Connection[object]) -> Generator[None]:
    """No server-side prepared statements meanwhile: behind a transaction pooler, a statement
    prepared on one server connection is missing on the next. A purge runs each statement once
    per batch, so preparing would save little anyway."""
    threshold = conn.prepare_threshold
    conn.prepare_threshold = None
    try:
        yield
    finally:
        conn.prepare_threshold = threshold
