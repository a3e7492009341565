""":batchexec with nothing to run does not touch the server."""

from __future__ import annotations

import psycopg
from psycopg.pq import TransactionStatus

from connlog.codegen.database import migrate
from tests.codegen.conftest import CASES, Compiled, bound_queries

BULK = CASES / "bulk"


def test_empty_batchexec_leaves_the_connection_idle(
    compiled: Compiled, empty_db_url: str, flavor: str
) -> None:
    package = compiled(BULK)
    migrate.apply_all(empty_db_url, BULK / "migrations")
    with bound_queries(package, "queries", empty_db_url, flavor) as q:
        assert isinstance(q.conn, psycopg.Connection | psycopg.AsyncConnection)
        assert q.set_notes([]) is None
        assert q.set_notes(iter(())) is None
        assert q.get_events([]) == [] and q.events_between([]) == []
        assert q.conn.info.transaction_status is TransactionStatus.IDLE
