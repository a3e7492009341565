"""The fast path of ``generate`` and ``check``: "nothing changed", answered before any import.

After every run that leaves the out directory exactly as ``generate`` makes it
(a ``generate`` that succeeded, a ``check`` that found it up to date), a stamp
records a sha256 over everything that output depends on:

- the generator: every ``.py`` and ``.j2`` file of the ``codegen`` package (so
  any edit of its source or templates counts, with no version to bump by hand),
  the Python running it, and where the installed ruff, pglast, jinja2, psycopg
  and yoyo live and when their files were written (an upgrade rewrites them);
- the settings: which pyproject.toml is the nearest, its bytes, and the options;
- every file under the migrations directory, and every ``*.sql`` directly in
  the query directory (what ``load`` reads);
- every file directly in the out directory and its ``aio/``: a generated file
  edited, deleted or added by hand changes the fingerprint as surely as a query.

A later run from the same directory with the same options computes the
fingerprint of the files as they are and, when it matches, answers at once:
no parser, database driver or template is imported. Any difference, even one
that would not change the output, takes the ordinary path, which builds and
compares for real and records a new stamp. A stamp states only what a run
proved, so it can never vouch for other inputs.

Stamps are local, in ``$XDG_CACHE_HOME/codegen`` (``~/.cache/codegen``), not
beside ``analysis.json``: they depend on this machine (absolute paths, the
installed tools), and a committed one would change with every generator edit
and conflict in every merge. A fresh clone has none: its first ``check`` takes
the ordinary path (offline, from ``analysis.json``) and records one.

Standard library only: this module is imported by every run.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import sys
from argparse import Namespace
from collections.abc import Callable
from importlib.util import find_spec
from pathlib import Path
from typing import Final, NamedTuple

from connlog.codegen.project import find_pyproject, ruff_command

_STAMP_VERSION: Final = 1
# The generator's own package: its source and templates are an input of every run.
GENERATOR: Final = Path(__file__).resolve().parent
_GENERATOR_SUFFIXES: Final = (".py", ".j2")
_GENERATOR_LABEL: Final = "generator/"
# Installed packages whose version can change what a run writes.
_TOOLS: Final = ("ruff", "pglast", "jinja2", "psycopg", "yoyo")
AIO_DIRECTORY: Final = "aio"


class Where(NamedTuple):
    """The paths a run's settings resolved to (absolute)."""

    pyproject: Path | None
    migrations: Path
    queries: Path
    out: Path


class Written(NamedTuple):
    """What changes whenever an input is written again, whatever it now holds."""

    environment: str  # the Python and tools (``environment()``)
    files: tuple[object, ...]  # each input's label, and its size and mtime


class Inputs(NamedTuple):
    """What a run read, summed up: to tell whether an input changed while it ran."""

    digest: str  # of the contents
    written: Written  # taken before the contents were read


def fresh(args: Namespace, cwd: Path) -> str | None:
    """The out directory's display name when nothing changed since a recorded run, else None."""
    stamp = _read_stamp(_stamp_path(args, cwd))
    if stamp is None:
        return None
    where, display, digest = stamp
    if find_pyproject(cwd) != where.pyproject:
        return None  # a pyproject.toml appeared nearer (or went): other settings
    return display if _fingerprint(inputs(where), where.out) == digest else None


def inputs(where: Where) -> Inputs:
    """Every input of a run from the settings ``where``, read now."""
    files = _input_files(where)
    written = _written_now(files)  # first: a file rewritten while it is read shows after
    digest = hashlib.sha256(f"codegen-inputs/{_STAMP_VERSION}\0".encode())
    # os.fsencode: a path that is not UTF-8 (undecodable bytes) hashes as the same bytes.
    digest.update(os.fsencode(json.dumps([str(path) for path in where], ensure_ascii=False)))
    digest.update(os.fsencode(written.environment))
    digest.update(generator_digest().encode())
    for label, path in files:
        if not label.startswith(_GENERATOR_LABEL):  # in the generator's digest
            _add(digest.update, label, path)
    return Inputs(digest.hexdigest(), written)


def _written_now(files: list[tuple[str, Path | None]]) -> Written:
    return Written(environment(), _stats(files))


