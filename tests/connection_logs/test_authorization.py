"""Authorized listings and counts: a reader sees exactly the rows of the organizations it may
read (all of them when site-wide), whatever the filters."""

from __future__ import annotations

from typing import Any

import psycopg
from hypothesis import given, settings
from hypothesis import strategies as st

from connlog.generated.connection_logs import (
    GetAuthorizedConnectionLogsPageRow,
    count_authorized_connection_logs,
    get_authorized_connection_logs_offset,
    get_authorized_connection_logs_page,
)
from connlog.record import record_events
from tests.connection_logs.listing import Reader, cursor, expected_listing, readers, some_filters
from tests.connection_logs.world import World, example_events, fresh, stored


def keyset_pages(
    db: psycopg.Connection[Any], reader: Reader, filters: dict[str, Any], size: int
) -> list[Any]:
    rows: list[GetAuthorizedConnectionLogsPageRow] = []
    while True:
        page = get_authorized_connection_logs_page(
            db, **reader.params(), **filters, **cursor(rows), limit=size
        )
        rows += page
        if len(page) < size:
            return [row.connection_log.id for row in rows]


@given(data=st.data(), seed=st.integers(0, 10_000), size=st.integers(2, 9))
@settings(settings.get_profile("connection_logs"), max_examples=40)
def test_a_reader_sees_exactly_the_readable_rows_that_match(
    db: psycopg.Connection[Any], world: World, data: st.DataObject, seed: int, size: int
) -> None:
    with fresh(db):
        record_events(db, example_events(world, sessions=12, web=12, seed=seed))
        logs = stored(db)
        reader = data.draw(readers(world), label="reader")
        filters = data.draw(some_filters(world, logs, at_most=2), label="filters")
        expected = expected_listing(logs, world, filters, reader)
        readable = set(reader.readable_organization_ids)

        listed = get_authorized_connection_logs_offset(db, **reader.params(), **filters, limit=1000)
        assert reader.site_wide or all(
            row.connection_log.organization_id in readable for row in listed
        )
        assert [row.connection_log.id for row in listed] == expected
        assert keyset_pages(db, reader, filters, size) == expected
        counted = count_authorized_connection_logs(db, **reader.params(), **filters)
        assert counted == len(expected)


def test_site_wide_sees_everything_and_no_organizations_sees_nothing(
    db: psycopg.Connection[Any], world: World
) -> None:
    record_events(db, example_events(world, sessions=10, web=10))
    everything = stored(db)

    def count(reader: Reader) -> int:
        counted = count_authorized_connection_logs(db, **reader.params())
        return counted

    site_wide = Reader(site_wide=True, readable_organization_ids=[])
    nobody = Reader(site_wide=False, readable_organization_ids=[])
    assert count(site_wide) == len(everything)
    assert len(get_authorized_connection_logs_offset(db, **site_wide.params(), limit=1000)) == len(
        everything
    )
    assert count(nobody) == 0
    assert get_authorized_connection_logs_offset(db, **nobody.params()) == []
    assert get_authorized_connection_logs_page(db, **nobody.params()) == []
