"""generated/schema.sql: the committed snapshot of what the migrations build."""

from __future__ import annotations

import subprocess
import sys

import psycopg

from connlog.codegen.database import schema_dump
from tests.migrations.migration_support import MIGRATIONS_DIR, REPO_ROOT, YOYO_TABLES

SCHEMA_FILE = REPO_ROOT / "generated" / "schema.sql"


def test_the_committed_schema_is_what_the_migrations_build_now(empty_db_url: str) -> None:
    # empty_db_url only names the server: build_schema makes its own scratch database there.
    built = schema_dump.build_schema(empty_db_url, MIGRATIONS_DIR)
    assert SCHEMA_FILE.read_text() == built, (
        "generated/schema.sql is stale: refresh it with `./dev schema`"
    )


def test_the_dump_is_the_same_every_time(db_url: str) -> None:
    assert schema_dump.dump_schema(db_url) == schema_dump.dump_schema(db_url)


def test_the_dump_leaves_out_owners_privileges_yoyo_and_version_noise() -> None:
    schema = SCHEMA_FILE.read_text()
    for noise in ("OWNER TO", "GRANT ", "REVOKE ", "\\restrict", "\\unrestrict", "Dumped from"):
        assert noise not in schema
    for table in YOYO_TABLES:
        assert table not in schema
    assert "CREATE TABLE public.connection_logs (" in schema


def test_a_function_body_is_dumped_whole(empty_db_url: str) -> None:
    """Only pg_dump's own SET lines are left out: a body's line that begins with SET is the
    function's, and two functions differing there must dump differently."""
    body = (
        "CREATE FUNCTION tuned() RETURNS void LANGUAGE plpgsql AS $$\n"
        "BEGIN\nSET work_mem = {};\nEND\n$$"
    )
    with psycopg.connect(empty_db_url, autocommit=True) as conn:
        conn.execute(body.format("'64MB'"))
        small = schema_dump.dump_schema(empty_db_url)
        conn.execute("DROP FUNCTION tuned()")
        conn.execute(body.format("'1GB'"))
    assert "SET work_mem = '64MB';" in small
    assert schema_dump.dump_schema(empty_db_url) != small


def test_the_schema_file_loads_into_an_empty_database_and_dumps_back_the_same(
    empty_db_url: str,
) -> None:
    with psycopg.connect(empty_db_url) as conn:
        conn.execute(SCHEMA_FILE.read_bytes())
    assert schema_dump.dump_schema(empty_db_url) == SCHEMA_FILE.read_text()


def test_schema_check_command_reports_a_stale_file(tmp_path: str, empty_db_url: str) -> None:
    stale = f"{tmp_path}/schema.sql"
    with open(stale, "w") as handle:
        handle.write("-- not the schema\n")
    command = [sys.executable, "-m", "connlog.codegen", "schema", "--database", empty_db_url]
    result = subprocess.run(
        [*command, "--check", "--out", str(tmp_path)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1
    assert "stale" in result.stderr and "./dev schema" in result.stderr

    refreshed = subprocess.run(
        [*command, "--out", str(tmp_path)], cwd=REPO_ROOT, capture_output=True, text=True
    )
    assert refreshed.returncode == 0, refreshed.stderr
    with open(stale) as handle:
        assert handle.read() == SCHEMA_FILE.read_text()
