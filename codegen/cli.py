"""``codegen``: the command line over the pipeline and the embedded server.

Every command's options are declared here, and its module is imported only when
it runs: ``generate`` or ``check`` with nothing changed is answered by the
fingerprint (``codegen.fingerprint``, standard library only) before psycopg,
pglast or jinja2 is imported. Otherwise the command (``console``) hands the run
to the project's warm generator when one answers (``codegen.warm``), and starts
one after running it itself when none did.
"""

from __future__ import annotations

import argparse
import gc
import sys
from collections.abc import Sequence
from pathlib import Path

from connlog.codegen import fingerprint

# The generator's own dependencies: the ``[codegen]`` extra, absent from a runtime install.
_CODEGEN_EXTRA = frozenset({"pglast", "jinja2", "watchfiles"})


def console() -> None:
    """The ``codegen`` command (and ``python -m connlog.codegen``): ``main``, then exit.

    Without the last garbage collection: the process ends at once, and collecting
    every object of the run and of psycopg's, pglast's and jinja2's modules took
    0.1-0.25 s of each run on a busy machine (benchmarks/regenerate.py). Nothing is
    left to finalize by then: files and connections are closed by their context
    managers, and atexit handlers still run.
    """
    code = main(warm=True)
    gc.freeze()
    raise SystemExit(code)


def main(argv: Sequence[str] | None = None, *, warm: bool = False) -> int:
    """``codegen ARGV``; ``warm``: hand ``generate`` and ``check`` to the project's warm
    generator (``codegen.warm``), and start one, as the command does."""
    try:
        return _main(argv, warm)
    except ModuleNotFoundError as exc:
        if exc.name not in _CODEGEN_EXTRA:
            raise
        print(
            f"codegen: error: the generator needs its [codegen] extra ({exc.name} is missing): "
            "pip install 'connlog[codegen]'",
            file=sys.stderr,
        )
        return 1


def arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line ``argv`` parsed (argparse exits 2 on a bad one, saying why)."""
    return _parser().parse_args(argv)


def _main(argv: Sequence[str] | None, warm: bool) -> int:
    args = arguments(argv)
    if args.command == "db":
        return _db(args.action)
    if args.command in ("sum", "schema"):
        from connlog.codegen.database import migration_commands

        return migration_commands.run(args)
    if args.command in ("generate", "check"):
        if args.command == "generate" and args.watch:
            from connlog.codegen import watch

            return watch.run(args)
        cwd = Path.cwd()
        out = fingerprint.fresh(args, cwd)
        if out is not None:
            print(f"codegen: {out} is up to date (no input changed since the last run)")
            return 0
        return _generate(args, sys.argv[1:] if argv is None else argv, cwd, warm)
    raise AssertionError(f"unhandled command {args.command!r}")


def _generate(args: argparse.Namespace, argv: Sequence[str], cwd: Path, warm: bool) -> int:
    """Run ``generate`` or ``check`` in the warm generator if one answers, else here (and start
    one for the next run)."""
    from connlog.codegen import warm as warm_generator

    warm = warm and warm_generator.enabled(args.no_warm)
    if warm:
        code = warm_generator.delegate(argv, cwd)
        if code is not None:
            return code
    from connlog.codegen import generate

    code = generate.run(args)
    if warm:
        warm_generator.spawn(cwd)
    return code


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="codegen", description="the command line over the pipeline and the embedded server"
    )
    commands = parser.add_subparsers(dest="command", required=True)

    db = commands.add_parser("db", help="the embedded PostgreSQL for development")
    db.add_argument(
        "action",
        choices=["start", "stop", "url", "clean"],
        help="clean: drop the migrated databases kept on the server (rebuilt when next needed)",
    )

    sums = commands.add_parser("sum", help="rewrite the migrations' migrations.sum")
    sums.add_argument("--check", action="store_true", help="only verify it; exit 1 if stale")
    sums.add_argument("--migrations", type=Path, metavar="DIR")
    sums.set_defaults(queries=None, out=None, database=None)

    schema = commands.add_parser("schema", help="rebuild <out>/schema.sql from the migrations")
    schema.add_argument("--check", action="store_true", help="only compare; exit 1 if stale")
    schema.add_argument(
        "--database",
        metavar="URL",
        help="server to build on (a scratch database is created and dropped there); "
        "default: [tool.codegen] database, else the embedded server",
    )
    schema.add_argument("--migrations", type=Path, metavar="DIR")
    schema.add_argument("--out", type=Path, metavar="DIR", help="the generated package")
    schema.set_defaults(queries=None)

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
        command.add_argument(
            "--no-warm",
            action="store_true",
            help="run in this process: neither use nor start the project's warm generator "
            "(also: $CODEGEN_NO_WARM or $CI set)",
        )
        if name == "generate":
            command.add_argument(
                "--watch",
                action="store_true",
                help="keep running: regenerate whenever a migration, query or pyproject.toml "
                "changes (Ctrl-C stops)",
            )
    return parser


def _db(action: str) -> int:
    from connlog.codegen.database import embedded, scratch

    try:
        if action == "stop":
            from connlog.codegen import warm

            if warm.stop(Path.cwd()):
                print("stopped the warm generator")
            print("stopped" if embedded.stop() else "not running")
            return 0
        server_url = embedded.ensure_running()
        if action == "clean":
            dropped = [
                *scratch.drop_templates(server_url, scratch.MIGRATED_TEMPLATE_PREFIX),
                *scratch.drop_templates(server_url, scratch.DESCRIBE_PREFIX),
            ]
            print(f"dropped {len(dropped)} migrated database(s)")
            return 0
    except embedded.EmbeddedServerError as exc:
        print(f"codegen: error: {exc}", file=sys.stderr)
        return 1
    print(scratch.ensure_database(server_url, scratch.APPLICATION_DATABASE))
    return 0
