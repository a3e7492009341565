"""Right after 0002, connection_logs is exactly the seed's table (../shared/seed).

The expected catalog entries are written out by hand from the seed's SQL, so a drift in
either the migration or PostgreSQL's reading of it fails here with the differing entry.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from connlog.codegen.database import migrate
from tests.migrations.migration_support import MIGRATIONS_DIR

SEED_MIGRATION = "0002_connection_logs"

# (name, type, NOT NULL, default), in column order. The seed gives no column a default.
COLUMNS = [
    ("id", "uuid", True, None),
    ("connect_time", "timestamp with time zone", True, None),
    ("organization_id", "uuid", True, None),
    ("workspace_owner_id", "uuid", True, None),
    ("workspace_id", "uuid", True, None),
    ("workspace_name", "text", True, None),
    ("agent_name", "text", True, None),
    ("type", "connection_type", True, None),
    ("ip", "inet", True, None),
    ("code", "integer", False, None),
    ("user_agent", "text", False, None),
    ("user_id", "uuid", False, None),
    ("slug_or_port", "text", False, None),
    ("connection_id", "uuid", False, None),
    ("disconnect_time", "timestamp with time zone", False, None),
    ("disconnect_reason", "text", False, None),
]

ENUMS = {
    "connection_status": ["connected", "disconnected"],
    "connection_type": [
        "ssh",
        "vscode",
        "jetbrains",
        "reconnecting_pty",
        "workspace_app",
        "port_forwarding",
    ],
}

CONSTRAINTS = [
    ("connection_logs_organization_id_fkey", "f", "FOREIGN KEY (organization_id) REFERENCES organizations(id) ON DELETE CASCADE"),  # noqa: E501
    ("connection_logs_pkey", "p", "PRIMARY KEY (id)"),
    ("connection_logs_workspace_id_fkey", "f", "FOREIGN KEY (workspace_id) REFERENCES workspaces(id) ON DELETE CASCADE"),  # noqa: E501
    ("connection_logs_workspace_owner_id_fkey", "f", "FOREIGN KEY (workspace_owner_id) REFERENCES users(id) ON DELETE CASCADE"),  # noqa: E501
]  # fmt: skip

# In the order the seed creates them (the primary key's index comes with the table).
INDEXES = [
    ("connection_logs_pkey", "CREATE UNIQUE INDEX connection_logs_pkey ON public.connection_logs USING btree (id)"),  # noqa: E501
    ("idx_connection_logs_connection_id_workspace_id_agent_name", "CREATE UNIQUE INDEX idx_connection_logs_connection_id_workspace_id_agent_name ON public.connection_logs USING btree (connection_id, workspace_id, agent_name)"),  # noqa: E501
    ("idx_connection_logs_connect_time_desc", "CREATE INDEX idx_connection_logs_connect_time_desc ON public.connection_logs USING btree (connect_time DESC)"),  # noqa: E501
    ("idx_connection_logs_organization_id", "CREATE INDEX idx_connection_logs_organization_id ON public.connection_logs USING btree (organization_id)"),  # noqa: E501
    ("idx_connection_logs_workspace_owner_id", "CREATE INDEX idx_connection_logs_workspace_owner_id ON public.connection_logs USING btree (workspace_owner_id)"),  # noqa: E501
    ("idx_connection_logs_workspace_id", "CREATE INDEX idx_connection_logs_workspace_id ON public.connection_logs USING btree (workspace_id)"),  # noqa: E501
]  # fmt: skip

COMMENTED_COLUMNS = [
    "code",
    "user_agent",
    "user_id",
    "slug_or_port",
    "connection_id",
    "disconnect_time",
    "disconnect_reason",
]


@pytest.fixture
def seeded(empty_db_url: str) -> Iterator[psycopg.Connection[Any]]:
    """A database migrated up to, and including, the seed's migration: no further."""
    while (applied := migrate.apply_next(empty_db_url, MIGRATIONS_DIR)) != SEED_MIGRATION:
        assert applied is not None, f"{SEED_MIGRATION} is not among the migrations"
    with psycopg.connect(empty_db_url) as conn:
        yield conn


