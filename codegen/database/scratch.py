"""Databases on a server: the application's own, throwaway ones for one job, and templates.

A template is a database built once (e.g. migrated) and kept on the server, so a
throwaway database is a file-level copy (``CREATE DATABASE ... TEMPLATE``)
instead of a rebuild. Templates are named ``<prefix>_<key>``, where the key
hashes whatever they were built from; they are only ever created, cloned and
dropped under that prefix, never touching any other database.

Throwaway databases are named ``<prefix>_<pid>_<8 hex digits>`` and dropped when
their job ends. A process that is killed (SIGKILL, or SIGTERM without cleanup)
cannot drop its own, so the next ``scratch_database`` of the same prefix drops
the leftovers whose process is gone, but only when the server is local (a Unix
socket, ``localhost``, ``127.0.0.1`` or ``::1``): only there does a process id
in a name mean a process of this machine. Even then a leftover is dropped
without FORCE, so one that anything is still connected to is left alone.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import secrets
import socket
import time
import warnings
from collections.abc import Callable, Generator
from contextlib import contextmanager
from pathlib import Path
from typing import Final, cast
from urllib.parse import unquote, urlsplit, urlunsplit

import psycopg
from psycopg import errors, sql

from connlog.codegen.analysis import cache
from connlog.codegen.processes import alive

APPLICATION_DATABASE = "connlog"
# Migrated templates on the server: ``codegen_tmpl_<hash of the migrations>``.
MIGRATED_TEMPLATE_PREFIX: Final = "codegen_tmpl"
# Migrated, read-only databases that queries are described in: ``codegen_desc_<hash>``.
DESCRIBE_PREFIX: Final = "codegen_desc"
_LOCAL_HOSTS: Final = frozenset({"localhost", "127.0.0.1", "::1"})

_Connection = psycopg.Connection[tuple[object, ...]]


def with_database(url: str, name: str) -> str:
    """``url`` pointing at database ``name`` instead (user, host, port and options kept)."""
    parts = urlsplit(url)
    if parts.scheme not in ("postgresql", "postgres", "postgresql+psycopg"):
        raise ValueError(f"expected a postgresql:// URL, got {url!r}")
    # A ``dbname`` in the query wins over the path in libpq: kept, every database derived
    # from the URL (templates, scratch and describe databases) would be the user's own.
    query = "&".join(
        part
        for part in parts.query.split("&")
        if part and unquote(part.partition("=")[0]) != "dbname"
    )
    return urlunsplit(parts._replace(path="/" + name, query=query))


def ensure_database(server_url: str, name: str) -> str:
    """Create database ``name`` on the server unless it exists; return its URL."""
    with psycopg.connect(server_url, autocommit=True) as conn:
        if not _exists(conn, name):
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return with_database(server_url, name)


@contextmanager
def migrated_database(
    server_url: str,
    migrations_dir: Path,
    *,
    root: Path | None = None,
    prefix: str = "codegen_scratch",
) -> Generator[str]:
    """A new database on ``server_url``'s server with every migration applied; dropped after.

    It is a copy of a template migrated once per content of ``migrations_dir``
    (``codegen_tmpl_<hash>``, kept on the server), so only the first run after a
    migration changes pays for applying them. A failing migration raises
    CodegenErrors located in its file (relative to ``root``); no template is kept.
    """

    def template() -> str:
        return _migrated(server_url, MIGRATED_TEMPLATE_PREFIX, migrations_dir, root)

    with scratch_database(server_url, prefix, template=template) as url:
        yield url


def describe_database(server_url: str, migrations_dir: Path, *, root: Path | None = None) -> str:
    """The URL of a database with every migration applied, kept on the server, read only.

    Describing a query only prepares it and reads the catalog, so one database
    per content of ``migrations_dir`` (``codegen_desc_<hash>``) serves every
    run: connecting costs a few milliseconds where cloning a template and
    dropping the clone cost about 0.2 s. It is built as a template is (migrated
    under a temporary name, renamed when done, older ones of the same checkout
    dropped) but accepts connections, and every transaction in it is read only
    (``default_transaction_read_only``), so no run can change what the next one
    sees. A failing migration raises CodegenErrors located in its file.
    """
    return with_database(
        server_url, _migrated(server_url, DESCRIBE_PREFIX, migrations_dir, root, read_only=True)
    )


def kept_describe_url(server_url: str, migrations_dir: Path) -> str:
    """Where ``describe_database`` keeps the database of ``migrations_dir``, once built.

    No connection is made: a run tries it first, and builds it only when that fails.
    """
    return with_database(server_url, f"{DESCRIBE_PREFIX}_{_migrations_key(migrations_dir)}")


def _migrations_key(migrations_dir: Path) -> str:
    return cache.migrations_hash(migrations_dir)[:12]


def _migrated(
    server_url: str,
    prefix: str,
    migrations_dir: Path,
    root: Path | None,
    *,
    read_only: bool = False,
) -> str:
    """The name of the migrated database ``<prefix>_<hash of migrations_dir>``, built if missing."""

    def build(url: str) -> None:
        from connlog.codegen.database import (
            migrate,  # yoyo: imported only when migrations are applied
        )

        migrate.apply_all(url, migrations_dir, root=root)

    key = _migrations_key(migrations_dir)
    # Host and path: two checkouts never drop each other's databases.
    source = f"{socket.gethostname()}:{migrations_dir.resolve()}"
    return template_database(server_url, prefix, key, source, build, read_only=read_only)


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
    and a random suffix, so concurrent runs never collide. A drop that fails is a
    RuntimeWarning, so it never hides the job's own exception.
    """
    name = f"{prefix}_{os.getpid()}_{secrets.token_hex(4)}"
    create = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
    with psycopg.connect(server_url, autocommit=True) as conn:
        _drop_leftovers(conn, prefix)
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
        try:
            _drop(server_url, name)
        except psycopg.Error as exc:
            warnings.warn(
                f"scratch database {name!r} could not be dropped: {exc}".strip(),
                RuntimeWarning,
                stacklevel=3,
            )


