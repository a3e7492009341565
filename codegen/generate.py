"""``python -m codegen generate`` and ``check``: the whole pipeline, end to end.

load -> parse -> analyze (in a scratch database) -> plan -> render -> write.
Options default to ``[tool.codegen]`` in the nearest pyproject.toml above the
working directory; relative paths there are relative to that file.
"""

from __future__ import annotations

import argparse
import sys
import time
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, Protocol, cast

from codegen import embedded, load, parse, schema_dump, write
from codegen.analyze import analyze, scratch_database
from codegen.model import CodegenError, CodegenErrors, Location, ParsedQuery
from codegen.plan import plan
from codegen.render import RenderedFile, render

COMMANDS: Final = ("generate", "check")


@dataclass(frozen=True, slots=True)
class Settings:
    """Where things are: command-line options over ``[tool.codegen]`` over defaults."""

    root: Path  # paths in messages are shown relative to this
    migrations: Path
    queries: Path
    out: Path
    database: str | None
    pyproject: Path | None
    types: Mapping[str, str] = field(default_factory=dict[str, str])


class Subcommands(Protocol):
    """The part of argparse's sub-parser action used here."""

    def add_parser(self, name: str, *, help: str) -> argparse.ArgumentParser: ...


def add_parsers(commands: Subcommands) -> None:
    for name, help in (
        ("generate", "compile migrations/ and queries/*.sql into typed Python modules"),
        ("check", "exit 1 with a diff when the generated modules are stale"),
    ):
        command = commands.add_parser(name, help=help)
        command.add_argument("--migrations", type=Path, metavar="DIR")
        command.add_argument("--queries", type=Path, metavar="DIR")
        command.add_argument("--out", type=Path, metavar="DIR")
        command.add_argument(
            "--database",
            metavar="URL",
            help="a server to work on (a scratch database is created and dropped there); "
            "default: the embedded server",
        )


def run(args: argparse.Namespace) -> int:
    started = time.monotonic()
    try:
        settings = settings_from(args, Path.cwd())
        files, query_count = build(settings)
    except CodegenErrors as exc:
        for error in exc.errors:
            print(error, file=sys.stderr)
        noun = "error" if len(exc.errors) == 1 else "errors"
        print(f"codegen: {len(exc.errors)} {noun}; nothing written", file=sys.stderr)
        return 1
    except (embedded.EmbeddedServerError, schema_dump.SchemaDumpError, write.FormatError) as exc:
        print(f"codegen: error: {exc}", file=sys.stderr)
        return 1
    if args.command == "check":
        changes = write.diff(settings.out, files)
        if changes:
            sys.stdout.write(changes)
            print(
                f"codegen: {_show(settings.out, settings.root)} is stale; "
                "run `python -m codegen generate`",
                file=sys.stderr,
            )
            return 1
        print(f"codegen: {_show(settings.out, settings.root)} is up to date")
        return 0
    written = write.write(settings.out, files)
    seconds = time.monotonic() - started
    print(
        f"codegen: {len(written)} files written, {query_count} queries compiled "
        f"in {seconds:.2f}s ({_show(settings.out, settings.root)})"
    )
    return 0


def build(settings: Settings) -> tuple[tuple[RenderedFile, ...], int]:
    """Every generated file, formatted, in memory; and the number of queries compiled."""
    sources = load.load_queries(settings.queries, settings.root)
    errors: list[CodegenError] = []
    queries: list[ParsedQuery] = []
    for source in sources:
        try:
            queries.extend(parse.parse_file(source))
        except CodegenErrors as exc:
            errors.extend(exc.errors)
    try:
        parse.check_unique_names(queries)
    except CodegenErrors as exc:
        errors.extend(exc.errors)
    if errors:
        raise CodegenErrors(errors)

    server_url = settings.database or embedded.ensure_running()
    with scratch_database(server_url, settings.migrations) as url:
        analysis = analyze(queries, url)
        schema = schema_dump.dump_schema(url)
    planned = plan(
        analysis,
        migrations_source=_show(settings.migrations, settings.root) + "/",
        sources=[source.path for source in sources],
        overrides=settings.types,
    )
    files = write.finish(render(planned), project=settings.pyproject)
    return (*files, RenderedFile(write.SCHEMA_FILE, schema)), len(queries)


def settings_from(args: argparse.Namespace, cwd: Path) -> Settings:
    pyproject = find_pyproject(cwd)
    config: dict[str, object] = {}
    root = cwd
    if pyproject is not None:
        root = pyproject.parent
        with pyproject.open("rb") as handle:
            document: dict[str, object] = tomllib.load(handle)
        config = _table(_table(document.get("tool")).get("codegen"))

    def path(option: Path | None, key: str) -> Path:
        if option is not None:
            return option.resolve()
        value = config.get(key, key)
        if not isinstance(value, str):
            raise _config_error(pyproject, f"[tool.codegen] {key} must be a string path")
        return (root / value).resolve()

    types: dict[str, str] = {}
    for name, target in _table(config.get("types")).items():
        if not isinstance(target, str):
            raise _config_error(
                pyproject,
                f"[tool.codegen.types] {name!r} must be an import path, got {target!r}",
            )
        types[name] = target
    database = args.database or config.get("database")
    return Settings(
        root=root,
        migrations=path(args.migrations, "migrations"),
        queries=path(args.queries, "queries"),
        out=path(args.out, "out"),
        database=str(database) if database else None,
        pyproject=pyproject,
        types=types,
    )


def _table(value: object) -> dict[str, object]:
    """A TOML table (keys are always strings), or empty when absent or not a table."""
    if not isinstance(value, dict):
        return {}
    return {str(key): item for key, item in cast(dict[object, object], value).items()}


def find_pyproject(start: Path) -> Path | None:
    """The nearest pyproject.toml in ``start`` or a parent directory."""
    for directory in (start.resolve(), *start.resolve().parents):
        candidate = directory / "pyproject.toml"
        if candidate.is_file():
            return candidate
    return None


def _config_error(pyproject: Path | None, message: str) -> CodegenErrors:
    where = Location(str(pyproject), 1, 1) if pyproject else None
    return CodegenErrors([CodegenError(where, message)])


def _show(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return path.as_posix()
