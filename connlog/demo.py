"""The main job (``./dev demo``): an embedded PostgreSQL, migrated, and what it now holds.

Needs no configuration: it starts (or reuses) this checkout's private server, creates the
``connlog`` database on first use, applies pending migrations through yoyo, then prints
each table with its row count.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Final

import psycopg
from psycopg import sql

from connlog import day
from connlog.codegen.database import embedded, migrate
from connlog.codegen.database.scratch import APPLICATION_DATABASE, ensure_database
from connlog.generated import MigrationsDriftError, verify_schema

MIGRATIONS_DIR: Final = Path(__file__).resolve().parent.parent / "migrations"


def main() -> int:
    try:
        server_url = embedded.ensure_running()
    except embedded.EmbeddedServerError as exc:
        print(f"demo: error: {exc}", file=sys.stderr)
        return 1
    url = ensure_database(server_url, APPLICATION_DATABASE)
    print(f"database: {url}")
    migrate_and_report(url)
    with psycopg.connect(url) as conn:
        try:
            # As any application should at start-up: is this the schema the code knows?
            verify_schema(conn)
        except MigrationsDriftError as exc:
            print(f"demo: error: {exc}", file=sys.stderr)
            return 1
        print("schema: the applied migrations are those the code was generated from")
        day.run(conn)
    return 0


def migrate_and_report(url: str) -> None:
    """Apply pending migrations to ``url``; print what was applied and the tables."""
    applied = migrate.apply_all(url, MIGRATIONS_DIR)
    if applied:
        print("applied:")
        for migration_id in applied:
            print(f"  {migration_id}")
    else:
        print("migrations: nothing to apply")

    print("tables:")
    with psycopg.connect(url) as conn:
        for table, rows in table_row_counts(conn):
            print(f"  {table:<24} {rows} {'row' if rows == 1 else 'rows'}")


def table_row_counts(conn: psycopg.Connection[tuple[object, ...]]) -> list[tuple[str, int]]:
    """The application's tables in the ``public`` schema (not yoyo's bookkeeping), with rows."""
    tables = conn.execute(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
        " AND tablename <> ALL(%s) ORDER BY tablename",
        [list(migrate.YOYO_TABLES)],
    ).fetchall()
    counts: list[tuple[str, int]] = []
    for (table,) in tables:
        query = sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier("public", str(table)))
        row = conn.execute(query).fetchone()
        assert row is not None, "count(*) always returns a row"
        counts.append((str(table), int(str(row[0]))))
    return counts


if __name__ == "__main__":
    raise SystemExit(main())
