"""A typed doorway to yoyo: apply and roll back a folder of SQL migrations.

yoyo ships no type information, so every call into it goes through here. It is
also the boundary where yoyo's failures become ``CodegenErrors`` located in the
migration file: a statement the server rejects (``path:line:column`` of the
server's position, mapped into the file) and a file yoyo cannot load
(``BadMigration``: an unknown ``-- depends:``, a Python migration that fails).
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Generator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import psycopg

from connlog.codegen.model import CodegenError, CodegenErrors, Location
from connlog.codegen.parsing.load import display_path


def _yoyo() -> Any:
    """yoyo, imported on first use: a run that applies no migration never pays for it.

    yoyo has no type information: this is the one place its untyped API is touched.
    """
    import yoyo  # pyright: ignore[reportMissingTypeStubs]

    return yoyo


# yoyo's bookkeeping tables live in the migrated schema but are not the application's.
YOYO_TABLES: Final = ("_yoyo_log", "_yoyo_migration", "_yoyo_version", "yoyo_lock")

# yoyo logs each step of a migration as it runs it; for a ``.sql`` migration,
# step n is the file's n-th statement (as yoyo splits it, from 0).
_YOYO_LOGGER: Final = "yoyo.migrations"
_STEP_MESSAGE: Final = " - applying step %d"
_APPLYING_MESSAGE: Final = "Applying %s"
_UNRESOLVED: Final = "Could not resolve dependencies in "


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
    backend = _yoyo().get_backend(yoyo_url(url))
    try:
        yield backend
    finally:
        backend.connection.close()


def apply_all(url: str, migrations_dir: Path, *, root: Path | None = None) -> list[str]:
    """Apply every pending migration under yoyo's lock; return the ids applied, in order.

    A migration that fails is rolled back and raises CodegenErrors located in its
    file (shown relative to ``root`` when it is inside).
    """
    require_rollbacks(migrations_dir, root=root)
    with _located(root) as progress, _backend(url) as backend, backend.lock():
        # A MigrationList: it also holds the post-apply hooks.
        pending = backend.to_apply(_yoyo().read_migrations(str(migrations_dir)))
        for migration in pending:
            # One by one, not apply_migrations: that one skips a BadMigration silently.
            progress.start(str(migration.path))
            backend.apply_one(migration)
        progress.start(None)
        if pending:
            backend.run_post_apply(pending)
        return [str(migration.id) for migration in pending]


def rollback_all(url: str, migrations_dir: Path) -> list[str]:
    """Roll back every applied migration, newest first; return the ids rolled back."""
    with _located(None), _backend(url) as backend, backend.lock():
        applied = backend.to_rollback(_yoyo().read_migrations(str(migrations_dir)))
        backend.rollback_migrations(applied)
        return [str(migration.id) for migration in applied]


def ordered_ids(migrations_dir: Path) -> list[str]:
    """The migration ids in the order yoyo applies them (dependencies first)."""
    with _located(None):
        migrations = _yoyo().read_migrations(str(migrations_dir))
        return [str(m.id) for m in _yoyo().migrations.topological_sort(migrations)]


def apply_next(url: str, migrations_dir: Path) -> str | None:
    """Apply the first pending migration alone; return its id, or None when none is pending."""
    with _located(None) as progress, _backend(url) as backend, backend.lock():
        pending = list(backend.to_apply(_yoyo().read_migrations(str(migrations_dir))))
        if not pending:
            return None
        progress.start(str(pending[0].path))
        backend.apply_one(pending[0])
        return str(pending[0].id)


def rollback_last(url: str, migrations_dir: Path) -> str | None:
    """Roll back the newest applied migration alone; return its id, or None when none is applied."""
    with _located(None), _backend(url) as backend, backend.lock():
        applied = list(backend.to_rollback(_yoyo().read_migrations(str(migrations_dir))))
        if not applied:
            return None
        backend.rollback_one(applied[0])
        return str(applied[0].id)


def dependencies(migrations_dir: Path) -> dict[str, list[str]]:
    """Each migration's ``-- depends:`` ids as yoyo resolved them, sorted."""
    with _located(None):
        migrations = _yoyo().read_migrations(str(migrations_dir))
        return {str(m.id): sorted(str(dep.id) for dep in m.depends) for m in migrations}


def require_rollbacks(migrations_dir: Path, *, root: Path | None = None) -> None:
    """Refuse a folder where some migrations have a ``.rollback.sql`` and one does not.

    yoyo itself accepts that: ``yoyo rollback`` then marks the migration unapplied while its
    changes stay, and the next apply fails on them. A folder with no rollback file at all (a
    project that never rolls back) is left alone.
    """
    files = sorted(migrations_dir.glob("*.sql"))
    ups = [path for path in files if not path.name.endswith(".rollback.sql")]
    if len(ups) == len(files):
        return
    missing = [
        CodegenError(
            _where(str(path), root, 1, 1),
            f"migration {path.stem} has no rollback file",
            f"write {path.stem}.rollback.sql beside it, undoing exactly this migration",
        )
        for path in ups
        if not path.with_name(path.stem + ".rollback.sql").is_file()
    ]
    if missing:
        raise CodegenErrors(missing)


@contextmanager
def located_errors(migrations_dir: Path, *, root: Path | None = None) -> Generator[None]:
    """Around yoyo's own command line: a failing migration becomes a located CodegenErrors.

    yoyo names the migration it applies in its log; the file is ``<id>.sql`` in the folder.
    """
    with _located(root, migrations_dir):
        yield


