"""Recording: the stored rows depend only on the set of events seen."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from itertools import pairwise
from typing import Any
from uuid import UUID, uuid4

import psycopg
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connlog.generated.models import ConnectionLog, ConnectionType
from connlog.record import ConnectionEvent, record_event, record_events
from tests.conftest import REPO_ROOT
from tests.connection_logs.world import (
    CONNECTED,
    DISCONNECTED,
    T0,
    World,
    deliveries,
    disconnect_of,
    expected_logs,
    fresh,
    row_id,
    session_events,
    stored,
    web_event,
)

FIXTURES_DIR = REPO_ROOT / "tests" / "fixtures"
SHORT = settings(settings.get_profile("connection_logs"), max_examples=60)


def a_connect(world: World, kind: ConnectionType) -> ConnectionEvent:
    """Session 99's connect at T0 in the world's first workspace."""
    workspace = world.workspaces[0]
    return ConnectionEvent(
        id=UUID(int=1),
        time=T0,
        organization_id=workspace.organization.id,
        workspace_owner_id=workspace.owner.id,
        workspace_id=workspace.id,
        workspace_name=workspace.name,
        agent_name="main",
        type=kind,
        connection_status=CONNECTED,
        connection_id=UUID(int=99),
    )


def in_batches(events: list[ConnectionEvent], cuts: list[int]) -> list[list[ConnectionEvent]]:
    bounds = sorted({0, len(events), *(c % (len(events) + 1) for c in cuts)})
    return [events[a:b] for a, b in pairwise(bounds) if a < b]


@given(data=st.data())
@SHORT
def test_a_sessions_events_in_any_order_and_repetition_give_the_same_row(
    db: psycopg.Connection[Any], world: World, data: st.DataObject
) -> None:
    events = data.draw(session_events(world))
    delivered = data.draw(deliveries(events))
    with fresh(db):
        for event in delivered:
            returned = record_event(db, event)
        assert stored(db) == expected_logs(events) == [returned]


@given(data=st.data())
@SHORT
def test_batches_give_the_same_rows_as_one_by_one(
    db: psycopg.Connection[Any], world: World, data: st.DataObject
) -> None:
    sessions = data.draw(st.lists(session_events(world), min_size=1, max_size=3))
    # Two sessions may even share a connection id on different agents or workspaces.
    shared = data.draw(st.uuids(version=4))
    sessions.append(data.draw(session_events(world, connection_id=shared)))
    sessions.append(data.draw(session_events(world, connection_id=shared)))
    webs = data.draw(st.lists(web_event(world), max_size=4))
    events = [e for session in sessions for e in session] + webs
    delivered = data.draw(deliveries(events))
    cuts = data.draw(st.lists(st.integers(0, len(delivered)), max_size=4))
    with fresh(db):
        returned: dict[UUID, ConnectionLog] = {}
        for batch in in_batches(delivered, cuts):
            rows = record_events(db, batch)
            assert len({row.id for row in rows}) == len(rows), "each touched row comes back once"
            returned.update((row.id, row) for row in rows)
        expected = expected_logs(events)
        assert stored(db) == expected
        assert sorted(returned.values(), key=lambda r: r.id) == expected


def test_a_disconnect_before_its_connect_is_merged(
    db: psycopg.Connection[Any], world: World
) -> None:
    connect = a_connect(world, ConnectionType.SSH)
    disconnect = disconnect_of(
        connect, UUID(int=2), T0 + timedelta(minutes=5), code=130, reason="client hung up"
    )

    ended = record_event(db, disconnect)
    assert (ended.connect_time, ended.disconnect_time) == (disconnect.time, disconnect.time)

    merged = record_event(db, connect)
    assert merged.id == ended.id, "a row's id never changes as its events arrive"
    assert (merged.connect_time, merged.disconnect_time) == (connect.time, disconnect.time)
    assert (merged.code, merged.disconnect_reason) == (130, "client hung up")
    assert stored(db) == [merged]


def test_a_session_seen_only_connecting_is_open(db: psycopg.Connection[Any], world: World) -> None:
    # A connect's code is no exit code: ignored.
    row = record_event(db, replace(a_connect(world, ConnectionType.VSCODE), code=0))
    assert (row.disconnect_time, row.disconnect_reason, row.code) == (None, None, None)


@given(data=st.data())
@settings(settings.get_profile("connection_logs"), max_examples=15)
def test_web_events_never_merge_and_a_repeated_one_is_stored_once(
    db: psycopg.Connection[Any], world: World, data: st.DataObject
) -> None:
    event = data.draw(web_event(world))
    twin = replace(event, id=data.draw(st.uuids(version=4).filter(lambda u: u != event.id)))
    with fresh(db):
        first = record_event(db, event)
        assert record_event(db, event) == first
        record_events(db, [event, twin, twin])
        rows = stored(db)
        assert len(rows) == 2
        assert {r.id for r in rows} == {event.id, twin.id}
        assert all(r.connection_id is None and r.disconnect_time is None for r in rows)
        assert first.code == event.code


def test_an_empty_batch_records_nothing(db: psycopg.Connection[Any], world: World) -> None:
    assert record_events(db, []) == []
    assert stored(db) == []


def earlier_code_rows(db: psycopg.Connection[Any]) -> dict[UUID, ConnectionLog]:
    """The platform's own rows, as its earlier code wrote them (random ids, not derived ones):
    the migration fixtures of 0001 to 0003."""
    for fixture in ("0001_base_schema", "0002_connection_logs", "0003_connection_logs_ip_nullable"):
        db.execute((FIXTURES_DIR / f"{fixture}.sql").read_bytes())
    rows = {row.id: row for row in stored(db)}
    sessions = [row for row in rows.values() if row.connection_id is not None]
    assert sessions and all(row.id != row_id(event_of(row)) for row in sessions)
    return rows


def event_of(row: ConnectionLog, **changes: Any) -> ConnectionEvent:
    """A connect of ``row``'s session (for a web row, its own event again), with ``changes``."""
    event = ConnectionEvent(
        id=row.id,
        time=row.connect_time,
        organization_id=row.organization_id,
        workspace_owner_id=row.workspace_owner_id,
        workspace_id=row.workspace_id,
        workspace_name=row.workspace_name,
        agent_name=row.agent_name,
        type=row.type,
        connection_status=CONNECTED,
        ip=row.ip,
        code=row.code,
        user_agent=row.user_agent,
        user_id=row.user_id,
        slug_or_port=row.slug_or_port,
        connection_id=row.connection_id,
    )
    return replace(event, **changes)


