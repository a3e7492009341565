"""Recording connection events: one at a time, or many in one round trip.

``ConnectionEvent`` is one event as an agent or the web proxy reports it: the parameter row of
the generated ``BatchUpsertConnectionLogs``. ``record_event`` and ``record_events`` check events
and store them through the generated ``UpsertConnectionLog`` and ``BatchUpsertConnectionLogs``
queries; both give the same rows, whatever the order, grouping or repetition of the events (the
rules are in queries/connection_logs.sql).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, fields
from datetime import UTC, datetime, timezone
from enum import StrEnum
from ipaddress import IPv4Address, IPv4Interface, IPv6Address, IPv6Interface
from typing import Final
from uuid import UUID

import psycopg

from connlog.generated.connection_logs import (
    BatchUpsertConnectionLogsParams,
    batch_upsert_connection_logs,
    upsert_connection_log,
)
from connlog.generated.models import ConnectionLog, ConnectionStatus, ConnectionType

WEB_TYPES = frozenset({ConnectionType.WORKSPACE_APP, ConnectionType.PORT_FORWARDING})

# The unique index on (connection_id, workspace_id, agent_name) holds agent_name in a btree row
# of at most 2704 bytes; a name of up to this many bytes fits whatever it compresses to.
MAX_AGENT_NAME_BYTES: Final = 2048
_IPV6: Final = (IPv6Address, IPv6Interface)
# code is an integer column.
_INT4: Final = range(-(2**31), 2**31)
# The times psycopg reads back in every session time zone (zones are at most 16 hours from UTC):
# PostgreSQL stores years Python's datetime has no room for (10000, 1 BC), and a row holding
# one would break every listing that reaches it, and the purge batch it falls in.
EARLIEST_TIME: Final = datetime(1, 1, 2, tzinfo=UTC)
LATEST_TIME: Final = datetime(9999, 12, 30, tzinfo=UTC)


# One connect or disconnect of a session, or one web request (workspace app, port forward). A
# session's events share ``connection_id`` (with ``workspace_id`` and ``agent_name``); a web
# event has none. ``time`` must be timezone-aware. Keyword-only, frozen.
ConnectionEvent = BatchUpsertConnectionLogsParams


def is_web(event: ConnectionEvent) -> bool:
    """A web event (workspace app, port forward): one row of its own, no session."""
    return event.type in WEB_TYPES


class InvalidEvent(ValueError):
    """An event PostgreSQL would reject or misread; nothing of its batch was sent.

    ``index`` is the event's position in the batch (None for ``record_event``), ``field`` the
    ConnectionEvent field at fault.
    """

    def __init__(self, index: int | None, field: str, problem: str) -> None:
        where = "event" if index is None else f"events[{index}]"
        super().__init__(f"{where}.{field}: {problem}")
        self.index = index
        self.field = field


# What each field must hold: its types, and whether None is allowed.
_FIELD_TYPES: Final[dict[str, tuple[tuple[type, ...], bool]]] = {
    "id": ((UUID,), False),
    "time": ((datetime,), False),
    "organization_id": ((UUID,), False),
    "workspace_owner_id": ((UUID,), False),
    "workspace_id": ((UUID,), False),
    "workspace_name": ((str,), False),
    "agent_name": ((str,), False),
    "type": ((ConnectionType,), False),
    "connection_status": ((ConnectionStatus,), False),
    "ip": ((IPv4Address, IPv6Address, IPv4Interface, IPv6Interface), True),
    "code": ((int,), True),
    "user_agent": ((str,), True),
    "user_id": ((UUID,), True),
    "slug_or_port": ((str,), True),
    "connection_id": ((UUID,), True),
    "disconnect_reason": ((str,), True),
}
assert set(_FIELD_TYPES) == {f.name for f in fields(ConnectionEvent)}


@dataclass(frozen=True, slots=True)
class _Rule:
    """One field's check, worked out once: a batch checks every field of thousands of events."""

    name: str
    types: tuple[type, ...]
    optional: bool
    # An enum field takes a member or its label: the labels, and how the error lists them.
    enum: type[StrEnum] | None
    labels: frozenset[str]
    listed: str


def _rule(name: str, types: tuple[type, ...], optional: bool) -> _Rule:
    enum = next((t for t in types if issubclass(t, StrEnum)), None)
    members = list(enum) if enum is not None else []
    return _Rule(
        name,
        types,
        optional,
        enum,
        frozenset(member.value for member in members),
        ", ".join(repr(member.value) for member in members),
    )


_RULES: Final = tuple(_rule(name, *rule) for name, rule in _FIELD_TYPES.items())


