"""``codegen generate`` and ``check``: the whole pipeline, end to end.

load -> parse -> cache -> analyze (in a scratch database) -> plan -> render -> write.
The cache (``codegen.analysis.cache``, ``<out>/analysis.json``) answers every query whose
SQL and schema are unchanged, so only new or edited queries are described; when
none is, no database is needed at all (``check`` on a fresh clone, or a run after
a template or override change). Options come from ``codegen.settings``.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import psycopg

from connlog.codegen import fingerprint, render_cache, write
from connlog.codegen.analysis import cache
from connlog.codegen.analysis.analyze import analyze
from connlog.codegen.database import embedded, migrate, schema_dump, scratch
from connlog.codegen.model import Analysis, CodegenError, CodegenErrors, Location, ParsedQuery
from connlog.codegen.parsing import load, parse, parse_memo
from connlog.codegen.python.plan import Plan, plan
from connlog.codegen.python.render import RenderedFile, jobs
from connlog.codegen.settings import Settings, locate_key, settings_from


@dataclass(frozen=True, slots=True)
class Build:
    """The outcome of a run, before anything is written."""

    files: tuple[RenderedFile, ...]  # every generated file, formatted
    queries: int  # compiled
    described: int  # of them, on a database
    cached: int  # of them, from the manifest
    modules: int  # generated modules
    rendered: int  # of them, rendered by this run (the others as the last run made them)


class NeedsDatabase(Exception):
    """An offline build found queries the manifest does not answer; ``reasons`` says which."""

    def __init__(self, reasons: list[str]) -> None:
        super().__init__("\n".join(reasons))
        self.reasons = reasons


def run(args: argparse.Namespace, *, prefix: str = "", settings: Settings | None = None) -> int:
    """``generate`` or ``check`` (``args.command``) the ordinary way: build, then write or compare.

    When the out directory ends up exactly as ``generate`` makes it, the
    fingerprint of the inputs read is recorded, so that the next run with
    nothing changed answers without importing any of this (``codegen.cli``).
    ``prefix`` starts the summary line (watch mode says what changed);
    ``settings`` are those of ``args``, when the caller has just read them.
    """
    started = time.monotonic()
    cwd = Path.cwd()
    try:
        settings = settings or settings_from(args, cwd)
        _check_paths_are_text(settings)
        where = fingerprint.Where(
            settings.pyproject, settings.migrations, settings.queries, settings.out
        )
        before = fingerprint.inputs(where)
        if args.command == "check":
            code = _check(settings)
            if code == 0:
                fingerprint.record(args, cwd, where, before, _display(settings))
            return code
        result = build(settings)
    except CodegenErrors as exc:
        print_errors(exc, prefix)
        return 1
    except _DATABASE_ERRORS as exc:
        print(f"codegen: {prefix}error: {exc}", file=sys.stderr)
        return 1
    try:
        written = write.write(settings.out, result.files)
    except write.OwnedFileError as exc:
        print(f"codegen: {prefix}error: {exc}; nothing written", file=sys.stderr)
        return 1
    fingerprint.record(args, cwd, where, before, _display(settings))
    seconds = time.monotonic() - started
    print(
        f"codegen: {prefix}{len(written)} files written, {result.queries} queries compiled "
        f"({result.described} described, {result.cached} cached), "
        f"{result.rendered} of {result.modules} modules rendered, "
        f"in {seconds:.2f}s ({_display(settings)})"
    )
    return 0


def _display(settings: Settings) -> str:
    return load.display_path(settings.out, settings.root)


# A run that needs a server and cannot reach or use one.
_DATABASE_ERRORS: Final = (
    embedded.EmbeddedServerError,
    schema_dump.SchemaDumpError,
    write.FormatError,
    psycopg.OperationalError,
)


def print_errors(exc: CodegenErrors, prefix: str = "") -> None:
    for error in exc.errors:
        print(error, file=sys.stderr)
    noun = "error" if len(exc.errors) == 1 else "errors"
    print(f"codegen: {prefix}{len(exc.errors)} {noun}; nothing written", file=sys.stderr)


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
            f"codegen: {_display(settings)} is stale; run `./dev generate`",
            file=sys.stderr,
        )
        return 1
    changes = write.diff(settings.out, files)
    if changes:
        sys.stdout.write(changes)
        print(
            f"codegen: {_display(settings)} is stale; run `./dev generate`",
            file=sys.stderr,
        )
        return 1
    print(f"codegen: {_display(settings)} is up to date")
    return 0


def build(settings: Settings, *, offline: bool = False) -> Build:
    """Every generated file, formatted, in memory.

    Queries the manifest in ``settings.out`` answers are not described again;
    ``offline`` raises NeedsDatabase instead of describing the others.
    """
    sources = load.load_queries(settings.queries, settings.root)
    generator = fingerprint.generator_identity()  # the key of every memo this run reads
    queries, errors = parse_memo.parse_files(sources, settings.out, generator)
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
    paths = [source.path for source in sources]
    if errors:
        # Every problem at once: what the server and the planning say of the queries that
        # parsed, too.
        raise CodegenErrors(errors + _later_errors(settings, split, paths, offline))
    schema = _cached_schema(settings.out, split.schema_sql)
    described: Analysis | None = None
    if to_describe or split.schema is None or schema is None:
        if offline:
            raise NeedsDatabase(_stale_reasons(settings, split, why_not, schema is None))
        with contextlib.ExitStack() as held:
            described, failed, url = _describe(settings, to_describe, held)
            if failed:
                raise CodegenErrors(failed + _plan_errors(settings, split, described, paths))
            if schema is None:
                schema = schema_dump.dump_schema(url)
    analysis = cache.merge(split, described)
    _check_overrides(settings, analysis)
    migration_ids = _migration_ids(settings, split)
    planned = _plan(settings, analysis, paths, migration_ids)
    modules = render_cache.finish(
        jobs(planned),
        out=settings.out,
        project=settings.pyproject,
        line_length=settings.line_length,
        generator=generator,
    )
    manifest_text = cache.dumps(
        cache.Manifest(migrations, cache.schema_hash(schema), analysis, split.keys, migration_ids)
    )
    return Build(
        (
            *modules.files,
            RenderedFile(cache.MANIFEST_FILE, manifest_text),
            RenderedFile(write.SCHEMA_FILE, schema),
        ),
        queries=len(queries),
        described=len(to_describe),
        cached=len(queries) - len(to_describe),
        modules=len(modules.files),
        rendered=modules.rendered,
    )


def _describe(
    settings: Settings, queries: Sequence[ParsedQuery], held: contextlib.ExitStack
) -> tuple[Analysis, list[CodegenError], str]:
    """``queries`` described in the migrated, read-only database kept on the server: what
    described, the errors of the others, and the database's URL.

    That database is tried first without asking whether it exists (one connection less
    on every run); only when it cannot be used is it built (or found built by another run)
    and tried again. The connection stays open until ``held`` closes (after the schema
    is dumped from it): another run's clean-up never drops a database in use.
    """
    conn, url = _connect_to_describe(settings)
    described, failed = analyze(queries, held.enter_context(conn))
    return described, failed, url


def _connect_to_describe(settings: Settings) -> tuple[psycopg.Connection[tuple[object, ...]], str]:
    """A connection to the describe database of ``settings.migrations``, and its URL."""
    server_url = settings.database or embedded.ensure_running()
    url = scratch.kept_describe_url(server_url, settings.migrations)
    tries = 3
    while True:
        try:
            return psycopg.connect(url, autocommit=True), url
        except psycopg.OperationalError:
            tries -= 1
            if not tries:
                raise
        # Built (or found built) now. Another run's clean-up drops only unused ones, but may
        # drop it before we connect: then it is asked for once more.
        url = scratch.describe_database(server_url, settings.migrations, root=settings.root)


def _migration_ids(settings: Settings, split: cache.Split) -> tuple[str, ...]:
    """The migrations in apply order: as the manifest recorded them, else as yoyo orders them
    (the migrations changed)."""
    if split.migration_ids is not None:
        return split.migration_ids
    return tuple(migrate.ordered_ids(settings.migrations))


def _plan(
    settings: Settings, analysis: Analysis, paths: Sequence[str], migration_ids: Sequence[str]
) -> Plan:
    return plan(
        analysis,
        migrations_source=load.display_path(settings.migrations, settings.root) + "/",
        sources=paths,
        overrides=settings.overrides,
        migration_ids=migration_ids,
    )


def _later_errors(
    settings: Settings, split: cache.Split, paths: Sequence[str], offline: bool
) -> list[CodegenError]:
    """What describing and planning the queries that parsed finds, beside earlier errors.

    Without a database (offline, or none reachable) only the queries the manifest answers
    are planned.
    """
    described: Analysis | None = None
    errors: list[CodegenError] = []
    if not offline and settings.migrations.is_dir() and (split.to_describe or not split.schema):
        try:
            with contextlib.ExitStack() as held:
                described, errors, _ = _describe(settings, split.to_describe, held)
        except CodegenErrors as exc:
            return exc.errors  # a migration failed: there is no schema to plan against
        except _DATABASE_ERRORS:
            pass  # no server: the other errors are reported without these
    return errors + _plan_errors(settings, split, described, paths)


def _plan_errors(
    settings: Settings, split: cache.Split, described: Analysis | None, paths: Sequence[str]
) -> list[CodegenError]:
    """The errors planning finds in every query that was analyzed (cached or ``described``).

    Overrides are not checked here: one used only by a query left out would look unused.
    """
    schema = described or split.schema
    if schema is None:
        return []
    done = {query.location for query in described.queries} if described else set[Location]()
    keep = [
        i
        for i, (query, cached) in enumerate(zip(split.queries, split.cached, strict=True))
        if cached is not None or query.location in done
    ]
    analyzed = dataclasses.replace(
        split,
        queries=tuple(split.queries[i] for i in keep),
        keys=tuple(split.keys[i] for i in keep),
        cached=tuple(split.cached[i] for i in keep),
    )
    try:
        merged = cache.merge(analyzed, described)
        _plan(settings, merged, paths, _migration_ids(settings, split))
    except CodegenErrors as exc:
        return exc.errors
    return []


def _check_paths_are_text(settings: Settings) -> None:
    """Every path a run names is UTF-8 text: the manifest, the messages and the describe
    database's comment (PostgreSQL) hold them as text, and none can hold undecodable bytes."""
    paths = [settings.root, settings.migrations, settings.queries, settings.out]
    if settings.pyproject is not None:
        paths.append(settings.pyproject)
    if settings.migrations.is_dir():
        paths.extend(settings.migrations.rglob("*"))
    if settings.queries.is_dir():
        paths.extend(settings.queries.glob("*.sql"))
    undecodable: list[Path] = []
    for path in sorted((path.resolve() for path in paths), key=lambda path: len(path.parts)):
        try:
            str(path).encode()
        except UnicodeEncodeError:
            if not any(path.is_relative_to(outer) for outer in undecodable):  # said once
                undecodable.append(path)
    if undecodable:
        raise CodegenErrors(
            [
                CodegenError(
                    None,
                    f"path {str(path)!r} is not UTF-8 text (an undecodable byte, shown as \\udcXX)",
                    "rename it with UTF-8 characters only",
                )
                for path in undecodable
            ]
        )


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
        *analysis.composites,
        *(c.type for t in analysis.tables for c in t.columns),
        *(c.type for q in analysis.queries for c in q.columns),
        *(p.type for q in analysis.queries for p in q.params),
    ]
    while pending:
        pg = pending.pop()
        if pg.name not in used:
            used |= {pg.name, f"{pg.schema}.{pg.name}"}
            pending.extend(t for t in (pg.element, pg.base) if t is not None)
            pending.extend(field.type for field in pg.fields)  # a composite's attributes
    errors: list[CodegenError] = []
    for key in sorted(settings.overrides):
        where = locate_key(settings.pyproject, key)
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
    out = _display(settings)
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
