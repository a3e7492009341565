"""Scratch databases (schema builds, codegen analysis) never outlive their job."""

from __future__ import annotations

import secrets
import socket
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from connlog.codegen.analysis import cache
from connlog.codegen.database import scratch


def _exists(server_url: str, url: str) -> bool:
    name = url.rsplit("/", 1)[1]
    with psycopg.connect(server_url) as conn:
        found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        return found is not None


def test_a_scratch_database_exists_inside_the_block_and_is_dropped_after(
    empty_db_url: str,
) -> None:
    with scratch.scratch_database(empty_db_url) as url:
        assert _exists(empty_db_url, url)
        open_connection = psycopg.connect(url)  # left open: the drop must not wait for it
    assert not _exists(empty_db_url, url)
    open_connection.close()


def test_a_scratch_database_is_dropped_when_the_job_fails(empty_db_url: str) -> None:
    with pytest.raises(RuntimeError), scratch.scratch_database(empty_db_url) as url:
        raise RuntimeError("job failed")
    assert not _exists(empty_db_url, url)


def test_with_database_keeps_everything_but_the_database_name() -> None:
    url = "postgresql://me:secret@db.example:6543/app?sslmode=require"
    assert scratch.with_database(url, "other") == (
        "postgresql://me:secret@db.example:6543/other?sslmode=require"
    )
    with pytest.raises(ValueError, match="expected a postgresql:// URL"):
        scratch.with_database("mysql://localhost/app", "other")
    # libpq lets a dbname in the query win over the path: it is dropped, else every template
    # and scratch database derived from the URL would be the user's own database.
    url = "postgresql://me@db.example/postgres?application_name=x&dbname=app&sslmode=require"
    assert scratch.with_database(url, "other") == (
        "postgresql://me@db.example/other?application_name=x&sslmode=require"
    )


# --- templates ------------------------------------------------------------------------


@pytest.fixture
def prefix(empty_db_url: str) -> Iterator[str]:
    """A template prefix no other test uses; every database under it is dropped afterwards."""
    name = f"test_tmpl_{secrets.token_hex(3)}"
    yield name
    with psycopg.connect(empty_db_url, autocommit=True) as conn:
        for (datname,) in conn.execute(
            "SELECT datname FROM pg_database WHERE starts_with(datname, %s)", [name]
        ).fetchall():
            conn.execute(
                sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(str(datname)))
            )


def _databases(server_url: str, prefix: str) -> list[str]:
    with psycopg.connect(server_url) as conn:
        rows = conn.execute(
            "SELECT datname FROM pg_database WHERE starts_with(datname, %s) ORDER BY 1", [prefix]
        ).fetchall()
        return [str(name) for (name,) in rows]


def _create_table(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE built (id int)")


def test_a_template_is_built_once_then_cloned(
    empty_db_url: str, prefix: str, tmp_path: Path
) -> None:
    builds: list[str] = []

    def build(url: str) -> None:
        builds.append(url)
        _create_table(url)

    first = scratch.template_database(empty_db_url, prefix, "abc", str(tmp_path), build)
    again = scratch.template_database(empty_db_url, prefix, "abc", str(tmp_path), build)
    assert first == again == f"{prefix}_abc"
    assert len(builds) == 1
    assert _databases(empty_db_url, prefix) == [first], "the build's temporary name is gone"
    with pytest.raises(psycopg.OperationalError, match="not currently accepting connections"):
        psycopg.connect(scratch.with_database(empty_db_url, first)).close()

    clone = scratch.scratch_database(empty_db_url, prefix + "_s", template=lambda: first)
    with clone as url, psycopg.connect(url) as conn:
        assert conn.execute("SELECT count(*) FROM built").fetchone() == (0,)
    assert _databases(empty_db_url, prefix) == [first]


def test_a_failed_build_leaves_no_template(empty_db_url: str, prefix: str, tmp_path: Path) -> None:
    def build(url: str) -> None:
        _create_table(url)
        raise RuntimeError("a migration failed")

    with pytest.raises(RuntimeError, match="a migration failed"):
        scratch.template_database(empty_db_url, prefix, "abc", str(tmp_path), build)
    assert _databases(empty_db_url, prefix) == []


def test_a_new_template_replaces_the_older_ones_of_its_source_only(
    empty_db_url: str, prefix: str, tmp_path: Path
) -> None:
    (mine := tmp_path / "mine").mkdir()
    (other := tmp_path / "other").mkdir()
    gone = tmp_path / "gone"
    scratch.template_database(empty_db_url, prefix, "a1", str(mine), _create_table)
    scratch.template_database(empty_db_url, prefix, "b1", str(other), _create_table)
    scratch.template_database(empty_db_url, prefix, "c1", str(gone), _create_table)
    # Not a finished template (no comment): never dropped by the clean-up.
    with psycopg.connect(empty_db_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(f"{prefix}_z9")))
    scratch.template_database(empty_db_url, prefix, "a2", str(mine), _create_table)
    # Another source's templates stay, even when its directory is gone (another machine's?).
    assert _databases(empty_db_url, prefix) == [
        f"{prefix}_a2",
        f"{prefix}_b1",
        f"{prefix}_c1",
        f"{prefix}_z9",
    ]