def _stats(files: list[tuple[str, Path | None]]) -> tuple[object, ...]:
    stats: list[object] = []
    for label, path in files:
        try:
            status = None if path is None else os.stat(path)
        except OSError:
            stats.append((label, "unreadable"))
            continue
        stats.append((label, None if status is None else (status.st_size, status.st_mtime_ns)))
    return tuple(stats)


def record(args: Namespace, cwd: Path, where: Where, before: Inputs, display: str) -> None:
    """Vouch that the out directory is what ``generate`` makes of the inputs ``before``.

    Nothing is recorded when an input was written while the run read it (an input
    added or removed, or written again: an edit undone mid-run counts too), which its
    name, size and mtime tell without reading it again. An edit that keeps all three
    (the same size within one tick of the clock) is not seen here, but the stamp is of
    the contents read ``before``, so the next run, hashing the edited ones, finds it
    stale.
    """
    if _written_now(_input_files(where)) != before.written:
        return
    document = {
        "version": _STAMP_VERSION,
        "pyproject": None if where.pyproject is None else str(where.pyproject),
        "migrations": str(where.migrations),
        "queries": str(where.queries),
        "out": str(where.out),
        "display": display,
        "fingerprint": _fingerprint(before, where.out),
    }
    # Here, not at the top: the fast path never writes (nor needs it).
    import contextlib

    from connlog.codegen.replace import replace_text

    with contextlib.suppress(OSError):  # no writable cache: the next run takes the ordinary path
        replace_text(_stamp_path(args, cwd), json.dumps(document))


def _fingerprint(read: Inputs, out: Path) -> str:
    digest = hashlib.sha256(f"codegen-fingerprint/{read.digest}\0".encode())
    for label, path in _out_files(out):
        _add(digest.update, label, path)
    return digest.hexdigest()


def generator_identity() -> str:
    """What a memo's key must cover of the generator: its own source and what runs it.

    One run computes it once (``generate.build``) for every memo it consults.
    """
    return "\0".join([generator_digest(), environment()])


def environment() -> str:
    """The Python and installed tools that run the generator, as text: where each is, and
    its size and mtime now (an upgrade rewrites them)."""
    parts = [sys.version, sys.executable]
    parts.extend(f"{name}:{_written(origin)}" for name, origin in _tool_origins())
    return "\0".join(parts)


@functools.cache
def _tool_origins() -> tuple[tuple[str, str | None], ...]:
    """Where each tool is installed: looked up once per process (the lookups are most of
    ``environment``'s cost), while what is there is looked at on every call."""
    origins: list[tuple[str, str | None]] = []
    for name in _TOOLS:
        spec = find_spec(name)
        origins.append((name, spec.origin if spec else None))
    # The ruff executable ``write`` runs, found the same way.
    origins.append(("ruff-bin", ruff_command()[0]))
    return tuple(origins)


def _written(path: str | None) -> str:
    if path is None:
        return "-"
    try:
        stat = os.stat(path)
    except OSError:
        return "-"
    return f"{path}:{stat.st_size}:{stat.st_mtime_ns}"


def generator_digest() -> str:
    """sha256 over the generator's own source and templates (their names and bytes).

    Its ``.py`` files are read once per process: the code a process runs is the code it
    imported, so a module edited while ``generate --watch`` runs must not count there (the
    stamps and memos of that process would name the new code and hold the old code's output).
    A fresh process sees the edit. Its templates, which Jinja reads afresh, are remembered
    under their sizes and mtimes, taken before they are read, so a template edited meanwhile
    counts at the next run. The warm generator's children inherit what it read before
    importing.
    """
    files = _generator_files()
    templates = [(label, path) for label, path in files if not label.endswith(".py")]
    source = _source_digest(GENERATOR)
    key = (source, *_stats(templates))  # stats first: a rewrite while read shows next time
    remembered = _GENERATOR_DIGESTS.get(key)
    if remembered is not None:
        return remembered
    digest = hashlib.sha256(b"codegen-generator\0")
    digest.update(source.encode())
    for label, path in templates:
        _add(digest.update, label, path)
    _GENERATOR_DIGESTS.clear()  # the files as they are now: nothing older is asked for
    _GENERATOR_DIGESTS[key] = digest.hexdigest()
    return _GENERATOR_DIGESTS[key]


