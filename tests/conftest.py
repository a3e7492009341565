"""The test harness: one real PostgreSQL, a migrated template, a fresh clone per test.

The server is the embedded one (``codegen.database.embedded``), or the one named by
``$CONNLOG_TEST_DATABASE_URL``. It is started lazily, by the first test that
asks for it (the ``server_url`` fixture, or ``start_server()`` from a helper),
so unit tests run without PostgreSQL installed. pytest-postgresql's
``postgresql_proc`` cannot start a server as root, so ``postgresql_noproc``
points at ours (through ``depends_on``, read at fixture time): it builds the
template database once per session (loading every migration through yoyo) and
``db`` clones it for each test that asks.
"""

from __future__ import annotations

import compileall
import functools
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict
from pytest_postgresql import factories
from pytest_postgresql.executors import NoopExecutor

from connlog.codegen.database import embedded, migrate, scratch

REPO_ROOT = Path(__file__).resolve().parent.parent
MIGRATIONS_DIR = REPO_ROOT / "migrations"

# No `codegen generate` a test runs starts a warm generator that would outlive the suite
# (tests/codegen/test_warm.py starts its own, and stops them).
os.environ["CODEGEN_NO_WARM"] = "1"

# The suite writes bytecode even where ``PYTHONDONTWRITEBYTECODE`` is set (it is on machines of
# this kind), as Python does by default. Without it no process keeps a .pyc: pytest rewrote
# every test module's asserts again in each process (3 s of CPU in each worker, each run), and
# each ``python -m connlog.codegen`` a test started compiled the generator again (0.7 s).
# Set here, before any test module is imported; the xdist workers and every process a test
# starts inherit it.
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
sys.dont_write_bytecode = False


def pytest_configure(config: pytest.Config) -> None:
    """Byte-compile the tree once, in the controller, before the workers start: on a fresh
    clone they would otherwise both compile the same modules at the same time. compileall
    skips a file whose .pyc is current."""
    if hasattr(config, "workerinput"):
        return  # an xdist worker: the controller did it before starting them
    for folder in ("codegen", "generated", "connlog", "tests", "examples", "benchmarks"):
        compileall.compile_dir(REPO_ROOT / folder, quiet=1)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The long tests (marked ``slow`` or ``race``) first, so that the two workers start on them
    together and the short ones fill in around them, rather than one long test ending the run."""
    items.sort(
        key=lambda item: (not item.get_closest_marker("slow"), not item.get_closest_marker("race"))
    )


@functools.cache
def start_server() -> str:
    """The test server's URL: ``$CONNLOG_TEST_DATABASE_URL``, or the embedded one, started now."""
    return os.environ.get("CONNLOG_TEST_DATABASE_URL") or embedded.ensure_running()


@pytest.fixture(scope="session")
def server_url() -> str:
    """The URL of the server every database test runs on (its maintenance database)."""
    return start_server()


@dataclass(frozen=True, slots=True)
class ServerDetails:
    """What ``postgresql_noproc(depends_on=...)`` reads from the fixture it depends on."""

    host: str
    port: int
    user: str
    password: str | None
    options: str
    maintenance_dbname: str
    template_dbname: None = None  # build our template from scratch, not from another one


@pytest.fixture(scope="session")
def pg_server_details(server_url: str) -> ServerDetails:
    info = conninfo_to_dict(server_url)
    password = info.get("password")
    return ServerDetails(
        host=str(info.get("host", "127.0.0.1")),
        port=int(info.get("port") or 5432),
        user=str(info.get("user", "postgres")),
        password=None if password is None else str(password),
        options=str(info.get("options", "")),
        maintenance_dbname=str(info.get("dbname", "postgres")),
    )


def _apply_migrations(dbname: str, **_: Any) -> None:
    """pytest-postgresql's ``load=`` hook: migrate the template (credentials and options kept)."""
    migrate.apply_all(scratch.with_database(start_server(), dbname), MIGRATIONS_DIR)


pg_server = factories.postgresql_noproc(
    # Per run: concurrent test runs share the embedded server, and a fixed name collides.
    dbname=f"connlog_test_{os.getpid()}",
    load=[_apply_migrations],
    depends_on="pg_server_details",
)


class _Clones:
    """Creates and drops the tests' clones of the template over one connection per worker.

    pytest-postgresql's ``postgresql`` fixture opens two connections a test (one to create, one
    to end sessions and drop): two backend starts, a third of what a short test costs the server.
    """

    def __init__(self, server_url: str) -> None:
        self._server_url = server_url
        self._conn: psycopg.Connection[Any] | None = None

    def execute(self, statement: sql.Composed) -> None:
        self._connection().execute(statement)

    def _connection(self) -> psycopg.Connection[Any]:
        # A connection a test's trouble with the server ended is replaced, not fatal to the rest.
        if self._conn is None or self._conn.closed or self._conn.broken:
            self._conn = psycopg.connect(self._server_url, autocommit=True)
        return self._conn

    def drop(self, name: str) -> None:
        scratch.drop_database(self._connection(), name)

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()


@pytest.fixture(scope="session")
def _clones(server_url: str) -> Iterator[_Clones]:
    clones = _Clones(server_url)
    yield clones
    clones.close()


@pytest.fixture
def db(
    pg_server: NoopExecutor, server_url: str, _clones: _Clones
) -> Iterator[psycopg.Connection[Any]]:
    """A connection to this test's fresh clone of the migrated template, dropped after it."""
    name = sql.Identifier(pg_server.dbname)
    template = sql.Identifier(pg_server.template_dbname)
    # FILE_COPY: copies the template's files. The default (WAL_LOG) writes all of its 8 MB to
    # the WAL, once per test; FILE_COPY's checkpoints cost little on the test server (fsync off).
    # Whole suite, interleaved: 117.0 s and 114.9 s (57-59 s of server CPU), against 120.3 s (60 s).
    copy = sql.SQL("CREATE DATABASE {} TEMPLATE {} STRATEGY FILE_COPY")
    _clones.execute(copy.format(name, template))
    try:
        with psycopg.connect(scratch.with_database(server_url, pg_server.dbname)) as conn:
            yield conn
    finally:
        # Ends any session the test left open on it (a worker process, a pool).
        _clones.drop(pg_server.dbname)


@pytest.fixture
def db_url(server_url: str, db: psycopg.Connection[Any]) -> str:
    """The libpq URL of this test's fresh, migrated database (credentials and options kept)."""
    return scratch.with_database(server_url, db.info.dbname)


@pytest.fixture
def empty_db_url(server_url: str) -> Iterator[str]:
    """A fresh database with nothing in it: for tests that run migrations themselves."""
    with scratch.scratch_database(server_url, "connlog_empty") as url:
        yield url


@pytest.fixture(autouse=True, scope="session")
def _fingerprint_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Stamps of ``generate``/``check`` runs in a directory of this session, not ~/.cache.

    Tests see none of a developer's stamps, and leave none behind for the throwaway
    out directories they generate. A test may point ``XDG_CACHE_HOME`` elsewhere still.
    """
    before = os.environ.get("XDG_CACHE_HOME")
    os.environ["XDG_CACHE_HOME"] = str(tmp_path_factory.mktemp("cache"))
    yield
    if before is None:
        del os.environ["XDG_CACHE_HOME"]
    else:
        os.environ["XDG_CACHE_HOME"] = before