@pytest.mark.parametrize("batched", [False, True], ids=["one by one", "batched"])
def test_events_of_rows_the_earlier_code_wrote_merge_into_them(
    db: psycopg.Connection[Any], batched: bool
) -> None:
    rows = earlier_code_rows(db)
    closed, still_open = (rows[UUID(int=0xC1)], rows[UUID(int=0xC2)])
    webs = [rows[UUID(int=n)] for n in (0xC3, 0xC4, 0xC5)]
    assert closed.disconnect_time and still_open.disconnect_time is None
    assert closed.connect_time and webs[-1].ip is None
    late = timedelta(minutes=30)
    events = [
        # A disconnect before the one stored wins; a later connect changes nothing.
        event_of(
            closed,
            id=uuid4(),
            time=closed.disconnect_time - late,
            connection_status=DISCONNECTED,
            code=137,
            disconnect_reason="killed",
        ),
        event_of(closed, id=uuid4(), time=closed.connect_time + late),
        # The open session ends.
        event_of(
            still_open,
            id=uuid4(),
            time=still_open.connect_time + late,
            connection_status=DISCONNECTED,
            code=0,
            disconnect_reason="exit",
        ),
        # A web event seen again, even reported as a disconnect, is the row it was.
        *(event_of(web, connection_status=DISCONNECTED) for web in webs),
    ]

    if batched:
        record_events(db, events)
    else:
        for event in events:
            record_event(db, event)

    assert {row.id: row for row in stored(db)} == {
        **rows,
        closed.id: replace(
            closed,
            disconnect_time=closed.disconnect_time - late,
            code=137,
            disconnect_reason="killed",
        ),
        still_open.id: replace(
            still_open,
            disconnect_time=still_open.connect_time + late,
            code=0,
            disconnect_reason="exit",
        ),
    }
