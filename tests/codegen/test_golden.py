"""Golden cases: each ``tests/cases/<capability>/`` compiles to exactly its expectation.

A case holds ``migrations/`` and ``queries.sql``, and either ``expected/`` (the
whole out directory) or ``stderr.txt`` (the errors, with exit status 1 and the
out directory untouched). ``pytest tests/codegen --update-golden`` rewrites them.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.codegen.conftest import CASES, generate_case, snapshot
from tests.conftest import REPO_ROOT

ALL_CASES = sorted(path for path in CASES.iterdir() if (path / "queries.sql").is_file())
CODE_CASES = [case for case in ALL_CASES if not (case / "stderr.txt").exists()]
BIN = Path(sys.executable).parent


@pytest.mark.parametrize("case", ALL_CASES, ids=[case.name for case in ALL_CASES])
def test_case(case: Path, tmp_path: Path, update_golden: bool) -> None:
    out = tmp_path / "generated"
    out.mkdir()
    (out / "keep.txt").write_text("not generated\n")
    before = snapshot(out)

    result = generate_case(case, out)

    expected_stderr = case / "stderr.txt"
    if result.code != 0:
        if update_golden:
            expected_stderr.write_text(result.stderr)
        assert expected_stderr.exists(), f"unexpected failure:\n{result.stderr}"
        assert result.stderr == expected_stderr.read_text()
        assert result.code == 1
        assert snapshot(out) == before, "a failed run must leave the out directory untouched"
        return
    assert not expected_stderr.exists(), f"expected a failure, got:\n{result.stdout}"
    (out / "keep.txt").unlink()
    expected = case / "expected"
    if update_golden:
        shutil.rmtree(expected, ignore_errors=True)
        shutil.copytree(out, expected)
    assert snapshot(out) == snapshot(expected)


@pytest.mark.slow
@pytest.mark.parametrize("case", CODE_CASES, ids=[case.name for case in CODE_CASES])
@pytest.mark.parametrize("checker", ["mypy", "pyright"])
def test_expected_output_type_checks(case: Path, checker: str) -> None:
    """The golden modules pass mypy --strict and pyright strict (the repo's settings)."""
    expected = (case / "expected").relative_to(REPO_ROOT)
    command = (
        [str(BIN / "mypy"), "--strict", str(expected)]
        if checker == "mypy"
        else [str(BIN / "pyright"), str(expected)]
    )
    result = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True)
    assert result.returncode == 0, f"{' '.join(command)}\n{result.stdout}{result.stderr}"
