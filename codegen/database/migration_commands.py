"""``codegen sum`` and ``schema``: keep the migrations' derived files current.

- ``sum`` rewrites ``migrations/migrations.sum``; ``sum --check`` verifies it.
- ``schema`` rebuilds ``<out>/schema.sql`` from the migrations (in a scratch database it
  creates and drops); ``schema --check`` fails when the committed file is stale.

Both read the folders and the database from the same settings as ``generate``: the command line
over ``[tool.codegen]`` in the nearest pyproject.toml over the defaults.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import psycopg

from connlog.codegen import write
from connlog.codegen.database import checksums, embedded, schema_dump
from connlog.codegen.model import CodegenErrors
from connlog.codegen.parsing.load import display_path
from connlog.codegen.replace import replace_text
from connlog.codegen.settings import Settings, settings_from


def run(args: argparse.Namespace) -> int:
    try:
        settings = settings_from(args, Path.cwd())
    except CodegenErrors as exc:
        print(exc, file=sys.stderr)  # one located line per error
        return 1
    if args.command == "sum":
        return _sum(settings.migrations, check=args.check)
    if args.command == "schema":
        return _schema(settings, check=args.check)
    raise AssertionError(f"not a migration command: {args.command!r}")


def _sum(migrations: Path, *, check: bool) -> int:
    if not migrations.is_dir():
        return _error(f"{migrations}: not a directory (run from the repository root)")
    if not check:
        print(f"wrote {checksums.write(migrations)}")
        return 0
    try:
        checksums.verify(migrations)
    except checksums.ChecksumError as exc:
        return _error(str(exc))
    print(f"{migrations / checksums.SUM_FILE}: up to date")
    return 0


def _schema(settings: Settings, *, check: bool) -> int:
    migrations, out = settings.migrations, settings.out / write.SCHEMA_FILE
    shown = display_path(out, settings.root)
    if not migrations.is_dir():
        return _error(f"{migrations}: not a directory (run from the repository root)")
    try:
        server_url = settings.database or embedded.ensure_running()
        schema = schema_dump.build_schema(server_url, migrations, root=settings.root)
    except CodegenErrors as exc:
        # A migration the server rejects or yoyo cannot load, located in its file.
        print(exc, file=sys.stderr)  # one located line per error
        return 1
    except (embedded.EmbeddedServerError, schema_dump.SchemaDumpError, psycopg.Error) as exc:
        return _error(str(exc))
    if check:
        if not out.is_file() or out.read_text() != schema:
            return _error(f"{shown}: stale\nhint: refresh it with `./dev schema`")
        print(f"{shown}: up to date")
        return 0
    replace_text(out, schema)
    print(f"wrote {shown}")
    return 0


def _error(message: str) -> int:
    print(f"codegen: error: {message}", file=sys.stderr)
    return 1
