"""A typed doorway to yoyo: apply and roll back a folder of SQL migrations.

yoyo ships no type information, so every call into it goes through here.
"""

from __future__ import annotations

from collections.abc import Generator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yoyo  # pyright: ignore[reportMissingTypeStubs]

# yoyo has no type information: this is the one place its untyped API is touched.
_yoyo: Any = yoyo


def yoyo_url(url: str) -> str:
    """yoyo's spelling of a libpq URL: the ``postgresql+psycopg`` scheme selects psycopg 3."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url.removeprefix(prefix)
    return url


def libpq_url(url: str) -> str:
    """The libpq spelling of a (possibly yoyo-style) URL."""
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


@contextmanager
def _backend(url: str) -> Generator[Any]:
    backend = _yoyo.get_backend(yoyo_url(url))
    try:
        yield backend
    finally:
        backend.connection.close()


def apply_all(url: str, migrations_dir: Path) -> list[str]:
    """Apply every pending migration under yoyo's lock; return the ids applied, in order."""
    migrations = _yoyo.read_migrations(str(migrations_dir))
    with _backend(url) as backend, backend.lock():
        pending = backend.to_apply(migrations)
        backend.apply_migrations(pending)
        return [migration.id for migration in pending]


def rollback_all(url: str, migrations_dir: Path) -> list[str]:
    """Roll back every applied migration, newest first; return the ids rolled back."""
    migrations = _yoyo.read_migrations(str(migrations_dir))
    with _backend(url) as backend, backend.lock():
        applied = backend.to_rollback(migrations)
        backend.rollback_migrations(applied)
        return [migration.id for migration in applied]
