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


def ordered_ids(migrations_dir: Path) -> list[str]:
    """The migration ids in the order yoyo applies them (dependencies first)."""
    migrations = _yoyo.read_migrations(str(migrations_dir))
    return [migration.id for migration in _yoyo.migrations.topological_sort(migrations)]


def apply_next(url: str, migrations_dir: Path) -> str | None:
    """Apply the first pending migration alone; return its id, or None when none is pending."""
    migrations = _yoyo.read_migrations(str(migrations_dir))
    with _backend(url) as backend, backend.lock():
        pending = list(backend.to_apply(migrations))
        if not pending:
            return None
        backend.apply_one(pending[0])
        return str(pending[0].id)


def rollback_last(url: str, migrations_dir: Path) -> str | None:
    """Roll back the newest applied migration alone; return its id, or None when none is applied."""
    migrations = _yoyo.read_migrations(str(migrations_dir))
    with _backend(url) as backend, backend.lock():
        applied = list(backend.to_rollback(migrations))
        if not applied:
            return None
        backend.rollback_one(applied[0])
        return str(applied[0].id)


def dependencies(migrations_dir: Path) -> dict[str, list[str]]:
    """Each migration's ``-- depends:`` ids as yoyo resolved them, sorted."""
    migrations = _yoyo.read_migrations(str(migrations_dir))
    return {m.id: sorted(str(dep.id) for dep in m.depends) for m in migrations}
