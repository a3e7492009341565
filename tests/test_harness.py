"""The harness itself: a real server, migrated, isolated per test."""

from typing import Any

import psycopg


def test_each_test_gets_a_writable_database(db: psycopg.Connection[Any]) -> None:
    db.execute("CREATE TABLE scratch (x int)")
    db.execute("INSERT INTO scratch VALUES (1)")
    assert db.execute("SELECT count(*) FROM scratch").fetchone() == (1,)


def test_databases_do_not_leak_between_tests(db: psycopg.Connection[Any]) -> None:
    found = db.execute("SELECT to_regclass('scratch')").fetchone()
    assert found == (None,)
