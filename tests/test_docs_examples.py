"""Every Python and shell example of README.md and docs/*.md runs, so a broken one fails CI.

Each fenced block tagged ``python``, ``pycon`` or ``sh`` is one test, named by its file and
line. A block runs in a namespace (Python) or a directory (shell) that a *fixture* prepares;
the fixture is named by an HTML comment on the line before the block, which a reader of the
rendered Markdown never sees:

    <!-- example: platform -->

- ``python`` blocks are executed (top-level ``await`` allowed: the block then runs on an event
  loop); ``pycon`` blocks are doctests, so the output they show is checked (``...`` elides).
- ``sh`` blocks run with ``bash -euo pipefail`` in a copy of the project (its migrations,
  queries, generated package, ``./dev`` and the checkout's ``.venv``), with ``DATABASE_URL``
  naming an empty database of the test server, so a command cannot change the checkout.
- ``<!-- example: not run (why) -->`` marks a block that is not meant to run (output, a
  sketch); use it sparingly.

A block without a comment gets the default fixture of its language: ``db`` for Python (``conn``
on a fresh migrated database, ``url`` its URL), ``project`` for shell.
"""

from __future__ import annotations

import ast
import asyncio
import doctest
import inspect
import os
import re
import shutil
import subprocess
import textwrap
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import psycopg
import pytest

from connlog.codegen.database import migrate
from tests.conftest import REPO_ROOT

DOCUMENTS = (REPO_ROOT / "README.md", *sorted((REPO_ROOT / "docs").glob("*.md")))
LANGUAGES = {"python": "python", "pycon": "pycon", "sh": "sh", "bash": "sh", "shell": "sh"}
DEFAULT_FIXTURE = {"python": "db", "pycon": "db", "sh": "project"}
NOT_RUN = "not run"
_FENCE = re.compile(r"^(?P<indent>\s*)```(?P<info>[\w-]*)\s*$")
_MARKER = re.compile(r"^\s*<!--\s*example:\s*(?P<what>.+?)\s*-->\s*$")
_CASES = REPO_ROOT / "tests" / "cases"


@dataclass(frozen=True, slots=True)
class Block:
    path: Path
    line: int  # of the opening fence, from 1
    language: str  # python, pycon or sh
    fixture: str  # a name of FIXTURES, or NOT_RUN
    code: str

    @property
    def where(self) -> str:
        return f"{self.path.relative_to(REPO_ROOT)}:{self.line}"


