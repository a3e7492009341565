"""``codegen generate --watch``: regenerate whenever an input changes, until Ctrl-C.

Watched, through watchfiles (inotify and friends, no polling): every file
under the migrations directory, the ``*.sql`` files of the query directory,
and pyproject.toml. pyproject.toml is watched through its directory, not
recursively: editors save by renaming a new file over the old one, which ends a
watch on the file itself. Each run prints one line, what changed and what the
run did in how long; errors are printed located, as ever, and watching goes on.

The process keeps its imports, so a run after editing a query costs little
more than describing it (in the read-only database kept on the server for the
migrations, ``scratch.describe_database``: no database is created per run).
Ctrl-C stops it and leaves the embedded server running.
"""

from __future__ import annotations

import argparse
import contextlib
import queue
import sys
import threading
from pathlib import Path

import watchfiles

from connlog.codegen import generate
from connlog.codegen.model import CodegenErrors
from connlog.codegen.parsing import load
from connlog.codegen.settings import Settings, settings_from

# (directories, recursive): what one watcher thread watches.
_Watched = tuple[tuple[Path, ...], bool]


def run(args: argparse.Namespace) -> int:
    """Generate now, then again after every change; 0 after Ctrl-C, 1 if there is nothing
    to watch or the settings are broken at the start."""
    cwd = Path.cwd()
    try:
        settings = settings_from(args, cwd)
    except CodegenErrors as exc:
        generate.print_errors(exc)
        return 1
    current: Settings | None = settings  # None while pyproject.toml is broken
    changed = "started"
    try:
        while True:
            if not _watched(settings):
                print(_nothing_to_watch(settings), file=sys.stderr)
                return 1
            # Watching starts before the run, so nothing saved during a run is missed.
            with _Watcher(settings) as watcher:
                while True:
                    if current is not None:
                        generate.run(args, prefix=f"{changed}: ", settings=current)
                    changed = watcher.next()
                    # Read once per change, and the run uses what was read.
                    try:
                        current = settings_from(args, cwd)
                    except CodegenErrors as exc:
                        generate.print_errors(exc, f"{changed}: ")
                        current = None  # the last good ones stay watched
                        continue
                    moved = _watched(current) != _watched(settings)
                    settings = current
                    if moved:
                        break  # other directories (or one created): watch those, then run
    except KeyboardInterrupt:
        print("codegen: stopped watching", file=sys.stderr)
    return 0


def _nothing_to_watch(settings: Settings) -> str:
    migrations = load.display_path(settings.migrations, settings.root)
    queries = load.display_path(settings.queries, settings.root)
    return (
        f"codegen: error: nothing to watch: neither {migrations}/ nor {queries}/ exists, and "
        "there is no pyproject.toml; create them, or pass --migrations and --queries"
    )


def _watched(settings: Settings) -> list[_Watched]:
    """The migrations and query directories, and pyproject.toml through its directory.

    Not pyproject.toml itself: editors save by renaming a new file over the old
    one, which ends a watch on the file. Only directories that exist can be
    watched; one created later shows up in the project directory's watch.
    """
    watched: list[_Watched] = []
    existing = tuple(p for p in (settings.migrations, settings.queries) if p.is_dir())
    if existing:
        watched.append((existing, True))
    if settings.pyproject is not None:
        watched.append(((settings.pyproject.parent,), False))
    return watched


def _is_input(path: Path, settings: Settings) -> bool:
    if path == settings.pyproject:
        return True
    if path.parent == settings.queries and path.suffix == ".sql":
        return True
    return settings.migrations == path or settings.migrations in path.parents


class _Watcher(contextlib.AbstractContextManager["_Watcher"]):
    """Changes to the inputs of ``settings``, batched, from watcher threads started on entry.

    watchfiles takes one ``recursive`` for all the paths of a watcher, so each
    group of ``_watched`` gets a thread; all feed one queue.
    """

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._found: queue.Queue[set[tuple[watchfiles.Change, str]]] = queue.Queue()
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._pump, args=group, daemon=True)
            for group in _watched(settings)
        ]

    def __enter__(self) -> _Watcher:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()  # watchfiles looks at it every ``step`` milliseconds
        for thread in self._threads:
            thread.join()

    def next(self) -> str:
        """Block until an input changes; what changed, as shown to the user."""
        changes = set(self._found.get())
        with contextlib.suppress(queue.Empty):
            while True:
                changes |= self._found.get_nowait()
        root = self._settings.root
        names = sorted({load.display_path(Path(path), root) for _, path in changes})
        more = f" and {len(names) - 3} more" if len(names) > 3 else ""
        return f"{', '.join(names[:3])}{more} changed"

    def _pump(self, paths: tuple[Path, ...], recursive: bool) -> None:
        ignored = watchfiles.DefaultFilter()  # editor swap and backup files

        def relevant(change: watchfiles.Change, path: str) -> bool:
            return ignored(change, path) and _is_input(Path(path), self._settings)

        for changes in watchfiles.watch(
            *paths,
            watch_filter=relevant,
            recursive=recursive,
            stop_event=self._stop,
            debounce=200,
            step=20,
            raise_interrupt=False,
        ):
            self._found.put(changes)
