"""Bad input through the recording paths: refused before anything is stored, with an error
naming the event's position and the field, whether it reaches record.py or the SQL directly."""

from __future__ import annotations

import json
from dataclasses import MISSING, fields, replace
from datetime import UTC, datetime, timedelta, timezone
from ipaddress import ip_address, ip_interface
from typing import Any, Final, cast

import psycopg
import pytest

from connlog.generated.connection_logs import (
    BATCH_UPSERT_CONNECTION_LOGS,
    batch_upsert_connection_logs,
)
from connlog.record import (
    EARLIEST_TIME,
    LATEST_TIME,
    MAX_AGENT_NAME_BYTES,
    ConnectionEvent,
    InvalidEvent,
    record_event,
    record_events,
)
from tests.conftest import REPO_ROOT
from tests.connection_logs.world import DISCONNECTED, World, example_events, expected_logs, stored


def a_batch(world: World) -> list[ConnectionEvent]:
    """Sessions and web events, a disconnect at position 2 (the one a padded array would lose)."""
    events = example_events(world, sessions=4, web=2)
    disconnect = next(e for e in events if e.connection_status is DISCONNECTED)
    events.remove(disconnect)
    events.insert(2, disconnect)
    return events


OUTSIDE: Final = r"events\[2\]\.time: .* is outside 0001-01-02 to 9999-12-30 UTC"
BAD_FIELDS: list[tuple[str, object, str]] = [
    ("time", None, r"events\[2\]\.time: is None"),
    ("connection_status", None, r"events\[2\]\.connection_status: is None"),
    ("type", None, r"events\[2\]\.type: is None"),
    ("type", "telnet", r"events\[2\]\.type: 'telnet' is not a ConnectionType"),
    ("workspace_id", "f1", r"events\[2\]\.workspace_id: 'f1' is not a UUID"),
    ("time", datetime(2024, 1, 1), r"events\[2\]\.time: .* is naive"),
    ("agent_name", "ma\x00in", r"events\[2\]\.agent_name: .* contains a NUL"),
    ("disconnect_reason", "bye\x00", r"events\[2\]\.disconnect_reason: .* contains a NUL"),
    ("agent_name", "é" * MAX_AGENT_NAME_BYTES, r"events\[2\]\.agent_name: 4096 bytes in UTF-8"),
    ("code", 2**31, r"events\[2\]\.code: 2147483648 does not fit"),
    ("code", True, r"events\[2\]\.code: True is not a int"),
    # A lone surrogate (a header decoded with surrogateescape): psycopg could not encode it.
    ("user_agent", "curl/8\udcff", r"events\[2\]\.user_agent: .* is not text UTF-8 can encode"),
    ("ip", ip_address("fe80::1%eth0"), r"events\[2\]\.ip: .* has a scope id"),
    ("ip", ip_interface("fe80::1%eth0/64"), r"events\[2\]\.ip: .* has a scope id"),
    # Year 10000 in UTC, and 1 BC: stored, they could not be read back.
    ("time", datetime(9999, 12, 31, 23, tzinfo=timezone(-timedelta(hours=5))), OUTSIDE),
    ("time", datetime(1, 1, 1, 0, 30, tzinfo=timezone(timedelta(hours=1))), OUTSIDE),
    ("time", datetime(9999, 12, 31, 22, tzinfo=UTC), OUTSIDE),  # year 10000 in Tokyo
]


@pytest.mark.parametrize(("field", "value", "message"), BAD_FIELDS)
def test_a_batch_with_one_bad_event_is_refused_whole_naming_it(
    db: psycopg.Connection[Any], world: World, field: str, value: object, message: str
) -> None:
    events = a_batch(world)
    events[2] = replace(events[2], **cast("dict[str, Any]", {field: value}))
    with pytest.raises(InvalidEvent, match=message) as refused:
        record_events(db, events)
    assert (refused.value.index, refused.value.field) == (2, field)
    assert stored(db) == []


def test_one_bad_event_is_refused_naming_the_field(
    db: psycopg.Connection[Any], world: World
) -> None:
    with pytest.raises(InvalidEvent, match=r"^event\.agent_name: .* contains a NUL"):
        record_event(db, replace(a_batch(world)[0], agent_name="\x00"))
    assert stored(db) == []


def test_the_longest_agent_name_allowed_is_stored(
    db: psycopg.Connection[Any], world: World
) -> None:
    # Random-looking, so the index cannot compress it below the limit.
    name = "".join(chr(0x21 + (i * 7919) % 94) for i in range(MAX_AGENT_NAME_BYTES))
    events = [replace(e, agent_name=name) for e in a_batch(world)]
    record_events(db, events)
    assert {log.agent_name for log in stored(db)} == {name}