def test_templates_of_vanished_folders_on_this_host_are_dropped_with_the_next_build(
    empty_db_url: str, prefix: str, tmp_path: Path
) -> None:
    host = socket.gethostname()
    (kept := tmp_path / "kept").mkdir()
    (vanished := tmp_path / "vanished").mkdir()
    scratch.template_database(empty_db_url, prefix, "k1", f"{host}:{kept}", _create_table)
    scratch.template_database(empty_db_url, prefix, "v1", f"{host}:{vanished}", _create_table)
    scratch.template_database(empty_db_url, prefix, "o1", f"elsewhere:{vanished}", _create_table)
    vanished.rmdir()
    (new := tmp_path / "new").mkdir()
    scratch.template_database(empty_db_url, prefix, "n1", f"{host}:{new}", _create_table)
    assert _databases(empty_db_url, prefix) == [f"{prefix}_k1", f"{prefix}_n1", f"{prefix}_o1"]


def test_a_template_in_use_is_never_dropped_by_another_builds_clean_up(
    empty_db_url: str, prefix: str, tmp_path: Path
) -> None:
    """A describe database is named by the migrations' contents: a checkout whose folder is
    gone built it, and another checkout with the same migrations describes in it right now."""
    host = socket.gethostname()
    (vanished := tmp_path / "vanished").mkdir()
    name = scratch.template_database(
        empty_db_url, prefix, "v1", f"{host}:{vanished}", _create_table, read_only=True
    )
    vanished.rmdir()
    (new := tmp_path / "new").mkdir()
    with psycopg.connect(scratch.with_database(empty_db_url, name)) as describing:
        scratch.template_database(empty_db_url, prefix, "n1", f"{host}:{new}", _create_table)
        assert describing.execute("SELECT count(*) FROM built").fetchone() == (0,)
    assert _databases(empty_db_url, prefix) == [f"{prefix}_n1", f"{prefix}_v1"]
    scratch.template_database(empty_db_url, prefix, "n2", f"{host}:{new}", _create_table)
    assert _databases(empty_db_url, prefix) == [f"{prefix}_n2"], "unused: dropped by the next"


def test_drop_templates_drops_every_finished_template_and_nothing_else(
    empty_db_url: str, prefix: str, tmp_path: Path
) -> None:
    scratch.template_database(empty_db_url, prefix, "a1", str(tmp_path), _create_table)
    scratch.template_database(empty_db_url, prefix, "b1", f"elsewhere:{tmp_path}", _create_table)
    with psycopg.connect(empty_db_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(f"{prefix}_z9")))
    assert scratch.drop_templates(empty_db_url, prefix) == [f"{prefix}_a1", f"{prefix}_b1"]
    assert _databases(empty_db_url, prefix) == [f"{prefix}_z9"]


def test_a_template_dropped_before_the_copy_is_asked_for_again(
    empty_db_url: str, prefix: str, tmp_path: Path
) -> None:
    answers = iter([f"{prefix}_dropped_meanwhile", f"{prefix}_abc"])
    scratch.template_database(empty_db_url, prefix, "abc", str(tmp_path), _create_table)
    clone = scratch.scratch_database(empty_db_url, prefix + "_s", template=lambda: next(answers))
    with clone as url, psycopg.connect(url) as conn:
        assert conn.execute("SELECT count(*) FROM built").fetchone() == (0,)


def test_codegen_scratch_databases_are_clones_of_a_migrated_template(empty_db_url: str) -> None:
    migrations = Path(__file__).resolve().parents[2] / "migrations"
    migrated = scratch.migrated_database(empty_db_url, migrations)
    with migrated as url, psycopg.connect(url) as conn:
        assert conn.execute("SELECT to_regclass('connection_logs')").fetchone() != (None,)
    templates = [n for n in _databases(empty_db_url, "codegen_tmpl_") if "_building" not in n]
    assert f"codegen_tmpl_{cache.migrations_hash(migrations)[:12]}" in templates
    assert not _exists(empty_db_url, url)


def test_queries_are_described_in_one_kept_read_only_database(
    empty_db_url: str, tmp_path: Path
) -> None:
    migrations = tmp_path / "migrations"
    migrations.mkdir()
    (migrations / "0001_t.sql").write_text("CREATE TABLE t (id int NOT NULL);\n")
    url = scratch.describe_database(empty_db_url, migrations)
    name = f"codegen_desc_{cache.migrations_hash(migrations)[:12]}"
    assert url.rsplit("/", 1)[1] == name
    assert scratch.describe_database(empty_db_url, migrations) == url, "built once, then reused"
    assert scratch.kept_describe_url(empty_db_url, migrations) == url, "where a run tries first"
    with psycopg.connect(url, autocommit=True) as conn:
        assert conn.execute("SELECT to_regclass('t')").fetchone() != (None,)
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            conn.execute("INSERT INTO t VALUES (1)")
    # New migrations: a new database, and the one of the old migrations (same checkout) goes.
    (migrations / "0002_u.sql").write_text("CREATE TABLE u (id int);\n")
    newer = scratch.describe_database(empty_db_url, migrations)
    assert newer != url
    assert name not in _databases(empty_db_url, "codegen_desc_")
    with psycopg.connect(empty_db_url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE {}").format(sql.Identifier(newer.rsplit("/", 1)[1])))