def _drop(server_url: str, name: str) -> None:
    with psycopg.connect(server_url, autocommit=True) as conn:
        drop_database(conn, name)


# How long a drop waits for the sessions of a database to end by themselves (a closed one ends
# within milliseconds; one still there after this was left open, and FORCE ends it).
_SESSIONS_END_WAIT: Final = 0.2


def drop_database(conn: _Connection, name: str) -> None:
    """Drop database ``name`` (if it exists), ending any session still connected to it.

    A session its client has just closed takes a moment to end, and DROP DATABASE,
    finding one, sleeps 100 ms before it looks again, even WITH (FORCE): so the
    sessions are waited for here first, looking every millisecond (a drop took 8 ms
    instead of 80-110). FORCE then ends those left open (a pool, a failed job), after
    ``_SESSIONS_END_WAIT``.
    """
    _sessions_end(conn, name)
    conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def _drop_leftovers(conn: _Connection, prefix: str) -> None:
    """Drop ``<prefix>_<pid>_<hex>[_building]`` databases whose process is gone (local only)."""
    host = conn.info.host
    if not (host.startswith("/") or host in _LOCAL_HOSTS):
        return
    pattern = re.compile(rf"{re.escape(prefix)}_(\d+)_[0-9a-f]{{8}}(?:_building)?")
    rows = conn.execute(
        "SELECT datname FROM pg_database WHERE starts_with(datname, %s)", [prefix + "_"]
    ).fetchall()
    for (datname,) in rows:
        found = pattern.fullmatch(str(datname))
        if found is None or alive(int(found.group(1))):
            continue
        # No FORCE: a database someone is connected to is not a leftover.
        with contextlib.suppress(errors.ObjectInUse, errors.InsufficientPrivilege):
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(str(datname))))


# What a template's COMMENT starts with: the mark that a database is ours to drop.
_TEMPLATE_MARK: Final = "codegen template built from "


