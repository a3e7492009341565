"""``./dev yoyo ARGS``: yoyo's own command line, pointed at the right database, errors located.

- The database is ``--database``/``-d`` when given, else ``$DATABASE_URL``, else the embedded
  server's application database (started if needed). Either spelling of the URL works: libpq's
  ``postgresql://`` (what ``./dev db url`` prints and psycopg takes) or yoyo's
  ``postgresql+psycopg://``; yoyo is always handed the second, which selects psycopg 3.
- A migration the server rejects, or one yoyo cannot load, is reported as
  ``migrations/0004_x.sql:6:8: error: ...`` (as ``generate`` reports it), not as a traceback.
- A migration without a rollback file is refused before anything is applied.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Final, cast

from connlog.codegen.database import embedded, migrate, scratch
from connlog.codegen.model import CodegenErrors

# The yoyo commands that open the database; the others (new, init, --help) do not.
_DATABASE_COMMANDS: Final = frozenset(
    {"apply", "develop", "list", "rollback", "reapply", "mark", "unmark", "break-lock"}
)
_MIGRATIONS: Final = Path("migrations")


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    command = next((arg for arg in args if not arg.startswith("-")), None)
    if command in _DATABASE_COMMANDS:
        try:
            url = _take_database(args) or os.environ.get("DATABASE_URL") or _embedded_url()
        except embedded.EmbeddedServerError as exc:
            print(f"yoyo: error: {exc}", file=sys.stderr)
            return 1
        args += ["--database", migrate.yoyo_url(url)]
    try:
        if command in {"apply", "develop", "reapply", "rollback"}:
            # A rollback without its file would only unmark the migration, leaving its objects.
            migrate.require_rollbacks(_MIGRATIONS, root=Path.cwd())
        with migrate.located_errors(_MIGRATIONS, root=Path.cwd()):
            return migrate.command_line(args)
    except CodegenErrors as exc:
        print(exc, file=sys.stderr)  # one located line per error
        return 1


def _take_database(args: list[str]) -> str | None:
    """Remove the database option from ``args``, in every spelling yoyo's argparse takes
    (``-d URL``, ``-dURL``, ``--database=URL``, ``--data`` or any other prefix); return its
    URL (the last given, as argparse keeps). One left behind would win over, or lose to, the
    ``--database`` appended after it. Parsed by argparse itself, so the spellings are its own."""
    parser = argparse.ArgumentParser(prog="yoyo", add_help=False)
    parser.add_argument("-d", "--database")
    found, rest = parser.parse_known_args(args)
    args[:] = rest
    return cast("str | None", found.database)


def _embedded_url() -> str:
    server_url = embedded.ensure_running()
    return scratch.ensure_database(server_url, scratch.APPLICATION_DATABASE)


if __name__ == "__main__":
    sys.exit(main())
