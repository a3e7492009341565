"""Helpers for the code generator's end-to-end tests: run the CLI, import its output.

``--update-golden`` rewrites each ``tests/cases/<capability>/`` expectation from
the current generator; reviewers read the diff.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import io
import itertools
import shutil
import sys
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, LiteralString, cast

import psycopg
import pytest

from connlog.codegen.cli import main
from connlog.codegen.model import AnalyzedParam, AnalyzedQuery, ParsedQuery, PgType
from tests.conftest import REPO_ROOT, start_server

CASES = REPO_ROOT / "tests" / "cases"
_packages = itertools.count(1)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        default=False,
        help="rewrite the expected output of tests/cases/* from the current generator",
    )


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-golden", default=False))


@dataclass(frozen=True, slots=True)
class Run:
    code: int
    stdout: str
    stderr: str


def run_codegen(*args: str, cwd: Path = REPO_ROOT) -> Run:
    """``codegen ARGS`` in this process, from ``cwd``."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.chdir(cwd), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return Run(code, out.getvalue(), err.getvalue())


def books_project(root: Path) -> Path:
    """A small project in ``root`` (join_left_nullable's migrations, its queries as
    ``queries/books.sql``, out ``generated``, the test server); returns ``root``."""
    shutil.copytree(CASES / "join_left_nullable" / "migrations", root / "migrations")
    (root / "queries").mkdir()
    shutil.copy(CASES / "join_left_nullable" / "queries.sql", root / "queries" / "books.sql")
    (root / "pyproject.toml").write_text(
        f'[tool.codegen]\nout = "generated"\ndatabase = "{start_server()}"\n'
    )
    return root


def generator_copy(destination: Path) -> Path:
    """A copy of the generator under ``destination`` (put it first on ``PYTHONPATH`` to run it
    instead of the checkout's); returns the copy's ``codegen`` package, to edit."""
    package = destination / "connlog"
    shutil.copytree(
        REPO_ROOT / "codegen", package / "codegen", ignore=shutil.ignore_patterns("__pycache__")
    )
    shutil.copy(REPO_ROOT / "connlog" / "__init__.py", package)
    return package / "codegen"


def generate_case(case: Path, out: Path, *extra: str) -> Run:
    """Compile a case folder (its migrations/ and queries.sql) into ``out``, on the test server."""
    return run_codegen(
        "generate",
        "--migrations",
        str(case / "migrations"),
        "--queries",
        str(case),
        "--out",
        str(out),
        "--database",
        start_server(),
        *extra,
    )


TEXT = PgType(25, "text", "pg_catalog", "S")


def analyzed(query: ParsedQuery, types: dict[str, PgType] | None = None) -> AnalyzedQuery:
    """What analyze might say of a parsed query that returns nothing: for plan's unit tests.

    Each parameter is ``text`` unless ``types`` says otherwise, by its SQL name.
    """
    types = types or {}
    return AnalyzedQuery(
        name=query.name,
        command=query.command,
        doc=query.doc,
        sql=query.sql,
        params=tuple(
            AnalyzedParam(p.number, p.name, types.get(p.name, TEXT), p.narg, p.location, p.narg)
            for p in query.params
        ),
        columns=(),
        row_is_certain=False,
        source=query.location.path,
        location=query.location,
        whole_table=None,
    )


@pytest.fixture
def fresh_package(tmp_path: Path) -> Iterator[Path]:
    """An out directory whose package name no other test uses, importable from ``tmp_path``."""
    out = tmp_path / f"generated_{next(_packages)}"
    sys.path.insert(0, str(tmp_path))
    try:
        yield out
    finally:
        sys.path.remove(str(tmp_path))
        for name in [m for m in sys.modules if m == out.name or m.startswith(out.name + ".")]:
            del sys.modules[name]


# ``compiled(case)``: the package a case folder generates (see the fixture).
Compiled = Callable[[Path], Path]


