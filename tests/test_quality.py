"""The codebase's own hygiene, checked on every test run (and so in CI).

Each tool runs from the project's virtual environment against the committed
tree; a finding fails the test with the tool's own report.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
TYPED_PACKAGES = ["connlog", "examples"]
# pyright does not follow the symlinks connlog/codegen and connlog/generated (mypy reaches them
# as connlog.*, and would see the folders themselves as other modules): their folders too.
PYRIGHT_PACKAGES = ["codegen", "generated", *TYPED_PACKAGES]
# Each golden case's expected/ is a generated package of its own; checked with the tree, in one
# run of each checker (to mypy they are ``tests.cases.<case>.expected``).
GOLDEN_PACKAGES = sorted(
    str(path.relative_to(REPO_ROOT)) for path in (REPO_ROOT / "tests" / "cases").glob("*/expected")
)


def _run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True)


@pytest.mark.parametrize(
    "command",
    [
        # One mypy run for everything: the tests import the packages, so two runs would
        # analyse the packages (and psycopg, and the standard library) twice.
        pytest.param(
            [
                str(BIN / "mypy"),
                "--strict",
                "--explicit-package-bases",
                *TYPED_PACKAGES,
                "tests",
                "benchmarks",
            ],
            id="mypy-strict-with-tests-benchmarks-and-golden-outputs",
            marks=pytest.mark.slow,
        ),
        pytest.param([str(BIN / "ruff"), "check", "."], id="ruff-lint"),
        pytest.param([str(BIN / "ruff"), "format", "--check", "."], id="ruff-format"),
    ],
)
def test_tree_is_clean(command: list[str]) -> None:
    result = _run(*command)
    assert result.returncode == 0, f"{' '.join(command)}\n{result.stdout}{result.stderr}"


@pytest.mark.slow  # started with the long tests: at the end of the run it would be its last seconds
def test_pyright_strict_passes_on_every_package_and_golden_output() -> None:
    """Every file is checked: pyright skips a folder it reaches only through a symlink, and
    reports nothing of what it skips."""
    command = [str(BIN / "pyright"), "--stats", *PYRIGHT_PACKAGES, *GOLDEN_PACKAGES]
    result = _run(*command)
    assert result.returncode == 0, f"{' '.join(command)}\n{result.stdout}{result.stderr}"
    checked = re.search(r"Total files checked: (\d+)", result.stdout)
    assert checked is not None, result.stdout
    files = [
        name
        for folder in (*PYRIGHT_PACKAGES, *GOLDEN_PACKAGES)
        for _, _, names in os.walk(REPO_ROOT / folder)  # as pyright: not into symlinks
        for name in names
        if name.endswith(".py")
    ]
    assert int(checked[1]) == len(files)


def test_committed_generated_code_is_fresh() -> None:
    """CI fails when generated/ no longer matches migrations/ and queries/."""
    result = _run(sys.executable, "-m", "connlog.codegen", "check")
    assert result.returncode == 0, (
        "generated/ is stale: run `./dev generate` and commit the result\n"
        f"{result.stdout}{result.stderr}"
    )


def test_code_imports_the_generator_and_generated_package_under_connlog() -> None:
    """``codegen`` and ``generated`` are importable from the checkout's root too, but a module
    imported under both names is two modules (two ``ConnectionType`` enums that never compare
    equal), and the installed wheel has only ``connlog.codegen`` and ``connlog.generated``."""
    tracked = _run("git", "ls-files", "*.py", "*.md").stdout.split()
    top_level = re.compile(r"^\s*(?:from|import) (?:codegen|generated)\b", re.MULTILINE)
    offenders = [path for path in tracked if top_level.search((REPO_ROOT / path).read_text())]
    assert offenders == []
