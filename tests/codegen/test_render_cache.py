"""Only what changed is rendered: the render memo (``codegen.render_cache``), and when it misses.

Each run's summary says how many modules it rendered; whatever the memo gave
must be byte for byte what rendering everything gives.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import sys
import typing
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from connlog.codegen import memo as memo_file
from connlog.codegen import render_cache
from connlog.codegen.python.render import Job
from tests.codegen.conftest import CASES, Run, books_project, generate_case, run_codegen, snapshot
from tests.conftest import REPO_ROOT

MODULES = 7  # of join_left_nullable: models, _runtime, _migrations, __init__, queries, aio's two


def _project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    books_project(root)
    return root


def _rendered(run: Run) -> str:
    """``N of M`` from the summary line."""
    assert run.code == 0, run.stdout + run.stderr
    return run.stdout.split("), ", 1)[1].split(" modules rendered", 1)[0]


def _from_scratch(root: Path, tmp_path: Path) -> dict[str, bytes]:
    """The out directory as a run with no memo and no manifest makes it."""
    fresh = tmp_path / "fresh"
    shutil.copytree(root, fresh, ignore=shutil.ignore_patterns("generated"))
    result = subprocess.run(
        [sys.executable, "-m", "connlog.codegen", "generate"],
        cwd=fresh, capture_output=True, text=True, timeout=120,
        env={**os.environ, "XDG_CACHE_HOME": str(tmp_path / "fresh-cache")},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert f"{MODULES} of {MODULES} modules rendered" in result.stdout
    return snapshot(fresh / "generated")


def test_an_edited_query_renders_only_its_module_and_twin(tmp_path: Path) -> None:
    root = _project(tmp_path)
    assert _rendered(run_codegen("generate", cwd=root)) == f"{MODULES} of {MODULES}"
    sql = root / "queries" / "books.sql"
    sql.write_text(sql.read_text().replace("ORDER BY a.id, b.id", "ORDER BY a.name"))
    assert _rendered(run_codegen("generate", cwd=root)) == f"2 of {MODULES}"
    assert "ORDER BY a.name" in (root / "generated" / "books.py").read_text()
    assert snapshot(root / "generated") == _from_scratch(root, tmp_path)


def test_a_change_to_what_formats_renders_everything(tmp_path: Path) -> None:
    """ruff's settings are part of every key: a narrower line reformats every module."""
    root = _project(tmp_path)
    assert _rendered(run_codegen("generate", cwd=root)) == f"{MODULES} of {MODULES}"
    pyproject = root / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + "\n[tool.ruff]\nline-length = 60\n")
    assert _rendered(run_codegen("generate", cwd=root)) == f"{MODULES} of {MODULES}"
    assert snapshot(root / "generated") == _from_scratch(root, tmp_path)


