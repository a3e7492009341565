"""An application outside the repository type-checks against the generated modules.

The project's venv installs the repository in setuptools' ``compat`` editable mode (a path
entry, not an import hook), so mypy and pyright resolve ``generated`` from any folder; the
aio modules re-export the row and parameter classes they share with the sync ones.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent

APPLICATION = """
import psycopg

from connlog.generated.aio.connection_logs import GetConnectionLogsPageRow, get_connection_logs_page
from connlog.generated.connection_logs import (
    ConnectionLogFilters,
    GetConnectionLogsOffsetRow,
    count_connection_logs,
    get_connection_logs_offset,
)


def owners(conn: psycopg.Connection[tuple[object, ...]]) -> list[str]:
    rows: list[GetConnectionLogsOffsetRow] = get_connection_logs_offset(conn, limit=10)
    return [row.workspace_owner_username for row in rows]


async def newest(conn: psycopg.AsyncConnection[tuple[object, ...]]) -> GetConnectionLogsPageRow:
    rows = await get_connection_logs_page(conn, limit=1)
    return rows[0]


def filtered(conn: psycopg.Connection[tuple[object, ...]], owner: str) -> int:
    filters: ConnectionLogFilters = {"workspace_owner": owner, "status": "ongoing"}
    get_connection_logs_offset(conn, **filters, limit=10)
    return count_connection_logs(conn, **filters, count_cap=100).count


def wrong(row: GetConnectionLogsPageRow) -> int:
    return row.workspace_owner_username  # a str is not an int: both checkers must say so
"""


@pytest.mark.parametrize("checker", ["mypy", "pyright"])
def test_an_application_file_elsewhere_type_checks(tmp_path: Path, checker: str) -> None:
    (tmp_path / "app.py").write_text(APPLICATION)
    command = (
        [str(BIN / "mypy"), "--strict", "--no-incremental", "app.py"]
        if checker == "mypy"
        else [str(BIN / "pyright"), "--pythonpath", sys.executable, "app.py"]
    )
    result = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    output = result.stdout + result.stderr
    # Exactly the one planted error: every import resolved, every other line checked.
    errors = [line for line in output.splitlines() if "error" in line and "app.py" in line]
    assert len(errors) == 1, output
    planted = next(n for n, line in enumerate(APPLICATION.splitlines(), 1) if "must say so" in line)
    assert f"app.py:{planted}:" in errors[0], output
