"""Schema drift: the database moved on after the code was generated.

A newer migration (applied by another service) may add columns, drop and re-add them, or add
an enum label. The generated code never reads a row by the table's physical column order, so
added columns are ignored, a dropped one is the server's clear error, and an unknown label is
an EnumDriftError naming the column; ``verify_schema`` tells which migrations differ.
"""

from __future__ import annotations

import asyncio
from typing import Any

import psycopg
import pytest

from connlog.codegen.database import migrate
from connlog.generated import (
    MIGRATIONS,
    EnumDriftError,
    MigrationsDriftError,
    SchemaDriftError,
    verify_schema,
)
from connlog.generated import aio as generated_aio
from connlog.generated.connection_logs import (
    get_authorized_connection_logs_offset,
    get_authorized_connection_logs_page,
    get_connection_logs_offset,
    get_connection_logs_page,
)
from connlog.generated.models import ConnectionType
from connlog.record import record_event, record_events
from tests.conftest import MIGRATIONS_DIR
from tests.connection_logs.world import World, example_events, stored

# Each lands somewhere a positional read would notice: a column added to connection_logs sits
# between its columns and the joined users' in a SELECT connection_logs.*, one added to users
# or organizations after theirs; a column dropped and added again moves to the table's end.
DRIFT = (
    "ALTER TABLE connection_logs ADD COLUMN region text NOT NULL DEFAULT 'eu-west'",
    "ALTER TABLE users ADD COLUMN nickname text DEFAULT 'nick'",
    "ALTER TABLE organizations ADD COLUMN motto text DEFAULT 'motto'",
    # workspace_name and user_agent dropped and added again (values kept): now the last two.
    "ALTER TABLE connection_logs ADD COLUMN workspace_name_new text",
    "UPDATE connection_logs SET workspace_name_new = workspace_name",
    "ALTER TABLE connection_logs DROP COLUMN workspace_name",
    "ALTER TABLE connection_logs RENAME COLUMN workspace_name_new TO workspace_name",
    "ALTER TABLE connection_logs ALTER COLUMN workspace_name SET NOT NULL",
    "ALTER TABLE connection_logs ADD COLUMN user_agent_new text",
    "UPDATE connection_logs SET user_agent_new = user_agent",
    "ALTER TABLE connection_logs DROP COLUMN user_agent",
    "ALTER TABLE connection_logs RENAME COLUMN user_agent_new TO user_agent",
)


def listings(db: psycopg.Connection[Any]) -> dict[str, list[Any]]:
    everyone: dict[str, Any] = {"site_wide": True, "readable_organization_ids": []}
    return {
        "offset": get_connection_logs_offset(db, limit=1000),
        "page": get_connection_logs_page(db, limit=1000),
        "authorized offset": get_authorized_connection_logs_offset(db, limit=1000, **everyone),
        "authorized page": get_authorized_connection_logs_page(db, limit=1000, **everyone),
    }


def test_added_and_re_added_columns_never_shift_a_field(
    db: psycopg.Connection[Any], world: World
) -> None:
    events = example_events(world, sessions=12, web=12)
    record_events(db, events[:-2])
    db.commit()
    before = listings(db)
    assert all(len(rows) == len(before["offset"]) > 10 for rows in before.values())
    before_rows = stored(db)

    for statement in DRIFT:
        db.execute(statement)
    db.commit()
    columns = [
        name
        for (name,) in db.execute(
            "SELECT attname FROM pg_attribute WHERE attrelid = 'connection_logs'::regclass "
            "AND attnum > 0 AND NOT attisdropped ORDER BY attnum"
        )
    ]
    assert columns[-3:] == ["region", "workspace_name", "user_agent"], "the drift happened"

    # Every field of every row of every listing holds what it held before.
    assert listings(db) == before
    # The upsert's RETURNING (one row, then a batch) returns the row as stored, field by field.
    assert stored(db) == before_rows
    one = record_event(db, events[-2])
    batch = record_events(db, events[-1:])
    db.commit()
    assert {one, *batch} <= set(stored(db))
    assert one.workspace_name == events[-2].workspace_name
    assert one.user_agent == events[-2].user_agent


def test_a_dropped_column_is_the_servers_error_naming_it(
    db: psycopg.Connection[Any], world: World
) -> None:
    record_events(db, example_events(world, sessions=2, web=2))
    db.execute("ALTER TABLE connection_logs DROP COLUMN user_agent")
    with pytest.raises(psycopg.errors.UndefinedColumn, match=r"connection_logs\.user_agent"):
        get_connection_logs_offset(db)


def test_an_enum_label_the_code_does_not_know_is_an_error_naming_the_column(
    db: psycopg.Connection[Any], world: World
) -> None:
    record_events(db, example_events(world, sessions=3, web=0))
    db.commit()
    db.execute("ALTER TYPE connection_type ADD VALUE 'rdp'")
    db.commit()  # a new label can be stored only once it is committed
    db.execute(
        "UPDATE connection_logs SET type = 'rdp' "
        "WHERE id = (SELECT id FROM connection_logs ORDER BY id LIMIT 1)"
    )
    with pytest.raises(EnumDriftError) as caught:
        get_connection_logs_offset(db)
    error = caught.value
    assert isinstance(error, SchemaDriftError)
    assert (error.column, error.label, error.enum) == (
        "connection_logs.type of query GetConnectionLogsOffset",
        "rdp",
        ConnectionType,
    )
    assert "regenerate" in str(error) and "'ssh'" in str(error)


def test_verify_schema_passes_where_the_code_was_generated_from(
    db: psycopg.Connection[Any],
) -> None:
    assert tuple(migrate.ordered_ids(MIGRATIONS_DIR)) == MIGRATIONS
    verify_schema(db)  # raises when anything differs


def test_verify_schema_names_the_migrations_that_differ(db: psycopg.Connection[Any]) -> None:
    db.execute("DELETE FROM _yoyo_migration WHERE migration_id = %s", [MIGRATIONS[-1]])
    db.execute(
        "INSERT INTO _yoyo_migration (migration_hash, migration_id, applied_at_utc) "
        "VALUES ('0', '0099_from_another_service', now())"
    )
    with pytest.raises(MigrationsDriftError) as caught:
        verify_schema(db)
    assert caught.value.missing == (MIGRATIONS[-1],)
    assert caught.value.unknown == ("0099_from_another_service",)
    assert MIGRATIONS[-1] in str(caught.value)
    assert "0099_from_another_service" in str(caught.value) and "regenerate" in str(caught.value)


def test_verify_schema_on_a_database_never_migrated(empty_db_url: str) -> None:
    with psycopg.connect(empty_db_url) as conn, pytest.raises(MigrationsDriftError) as caught:
        verify_schema(conn)
    assert (caught.value.missing, caught.value.unknown) == (MIGRATIONS, ())

    async def check() -> None:
        async with await psycopg.AsyncConnection.connect(empty_db_url) as aconn:
            await generated_aio.verify_schema(aconn)

    with pytest.raises(MigrationsDriftError):
        asyncio.run(check())
