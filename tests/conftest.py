"""The test harness: one real PostgreSQL, a migrated template, a fresh clone per test.

The server is the embedded one (``codegen.embedded``), or the one named by
``$CONNLOG_TEST_DATABASE_URL``. pytest-postgresql's ``postgresql_proc`` cannot
start a server as root, so ``postgresql_noproc`` points at ours: it builds the
template database once per session (loading every migration through yoyo) and
``db`` clones it for each test that asks.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict
from pytest_postgresql import factories

from codegen import embedded, migrate

REPO_ROOT = Path(__file__).resolve().parent.parent
MIGRATIONS_DIR = REPO_ROOT / "migrations"

SERVER_URL = os.environ.get("CONNLOG_TEST_DATABASE_URL") or embedded.ensure_running()
_SERVER = conninfo_to_dict(SERVER_URL)


def _apply_migrations(host: str, port: int, user: str, dbname: str, **_: Any) -> None:
    migrate.apply_all(f"postgresql://{user}@{host}:{port}/{dbname}", MIGRATIONS_DIR)


pg_server = factories.postgresql_noproc(
    host=str(_SERVER.get("host", "127.0.0.1")),
    port=int(_SERVER.get("port", 5432)),
    user=str(_SERVER.get("user", "postgres")),
    password=str(_SERVER["password"]) if "password" in _SERVER else None,
    # Per run: concurrent test runs share the embedded server, and a fixed name collides.
    dbname=f"connlog_test_{os.getpid()}",
    load=[_apply_migrations],
)
db = factories.postgresql("pg_server")
_counter = itertools.count(1)


@pytest.fixture
def db_url(db: psycopg.Connection[Any]) -> str:
    """The libpq URL of this test's fresh, migrated database."""
    info = db.info
    return f"postgresql://{info.user}@{info.host}:{info.port}/{info.dbname}"


@pytest.fixture
def empty_db_url(pg_server: Any) -> Iterator[str]:
    """A fresh database with nothing in it: for tests that run migrations themselves."""
    name = f"connlog_empty_{os.getpid()}_{next(_counter)}"
    with psycopg.connect(SERVER_URL, autocommit=True) as conn:
        conn.execute(psycopg.sql.SQL("CREATE DATABASE {}").format(psycopg.sql.Identifier(name)))
    base = SERVER_URL.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(SERVER_URL, autocommit=True) as conn:
            conn.execute(
                psycopg.sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                    psycopg.sql.Identifier(name)
                )
            )