@pytest.fixture(scope="session")
def compiled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Compiled]:
    """``compiled(case)``: the package ``case`` generates, compiled once a session and importable.

    For tests that run the generated code; a test that generates on its own (other options, an
    edited case) uses ``fresh_package``.
    """
    root = tmp_path_factory.mktemp("compiled")
    packages: dict[Path, Path] = {}

    def compile_case(case: Path) -> Path:
        if case not in packages:
            out = root / f"compiled_{case.name}"
            result = generate_case(case, out)
            assert result.code == 0, result.stderr
            packages[case] = out
        return packages[case]

    sys.path.insert(0, str(root))
    try:
        yield compile_case
    finally:
        sys.path.remove(str(root))


def import_generated(out: Path, module: str) -> ModuleType:
    importlib.invalidate_caches()
    return importlib.import_module(f"{out.name}.{module}")


FLAVORS = ("sync", "aio")


@pytest.fixture(params=FLAVORS)
def flavor(request: pytest.FixtureRequest) -> str:
    """Run the test once with the sync module and once with its asyncio twin."""
    return str(request.param)


class Bound:
    """A generated query module with its connection bound: ``q.get_user(id=1)``.

    The same test body drives the sync module and its ``aio`` twin: an async
    function is run to completion on the test's event loop (one loop and one
    AsyncConnection for the whole test, as an application would have).
    """

    def __init__(self, module: ModuleType, conn: object, runner: asyncio.Runner | None) -> None:
        self.module = module
        self.conn = conn
        self.runner = runner

    def __getattr__(self, name: str) -> Callable[..., Any]:
        function = getattr(self.module, name)
        runner = self.runner
        if runner is None:
            return lambda *args, **kwargs: function(self.conn, *args, **kwargs)
        return lambda *args, **kwargs: runner.run(function(self.conn, *args, **kwargs))

    def each(
        self,
        name: str,
        visit: Callable[[Any], object],
        probe: LiteralString = "SELECT 1",
        **kwargs: Any,
    ) -> list[tuple[Any, ...]]:
        """Stream an :iter function's rows into ``visit``, sync or async, on one event loop.

        After the first row, ``probe`` runs on the same connection, mid-stream (e.g. to
        look at pg_cursors); its rows are returned.
        """
        function = getattr(self.module, name)
        probed: list[tuple[Any, ...]] = []
        if self.runner is None:
            conn = cast("psycopg.Connection[tuple[Any, ...]]", self.conn)
            for row in function(conn, **kwargs):
                if not probed:
                    probed = conn.execute(probe).fetchall()
                visit(row)
            return probed
        aconn = cast("psycopg.AsyncConnection[tuple[Any, ...]]", self.conn)

        async def consume() -> None:
            nonlocal probed
            async for row in function(aconn, **kwargs):
                if not probed:
                    probed = await (await aconn.execute(probe)).fetchall()
                visit(row)

        self.runner.run(consume())
        return probed


@contextlib.contextmanager
def bound_queries(out: Path, module: str, url: str, flavor: str) -> Generator[Bound]:
    """``module`` of the generated package ``out`` (or its aio twin) on a connection to ``url``."""
    if flavor == "sync":
        with psycopg.connect(url) as conn:
            yield Bound(import_generated(out, module), conn, None)
        return
    assert flavor == "aio", flavor
    with asyncio.Runner() as runner:
        aconn = runner.run(psycopg.AsyncConnection.connect(url))
        try:
            yield Bound(import_generated(out, f"aio.{module}"), aconn, runner)
            runner.run(aconn.commit())
        finally:
            runner.run(aconn.close())


def snapshot(directory: Path) -> dict[str, bytes]:
    """Every file under ``directory`` with its bytes: to prove it was not touched.

    Bytecode caches are left out: the generator writes none, and Python leaves them in any
    package a test imports (a committed expected/ too) unless told not to.
    """
    if not directory.exists():
        return {}
    return {
        str(path.relative_to(directory)): path.read_bytes()
        for path in sorted(directory.rglob("*"))
        if path.is_file() and "__pycache__" not in path.relative_to(directory).parts
    }
