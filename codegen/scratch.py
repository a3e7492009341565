"""Databases on a server: the application's own, and throwaway ones for one job."""

from __future__ import annotations

import os
import secrets
from collections.abc import Generator
from contextlib import contextmanager
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql

APPLICATION_DATABASE = "connlog"


def with_database(url: str, name: str) -> str:
    """``url`` pointing at database ``name`` instead (user, host, port and options kept)."""
    parts = urlsplit(url)
    if parts.scheme not in ("postgresql", "postgres", "postgresql+psycopg"):
        raise ValueError(f"expected a postgresql:// URL, got {url!r}")
    return urlunsplit(parts._replace(path="/" + name))


def ensure_database(server_url: str, name: str) -> str:
    """Create database ``name`` on the server unless it exists; return its URL."""
    with psycopg.connect(server_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if exists is None:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return with_database(server_url, name)


@contextmanager
def scratch_database(server_url: str, prefix: str = "connlog_scratch") -> Generator[str]:
    """Create an empty database on ``server_url``'s server; yield its URL; drop it afterwards.

    The name carries the process id and a random suffix, so concurrent runs never collide.
    """
    name = f"{prefix}_{os.getpid()}_{secrets.token_hex(4)}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield with_database(server_url, name)
    finally:
        with psycopg.connect(server_url, autocommit=True) as conn:
            # FORCE: a connection left open by a failed job must not keep the database alive.
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
