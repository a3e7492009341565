"""Golden cases: each ``tests/cases/<capability>/`` compiles to exactly its expectation.

A case holds ``migrations/`` and ``queries.sql``, and either ``expected/`` (the
whole out directory) or ``stderr.txt`` (the errors, with exit status 1 and the
out directory untouched). ``pytest tests/codegen --update-golden`` rewrites them.
Every ``expected/`` is type-checked with the tree, by mypy and pyright in tests/test_quality.py.
"""

from __future__ import annotations

import itertools
import shutil
from pathlib import Path

import pytest

from tests.codegen.conftest import CASES, generate_case, snapshot

ALL_CASES = sorted(path for path in CASES.iterdir() if (path / "queries.sql").is_file())


@pytest.mark.parametrize("case", ALL_CASES, ids=[case.name for case in ALL_CASES])
def test_case(case: Path, tmp_path: Path, update_golden: bool) -> None:
    check_case(case, tmp_path, update_golden)


def check_case(case: Path, tmp_path: Path, update_golden: bool) -> None:
    """``case`` compiles to its expectation; with ``update_golden``, rewrite it first."""
    out = tmp_path / "generated"
    out.mkdir()
    (out / "keep.txt").write_text("not generated\n")
    before = snapshot(out)

    result = generate_case(case, out)

    expected_stderr = case / "stderr.txt"
    expected = case / "expected"
    if result.code != 0:
        if update_golden:
            # A case that now fails expects no code: its old expected/ goes.
            shutil.rmtree(expected, ignore_errors=True)
            expected_stderr.write_text(result.stderr)
        assert expected_stderr.exists(), f"unexpected failure:\n{result.stderr}"
        assert not expected.exists(), "a failing case must not also hold expected/"
        assert result.stderr == expected_stderr.read_text()
        assert result.code == 1
        assert snapshot(out) == before, "a failed run must leave the out directory untouched"
        return
    if update_golden:
        # A case that now succeeds expects no errors: its old stderr.txt goes.
        expected_stderr.unlink(missing_ok=True)
    assert not expected_stderr.exists(), f"expected a failure, got:\n{result.stdout}"
    (out / "keep.txt").unlink()
    if update_golden:
        shutil.rmtree(expected, ignore_errors=True)
        shutil.copytree(out, expected)
    assert snapshot(out) == snapshot(expected)


def test_update_golden_drops_the_stale_expectation(tmp_path: Path) -> None:
    """Under --update-golden, a case that now succeeds loses its stderr.txt, and one that
    now fails loses its expected/: a case never holds both."""
    now_succeeds = tmp_path / "now_succeeds"
    shutil.copytree(CASES / "join_left_nullable", now_succeeds)
    now_fails = tmp_path / "now_fails"
    shutil.copytree(CASES / "unknown_column", now_fails)
    runs = itertools.count()

    def check(case: Path, update_golden: bool) -> None:
        work = tmp_path / f"run_{next(runs)}"
        work.mkdir()
        check_case(case, work, update_golden)

    # Up to date first (the copies' sources live elsewhere, and paths show in the output).
    check(now_succeeds, update_golden=True)
    check(now_fails, update_golden=True)
    # Then each gets the other kind's expectation too, left over from before its change.
    (now_succeeds / "stderr.txt").write_text("an old failure\n")
    shutil.copytree(now_succeeds / "expected", now_fails / "expected")

    with pytest.raises(AssertionError, match="expected a failure"):
        check(now_succeeds, update_golden=False)
    with pytest.raises(AssertionError, match="must not also hold expected/"):
        check(now_fails, update_golden=False)

    check(now_succeeds, update_golden=True)
    check(now_fails, update_golden=True)
    assert not (now_succeeds / "stderr.txt").exists()
    assert (now_succeeds / "expected" / "queries.py").is_file()
    assert not (now_fails / "expected").exists()
    assert "nothing written" in (now_fails / "stderr.txt").read_text()
    # And both pass as they are now.
    check(now_succeeds, update_golden=False)
    check(now_fails, update_golden=False)


def test_bytecode_python_caches_in_expected_are_not_part_of_the_expectation(
    tmp_path: Path,
) -> None:
    """Importing a committed expected/ package (tests/application/test_pydantic_rows.py does)
    leaves ``__pycache__`` in it wherever Python writes bytecode, as it does by default: the
    next run must still compare only what the generator writes."""
    case = tmp_path / "case"
    shutil.copytree(CASES / "join_left_nullable", case)
    (tmp_path / "first").mkdir()
    check_case(case, tmp_path / "first", update_golden=True)  # its paths are the copy's
    cache = case / "expected" / "__pycache__"
    cache.mkdir()
    (cache / "queries.cpython-311.pyc").write_bytes(b"\xa7\r\r\n")
    (tmp_path / "second").mkdir()
    check_case(case, tmp_path / "second", update_golden=False)