def command_line(args: list[str]) -> int:
    """Run yoyo's own command line (``yoyo ARGS``) in this process; return its exit status."""
    yoyo_main: Any = importlib.import_module("yoyo.scripts.main").main
    try:
        status: object = yoyo_main(args)
    except SystemExit as exc:  # argparse's usage errors
        status = exc.code
    return status if isinstance(status, int) else 0 if status is None else 1


# --- errors -------------------------------------------------------------------------


@dataclass(slots=True)
class _Progress:
    """Which migration file is being applied, and which of its steps (from yoyo's log)."""

    path: str | None = None
    step: int | None = None
    # Set when yoyo itself picks the migrations: its log names each one it applies.
    directory: Path | None = None

    def start(self, path: str | None) -> None:
        self.path, self.step = path, None


class _StepHandler(logging.Handler):
    """Follows yoyo's progress from its INFO log, and passes on only what was asked for.

    The logger is lowered to INFO to see the steps, so it stops propagating: records reach the
    handlers above it only at the level their logger would have let through anyway (yoyo's
    ``-v`` sets that level when yoyo's own command line runs).
    """

    def __init__(self, progress: _Progress, parent: logging.Logger | None) -> None:
        super().__init__(logging.INFO)
        self.progress = progress
        self.parent = parent

    def emit(self, record: logging.LogRecord) -> None:
        if self.parent is not None and record.levelno >= self.parent.getEffectiveLevel():
            self.parent.handle(record)
        if not isinstance(record.args, tuple) or not record.args:
            return
        if record.msg == _STEP_MESSAGE:
            step = record.args[0]
            self.progress.step = step if isinstance(step, int) else None
        elif record.msg == _APPLYING_MESSAGE and self.progress.directory is not None:
            self.progress.start(str(self.progress.directory / f"{record.args[0]}.sql"))


@contextmanager
def _located(root: Path | None, directory: Path | None = None) -> Generator[_Progress]:
    """Turn yoyo's and the server's errors into CodegenErrors located in a migration file."""
    progress = _Progress(directory=directory)
    logger = logging.getLogger(_YOYO_LOGGER)
    level, propagate = logger.level, logger.propagate
    handler = _StepHandler(progress, logger.parent if propagate else None)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    logger.addHandler(handler)
    try:
        yield progress
    except _yoyo().exceptions.BadMigration as exc:
        raise CodegenErrors([_bad_migration(exc, root)]) from exc
    except psycopg.Error as exc:
        if progress.path is None or exc.sqlstate is None:
            raise  # not a statement of a migration: e.g. the server cannot be reached
        raise CodegenErrors([_failed_statement(exc, progress, root)]) from exc
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
        logger.propagate = propagate


def _bad_migration(exc: BaseException, root: Path | None) -> CodegenError:
    """yoyo's BadMigration: ``(path[, cause])``, or the message about unresolved dependencies."""
    first = str(exc.args[0]) if exc.args else ""
    cause = exc.args[1] if len(exc.args) > 1 else None
    if first.startswith(_UNRESOLVED):
        path = first.removeprefix(_UNRESOLVED)
        return CodegenError(
            _where(path, root, _depends_line(Path(path)), 1),
            f"migration {Path(path).stem} depends on a migration that does not exist",
            "each id under `-- depends:` is the name of another migration file without .sql",
        )
    line = cause.lineno if isinstance(cause, SyntaxError) and cause.lineno else 1
    column = cause.offset if isinstance(cause, SyntaxError) and cause.offset else 1
    reason = f"{type(cause).__name__}: {cause}" if cause is not None else "yoyo cannot load it"
    return CodegenError(
        _where(first, root, line, column) if first else None,
        f"cannot load migration {Path(first).stem}: {reason}",
    )


def _failed_statement(exc: psycopg.Error, progress: _Progress, root: Path | None) -> CodegenError:
    """The server rejected a statement of ``progress.path``: locate it in the file."""
    assert progress.path is not None
    path = Path(progress.path)
    message = exc.diag.message_primary or str(exc).strip()
    hint = exc.diag.message_hint or "fix the migration; it was rolled back, nothing was applied"
    statement = _statement(path, progress.step)
    text = path.read_text(encoding="utf-8")
    offset = text.find(statement) if statement else -1
    if statement is None or offset < 0:
        # Not found as written (a Python migration, or yoyo changed the text): the file.
        first = statement.strip().splitlines()[0] if statement and statement.strip() else None
        if first is not None:
            message = f"{message} (in the statement starting {first!r})"
        return CodegenError(
            _where(str(path), root, 1, 1), f"migration {path.stem}: {message}", hint
        )
    position = exc.diag.statement_position
    # PostgreSQL counts characters of the statement from 1; without a position, its start.
    index = offset + (int(position) - 1 if position else len(statement) - len(statement.lstrip()))
    before = text[:index]
    line = before.count("\n") + 1
    column = index - (before.rfind("\n") + 1) + 1
    return CodegenError(
        _where(str(path), root, line, column), f"migration {path.stem}: {message}", hint
    )


def _statement(path: Path, step: int | None) -> str | None:
    """The ``step``-th statement of a ``.sql`` migration, as yoyo split it."""
    if step is None or path.suffix != ".sql":
        return None
    statements: list[str] = list(_yoyo().migrations.read_sql_migration(str(path))[2])
    return statements[step] if 0 <= step < len(statements) else None


def _depends_line(path: Path) -> int:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return 1
    return next((n for n, line in enumerate(lines, 1) if "depends" in line), 1)


def _where(path: str, root: Path | None, line: int, column: int) -> Location:
    shown = display_path(Path(path), root) if root is not None else path
    return Location(shown, line, column)
