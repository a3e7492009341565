"""Retention: delete connection logs, and the connection events still in the audit log, older
than a cutoff.

The deletes run in batches, each in its own transaction, so a purge of millions of rows never
holds millions of row locks or one huge transaction. A session-level advisory lock (taken with
``pg_try_advisory_lock``, see ``TryLockPurge`` in queries/connection_logs.sql) spans the batches:
a second purge, from this process or another, returns at once with ``skipped=True`` instead of
deleting the same rows in parallel.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Final

import psycopg
from psycopg.pq import TransactionStatus

from generated.audit_logs import delete_old_audit_log_connection_events
from generated.connection_logs import delete_old_connection_logs, try_lock_purge, unlock_purge

DEFAULT_BATCH_SIZE: Final = 1000

# One batch of a delete: how many rows it removed.
_DeleteBatch = Callable[[], int]


@dataclass(frozen=True, slots=True)
class PurgeResult:
    """What one purge did: rows deleted of each kind, or nothing because another purge ran."""

    skipped: bool
    connection_logs: int = 0
    audit_logs: int = 0


def purge(
    conn: psycopg.Connection[object], *, before: datetime, batch_size: int = DEFAULT_BATCH_SIZE
) -> PurgeResult:
    """Delete every connection log that started before ``before``, and every audit_logs row
    recording a connect, disconnect, open or close before it, ``batch_size`` rows per
    transaction, until none is left.

    ``conn`` must not be inside a transaction: each batch is committed as it goes. Returns at
    once with ``skipped=True`` when another session is purging.
    """
    if before.tzinfo is None:
        # A naive cutoff would be read in the server's time zone: a silent off-by-hours.
        raise ValueError(f"before must be timezone-aware, got naive {before!r}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size!r}")
    if conn.info.transaction_status != TransactionStatus.IDLE:
        raise psycopg.ProgrammingError(
            "purge() commits a transaction per batch, so it cannot run inside one: "
            "commit or roll back first, or pass a connection of its own"
        )

    with conn.transaction():
        lock = try_lock_purge(conn)
    if lock is None or not lock.acquired:
        return PurgeResult(skipped=True)
    try:
        connection_logs = _delete_in_batches(
            conn,
            lambda: delete_old_connection_logs(conn, before_time=before, limit_count=batch_size),
            batch_size,
        )
        audit_logs = _delete_in_batches(
            conn,
            lambda: delete_old_audit_log_connection_events(
                conn, before_time=before, limit_count=batch_size
            ),
            batch_size,
        )
    finally:
        # The lock belongs to the session, not to a transaction: release it even when a batch
        # failed (a broken connection took the lock with it, and the session is gone anyway).
        if not conn.broken and not conn.closed:
            if conn.info.transaction_status != TransactionStatus.IDLE:
                conn.rollback()
            with conn.transaction():
                unlock_purge(conn)
    return PurgeResult(skipped=False, connection_logs=connection_logs, audit_logs=audit_logs)


def _delete_in_batches(
    conn: psycopg.Connection[object], delete_batch: _DeleteBatch, batch_size: int
) -> int:
    total = 0
    while True:
        with conn.transaction():
            deleted = delete_batch()
        total += deleted
        # A short batch found everything that was left.
        if deleted < batch_size:
            return total
