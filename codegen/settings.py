"""Where a run gets its options: the command line over ``[tool.codegen]`` over defaults.

Options default to ``[tool.codegen]`` in the nearest pyproject.toml above the
working directory; relative paths there are relative to that file. Every
mistake in that file is a located error, never silently ignored.
"""

from __future__ import annotations

import argparse
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

from connlog.codegen import write
from connlog.codegen.model import CodegenError, CodegenErrors, Location
from connlog.codegen.project import find_pyproject
from connlog.codegen.python.types import Override, Overrides


@dataclass(frozen=True, slots=True)
class Settings:
    """Where things are: command-line options over ``[tool.codegen]`` over defaults."""

    root: Path  # paths in messages are shown relative to this
    migrations: Path
    queries: Path
    out: Path
    database: str | None
    pyproject: Path | None
    overrides: Overrides = field(default_factory=dict[str, Override])
    line_length: int = write.DEFAULT_LINE_LENGTH  # [tool.ruff] line-length


def settings_from(args: argparse.Namespace, cwd: Path) -> Settings:
    pyproject = find_pyproject(cwd)
    document: dict[str, object] = {}
    root = cwd
    if pyproject is not None:
        root = pyproject.parent
        with pyproject.open("rb") as handle:
            document = tomllib.load(handle)
    tool = _table(pyproject, document, "tool")
    config = _table(pyproject, tool, "codegen", "tool.codegen")

    def path(option: Path | None, key: str) -> Path:
        if option is not None:
            return option.resolve()
        value = config.get(key, key)
        if not isinstance(value, str):
            raise _config_error(
                pyproject, key, f"[tool.codegen] {key} = {value!r} must be a string (a path)"
            )
        return (root / value).resolve()

    overrides = {
        key: _override(pyproject, key, value)
        for key, value in _table(pyproject, config, "overrides", "tool.codegen.overrides").items()
    }
    database = args.database or config.get("database")
    if database is not None and not isinstance(database, str):
        raise _config_error(
            pyproject,
            "database",
            f"[tool.codegen] database = {database!r} must be a string",
            'write a libpq URL, e.g. database = "postgresql://localhost/postgres"',
        )
    line_length = _table(pyproject, tool, "ruff", "tool.ruff").get(
        "line-length", write.DEFAULT_LINE_LENGTH
    )
    if not isinstance(line_length, int):
        raise _config_error(
            pyproject, "line-length", f"[tool.ruff] line-length = {line_length!r} is not a number"
        )
    return Settings(
        root=root,
        migrations=path(args.migrations, "migrations"),
        queries=path(args.queries, "queries"),
        out=path(args.out, "out"),
        database=database or None,
        pyproject=pyproject,
        overrides=overrides,
        line_length=line_length,
    )


def _override(pyproject: Path | None, key: str, value: object) -> Override:
    """One ``[tool.codegen.overrides]`` entry: "module.Type" or {python, load, dump}."""
    if isinstance(value, str):
        return Override(value)
    entry = (
        {str(k): v for k, v in cast(dict[object, object], value).items()}
        if isinstance(value, dict)
        else {}
    )
    unknown = sorted(set(entry) - {"python", "load", "dump"})
    python, load, dump = entry.get("python"), entry.get("load"), entry.get("dump")
    if (
        not isinstance(value, dict)
        or unknown
        or not isinstance(python, str)
        or not all(item is None or isinstance(item, str) for item in (load, dump))
    ):
        raise _config_error(
            pyproject,
            key,
            f"[tool.codegen.overrides] {key!r} = {value!r} is not an override",
            'write "module.Type", or { python = "module.Type", load = "module.function", '
            'dump = "module.function" } (load and dump are optional)',
        )
    return Override(
        python,
        load if isinstance(load, str) else None,
        dump if isinstance(dump, str) else None,
    )


def _table(
    pyproject: Path | None, parent: dict[str, object], key: str, name: str = ""
) -> dict[str, object]:
    """``parent[key]``, a TOML table; empty when absent, an error when not a table."""
    value = parent.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _config_error(
            pyproject,
            key,
            f"[{name or key}] must be a table, not {value!r}",
            f"write it as a [{name or key}] section of key = value lines",
        )
    return {str(k): item for k, item in cast(dict[object, object], value).items()}


def locate_key(pyproject: Path | None, key: str) -> Location | None:
    """Where ``key`` is set in pyproject.toml: its first ``key =`` line, or ``[...key]`` header.

    A plain text search (``tomllib`` keeps no positions), from the first
    ``[tool.`` header on: good enough to point at the line; else line 1.
    """
    if pyproject is None:
        return None
    try:
        lines = pyproject.read_text(encoding="utf-8").splitlines()
    except OSError:
        return Location(str(pyproject), 1, 1)
    quoted = re.escape(key)
    pattern = re.compile(rf"""\s*(?:(["']?){quoted}\1\s*=|\[[^\]]*\b{quoted}\s*\])""")
    start = next((n for n, line in enumerate(lines) if line.lstrip().startswith("[tool.")), 0)
    for number in range(start, len(lines)):
        if pattern.match(lines[number]):
            column = len(lines[number]) - len(lines[number].lstrip()) + 1
            return Location(str(pyproject), number + 1, column)
    return Location(str(pyproject), 1, 1)


def _config_error(
    pyproject: Path | None, key: str, message: str, hint: str | None = None
) -> CodegenErrors:
    return CodegenErrors([CodegenError(locate_key(pyproject, key), message, hint)])