def test_a_template_edit_renders_everything(tmp_path: Path) -> None:
    """A copy of the generator with a template edited: no module is taken from the memo."""
    root = _project(tmp_path)
    copy = tmp_path / "generator"
    shutil.copytree(
        REPO_ROOT / "codegen",
        copy / "connlog" / "codegen",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    shutil.copy(REPO_ROOT / "connlog" / "__init__.py", copy / "connlog")
    environment = {
        **os.environ,
        "PYTHONPATH": str(copy),
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
    }

    def generate() -> str:
        result = subprocess.run(
            [sys.executable, "-m", "connlog.codegen", "generate"],
            cwd=root, env=environment, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        return result.stdout

    assert f"{MODULES} of {MODULES} modules rendered" in generate()
    template = copy / "connlog" / "codegen" / "python" / "templates" / "queries.py.j2"
    template.write_text(template.read_text().replace('"""', '"""Edited. ', 1))
    (root / "queries" / "books.sql").write_text(
        (root / "queries" / "books.sql").read_text() + "\n"
    )  # the fingerprint would answer otherwise
    assert f"{MODULES} of {MODULES} modules rendered" in generate()
    assert '"""Edited. ' in (root / "generated" / "books.py").read_text()


def test_a_lost_or_broken_memo_renders_everything_the_same(tmp_path: Path) -> None:
    root = _project(tmp_path)
    assert run_codegen("generate", cwd=root).code == 0
    before = snapshot(root / "generated")
    memos = list((Path(os.environ["XDG_CACHE_HOME"]) / "codegen" / "rendered").glob("*.pickle"))
    memo = memo_file.path("rendered", root / "generated")
    assert memo in memos
    memo.write_text("{not a pickle")
    sql = root / "queries" / "books.sql"
    sql.write_text(sql.read_text() + "\n")
    assert _rendered(run_codegen("generate", cwd=root)) == f"{MODULES} of {MODULES}"
    assert snapshot(root / "generated") == before


@dataclasses.dataclass(frozen=True)
class _Hidden:
    shown: str
    hidden: str = dataclasses.field(repr=False)


def test_keys_tell_apart_what_repr_does_not_show_and_order() -> None:
    def key(value: object) -> str:
        return render_cache._key(Job("x.py", "t.j2", (("module", value),)), "env")

    assert repr(_Hidden("a", "1")) == repr(_Hidden("a", "2"))
    assert key(_Hidden("a", "1")) != key(_Hidden("a", "2"))
    assert key({"a": 1, "b": 2}) != key({"b": 2, "a": 1})  # a template iterates in order
    assert key((1,)) != key(("1",)) != key([1])
    assert key(_Hidden("a", "1")) == key(_Hidden("a", "1"))


def test_keys_are_the_same_in_another_process(tmp_path: Path) -> None:
    """A fresh process (another hash seed, other objects) finds the keys this one wrote."""
    root = _project(tmp_path)
    assert run_codegen("generate", cwd=root).code == 0
    sql = root / "queries" / "books.sql"
    sql.write_text(sql.read_text().replace("ORDER BY a.id, b.id", "ORDER BY a.name"))
    # Another hash seed for sure (this process's may be random, or set).
    seed = "1" if os.environ.get("PYTHONHASHSEED") != "1" else "2"
    result = subprocess.run(
        [sys.executable, "-m", "connlog.codegen", "generate"],
        cwd=root, capture_output=True, text=True, timeout=120,
        env={**os.environ, "PYTHONHASHSEED": seed},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert f"2 of {MODULES} modules rendered" in result.stdout


def _sets_in(value: object, where: str) -> Iterator[str]:
    if isinstance(value, set | frozenset):
        yield where
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for field in dataclasses.fields(value):
            yield from _sets_in(getattr(value, field.name), f"{where}.{field.name}")
    elif isinstance(value, dict):
        for key, item in typing.cast(dict[object, object], value).items():
            yield from _sets_in(item, f"{where}[{key!r}]")
    elif isinstance(value, tuple | list):
        for number, item in enumerate(typing.cast(Sequence[object], value)):
            yield from _sets_in(item, f"{where}[{number}]")


@pytest.mark.parametrize("case", ["all_types", "composite_types", "embed", "bulk", "slice"])
def test_no_template_variable_is_a_set(
    case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A set pickles in iteration order, which differs between processes: its module's key
    would change from run to run (rendered every time, never wrongly reused)."""
    seen: list[Job] = []
    key = render_cache._key

    def recording_key(job: Job, environment: str) -> str:
        seen.append(job)
        return key(job, environment)

    monkeypatch.setattr(render_cache, "_key", recording_key)
    assert generate_case(CASES / case, tmp_path / "out").code == 0
    assert seen
    assert [where for job in seen for where in _sets_in(job.context, job.name)] == []


def test_a_cache_directory_that_cannot_be_written_costs_only_time(tmp_path: Path) -> None:
    """No stamps, memos or compiled templates can be kept: the run renders all, and succeeds."""
    root = _project(tmp_path)
    blocked = tmp_path / "a-file"
    blocked.write_text("not a directory\n")
    result = subprocess.run(
        [sys.executable, "-m", "connlog.codegen", "generate"],
        cwd=root, capture_output=True, text=True, timeout=120,
        env={**os.environ, "XDG_CACHE_HOME": str(blocked)},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert f"{MODULES} of {MODULES} modules rendered" in result.stdout
    assert snapshot(root / "generated") == _from_scratch(root, tmp_path)