def test_columns_match_in_order_type_nullability_and_default(
    seeded: psycopg.Connection[Any],
) -> None:
    columns = seeded.execute(
        """
        SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
               pg_get_expr(d.adbin, d.adrelid)
        FROM pg_attribute a
        LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
        WHERE a.attrelid = 'public.connection_logs'::regclass
          AND a.attnum > 0 AND NOT a.attisdropped
        ORDER BY a.attnum
        """
    ).fetchall()
    assert columns == COLUMNS


def test_information_schema_agrees_on_nullability_and_defaults(
    seeded: psycopg.Connection[Any],
) -> None:
    columns = seeded.execute(
        """
        SELECT column_name, is_nullable = 'NO', column_default
        FROM information_schema.columns
        WHERE table_schema = 'public' AND table_name = 'connection_logs'
        ORDER BY ordinal_position
        """
    ).fetchall()
    assert columns == [(name, not_null, default) for name, _, not_null, default in COLUMNS]


def test_enums_have_the_seeds_labels_in_order(seeded: psycopg.Connection[Any]) -> None:
    for enum, labels in ENUMS.items():
        found = seeded.execute(
            "SELECT enumlabel FROM pg_enum WHERE enumtypid = %s::regtype ORDER BY enumsortorder",
            [enum],
        ).fetchall()
        assert [label for (label,) in found] == labels, enum


def test_primary_key_and_cascading_foreign_keys(seeded: psycopg.Connection[Any]) -> None:
    constraints = seeded.execute(
        """
        SELECT conname, contype::text, pg_get_constraintdef(oid)
        FROM pg_constraint
        WHERE conrelid = 'public.connection_logs'::regclass
        ORDER BY conname
        """
    ).fetchall()
    assert constraints == CONSTRAINTS


def test_referential_rules_cascade_on_delete_only(seeded: psycopg.Connection[Any]) -> None:
    rules = seeded.execute(
        """
        SELECT rc.constraint_name, rc.delete_rule, rc.update_rule
        FROM information_schema.referential_constraints rc
        JOIN information_schema.table_constraints tc USING (constraint_schema, constraint_name)
        WHERE tc.table_name = 'connection_logs'
        ORDER BY rc.constraint_name
        """
    ).fetchall()
    assert rules == [(name, "CASCADE", "NO ACTION") for name, kind, _ in CONSTRAINTS if kind == "f"]


def test_indexes_match_in_columns_direction_uniqueness_and_creation_order(
    seeded: psycopg.Connection[Any],
) -> None:
    indexes = seeded.execute(
        """
        SELECT c.relname, pg_get_indexdef(c.oid)
        FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
        WHERE i.indrelid = 'public.connection_logs'::regclass
        ORDER BY c.oid
        """
    ).fetchall()
    assert indexes == INDEXES


def test_columns_the_index_and_audit_action_carry_comments(
    seeded: psycopg.Connection[Any],
) -> None:
    commented = seeded.execute(
        """
        SELECT a.attname FROM pg_attribute a
        WHERE a.attrelid = 'public.connection_logs'::regclass AND a.attnum > 0
          AND col_description(a.attrelid, a.attnum) IS NOT NULL
        ORDER BY a.attnum
        """
    ).fetchall()
    assert [name for (name,) in commented] == COMMENTED_COLUMNS
    index_comment = seeded.execute(
        "SELECT obj_description(%s::regclass, 'pg_class')",
        ["idx_connection_logs_connection_id_workspace_id_agent_name"],
    ).fetchone()
    assert index_comment is not None and index_comment[0]
    type_comment = seeded.execute(
        "SELECT obj_description('audit_action'::regtype, 'pg_type')"
    ).fetchone()
    assert type_comment is not None and "connection_logs" in type_comment[0]