def test_the_earliest_and_latest_times_allowed_are_read_back_in_every_time_zone(
    db: psycopg.Connection[Any], world: World
) -> None:
    events = a_batch(world)
    earliest, latest = replace(events[0], time=EARLIEST_TIME), replace(events[1], time=LATEST_TIME)
    record_events(db, [earliest, latest])
    # The farthest from UTC a session's TimeZone can be: psycopg reads each row in it.
    for zone in ("+15:59", "-15:59"):
        db.execute(f"SET TIME ZONE INTERVAL '{zone}' HOUR TO MINUTE")
        assert sorted(log.connect_time for log in stored(db)) == [EARLIEST_TIME, LATEST_TIME]


# The SQL's parameters in $n order, one array per event field, as the generator recorded them
# in the manifest: a parameter a query edit adds or drops is not silently left out here.
ARRAYS: Final = [
    parameter["name"]
    for query in json.loads((REPO_ROOT / "generated" / "analysis.json").read_text())["queries"]
    if query["name"] == "BatchUpsertConnectionLogs"
    for parameter in query["params"]
]
# The fields every event must have (no default in ConnectionEvent).
REQUIRED: Final = [field.name for field in fields(ConnectionEvent) if field.default is MISSING]


def columns(events: list[ConnectionEvent]) -> dict[str, list[Any]]:
    """The SQL's arrays for ``events``, in its parameters' order, as the generated function
    builds them (the SQL's own checks are for any other caller of it)."""
    return {name: [getattr(e, name) for e in events] for name in ARRAYS}


def test_the_arrays_are_the_event_fields() -> None:
    assert sorted(ARRAYS) == sorted(field.name for field in fields(ConnectionEvent))


def send(db: psycopg.Connection[Any], arrays: dict[str, list[Any]]) -> list[Any]:
    """BatchUpsertConnectionLogs's SQL run with ``arrays`` as they are."""
    with psycopg.RawCursor(db) as cur:
        cur.execute(BATCH_UPSERT_CONNECTION_LOGS, list(arrays.values()))
        return cur.fetchall()


def test_the_sql_refuses_arrays_of_unequal_length(
    db: psycopg.Connection[Any], world: World
) -> None:
    events = a_batch(world)
    arguments = columns(events)
    arguments["connection_status"] = arguments["connection_status"][:-1]
    n = len(events)
    with pytest.raises(
        psycopg.errors.InvalidParameterValue,
        match=f"connection_status has {n - 1} elements but id has {n}: every array needs one",
    ):
        send(db, arguments)
    db.rollback()
    assert stored(db) == []


@pytest.mark.parametrize("field", REQUIRED)
def test_the_sql_refuses_a_null_in_a_required_array(
    db: psycopg.Connection[Any], world: World, field: str
) -> None:
    arguments = columns(a_batch(world))
    arguments[field][3] = None
    with pytest.raises(
        psycopg.errors.InvalidParameterValue,
        match=rf"BatchUpsertConnectionLogs: {field}\[4\] is NULL: every event needs a {field}",
    ):
        send(db, arguments)
    db.rollback()
    assert stored(db) == []


def test_the_sql_takes_nulls_where_a_field_is_optional(
    db: psycopg.Connection[Any], world: World
) -> None:
    events = a_batch(world)
    arguments = columns(events)
    assert None in arguments["code"] and None in arguments["connection_id"]
    rows = batch_upsert_connection_logs(db, events)
    assert sorted(rows, key=lambda r: r.id) == stored(db) == expected_logs(events)


def test_a_direct_call_of_the_generated_function_cannot_drop_an_event(
    db: psycopg.Connection[Any], world: World
) -> None:
    # Past record.py's checks: the generated function checks what it can, the SQL the rest.
    events = a_batch(world)
    naive = replace(events[3], time=datetime(2024, 1, 1))
    with pytest.raises(ValueError, match=r"time=datetime\.datetime\(2024, 1, 1, 0, 0\)"):
        batch_upsert_connection_logs(db, [*events[:3], naive])
    no_id = replace(events[3], id=cast("Any", None))
    with pytest.raises(psycopg.errors.InvalidParameterValue, match=r"id\[4\] is NULL"):
        batch_upsert_connection_logs(db, [*events[:3], no_id])
    db.rollback()
    assert stored(db) == []