_GENERATOR_DIGESTS: Final[dict[tuple[object, ...], str]] = {}


@functools.cache
def _source_digest(generator: Path) -> str:
    """sha256 over the ``.py`` files of ``generator`` as this process first reads them."""
    digest = hashlib.sha256(b"codegen-generator-source\0")
    for label, path in _generator_files(generator):
        if label.endswith(".py"):
            _add(digest.update, label, path)
    return digest.hexdigest()


def _generator_files(generator: Path | None = None) -> list[tuple[str, Path | None]]:
    generator = GENERATOR if generator is None else generator
    found: list[Path] = []
    for directory, subdirectories, names in os.walk(generator):
        # Not into the bytecode caches: their many files are none of the generator's source.
        subdirectories[:] = [name for name in subdirectories if name != "__pycache__"]
        found.extend(Path(directory, name) for name in names if name.endswith(_GENERATOR_SUFFIXES))
    return [
        (f"{_GENERATOR_LABEL}{path.relative_to(generator).as_posix()}", path)
        for path in sorted(found)
    ]


def _input_files(where: Where) -> list[tuple[str, Path | None]]:
    files = _generator_files()
    if where.pyproject is not None:
        files.append(("pyproject", where.pyproject))
    # A directory's presence is an input too: a missing one is an error, an empty one not.
    files.append((f"migrations-dir:{where.migrations.is_dir()}", None))
    files.extend(
        (f"migrations/{path.relative_to(where.migrations).as_posix()}", path)
        for path in sorted(where.migrations.rglob("*"))
        if path.is_file()
    )
    files.append((f"queries-dir:{where.queries.is_dir()}", None))
    files.extend(
        (f"queries/{path.name}", path)
        for path in sorted(where.queries.glob("*.sql"))
        if path.is_file()
    )
    return files


def _out_files(out: Path) -> list[tuple[str, Path | None]]:
    """Every file ``write`` may write, replace or remove: those in ``out`` and ``out/aio``."""
    return [
        (f"out/{path.relative_to(out).as_posix()}", path)
        for directory in (out, out / AIO_DIRECTORY)
        for path in sorted(directory.glob("*"))
        if path.is_file()
    ]


def _add(update: Callable[[bytes], None], label: str, path: Path | None) -> None:
    """Add ``label`` and the bytes of the file at ``path`` (none for a label alone)."""
    update(os.fsencode(f"{label}\0"))
    if path is None:
        return
    try:
        data = path.read_bytes()
    except OSError:
        update(b"unreadable\0")  # gone since it was listed: the ordinary run will say why
        return
    update(f"{len(data)}\0".encode())
    update(data)


def _stamp_path(args: Namespace, cwd: Path) -> Path:
    """The stamp of runs from ``cwd`` with these options (as given: relative paths too)."""
    options = [
        str(cwd.resolve()),
        *(None if value is None else str(value) for value in _options(args)),
    ]
    key = hashlib.sha256(json.dumps(options).encode()).hexdigest()[:32]
    return cache_directory() / "fingerprints" / key


def cache_directory() -> Path:
    """Where this machine's stamps and memos live: ``$XDG_CACHE_HOME/codegen``."""
    configured = os.environ.get("XDG_CACHE_HOME")
    if configured:
        return Path(configured) / "codegen"
    try:
        return Path.home() / ".cache" / "codegen"
    except RuntimeError:  # no home directory
        import tempfile

        return Path(tempfile.gettempdir()) / f"codegen-{os.getuid()}"


def _options(args: Namespace) -> tuple[object, ...]:
    return (args.migrations, args.queries, args.out, args.database)


def _read_stamp(path: Path) -> tuple[Where, str, str] | None:
    """The recorded settings, out display name and fingerprint; None if absent or unreadable."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        if document["version"] != _STAMP_VERSION:
            return None
        pyproject = document["pyproject"]
        where = Where(
            None if pyproject is None else Path(pyproject),
            Path(document["migrations"]),
            Path(document["queries"]),
            Path(document["out"]),
        )
        return where, str(document["display"]), str(document["fingerprint"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
