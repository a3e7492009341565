"""Recording connection events: one at a time, or many in one round trip.

``ConnectionEvent`` is one event as an agent or the web proxy reports it. ``record_event`` and
``record_events`` store events through the generated ``UpsertConnectionLog`` and
``BatchUpsertConnectionLogs`` queries; both give the same rows, whatever the order, grouping or
repetition of the events (the rules are in queries/connection_logs.sql).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from ipaddress import IPv4Address, IPv6Address
from uuid import UUID

import psycopg

from generated.connection_logs import batch_upsert_connection_logs, upsert_connection_log
from generated.models import ConnectionLog, ConnectionStatus, ConnectionType

WEB_TYPES = frozenset({ConnectionType.WORKSPACE_APP, ConnectionType.PORT_FORWARDING})


@dataclass(frozen=True, slots=True)
class ConnectionEvent:
    """One connect or disconnect of a session, or one web request (workspace app, port forward).

    A session's events share ``connection_id`` (with ``workspace_id`` and ``agent_name``); a web
    event has none. ``time`` must be timezone-aware.
    """

    id: UUID
    time: datetime
    organization_id: UUID
    workspace_owner_id: UUID
    workspace_id: UUID
    workspace_name: str
    agent_name: str
    type: ConnectionType
    connection_status: ConnectionStatus
    ip: IPv4Address | IPv6Address | None = None
    code: int | None = None
    user_agent: str | None = None
    user_id: UUID | None = None
    slug_or_port: str | None = None
    connection_id: UUID | None = None
    disconnect_reason: str | None = None

    @property
    def is_web(self) -> bool:
        return self.type in WEB_TYPES


def record_event(conn: psycopg.Connection[object], event: ConnectionEvent) -> ConnectionLog:
    """Store one event; returns its row as stored after merging with what was there."""
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
    """Store many events in one statement; returns each row they touched once, as stored."""
    batch = list(events)
    if not batch:
        return []
    return batch_upsert_connection_logs(
        conn,
        id=[e.id for e in batch],
        time=[e.time for e in batch],
        organization_id=[e.organization_id for e in batch],
        workspace_owner_id=[e.workspace_owner_id for e in batch],
        workspace_id=[e.workspace_id for e in batch],
        workspace_name=[e.workspace_name for e in batch],
        agent_name=[e.agent_name for e in batch],
        type=[e.type for e in batch],
        connection_status=[e.connection_status for e in batch],
        # These arrays hold NULLs: an array parameter is list[T] | list[T | None].
        code=[e.code for e in batch],
        ip=[e.ip for e in batch],
        user_agent=[e.user_agent for e in batch],
        user_id=[e.user_id for e in batch],
        slug_or_port=[e.slug_or_port for e in batch],
        connection_id=[e.connection_id for e in batch],
        disconnect_reason=[e.disconnect_reason for e in batch],
    )
