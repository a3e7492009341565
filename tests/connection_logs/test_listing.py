"""Listing and counting: every filter, alone and together, against the plain-Python reference;
offset and keyset pages; counts with and without a cap; filter values are data."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import psycopg
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connlog.generated.connection_logs import (
    GetConnectionLogsOffsetRow,
    GetConnectionLogsPageRow,
    count_connection_logs,
    get_connection_logs_offset,
    get_connection_logs_page,
)
from connlog.generated.models import ConnectionLog
from connlog.record import record_events
from tests.connection_logs.listing import (
    FILTERS,
    cursor,
    expected_listing,
    filter_values,
    some_filters,
)
from tests.connection_logs.world import (
    World,
    example_events,
    fresh,
    make_world,
    session_events,
    stored,
    web_event,
)

FEW = settings(settings.get_profile("connection_logs"), max_examples=15)


@st.composite
def history(draw: st.DrawFn, world: World) -> list[Any]:
    """A mix of sessions (open and ended) and web events."""
    sessions = draw(st.lists(session_events(world), max_size=12))
    webs = draw(st.lists(web_event(world), max_size=8))
    return [e for session in sessions for e in session] + webs


def record(db: psycopg.Connection[Any], data: st.DataObject, world: World) -> list[ConnectionLog]:
    record_events(db, data.draw(history(world)))
    return stored(db)


def all_pages_by_offset(
    db: psycopg.Connection[Any], size: int, filters: dict[str, Any]
) -> list[Any]:
    rows: list[GetConnectionLogsOffsetRow] = []
    while True:
        page = get_connection_logs_offset(db, **filters, limit=size, offset=len(rows))
        rows += page
        if len(page) < size:
            return [row.connection_log.id for row in rows]


def all_pages_by_keyset(
    db: psycopg.Connection[Any], size: int, filters: dict[str, Any]
) -> list[Any]:
    rows: list[GetConnectionLogsPageRow] = []
    while True:
        page = get_connection_logs_page(db, **filters, **cursor(rows), limit=size)
        rows += page
        if len(page) < size:
            return [row.connection_log.id for row in rows]


@pytest.mark.parametrize("name", FILTERS)
@given(data=st.data())
@FEW
def test_each_filter_alone_selects_what_the_reference_selects(
    db: psycopg.Connection[Any], world: World, name: str, data: st.DataObject
) -> None:
    with fresh(db):
        logs = record(db, data, world)
        filters = {name: data.draw(filter_values(world, logs, name), label=name)}
        expected = expected_listing(logs, world, filters)
        assert [r.connection_log.id for r in get_connection_logs_offset(db, **filters)] == expected
        assert [r.connection_log.id for r in get_connection_logs_page(db, **filters)] == expected
        counted = count_connection_logs(db, **filters)
        assert counted == len(expected)


@given(data=st.data())
@settings(settings.get_profile("connection_logs"), max_examples=40)
def test_filters_in_combination_select_what_the_reference_selects(
    db: psycopg.Connection[Any], world: World, data: st.DataObject
) -> None:
    with fresh(db):
        logs = record(db, data, world)
        for _ in range(3):
            filters = data.draw(some_filters(world, logs))
            expected = expected_listing(logs, world, filters)
            assert [
                r.connection_log.id for r in get_connection_logs_offset(db, **filters)
            ] == expected
            counted = count_connection_logs(db, **filters)
            assert counted == len(expected)


# Under a custom plan the server drops every branch of connection_logs_newest() but the one the
# filters pick; under a generic plan all are there and each one's condition on the parameters
# decides: both must select exactly the reference's rows, page after page.
@pytest.mark.parametrize("plans", ["force_generic_plan", "force_custom_plan"])
@given(data=st.data(), size=st.integers(1, 6))
@settings(settings.get_profile("connection_logs"), max_examples=25)
def test_filters_select_what_the_reference_selects_under_generic_and_custom_plans(
    db: psycopg.Connection[Any], world: World, plans: str, data: st.DataObject, size: int
) -> None:
    threshold = db.prepare_threshold
    db.prepare_threshold = 0  # prepared at once, so plan_cache_mode decides every call's plan
    try:
        with fresh(db):
            db.execute("SELECT set_config('plan_cache_mode', %s, true)", [plans])
            logs = record(db, data, world)
            for _ in range(2):
                filters = data.draw(some_filters(world, logs))
                expected = expected_listing(logs, world, filters)
                assert all_pages_by_offset(db, size, filters) == expected
                assert all_pages_by_keyset(db, size, filters) == expected
                counted = count_connection_logs(db, **filters, count_cap=size)
                assert counted == min(len(expected), size + 1)
    finally:
        db.prepare_threshold = threshold


@pytest.mark.parametrize("plans", ["force_generic_plan", "force_custom_plan"])
def test_every_filter_of_one_row_at_once_selects_it_once_under_either_plan(
    db: psycopg.Connection[Any], world: World, plans: str
) -> None:
    """Each filter that picks a branch given together: exactly one branch may read the rows."""
    record_events(db, example_events(world, sessions=30, web=30))
    logs = stored(db)
    threshold = db.prepare_threshold
    db.prepare_threshold = 0
    try:
        with db.transaction():
            db.execute("SELECT set_config('plan_cache_mode', %s, true)", [plans])
            for log in logs[::7]:
                owner = world.workspace(log.workspace_id).owner
                user = world.user(log.user_id)
                filters: dict[str, Any] = {
                    "connection_id": log.connection_id,
                    "user_id": log.user_id,
                    "workspace_id": log.workspace_id,
                    "workspace_owner_id": log.workspace_owner_id,
                    "username": None if user is None else user.username,
                    "user_email": None if user is None else user.email,
                    "workspace_owner": owner.username,
                    "workspace_owner_email": owner.email,
                    "organization_id": log.organization_id,
                }
                expected = expected_listing(logs, world, filters)
                assert log.id in expected
                assert [
                    r.connection_log.id for r in get_connection_logs_page(db, **filters, limit=1000)
                ] == expected
                counted = count_connection_logs(db, **filters)
                assert counted == len(expected)
    finally:
        db.prepare_threshold = threshold


@given(data=st.data(), size=st.integers(1, 6))
@settings(settings.get_profile("connection_logs"), max_examples=30)
def test_offset_and_keyset_pages_each_return_every_row_once_in_order(
    db: psycopg.Connection[Any], world: World, data: st.DataObject, size: int
) -> None:
    with fresh(db):
        logs = record(db, data, world)
        filters = data.draw(some_filters(world, logs, at_most=2))
        expected = expected_listing(logs, world, filters)
        assert all_pages_by_offset(db, size, filters) == expected
        assert all_pages_by_keyset(db, size, filters) == expected


@given(data=st.data(), cap=st.integers(0, 12))
@FEW
def test_a_capped_count_stops_one_past_the_cap(
    db: psycopg.Connection[Any], world: World, data: st.DataObject, cap: int
) -> None:
    with fresh(db):
        logs = record(db, data, world)
        uncapped = count_connection_logs(db)
        capped = count_connection_logs(db, count_cap=cap)
        assert uncapped == len(logs)
        assert capped == min(len(logs), cap + 1)


def test_rows_carry_the_connecting_user_the_owner_and_the_organization(
    db: psycopg.Connection[Any], world: World
) -> None:
    record_events(db, example_events(world, sessions=40, web=40))
    rows = get_connection_logs_offset(db, limit=1000)
    assert len(rows) == len(stored(db))
    for row in rows:
        workspace = world.workspace(row.connection_log.workspace_id)
        organization = world.organization(row.connection_log.organization_id)
        user = world.user(row.connection_log.user_id)
        assert row.workspace_owner_username == workspace.owner.username
        assert (row.organization_name, row.organization_display_name, row.organization_icon) == (
            organization.name,
            organization.display_name,
            organization.icon,
        )
        assert (row.user_username, row.user_name, row.user_email) == (
            (user.username, user.name, user.email) if user else (None, None, None)
        )


def test_the_limit_defaults_to_100(db: psycopg.Connection[Any], world: World) -> None:
    record_events(db, example_events(world, sessions=0, web=130))
    assert len(get_connection_logs_offset(db)) == 100
    assert len(get_connection_logs_page(db)) == 100
    assert len(get_connection_logs_offset(db, offset=100)) == len(stored(db)) - 100


# --- filter values are data, never SQL ------------------------------------------------------

AWKWARD = [
    "o'brien",
    'say "hi"',
    "100%",
    "%",
    "_",
    "back\\slash",
    "semi;colon -- comment",
    "'); DROP TABLE connection_logs; --",
    "x" * 10_000,
    "ünïcödé",
]
TEXT_FILTERS: dict[str, Callable[[str], str]] = {
    "workspace_owner": lambda name: name.upper(),
    "workspace_owner_email": lambda name: f"{name}@example.COM",
    "username": lambda name: name.upper(),
    "user_email": lambda name: f"{name}@Example.com",
}


@pytest.mark.parametrize("name", TEXT_FILTERS)
def test_awkward_filter_values_match_exactly_and_never_error(
    db: psycopg.Connection[Any], name: str
) -> None:
    world = make_awkward_world(db)
    record_events(db, example_events(world, sessions=20, web=60))
    logs = stored(db)
    for awkward in AWKWARD:
        filters: dict[str, Any] = {name: TEXT_FILTERS[name](awkward)}
        expected = expected_listing(logs, world, filters)
        assert [
            r.connection_log.id for r in get_connection_logs_offset(db, **filters, limit=1000)
        ] == expected
        counted = count_connection_logs(db, **filters)
        assert counted == len(expected)
    assert stored(db) == logs, "nothing a filter said was executed"


# status is refused before the server sees it (test_call_checks.py).
@pytest.mark.parametrize("name", TEXT_FILTERS)
def test_a_nul_character_in_a_text_filter_is_a_clear_error(
    db: psycopg.Connection[Any], name: str
) -> None:
    with pytest.raises(psycopg.DataError, match="NUL"):
        nul: dict[str, Any] = {name: "a\x00b"}
        get_connection_logs_offset(db, **nul)


def make_awkward_world(db: psycopg.Connection[Any]) -> World:
    return make_world(db, seed=1, users=len(AWKWARD), usernames=AWKWARD)
