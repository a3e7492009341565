"""``python -m codegen``: the command line over the pipeline and the embedded server."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Protocol

from codegen import generate
from codegen.database import embedded, migration_commands, scratch


class Subcommands(Protocol):
    """The part of argparse's sub-parser action that ``add_parsers`` of each command uses."""

    def add_parser(self, name: str, *, help: str) -> argparse.ArgumentParser: ...


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="codegen", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    db = commands.add_parser("db", help="the embedded PostgreSQL for development")
    db.add_argument(
        "action",
        choices=["start", "stop", "url", "clean"],
        help="clean: drop the migrated templates kept on the server (rebuilt when next needed)",
    )
    migration_commands.add_parsers(commands)
    generate.add_parsers(commands)

    args = parser.parse_args(argv)
    if args.command == "db":
        return _db(args.action)
    if args.command in migration_commands.COMMANDS:
        return migration_commands.run(args)
    if args.command in generate.COMMANDS:
        return generate.run(args)
    raise AssertionError(f"unhandled command {args.command!r}")


def _db(action: str) -> int:
    try:
        if action == "stop":
            print("stopped" if embedded.stop() else "not running")
            return 0
        server_url = embedded.ensure_running()
        if action == "clean":
            dropped = scratch.drop_templates(server_url)
            print(f"dropped {len(dropped)} template database(s)")
            return 0
    except embedded.EmbeddedServerError as exc:
        print(f"codegen: error: {exc}", file=sys.stderr)
        return 1
    print(scratch.ensure_database(server_url, scratch.APPLICATION_DATABASE))
    return 0
