""":batchexec with nothing to run does not touch the server."""

from __future__ import annotations

from pathlib import Path

import psycopg
from psycopg.pq import TransactionStatus

from connlog.codegen.database import migrate
from tests.codegen.conftest import CASES, bound_queries, generate_case

BULK = CASES / "bulk"


def test_empty_batchexec_leaves_the_connection_idle(
    fresh_package: Path, empty_db_url: str, flavor: str
) -> None:
    assert generate_case(BULK, fresh_package).code == 0
    migrate.apply_all(empty_db_url, BULK / "migrations")
    with bound_queries(fresh_package, "queries", empty_db_url, flavor) as q:
        assert isinstance(q.conn, psycopg.Connection | psycopg.AsyncConnection)
        assert q.set_notes([]) is None
        assert q.set_notes(iter(())) is None
        assert q.get_events([]) == [] and q.events_between([]) == []
        assert q.conn.info.transaction_status is TransactionStatus.IDLE