def check_event(event: ConnectionEvent, index: int | None = None) -> None:
    """Raise InvalidEvent for the first field of ``event`` that PostgreSQL would reject, or that
    would be stored wrong; ``index`` is its position in a batch."""
    for rule in _RULES:
        value = getattr(event, rule.name)
        if value is None:
            if not rule.optional:
                raise InvalidEvent(index, rule.name, "is None, but every event needs one")
            continue
        if rule.enum is not None and isinstance(value, str):
            # A label passes, as the generated functions take it (a member is its label).
            if value not in rule.labels:
                raise InvalidEvent(
                    index, rule.name, f"{value!r} is not a {rule.enum.__name__}: use {rule.listed}"
                )
        # bool is an int, but True is no exit code or HTTP status.
        elif not isinstance(value, rule.types) or isinstance(value, bool):
            expected = " or ".join(t.__name__ for t in rule.types)
            raise InvalidEvent(index, rule.name, f"{value!r} is not a {expected}")
        # The common text (ASCII, no NUL) costs two tests, not a call: a batch checks
        # thousands of events.
        if isinstance(value, str) and ("\x00" in value or not value.isascii()):
            _check_text(value, index, rule.name)
    if isinstance(event.ip, _IPV6) and event.ip.scope_id:
        # inet has no room for one; the server would refuse the whole batch, naming no event.
        raise InvalidEvent(index, "ip", f"{event.ip!r} has a scope id, which inet cannot store")
    zone = event.time.tzinfo
    # Aware means an offset (a tzinfo may give None); a datetime.timezone always has one.
    if zone is None or (not isinstance(zone, timezone) and event.time.utcoffset() is None):
        raise InvalidEvent(
            index, "time", f"{event.time!r} is naive: give it a time zone, e.g. tzinfo=UTC"
        )
    if not EARLIEST_TIME <= event.time <= LATEST_TIME:
        raise InvalidEvent(
            index,
            "time",
            f"{event.time!r} is outside {EARLIEST_TIME.date()} to {LATEST_TIME.date()} UTC, "
            "where psycopg could not read it back in every time zone",
        )
    agent_bytes = len(event.agent_name.encode())
    if agent_bytes > MAX_AGENT_NAME_BYTES:
        raise InvalidEvent(
            index,
            "agent_name",
            f"{agent_bytes} bytes in UTF-8, more than the {MAX_AGENT_NAME_BYTES} "
            "the session index (connection_id, workspace_id, agent_name) is sure to hold",
        )
    if event.code is not None and event.code not in _INT4:
        raise InvalidEvent(index, "code", f"{event.code!r} does not fit an integer column")


def _check_text(value: str, index: int | None, field: str) -> None:
    """PostgreSQL's text holds UTF-8 without NUL; otherwise the server's (or psycopg's) error
    would name no event."""
    if "\x00" in value:
        raise InvalidEvent(index, field, f"{value!r} contains a NUL character (\\x00)")
    if not value.isascii():
        try:
            value.encode()
        except UnicodeEncodeError as exc:  # a lone surrogate, as surrogateescape leaves
            problem = f"{value!r} is not text UTF-8 can encode ({exc.reason} at {exc.start})"
            raise InvalidEvent(index, field, problem) from None


def record_event(conn: psycopg.Connection[object], event: ConnectionEvent) -> ConnectionLog:
    """Store one event; returns its row as stored after merging with what was there.

    Raises InvalidEvent, sending nothing, for an event PostgreSQL would reject or misread.
    """
    check_event(event)
    return upsert_connection_log(
        conn,
        id=event.id,
        time=event.time,
        organization_id=event.organization_id,
        workspace_owner_id=event.workspace_owner_id,
        workspace_id=event.workspace_id,
        workspace_name=event.workspace_name,
        agent_name=event.agent_name,
        type=event.type,
        code=event.code,
        ip=event.ip,
        user_agent=event.user_agent,
        user_id=event.user_id,
        slug_or_port=event.slug_or_port,
        connection_id=event.connection_id,
        disconnect_reason=event.disconnect_reason,
        connection_status=event.connection_status,
    )


def record_events(
    conn: psycopg.Connection[object], events: Iterable[ConnectionEvent]
) -> list[ConnectionLog]:
    """Store many events in one statement; returns each row they touched once, as stored.

    Raises InvalidEvent naming the first bad event's position, sending nothing, when any event
    is one PostgreSQL would reject or misread: a batch is stored whole or not at all.
    """
    batch = list(events)
    if not batch:
        return []
    for index, event in enumerate(batch):
        check_event(event, index)
    return batch_upsert_connection_logs(conn, batch)
