"""Scratch databases (schema builds, codegen analysis) never outlive their job."""

from __future__ import annotations

import psycopg
import pytest

from codegen import scratch


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
