"""migrations/migrations.sum: edits to migrations cannot slip in unnoticed."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from connlog.codegen.database import checksums
from connlog.codegen.replace import replace_text
from tests.codegen.conftest import run_codegen
from tests.migrations.migration_support import MIGRATIONS_DIR


def test_the_sum_file_is_exactly_what_the_sum_command_writes() -> None:
    committed = (MIGRATIONS_DIR / checksums.SUM_FILE).read_text()
    assert checksums.compute(MIGRATIONS_DIR).render() == committed


def _append(name: str) -> Callable[[Path], str]:
    def edit(folder: Path) -> str:
        with open(folder / name, "a") as handle:
            handle.write("\n-- a harmless-looking edit\n")
        return name

    return edit


def _add_migration(folder: Path) -> str:
    (folder / "0099_sneaky.sql").write_text("SELECT 1;\n")
    return "0099_sneaky.sql"


def _remove_rollback(folder: Path) -> str:
    (folder / "0003_connection_logs_ip_nullable.rollback.sql").unlink()
    return "0003_connection_logs_ip_nullable.rollback.sql"


def _edit_sum_file_by_hand(folder: Path) -> str:
    sum_file = folder / checksums.SUM_FILE
    lines = sum_file.read_text().splitlines(keepends=True)
    last = lines[-1]
    lines[-1] = last[:-2] + ("0" if last[-2] != "0" else "1") + "\n"
    sum_file.write_text("".join(lines))
    return last.split(" ")[0]


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(_append("0002_connection_logs.sql"), id="migration-edited"),
        pytest.param(_append("0001_base_schema.rollback.sql"), id="rollback-edited"),
        pytest.param(_add_migration, id="file-added"),
        pytest.param(_remove_rollback, id="file-removed"),
        pytest.param(_edit_sum_file_by_hand, id="sum-file-edited"),
    ],
)
def test_a_change_without_a_new_sum_is_caught_and_named(
    migrations_copy: Path, tamper: Callable[[Path], str]
) -> None:
    checksums.verify(migrations_copy)  # the untouched copy passes
    changed = tamper(migrations_copy)
    with pytest.raises(checksums.ChecksumError, match=changed.replace(".", r"\.")):
        checksums.verify(migrations_copy)


def test_the_sum_command_accepts_a_change_and_check_then_passes(migrations_copy: Path) -> None:
    _append("0002_connection_logs.sql")(migrations_copy)
    stale = run_codegen("sum", "--check", "--migrations", str(migrations_copy))
    assert stale.code == 1
    assert "0002_connection_logs.sql: changed since migrations.sum was written" in stale.stderr
    assert "hint:" in stale.stderr

    assert run_codegen("sum", "--migrations", str(migrations_copy)).code == 0
    fresh = run_codegen("sum", "--check", "--migrations", str(migrations_copy))
    assert fresh.code == 0, fresh.stderr


def test_a_missing_sum_file_is_an_error_with_a_hint(migrations_copy: Path) -> None:
    (migrations_copy / checksums.SUM_FILE).unlink()
    with pytest.raises(checksums.ChecksumError, match=r"\./dev sum"):
        checksums.verify(migrations_copy)


def test_a_failed_write_leaves_the_file_as_it_was(tmp_path: Path) -> None:
    """migrations.sum and schema.sql are replaced whole: a write that fails midway (here, text
    UTF-8 cannot encode) leaves the old file and no temporary one beside it."""
    target = tmp_path / "migrations.sum"
    replace_text(target, "old\n")
    with pytest.raises(UnicodeEncodeError):
        replace_text(target, "new \udcff\n")
    assert target.read_text() == "old\n"
    assert [path.name for path in tmp_path.iterdir()] == ["migrations.sum"]


def test_a_replaced_file_keeps_its_mode_and_a_new_one_gets_the_usual(tmp_path: Path) -> None:
    kept = tmp_path / "kept.sum"
    kept.write_text("old\n")
    kept.chmod(0o640)
    replace_text(kept, "new\n")
    assert (kept.read_text(), kept.stat().st_mode & 0o777) == ("new\n", 0o640)
    umask = os.umask(0o022)
    try:
        replace_text(tmp_path / "new.sum", "x\n")
    finally:
        os.umask(umask)
    assert (tmp_path / "new.sum").stat().st_mode & 0o777 == 0o644