def template_database(
    server_url: str,
    prefix: str,
    key: str,
    source: str,
    build: Callable[[str], object],
    *,
    read_only: bool = False,
) -> str:
    """The name of template ``<prefix>_<key>`` on the server, built by ``build`` if missing.

    ``build`` gets the URL of a new empty database to fill. It is built under a
    temporary name and renamed only once ``build`` returned, so a template is
    never seen half-built; a failed build is dropped. Concurrent runs wait on an
    advisory lock (its id derived from the name by sha256, the same in every
    process) instead of building twice; should two still race, the rename fails
    for all but one of them and the others' copies are dropped. ``source`` (what
    it was built from, e.g. host and path of the migrations) goes in the
    template's comment: when a new template is made, the older ones of the same
    ``source`` are dropped; those of any other source never are (another
    checkout's, on a shared server). Connections to a template are disallowed,
    so none can block cloning it; ``read_only`` instead allows them and makes
    every transaction in it read only (a database to read, never to clone).
    """
    name = f"{prefix}_{key}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        if _exists(conn, name):
            return name
        lock = _lock_id(name)
        conn.execute("SELECT pg_advisory_lock(%s)", [lock])
        try:
            if _exists(conn, name):
                return name  # built by another run while we waited
            _drop_leftovers(conn, prefix)  # builds of killed runs
            building = f"{prefix}_{os.getpid()}_{secrets.token_hex(4)}_building"
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(building)))
            try:
                build(with_database(server_url, building))
                setting = (
                    "SET default_transaction_read_only = on"
                    if read_only
                    else "WITH ALLOW_CONNECTIONS false"
                )
                conn.execute(
                    sql.SQL("ALTER DATABASE {} {}").format(
                        sql.Identifier(building), sql.SQL(setting)
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
            _drop_old_templates(conn, prefix, name, source)
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", [lock])
    return name


def _lock_id(name: str) -> int:
    """The advisory lock of template ``name``: the same in every process that builds or drops it."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


def _exists(conn: _Connection, name: str) -> bool:
    row = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
    return row is not None


def _drop_old_templates(conn: _Connection, prefix: str, keep: str, source: str) -> None:
    """Drop the other finished templates built from ``source``, and those of vanished folders
    (each unless in use: ``_drop_unused``).

    A template whose source is a folder of this host that no longer exists (a temporary
    project, a deleted clone) can never be used again. Another host's are never touched.
    """
    host = socket.gethostname()
    rows = conn.execute(
        """
        SELECT d.datname, shobj_description(d.oid, 'pg_database') FROM pg_database d
        WHERE starts_with(d.datname, %s) AND d.datname <> %s
          AND starts_with(shobj_description(d.oid, 'pg_database'), %s)
        """,
        [prefix + "_", keep, _TEMPLATE_MARK],
    ).fetchall()
    for datname, comment in rows:
        built_from = str(comment).removeprefix(_TEMPLATE_MARK)
        built_on, _, folder = built_from.partition(":")
        if built_from == source or (built_on == host and not Path(folder).exists()):
            _drop_unused(conn, str(datname))


def _drop_unused(conn: _Connection, name: str) -> None:
    """Drop template ``name`` unless it is in use: being built, cloned or dropped (its advisory
    lock is held), or connected to. A describe database is named by the migrations' contents
    alone, so another checkout with the same migrations may be describing in it right now
    (its comment names only the folder that built it)."""
    lock = _lock_id(name)
    row = conn.execute("SELECT pg_try_advisory_lock(%s)", [lock]).fetchone()
    if row is None or not row[0]:
        # Not waited for: this run holds its own template's lock, and a run building that
        # one could be waiting for ours (a deadlock).
        return
    try:
        _drop_if_unconnected(conn, name)
    finally:
        conn.execute("SELECT pg_advisory_unlock(%s)", [lock])


def _drop_if_unconnected(conn: _Connection, name: str) -> bool:
    """Drop database ``name`` unless a session is connected to it; whether it was dropped.

    The sessions are asked first (DROP DATABASE waits up to 5 s for them to end), given the
    moment a client that has just closed its connection leaves its session for.
    """
    if not _sessions_end(conn, name):
        return False
    try:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
    except errors.ObjectInUse:  # one that connected since
        return False
    return True


def _sessions_end(conn: _Connection, name: str) -> bool:
    """Whether the sessions on database ``name`` end within ``_SESSIONS_END_WAIT``, looking
    every millisecond: one whose client has just closed it is still there for a moment."""
    deadline = time.monotonic() + _SESSIONS_END_WAIT
    while _sessions(conn, name):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.001)
    return True


def _sessions(conn: _Connection, name: str) -> int:
    """How many sessions are connected to database ``name``."""
    query = "SELECT count(*) FROM pg_stat_activity WHERE datname = %s"
    row = conn.execute(query, [name]).fetchone()
    return 0 if row is None else cast(int, row[0])


def drop_templates(server_url: str, prefix: str = MIGRATED_TEMPLATE_PREFIX) -> list[str]:
    """Drop every template under ``prefix`` on the server, whoever built it; return the names.

    Each is rebuilt by the next run that needs it. One being built holds its advisory lock
    (the drop waits for the build); one with sessions (a describe database a run is reading)
    or being cloned right now is skipped.
    """
    dropped: list[str] = []
    with psycopg.connect(server_url, autocommit=True) as conn:
        rows = conn.execute(
            """
            SELECT d.datname FROM pg_database d
            WHERE starts_with(d.datname, %s)
              AND starts_with(shobj_description(d.oid, 'pg_database'), %s)
            ORDER BY 1
            """,
            [prefix + "_", _TEMPLATE_MARK],
        ).fetchall()
        for (datname,) in rows:
            name = str(datname)
            lock = _lock_id(name)
            conn.execute("SELECT pg_advisory_lock(%s)", [lock])
            try:
                if _drop_if_unconnected(conn, name):
                    dropped.append(name)
            finally:
                conn.execute("SELECT pg_advisory_unlock(%s)", [lock])
    return dropped
