"""Databases on a server: the application's own, throwaway ones for one job, and templates.

A template is a database built once (e.g. migrated) and kept on the server, so a
throwaway database is a file-level copy (``CREATE DATABASE ... TEMPLATE``)
instead of a rebuild. Templates are named ``<prefix>_<key>``, where the key
hashes whatever they were built from; they are only ever created, cloned and
dropped under that prefix, never touching any other database.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from collections.abc import Callable, Generator
from contextlib import contextmanager
from typing import Final
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import errors, sql

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
def scratch_database(
    server_url: str,
    prefix: str = "connlog_scratch",
    *,
    template: Callable[[], str] | None = None,
) -> Generator[str]:
    """Create a database on ``server_url``'s server; yield its URL; drop it afterwards.

    It is empty, or a copy of the database whose name ``template`` returns (e.g.
    through ``template_database``); ``template`` is asked once more when that
    database is dropped before the copy starts. The name carries the process id
    and a random suffix, so concurrent runs never collide.
    """
    name = f"{prefix}_{os.getpid()}_{secrets.token_hex(4)}"
    create = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
    with psycopg.connect(server_url, autocommit=True) as conn:
        if template is None:
            conn.execute(create)
        else:
            for attempt in range(2):
                source = sql.Identifier(template())
                try:
                    conn.execute(sql.SQL("{} TEMPLATE {}").format(create, source))
                    break
                except errors.InvalidCatalogName:
                    if attempt:
                        raise  # dropped twice in a row: something else is wrong
    try:
        yield with_database(server_url, name)
    finally:
        _drop(server_url, name)


def _drop(server_url: str, name: str) -> None:
    with psycopg.connect(server_url, autocommit=True) as conn:
        # FORCE: a connection left open by a failed job must not keep the database alive.
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


# What a template's COMMENT starts with: the mark that a database is ours to drop.
_TEMPLATE_MARK: Final = "codegen template built from "


def template_database(
    server_url: str, prefix: str, key: str, source: str, build: Callable[[str], object]
) -> str:
    """The name of template ``<prefix>_<key>`` on the server, built by ``build`` if missing.

    ``build`` gets the URL of a new empty database to fill. It is built under a
    temporary name and renamed only once ``build`` returned, so a template is
    never seen half-built; a failed build is dropped. Concurrent runs (on the same
    maintenance database) wait on an advisory lock instead of building twice;
    elsewhere, the rename fails for all but one of them and the others' copies are
    dropped. ``source``, a path, goes in the template's comment: when a new
    template is made, the older ones built from the same path are dropped, as are
    those whose path no longer exists. Connections to a template are disallowed,
    so none can block cloning it.
    """
    name = f"{prefix}_{key}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        if _exists(conn, name):
            return name
        lock = int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)
        conn.execute("SELECT pg_advisory_lock(%s)", [lock])
        try:
            if _exists(conn, name):
                return name  # built by another run while we waited
            building = f"{prefix}_{os.getpid()}_{secrets.token_hex(4)}_building"
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(building)))
            try:
                build(with_database(server_url, building))
                conn.execute(
                    sql.SQL("ALTER DATABASE {} WITH ALLOW_CONNECTIONS false").format(
                        sql.Identifier(building)
                    )
                )
                conn.execute(
                    sql.SQL("COMMENT ON DATABASE {} IS {}").format(
                        sql.Identifier(building), sql.Literal(_TEMPLATE_MARK + source)
                    )
                )
                conn.execute(
                    sql.SQL("ALTER DATABASE {} RENAME TO {}").format(
                        sql.Identifier(building), sql.Identifier(name)
                    )
                )
            except errors.DuplicateDatabase:
                pass  # another run (on another maintenance database) renamed first
            finally:
                _drop(server_url, building)  # a no-op once renamed
            _drop_old_templates(conn, server_url, prefix, name, source)
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", [lock])
    return name


def _exists(conn: psycopg.Connection[tuple[object, ...]], name: str) -> bool:
    row = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
    return row is not None


def _drop_old_templates(
    conn: psycopg.Connection[tuple[object, ...]],
    server_url: str,
    prefix: str,
    keep: str,
    source: str,
) -> None:
    """Drop the other templates of ``source``, and those of a source no longer on disk."""
    rows = conn.execute(
        """
        SELECT d.datname, shobj_description(d.oid, 'pg_database')
        FROM pg_database d
        WHERE starts_with(d.datname, %s) AND d.datname <> %s
        """,
        [prefix + "_", keep],
    ).fetchall()
    for datname, comment in rows:
        if not isinstance(comment, str) or not comment.startswith(_TEMPLATE_MARK):
            continue  # not a finished template of ours (a build in progress, or not ours)
        built_from = comment.removeprefix(_TEMPLATE_MARK)
        if built_from == source or not os.path.exists(built_from):
            _drop(server_url, str(datname))
