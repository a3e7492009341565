"""Scratch databases of killed runs are dropped by the next run; a failed drop only warns."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from psycopg import sql

from connlog.codegen.database import scratch


@pytest.fixture
def prefix(server_url: str) -> Iterator[str]:
    """A prefix no other test uses; every database under it is dropped afterwards."""
    name = f"test_left_{secrets.token_hex(3)}"
    yield name
    with psycopg.connect(server_url, autocommit=True) as conn:
        for (datname,) in conn.execute(
            "SELECT datname FROM pg_database WHERE starts_with(datname, %s)", [name]
        ).fetchall():
            conn.execute(
                sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(str(datname)))
            )


def _create(server_url: str, name: str) -> None:
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def _names(server_url: str, prefix: str) -> set[str]:
    with psycopg.connect(server_url) as conn:
        rows = conn.execute(
            "SELECT datname FROM pg_database WHERE starts_with(datname, %s)", [prefix]
        ).fetchall()
        return {str(name) for (name,) in rows}


def _dead_pid() -> int:
    child = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    return int(child.stdout)


def test_leftovers_of_dead_processes_are_dropped(server_url: str, prefix: str) -> None:
    with psycopg.connect(server_url) as conn:
        host = conn.info.host
    if not (host.startswith("/") or host in ("localhost", "127.0.0.1", "::1")):
        pytest.skip(f"the test server is not local ({host}): leftovers are never dropped there")
    dead = f"{prefix}_{_dead_pid()}_0123abcd"
    dead_build = f"{prefix}_{_dead_pid()}_0123abcd_building"
    alive = f"{prefix}_{os.getpid()}_0123abcd"
    not_ours = f"{prefix}_other"
    for name in (dead, dead_build, alive, not_ours):
        _create(server_url, name)
    with scratch.scratch_database(server_url, prefix) as url:
        mine = url.rsplit("/", 1)[1]
        assert _names(server_url, prefix) == {alive, not_ours, mine}


def test_a_failed_drop_warns_and_keeps_the_jobs_exception(server_url: str, prefix: str) -> None:
    role = prefix + "_role"
    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE ROLE {} LOGIN CREATEDB").format(sql.Identifier(role)))
        try:
            parts = urlsplit(server_url)
            as_role = urlunsplit(parts._replace(netloc=f"{role}@{parts.hostname}:{parts.port}"))
            with (
                pytest.warns(RuntimeWarning, match="could not be dropped"),
                pytest.raises(KeyError, match="the job's own error"),
                scratch.scratch_database(as_role, prefix) as url,
            ):
                # Someone else owns it now: the role's DROP fails.
                name = url.rsplit("/", 1)[1]
                admin.execute(
                    sql.SQL("ALTER DATABASE {} OWNER TO CURRENT_USER").format(sql.Identifier(name))
                )
                raise KeyError("the job's own error")
            assert name in _names(server_url, prefix)
        finally:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
            admin.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))
