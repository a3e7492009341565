"""Every migration can be undone: up, down and up again, with and without rows in the tables."""

from __future__ import annotations

import psycopg
from psycopg import sql

from connlog.codegen.database import migrate
from connlog.codegen.database.schema_dump import dump_schema
from tests.migrations.migration_support import (
    MIGRATIONS_DIR,
    YOYO_TABLES,
    applied_ids,
    load_fixture,
    run_yoyo,
    tables,
)

IDS = migrate.ordered_ids(MIGRATIONS_DIR)
IP_NULLABLE = "0003_connection_logs_ip_nullable"


def test_each_migration_rolls_back_to_the_exact_schema_before_it_and_reapplies(
    empty_db_url: str,
) -> None:
    before = dump_schema(empty_db_url)
    for migration_id in IDS:
        assert migrate.apply_next(empty_db_url, MIGRATIONS_DIR) == migration_id
        after = dump_schema(empty_db_url)
        assert after != before, f"{migration_id} changed nothing in the schema dump"

        assert migrate.rollback_last(empty_db_url, MIGRATIONS_DIR) == migration_id
        assert dump_schema(empty_db_url) == before, f"{migration_id}: rollback left a difference"

        assert migrate.apply_next(empty_db_url, MIGRATIONS_DIR) == migration_id
        assert dump_schema(empty_db_url) == after, f"{migration_id}: reapplying differs"
        before = after  # the schema the next migration starts from, as just dumped

    assert applied_ids(empty_db_url) == IDS


def test_each_migration_runs_over_the_rows_of_the_ones_before_and_all_roll_back(
    empty_db_url: str,
) -> None:
    empty = dump_schema(empty_db_url)
    for migration_id in IDS:
        assert migrate.apply_next(empty_db_url, MIGRATIONS_DIR) == migration_id
        load_fixture(empty_db_url, migration_id)

    with psycopg.connect(empty_db_url) as conn:
        for table in sorted(tables(empty_db_url) - YOYO_TABLES):
            count = conn.execute(
                sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))
            ).fetchone()
            assert count is not None and count[0] > 0, f"{table} holds no fixture rows"
        unknown_ip = conn.execute("SELECT count(*) FROM connection_logs WHERE ip IS NULL")
        assert unknown_ip.fetchone() == (1,)

    # Undoing 0003 cannot restore NOT NULL over a NULL: the row keeps 0.0.0.0 instead.
    # (Later migrations, if any, are undone first, newest first.)
    for migration_id in reversed(IDS[IDS.index(IP_NULLABLE) :]):
        assert migrate.rollback_last(empty_db_url, MIGRATIONS_DIR) == migration_id
    with psycopg.connect(empty_db_url) as conn:
        row = conn.execute(
            "SELECT host(ip) FROM connection_logs WHERE id = '00000000-0000-0000-0000-0000000000c5'"
        ).fetchone()
        assert row == ("0.0.0.0",)

    assert migrate.rollback_all(empty_db_url, MIGRATIONS_DIR) == IDS[: IDS.index(IP_NULLABLE)][::-1]
    assert tables(empty_db_url) == YOYO_TABLES
    assert dump_schema(empty_db_url) == empty


def test_yoyo_apply_then_rollback_all_leaves_only_yoyos_own_tables(empty_db_url: str) -> None:
    run_yoyo(empty_db_url, "apply", "--batch")
    assert applied_ids(empty_db_url) == IDS

    run_yoyo(empty_db_url, "rollback", "--all", "--batch")
    assert applied_ids(empty_db_url) == []
    assert tables(empty_db_url) == YOYO_TABLES
    with psycopg.connect(empty_db_url) as conn:
        leftovers = conn.execute(
            """
            SELECT c.relkind::text || ' ' || c.relname FROM pg_class c
            JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = 'public' AND c.relkind NOT IN ('r', 'i')
            UNION ALL
            SELECT 'type ' || t.typname FROM pg_type t
            JOIN pg_namespace n ON n.oid = t.typnamespace
            WHERE n.nspname = 'public' AND t.typtype IN ('e', 'd', 'c') AND t.typrelid = 0
            """
        ).fetchall()
        assert leftovers == []
