"""An application outside the repository type-checks against the generated modules.

The project's venv installs the repository in setuptools' ``compat`` editable mode (a path
entry, not an import hook), so mypy and pyright resolve ``generated`` from any folder; the
aio modules re-export the row and parameter classes they share with the sync ones. The file
calls every generated function of the repository the way the README shows (labels for enums,
tuples for arrays, Params rows for the batch upsert, one-column results as values), and three
planted mistakes must be the only errors either checker reports.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
import subprocess
import sys
from pathlib import Path

import pytest

from connlog import generated

BIN = Path(sys.executable).parent

APPLICATION = """
from datetime import UTC, datetime, timedelta
from ipaddress import ip_address
from uuid import UUID, uuid4

import psycopg

from connlog.generated import ArgumentError, EnumDriftError, NoRowError, verify_schema
from connlog.generated.aio import connection_logs as aio
from connlog.generated.aio.connection_logs import GetConnectionLogsPageRow, get_connection_logs_page
from connlog.generated.audit_logs import delete_old_audit_log_connection_events
from connlog.generated.connection_logs import (
    BatchUpsertConnectionLogsParams,
    ConnectionLogFilters,
    GetConnectionLogsOffsetRow,
    batch_upsert_connection_logs,
    count_authorized_connection_logs,
    count_connection_logs,
    delete_old_connection_logs,
    get_authorized_connection_logs_offset,
    get_authorized_connection_logs_page,
    get_connection_logs_offset,
    try_lock_purge,
    upsert_connection_log,
)
from connlog.generated.models import ConnectionLog, ConnectionStatus, ConnectionType, Inet

NOW = datetime.now(UTC)
ERRORS = (ArgumentError, EnumDriftError, NoRowError)


def owners(conn: psycopg.Connection[tuple[object, ...]]) -> list[str]:
    rows: list[GetConnectionLogsOffsetRow] = get_connection_logs_offset(conn, limit=10)
    return [row.workspace_owner_username for row in rows]


def record(conn: psycopg.Connection[object], org: UUID, owner: UUID, ws: UUID) -> ConnectionLog:
    ip: Inet = ip_address("10.0.0.7")
    log = upsert_connection_log(
        conn, type="ssh", id=uuid4(), workspace_id=ws, agent_name="main", time=NOW,
        organization_id=org, workspace_owner_id=owner, workspace_name="dev",
        connection_status=ConnectionStatus.CONNECTED, connection_id=uuid4(), ip=ip,
    )
    event = BatchUpsertConnectionLogsParams(
        id=uuid4(), time=NOW, organization_id=org, workspace_owner_id=owner, workspace_id=ws,
        workspace_name="dev", agent_name="main", type=ConnectionType.WORKSPACE_APP,
        connection_status="connected", code=200,
    )
    stored: list[ConnectionLog] = batch_upsert_connection_logs(conn, [event])
    return stored[0] if stored else log


def listing(conn: psycopg.Connection[object], acme: UUID) -> int:
    rows = get_connection_logs_offset(
        conn, username="alice", types=("ssh", ConnectionType.VSCODE), status="ongoing",
        connected_after=NOW - timedelta(days=1), limit=50, offset=100,
    )
    last = rows[-1].connection_log
    authorized = get_authorized_connection_logs_offset(
        conn, site_wide=False, readable_organization_ids=[acme]
    )
    page = get_authorized_connection_logs_page(
        conn, site_wide=True, readable_organization_ids=(),
        after_connect_time=last.connect_time, after_id=last.id,
    )
    exact: int = count_connection_logs(conn, status="ongoing")
    capped: int = count_authorized_connection_logs(
        conn, site_wide=True, readable_organization_ids=[], count_cap=10_000
    )
    return len(authorized) + len(page) + exact + capped


def purge(conn: psycopg.Connection[object]) -> int:
    verify_schema(conn)
    acquired: bool | None = try_lock_purge(conn, idle_timeout_ms=60_000)
    if not acquired:
        return 0
    deleted: int = delete_old_connection_logs(conn, before_time=NOW, limit_count=1000).deleted
    return deleted + delete_old_audit_log_connection_events(
        conn, before_time=NOW, limit_count=1000
    ).deleted


async def newest(conn: psycopg.AsyncConnection[tuple[object, ...]]) -> GetConnectionLogsPageRow:
    rows = await get_connection_logs_page(conn, limit=1)
    total: int = await aio.count_connection_logs(conn)
    return rows[total - total]


def filtered(conn: psycopg.Connection[tuple[object, ...]], owner: str) -> int:
    filters: ConnectionLogFilters = {"workspace_owner": owner, "status": "ongoing"}
    get_connection_logs_offset(conn, **filters, limit=10)
    counted: int = count_connection_logs(conn, **filters, count_cap=100)
    return counted


def wrong(row: GetConnectionLogsPageRow) -> int:
    return row.workspace_owner_username  # a str is not an int: both checkers must say so


def wrong_label(conn: psycopg.Connection[object]) -> None:
    get_connection_logs_offset(conn, status="open")  # not a label: both checkers must say so


def wrong_array(conn: psycopg.Connection[object]) -> None:
    get_connection_logs_offset(conn, types="ssh")  # a str is no array: both checkers must say so
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
    # Exactly the planted errors: every import resolved, every other line checked.
    errors = [line for line in output.splitlines() if "error" in line and "app.py" in line]
    planted = [n for n, line in enumerate(APPLICATION.splitlines(), 1) if "must say so" in line]
    assert len(errors) == len(planted), output
    for line, error in zip(planted, errors, strict=True):
        assert f"app.py:{line}:" in error, output


def test_the_application_calls_every_generated_function() -> None:
    """A query added to queries/ must join the file above: it is the API the checkers see."""
    called = set(re.findall(r"\b([a-z_]+)\(", APPLICATION))
    stems = [
        module.name
        for module in pkgutil.iter_modules(generated.__path__)
        if not module.name.startswith("_") and module.name not in ("models", "aio")
    ]
    assert "connection_logs" in stems, stems
    for stem in stems:
        module = importlib.import_module(f"connlog.generated.{stem}")
        public = {
            name
            for name, value in vars(module).items()
            if inspect.isfunction(value) and value.__module__ == module.__name__
            if not name.startswith("_")
        }
        assert public, stem
        assert public - called == set(), f"{stem}: not called in the application file"
