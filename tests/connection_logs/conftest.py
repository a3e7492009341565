"""Fixtures of the connection log tests: a small platform in each test's fresh database."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, settings

from tests.connection_logs.pooler import PoolerUnavailable, through, transaction_pooler
from tests.connection_logs.world import World, make_world

# Each example runs inside a transaction rolled back at its end (see ``fresh``), so reusing the
# function-scoped database across examples is safe. Example counts stay small: the whole suite
# must run in minutes on two cores.
settings.register_profile(
    "connection_logs",
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture
def world(db: psycopg.Connection[Any]) -> World:
    built = make_world(db)
    db.commit()
    return built


@pytest.fixture(scope="session")
def pgbouncer(server_url: str) -> Iterator[int]:
    """The port of a real pgbouncer in transaction mode in front of the test server."""
    try:
        with transaction_pooler(server_url) as port:
            yield port
    except PoolerUnavailable as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture
def pooled_url(pgbouncer: int, db_url: str) -> str:
    """This test's database, through pgbouncer."""
    return through(pgbouncer, db_url)