def blocks(path: Path) -> list[Block]:
    """The runnable blocks of one Markdown file (fences may be indented, as in lists)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    found: list[Block] = []
    number = 0
    while number < len(lines):
        opening = _FENCE.match(lines[number])
        if not opening:
            number += 1
            continue
        indent, info = opening["indent"], opening["info"]
        end = number + 1
        while end < len(lines) and lines[end].strip() != "```":
            end += 1
        assert end < len(lines), f"{path}:{number + 1}: a code block is never closed"
        language = LANGUAGES.get(info)
        marker = _marker(lines, number)
        if language is None:
            assert marker is None, (
                f"{path}:{number + 1}: an example comment before a {info or 'plain'!r} block, "
                f"which is never run (only {sorted(LANGUAGES)})"
            )
        else:
            code = textwrap.dedent(
                "\n".join(line.removeprefix(indent) for line in lines[number + 1 : end])
            )
            fixture = marker or DEFAULT_FIXTURE[language]
            found.append(Block(path, number + 1, language, fixture, code + "\n"))
        number = end + 1
    return found


def _marker(lines: list[str], fence: int) -> str | None:
    """The fixture the comment right before line ``fence`` names (blank lines between allowed)."""
    before = fence - 1
    while before >= 0 and not lines[before].strip():
        before -= 1
    found = _MARKER.match(lines[before]) if before >= 0 else None
    if found is None:
        return None
    what = found["what"]
    return NOT_RUN if what.startswith(NOT_RUN) else what


ALL_BLOCKS = [block for document in DOCUMENTS for block in blocks(document)]


# --- fixtures ------------------------------------------------------------------------------


@dataclass
class Context:
    """What a fixture may use: this test's databases (made when first asked for, so a block
    that needs none costs none) and temporary directory."""

    request: pytest.FixtureRequest
    tmp_path: Path
    tmp_path_factory: pytest.TempPathFactory
    cleanups: list[Callable[[], None]]

    @property
    def db_url(self) -> str:
        """A fresh database with every migration applied."""
        return str(self.request.getfixturevalue("db_url"))

    @property
    def empty_db_url(self) -> str:
        """A fresh database with nothing in it."""
        return str(self.request.getfixturevalue("empty_db_url"))

    def connect(self, url: str) -> psycopg.Connection[Any]:
        conn = psycopg.connect(url)
        self.cleanups.append(conn.close)
        return conn


def _db(context: Context) -> dict[str, Any]:
    return {"conn": context.connect(context.db_url), "url": context.db_url}


def _platform(context: Context) -> dict[str, Any]:
    """``db``, plus organizations ``acme`` and ``globex``, user ``alice`` (``owner``) and her
    workspace ``ws`` in ``acme`` (``org``), a session id ``session``, and ``now``."""
    from tests.connection_logs.world import make_world

    namespace = _db(context)
    conn = namespace["conn"]
    world = make_world(conn, organizations=2, users=1, workspaces=1, usernames=["alice"])
    conn.execute("UPDATE workspaces SET organization_id = %s", [world.organizations[0].id])
    conn.commit()
    namespace.update(
        acme=world.organizations[0].id,
        globex=world.organizations[1].id,
        org=world.organizations[0].id,
        owner=world.users[0].id,
        ws=world.workspaces[0].id,
        session=UUID(int=7, version=4),
        now=datetime.now(UTC),
    )
    return namespace


def _recorded(context: Context) -> dict[str, Any]:
    """``platform``, with a day of its sessions recorded; ``events`` are more to record, and
    ``since`` is a day ago."""
    from connlog.generated.models import ConnectionStatus, ConnectionType
    from connlog.record import ConnectionEvent, record_events

    namespace = _platform(context)
    now: datetime = namespace["now"]

    def event(n: int, status: ConnectionStatus, minutes: int) -> ConnectionEvent:
        return ConnectionEvent(
            id=UUID(int=1000 + 2 * n + (status == ConnectionStatus.DISCONNECTED), version=4),
            time=now - timedelta(minutes=minutes),
            organization_id=namespace["org"],
            workspace_owner_id=namespace["owner"],
            workspace_id=namespace["ws"],
            workspace_name="ws-0",
            agent_name="main",
            type=ConnectionType.SSH,
            connection_status=status,
            connection_id=UUID(int=n, version=4),
        )

    day = [event(n, ConnectionStatus.CONNECTED, 10 * n + 5) for n in range(1, 13)]
    day += [event(n, ConnectionStatus.DISCONNECTED, 10 * n) for n in range(1, 13, 2)]
    record_events(namespace["conn"], day)
    namespace["conn"].commit()
    namespace["events"] = [event(n, ConnectionStatus.CONNECTED, 1) for n in range(20, 23)]
    namespace["since"] = now - timedelta(days=1)
    return namespace


def _case(name: str) -> Callable[[Context], dict[str, Any]]:
    """The committed output of golden case ``name`` (tests/cases/NAME/expected/), its query
    module's names imported, and ``conn`` on a database migrated with the case's migrations."""

    def prepare(context: Context) -> dict[str, Any]:
        import importlib
        import sys

        package = f"docs_case_{name}"
        shutil.copytree(_CASES / name / "expected", context.tmp_path / package)
        sys.path.insert(0, str(context.tmp_path))

        def forget() -> None:
            sys.path.remove(str(context.tmp_path))
            for module in [m for m in sys.modules if m.split(".")[0] == package]:
                del sys.modules[module]

        context.cleanups.append(forget)
        migrate.apply_all(context.empty_db_url, _CASES / name / "migrations")
        namespace: dict[str, Any] = {
            "conn": context.connect(context.empty_db_url),
            "url": context.empty_db_url,
        }
        for module in ("", ".models", ".queries"):
            loaded = importlib.import_module(f"{package}{module}")
            namespace.update({k: v for k, v in vars(loaded).items() if not k.startswith("_")})
        namespace["aio"] = importlib.import_module(f"{package}.aio.queries")
        return namespace

    return prepare


FIXTURES: dict[str, Callable[[Context], dict[str, Any]]] = {
    "db": _db,
    "platform": _platform,
    "recorded": _recorded,
    **{f"case {name}": _case(name) for name in ("bulk", "embed", "slice")},
}


def _project(context: Context) -> Path:
    """A fresh copy of the project to run shell examples in, on the checkout's .venv.

    Always at the same path, so that the stamp one block's ``generate`` records lets the
    next block's ``generate`` or ``check`` of the same files take the fast path.
    """
    project = context.tmp_path_factory.getbasetemp() / "docs-project"
    shutil.rmtree(project, ignore_errors=True)
    project.mkdir()
    for name in ("pyproject.toml", "yoyo.ini", "dev", ".squawk.toml"):
        shutil.copy2(REPO_ROOT / name, project / name)
    for name in ("migrations", "queries", "generated", "tests/fixtures"):
        shutil.copytree(
            REPO_ROOT / name, project / name, ignore=shutil.ignore_patterns("__pycache__")
        )
    (project / ".venv").symlink_to(REPO_ROOT / ".venv")
    return project


# --- running -------------------------------------------------------------------------------


@pytest.fixture
def context(
    request: pytest.FixtureRequest, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Context]:
    made = Context(request, tmp_path, tmp_path_factory, [])
    yield made
    for cleanup in reversed(made.cleanups):
        cleanup()


def _run_python(block: Block, namespace: dict[str, Any]) -> None:
    code = compile(block.code, block.where, "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    result = eval(code, namespace)  # a block with top-level await compiles to a coroutine
    if inspect.iscoroutine(result):
        asyncio.run(result)


def _run_pycon(block: Block, namespace: dict[str, Any]) -> None:
    test = doctest.DocTestParser().get_doctest(
        block.code, namespace, block.where, str(block.path), block.line
    )
    report: list[str] = []
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    runner.run(test, out=report.append)
    assert runner.failures == 0, "".join(report)


def _run_sh(block: Block, context: Context) -> None:
    project = _project(context)
    env = {**os.environ, "DATABASE_URL": context.empty_db_url}
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", block.code],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, (
        f"{block.where}: exit {result.returncode}\n{result.stdout}{result.stderr}"
    )


@pytest.mark.parametrize(
    "block", [b for b in ALL_BLOCKS if b.fixture != NOT_RUN], ids=lambda b: b.where
)
def test_example_runs(block: Block, context: Context) -> None:
    if block.language == "sh":
        assert block.fixture == "project", f"{block.where}: shell blocks run in the project copy"
        _run_sh(block, context)
        return
    assert block.fixture in FIXTURES, (
        f"{block.where}: no fixture {block.fixture!r} ({sorted(FIXTURES)})"
    )
    namespace = FIXTURES[block.fixture](context)
    if block.language == "pycon":
        _run_pycon(block, namespace)
    else:
        _run_python(block, namespace)


def test_the_documents_hold_examples_and_few_are_left_unrun() -> None:
    """The extraction finds the blocks (a broken fence pattern would find none and pass)."""
    run = [b for b in ALL_BLOCKS if b.fixture != NOT_RUN]
    assert {b.path.name for b in run} >= {"README.md", "generator.md", "connection-log.md"}
    assert len(run) >= 20
    assert len(ALL_BLOCKS) - len(run) <= len(run) // 4, "mark blocks not run sparingly"


def test_a_broken_example_fails(tmp_path: Path, context: Context) -> None:
    """The runner fails a block whose code raises, and a pycon block whose output is wrong."""
    document = tmp_path / "x.md"
    document.write_text(
        "```python\nraise RuntimeError('broken')\n```\n\n"
        "<!-- example: db -->\n```pycon\n>>> 1 + 1\n3\n```\n"
    )
    python, pycon = (
        Block(REPO_ROOT / "README.md", b.line, b.language, b.fixture, b.code)
        for b in blocks(document)
    )
    with pytest.raises(RuntimeError, match="broken"):
        _run_python(python, {})
    with pytest.raises(AssertionError, match="Expected"):
        _run_pycon(pycon, {})


_LINK = re.compile(r"\]\((?P<target>[^)\s]+)\)")


def _anchor(heading: str) -> str:
    """GitHub's id of a heading: lower case, punctuation dropped, spaces as hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_links_between_the_documents_resolve() -> None:
    """Every relative link names a file that exists, and a heading of it when it has an anchor."""
    broken: list[str] = []
    for document in (*DOCUMENTS, REPO_ROOT / "CHANGELOG.md"):
        for found in _LINK.finditer(document.read_text(encoding="utf-8")):
            target = found["target"]
            if "://" in target:
                continue
            name, _, anchor = target.partition("#")
            linked = (document.parent / name).resolve() if name else document
            if not linked.exists():
                broken.append(f"{document.name}: {target} (no such file)")
            elif anchor and linked.suffix == ".md":
                headings = re.findall(r"^#+ (.+)$", linked.read_text(encoding="utf-8"), re.M)
                if anchor not in {_anchor(h) for h in headings}:
                    broken.append(f"{document.name}: {target} (no such heading)")
    assert not broken, "\n".join(broken)
