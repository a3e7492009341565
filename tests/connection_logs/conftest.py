"""Fixtures of the connection log tests: a small platform in each test's fresh database."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, settings

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
