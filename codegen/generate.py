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
import contextlib
import re
import sys
import time
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Final, cast

import psycopg

from codegen import cache, embedded, load, parse, schema_dump, scratch, write
from codegen.analyze import analyze
from codegen.model import Analysis, CodegenError, CodegenErrors, Location, ParsedQuery
from codegen.plan import plan
from codegen.render import RenderedFile, render
from codegen.types import Override, Overrides

if TYPE_CHECKING:
    from codegen.cli import Subcommands

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
    overrides: Overrides = field(default_factory=dict[str, Override])
    line_length: int = write.DEFAULT_LINE_LENGTH  # [tool.ruff] line-length


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
        f"in {seconds:.2f}s ({load.display_path(settings.out, settings.root)})"
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
            f"codegen: {load.display_path(settings.out, settings.root)} is stale; "
            "run `python -m codegen generate`",
            file=sys.stderr,
        )
        return 1
    changes = write.diff(settings.out, files)
    if changes:
        sys.stdout.write(changes)
        print(
            f"codegen: {load.display_path(settings.out, settings.root)} is stale; "
            "run `python -m codegen generate`",
            file=sys.stderr,
        )
        return 1
    print(f"codegen: {load.display_path(settings.out, settings.root)} is up to date")
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
    if not settings.migrations.is_dir():
        errors.append(_missing_migrations(settings))

    migrations = cache.migrations_hash(settings.migrations)
    manifest, why_not = cache.load(settings.out)
    split = cache.split(queries, manifest, migrations)
    to_describe = split.to_describe
    if errors:
        # Every problem at once: what the server says about the queries that parsed too.
        if not offline and settings.migrations.is_dir() and to_describe:
            errors.extend(_describe_errors(settings, to_describe))
        raise CodegenErrors(errors)
    schema = _cached_schema(settings.out, split.schema_sql)
    described: Analysis | None = None
    if to_describe or split.schema is None or schema is None:
        if offline:
            raise NeedsDatabase(_stale_reasons(settings, split, why_not, schema is None))
        with _migrated_database(settings) as url:
            described = analyze(to_describe, url)
            if schema is None:
                schema = schema_dump.dump_schema(url)
    analysis = cache.merge(split, described)
    _check_overrides(settings, analysis)
    planned = plan(
        analysis,
        migrations_source=load.display_path(settings.migrations, settings.root) + "/",
        sources=[source.path for source in sources],
        overrides=settings.overrides,
    )
    files = write.finish(
        render(planned), project=settings.pyproject, line_length=settings.line_length
    )
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


def _migrated_database(settings: Settings) -> contextlib.AbstractContextManager[str]:
    server_url = settings.database or embedded.ensure_running()
    return scratch.migrated_database(server_url, settings.migrations, root=settings.root)


def _describe_errors(settings: Settings, queries: Sequence[ParsedQuery]) -> list[CodegenError]:
    """The errors describing ``queries`` finds; none when no database can be used."""
    try:
        with _migrated_database(settings) as url:
            analyze(queries, url)
    except CodegenErrors as exc:
        return exc.errors
    except _DATABASE_ERRORS:
        pass  # no server: the other errors are reported without these
    return []


def _missing_migrations(settings: Settings) -> CodegenError:
    return CodegenError(
        None,
        f"migrations directory {str(settings.migrations)!r} does not exist",
        "pass --migrations DIR or set `migrations` under [tool.codegen] in pyproject.toml "
        "(create an empty directory when there are no migrations yet)",
    )


def _check_overrides(settings: Settings, analysis: Analysis) -> None:
    """Every override names a column of a table, or a type the schema or a query uses."""
    columns = {
        f"{table.name}.{column.name}": column
        for table in analysis.tables
        for column in table.columns
    }
    tables = {table.name for table in analysis.tables}
    used: set[str] = set()
    pending = [
        *(c.type for t in analysis.tables for c in t.columns),
        *(c.type for q in analysis.queries for c in q.columns),
        *(p.type for q in analysis.queries for p in q.params),
    ]
    while pending:
        pg = pending.pop()
        if pg.name not in used:
            used |= {pg.name, f"{pg.schema}.{pg.name}"}
            pending.extend(t for t in (pg.element, pg.base) if t is not None)
    errors: list[CodegenError] = []
    for key in sorted(settings.overrides):
        where = _locate(settings.pyproject, key)
        table = key.split(".", 1)[0]
        if key in columns or (table not in tables and key in used):
            continue
        if table in tables:
            message = f"override {key!r}: table {table!r} has no column {key.split('.', 1)[1]!r}"
        else:
            message = f"override {key!r} names no table column, and no query or table uses the type"
        errors.append(
            CodegenError(
                where,
                message,
                'a key is "table.column", or a PostgreSQL type as "typname" or "schema.typname"',
            )
        )
    if errors:
        raise CodegenErrors(errors)


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
    out = load.display_path(settings.out, settings.root)
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

    if "types" in config:
        raise _config_error(
            pyproject,
            "types",
            "[tool.codegen.types] is now [tool.codegen.overrides]",
            'rename the table; "name" = "module.Type" entries keep their meaning',
        )
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


def find_pyproject(start: Path) -> Path | None:
    """The nearest pyproject.toml in ``start`` or a parent directory."""
    for directory in (start.resolve(), *start.resolve().parents):
        candidate = directory / "pyproject.toml"
        if candidate.is_file():
            return candidate
    return None


def _locate(pyproject: Path | None, key: str) -> Location | None:
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
    return CodegenErrors([CodegenError(_locate(pyproject, key), message, hint)])
