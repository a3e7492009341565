"""Bad input through the call paths: each refused at the call, naming the parameter.

The checks are the generator's (see codegen/analysis/param_rules.py), run here through the
committed generated functions against the real schema; nothing reaches the server.
"""

from __future__ import annotations

import asyncio
import functools
import typing
from datetime import UTC, datetime
from typing import Any, Literal
from uuid import UUID

import psycopg
import pytest

from connlog.generated import ArgumentError, NoRowError
from connlog.generated.aio import connection_logs as aio_connection_logs
from connlog.generated.connection_logs import (
    count_authorized_connection_logs,
    count_connection_logs,
    delete_old_connection_logs,
    get_authorized_connection_logs_offset,
    get_authorized_connection_logs_page,
    get_connection_logs_offset,
    get_connection_logs_page,
)
from connlog.record import record_event, record_events
from tests.connection_logs.world import World, example_events, stored

T = datetime(2024, 5, 1, tzinfo=UTC)
EVERYONE: dict[str, Any] = {"site_wide": True, "readable_organization_ids": []}


def refused(call: typing.Callable[[], object], parameter: str, expected: str) -> ArgumentError:
    with pytest.raises(ArgumentError) as caught:
        call()
    assert isinstance(caught.value, ValueError)
    assert caught.value.parameter == parameter
    assert expected in caught.value.expected
    assert str(caught.value).startswith(f"{parameter}=")
    return caught.value


@pytest.mark.parametrize("value", ["2024-05-01T00:00:00+00:00", 1714521600, None, T.date()])
def test_a_timestamptz_refuses_anything_but_an_aware_datetime(
    db: psycopg.Connection[Any], value: object
) -> None:
    bad: Any = value
    refused(
        lambda: delete_old_connection_logs(db, before_time=bad, limit_count=10),
        "before_time",
        "a datetime with a time zone",
    )
    if value is not None:  # None is "no bound" for the optional filters
        refused(
            lambda: get_connection_logs_offset(db, connected_after=bad),
            "connected_after",
            "a datetime with a time zone",
        )
        refused(
            lambda: count_connection_logs(db, connected_before=bad),
            "connected_before",
            "a datetime with a time zone",
        )


def test_a_naive_datetime_is_refused(db: psycopg.Connection[Any]) -> None:
    error = refused(
        lambda: get_connection_logs_page(db, after_connect_time=datetime(2024, 5, 1)),
        "after_connect_time",
        "not a naive one",
    )
    assert error.value == datetime(2024, 5, 1)


@pytest.mark.parametrize(
    ("call", "parameter"),
    [
        (lambda db: count_connection_logs(db, count_cap=-1), "count_cap"),
        (lambda db: count_authorized_connection_logs(db, count_cap=-1, **EVERYONE), "count_cap"),
        (lambda db: get_connection_logs_offset(db, limit=-1), "limit"),
        (lambda db: get_connection_logs_offset(db, offset=-5), "offset"),
        (lambda db: get_connection_logs_page(db, limit=-1), "limit"),
        (lambda db: get_authorized_connection_logs_offset(db, offset=-1, **EVERYONE), "offset"),
        (lambda db: get_authorized_connection_logs_page(db, limit=-100, **EVERYONE), "limit"),
        (lambda db: delete_old_connection_logs(db, before_time=T, limit_count=-1), "limit_count"),
        (lambda db: get_connection_logs_offset(db, limit=True), "limit"),
    ],
)
def test_a_negative_limit_offset_or_cap_is_refused(
    db: psycopg.Connection[Any], call: typing.Callable[[Any], object], parameter: str
) -> None:
    refused(lambda: call(db), parameter, "an int of at least 0")


def test_zero_is_a_limit_and_a_cap(db: psycopg.Connection[Any], world: World) -> None:
    record_events(db, example_events(world, sessions=3, web=3))
    assert get_connection_logs_offset(db, limit=0) == []
    assert count_connection_logs(db, count_cap=0) == 1  # "more than 0"
    assert (
        delete_old_connection_logs(db, before_time=T.replace(year=2100), limit_count=0).deleted == 0
    )


@pytest.mark.parametrize("status", ["", "Ongoing", "open", "%", "a\x00b"])
def test_a_status_other_than_ongoing_or_completed_is_refused(
    db: psycopg.Connection[Any], status: str
) -> None:
    bad: Any = status
    for call in (
        lambda: get_connection_logs_offset(db, status=bad),
        lambda: get_authorized_connection_logs_page(db, status=bad, **EVERYONE),
        lambda: count_connection_logs(db, status=bad),
    ):
        refused(call, "status", "one of 'ongoing', 'completed'")


def test_status_is_typed_as_its_two_labels() -> None:
    hints = typing.get_type_hints(get_connection_logs_offset)
    assert hints["status"] == Literal["ongoing", "completed"] | None


def test_a_cursor_id_without_its_time_is_refused(db: psycopg.Connection[Any], world: World) -> None:
    record_events(db, example_events(world, sessions=4, web=4))
    last = get_connection_logs_page(db, limit=3)[-1].connection_log
    pages: list[typing.Callable[..., list[Any]]] = [
        functools.partial(get_connection_logs_page, db, limit=3),
        functools.partial(get_authorized_connection_logs_page, db, limit=3, **EVERYONE),
    ]
    for page in pages:
        refused(
            functools.partial(page, after_id=last.id),
            "after_id",
            "None, unless after_connect_time is given too",
        )
        # Both, or the time alone ("strictly before"), are cursors.
        after = page(after_connect_time=last.connect_time, after_id=last.id)
        assert after and all(
            (r.connection_log.connect_time, r.connection_log.id) < (last.connect_time, last.id)
            for r in after
        )
        strictly_before = [
            r.connection_log.id
            for r in page(limit=100)
            if r.connection_log.connect_time < last.connect_time
        ][:3]
        assert strictly_before, "the cursor is the oldest row: nothing left to page to"
        assert [
            r.connection_log.id for r in page(after_connect_time=last.connect_time)
        ] == strictly_before


def test_the_asyncio_twins_check_the_same(db_url: str) -> None:
    async def call() -> None:
        async with await psycopg.AsyncConnection.connect(db_url) as aconn:
            await aio_connection_logs.get_connection_logs_page(aconn, after_id=UUID(int=1))

    with pytest.raises(ArgumentError, match="after_id=UUID"):
        asyncio.run(call())


def test_a_certain_row_that_does_not_come_is_a_no_row_error(
    db: psycopg.Connection[Any], world: World
) -> None:
    # A BEFORE trigger returning NULL silently skips the insert: the upsert returns no row.
    db.execute(
        "CREATE FUNCTION skip_row() RETURNS trigger LANGUAGE plpgsql "
        "AS $$ BEGIN RETURN NULL; END $$"
    )
    db.execute(
        "CREATE TRIGGER skip_row BEFORE INSERT ON connection_logs "
        "FOR EACH ROW EXECUTE FUNCTION skip_row()"
    )
    with pytest.raises(NoRowError) as caught:
        record_event(db, example_events(world, sessions=1, web=0)[0])
    assert isinstance(caught.value, LookupError)
    assert caught.value.query == "UpsertConnectionLog"
    assert stored(db) == []
