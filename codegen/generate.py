"""``python -m codegen generate`` and ``check``: the whole pipeline, end to end.

load -> parse -> cache -> analyze (in a scratch database) -> plan -> render -> write.
The cache (``codegen.cache``, ``<out>/analysis.json``) answers every query whose
SQL and schema are unchanged, so only new or edited queries are described; when
none is, no database is needed at all (``check`` on a fresh clone, or a run after
a template or override change).

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

import psycopg

from codegen import cache, embedded, load, parse, schema_dump, write
from codegen.analyze import analyze, scratch_database
from codegen.model import Analysis, CodegenError, CodegenErrors, Location, ParsedQuery
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


@dataclass(frozen=True, slots=True)
class Build:
    """The outcome of a run, before anything is written."""

    files: tuple[RenderedFile, ...]  # every generated file, formatted
    queries: int  # compiled
    described: int  # of them, on a database
    cached: int  # of them, from the manifest


class NeedsDatabase(Exception):
    """An offline build found queries the manifest does not answer; ``reasons`` says which."""

    def __init__(self, reasons: list[str]) -> None:
        super().__init__("\n".join(reasons))
        self.reasons = reasons


def run(args: argparse.Namespace) -> int:
    started = time.monotonic()
    try:
        settings = settings_from(args, Path.cwd())
        if args.command == "check":
            return _check(settings)
        result = build(settings)
    except CodegenErrors as exc:
        _print_errors(exc)
        return 1
    except _DATABASE_ERRORS as exc:
        print(f"codegen: error: {exc}", file=sys.stderr)
        return 1
    written = write.write(settings.out, result.files)
    seconds = time.monotonic() - started
    print(
        f"codegen: {len(written)} files written, {result.queries} queries compiled "
        f"({result.described} described, {result.cached} cached) "
        f"in {seconds:.2f}s ({_show(settings.out, settings.root)})"
    )
    return 0


# A run that needs a server and cannot reach or use one.
_DATABASE_ERRORS: Final = (
    embedded.EmbeddedServerError,
    schema_dump.SchemaDumpError,
    write.FormatError,
    psycopg.OperationalError,
)


def _print_errors(exc: CodegenErrors) -> None:
    for error in exc.errors:
        print(error, file=sys.stderr)
    noun = "error" if len(exc.errors) == 1 else "errors"
    print(f"codegen: {len(exc.errors)} {noun}; nothing written", file=sys.stderr)


def _check(settings: Settings) -> int:
    """Exit status 0 when ``out`` is up to date; first offline, from the manifest alone.

    When the manifest does not answer every query, say which are stale, then
    describe them (if a database can be reached) to show the diff.
    """
    try:
        files = build(settings, offline=True).files
    except NeedsDatabase as stale:
        for reason in stale.reasons:
            print(reason, file=sys.stderr)
        try:
            sys.stdout.write(write.diff(settings.out, build(settings).files))
        except _DATABASE_ERRORS as exc:
            print(f"codegen: no database to describe them, so no diff: {exc}", file=sys.stderr)
        print(
            f"codegen: {_show(settings.out, settings.root)} is stale; "
            "run `python -m codegen generate`",
            file=sys.stderr,
        )
        return 1
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


def build(settings: Settings, *, offline: bool = False) -> Build:
    """Every generated file, formatted, in memory.

    Queries the manifest in ``settings.out`` answers are not described again;
    ``offline`` raises NeedsDatabase instead of describing the others.
    """
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

    migrations = cache.migrations_hash(settings.migrations)
    manifest, why_not = cache.load(settings.out)
    split = cache.split(queries, manifest, migrations)
    to_describe = split.to_describe
    schema = _cached_schema(settings.out, split.schema_sql)
    described: Analysis | None = None
    if to_describe or split.schema is None or schema is None:
        if offline:
            raise NeedsDatabase(_stale_reasons(settings, split, why_not, schema is None))
        server_url = settings.database or embedded.ensure_running()
        with scratch_database(server_url, settings.migrations) as url:
            described = analyze(to_describe, url)
            if schema is None:
                schema = schema_dump.dump_schema(url)
    analysis = cache.merge(split, described)
    planned = plan(
        analysis,
        migrations_source=_show(settings.migrations, settings.root) + "/",
        sources=[source.path for source in sources],
        overrides=settings.types,
    )
    files = write.finish(render(planned), project=settings.pyproject)
    manifest_text = cache.dumps(
        cache.Manifest(migrations, cache.schema_hash(schema), analysis, split.keys)
    )
    return Build(
        (
            *files,
            RenderedFile(cache.MANIFEST_FILE, manifest_text),
            RenderedFile(write.SCHEMA_FILE, schema),
        ),
        queries=len(queries),
        described=len(to_describe),
        cached=len(queries) - len(to_describe),
    )


def _cached_schema(out: Path, expected_hash: str | None) -> str | None:
    """schema.sql as generated from unchanged migrations: reused without a database."""
    if expected_hash is None:
        return None
    try:
        text = (out / write.SCHEMA_FILE).read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    return text if cache.schema_hash(text) == expected_hash else None


def _stale_reasons(
    settings: Settings, split: cache.Split, why_not: str, schema_stale: bool
) -> list[str]:
    out = _show(settings.out, settings.root)
    manifest = f"{out}/{cache.MANIFEST_FILE}"
    if split.schema is None:
        reason = why_not or split.stale_reason
        return [f"{manifest}: {reason}: every query must be described again"]
    reasons = [
        f"{query.location}: query {query.name} is stale: its SQL, parameters or command "
        f"are not in {manifest}"
        for query in split.to_describe
    ]
    if schema_stale:
        reasons.append(f"{out}/{write.SCHEMA_FILE}: missing, or edited since it was generated")
    return reasons


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
