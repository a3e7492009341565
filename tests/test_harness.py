"""The harness itself: a real server, migrated, isolated per test, started only when needed.

Each test stands alone: isolation is shown by two clones of the template inside
one test, not by the order tests happen to run in.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict
from pytest_postgresql.executors import NoopExecutor
from pytest_postgresql.janitor import DatabaseJanitor

from connlog.codegen.database import migrate, scratch
from tests.conftest import MIGRATIONS_DIR, REPO_ROOT


@contextmanager
def another_clone(pg_server: NoopExecutor, server_url: str) -> Iterator[str]:
    """A second fresh database cloned from the migrated template ``db`` comes from."""
    janitor = DatabaseJanitor(
        user=pg_server.user,
        host=pg_server.host,
        port=pg_server.port,
        password=pg_server.password,
        dbname=f"{pg_server.dbname}_second",
        template_dbname=pg_server.template_dbname,
        maintenance_dbname=pg_server.maintenance_dbname,
    )
    with janitor:
        yield scratch.with_database(server_url, janitor.dbname)


def _has_scratch_table(url: str) -> bool:
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT to_regclass('scratch')").fetchone() != (None,)


def test_each_test_gets_a_writable_migrated_database(
    db: psycopg.Connection[Any], db_url: str
) -> None:
    assert migrate.apply_all(db_url, MIGRATIONS_DIR) == [], "the clone was not migrated"
    db.execute("CREATE TABLE scratch (x int)")
    db.execute("INSERT INTO scratch VALUES (1)")
    assert db.execute("SELECT count(*) FROM scratch").fetchone() == (1,)


def test_a_write_in_one_clone_is_not_seen_by_a_fresh_clone(
    db: psycopg.Connection[Any], db_url: str, pg_server: NoopExecutor, server_url: str
) -> None:
    db.execute("CREATE TABLE scratch (x int)")
    db.commit()
    assert _has_scratch_table(db_url)
    with another_clone(pg_server, server_url) as second:
        assert second != db_url
        assert not _has_scratch_table(second)
        assert migrate.apply_all(second, MIGRATIONS_DIR) == [], "the clone was not migrated"
    assert _has_scratch_table(db_url)


def test_db_url_is_the_db_connections_database(
    db: psycopg.Connection[Any], db_url: str, server_url: str
) -> None:
    db.execute("CREATE TABLE scratch (x int)")
    db.execute("INSERT INTO scratch VALUES (7)")
    db.commit()
    with psycopg.connect(db_url) as conn:
        assert conn.execute("SELECT x FROM scratch").fetchall() == [(7,)]
    # Credentials and options too: only the database name differs from the server's URL.
    server = conninfo_to_dict(server_url)
    assert conninfo_to_dict(db_url) == {**server, "dbname": db.info.dbname}


def test_empty_db_url_is_empty_and_keeps_the_servers_settings(
    empty_db_url: str, server_url: str
) -> None:
    with psycopg.connect(empty_db_url) as conn:
        tables = conn.execute(
            "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') "
            "AND n.nspname NOT LIKE 'pg_toast%'"
        ).fetchone()
        assert tables == (0,)
        name = conn.info.dbname
    assert name != conninfo_to_dict(server_url).get("dbname")
    assert conninfo_to_dict(empty_db_url) == {**conninfo_to_dict(server_url), "dbname": name}


def _pytest(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-n", "0", "-p", "no:cacheprovider", *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
    )


def test_unit_tests_start_no_server(tmp_path: Path) -> None:
    """The stage unit tests run with no PostgreSQL: none is started for them."""
    cluster = tmp_path / "no-cluster"
    cluster.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "CONNLOG_TEST_DATABASE_URL"}
    env["CONNLOG_PG_DIR"] = str(cluster)  # an embedded server would be created here
    env["PG_BINDIR"] = str(tmp_path / "no-bin")
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + "/usr/bin:/bin"
    result = _pytest("tests/codegen/test_parse.py", env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert list(cluster.iterdir()) == [], "a unit test run started an embedded server"
    assert list(tmp_path.iterdir()) == [cluster], "a unit test run asked for a server"


def test_a_server_url_with_a_password_and_options_reaches_every_database(
    server_url: str,
) -> None:
    """``$CONNLOG_TEST_DATABASE_URL`` with credentials and options: the harness keeps them."""
    parts = conninfo_to_dict(server_url)
    url = (
        f"postgresql://{parts.get('user', 'postgres')}:s%40cret@{parts['host']}:{parts['port']}"
        f"/{parts.get('dbname', 'postgres')}?application_name=connlog_harness_check"
    )
    env = {**os.environ, "CONNLOG_TEST_DATABASE_URL": url}
    result = _pytest(
        "tests/test_harness.py",
        "-k",
        "db_url_is_the or empty_db_url_is_empty",
        env=env,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout, result.stdout
