"""A realistic day of connection events, recorded, listed, counted, paged and purged: the
connection log half of the main job (``./dev demo``).

Event ids and times come from a fixed seed, so running the demo again records the very same
events and, the upsert being idempotent, leaves the very same rows.
"""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from ipaddress import ip_address
from typing import Final
from uuid import UUID

import psycopg
from psycopg.rows import scalar_row

from connlog.generated.connection_logs import (
    count_connection_logs,
    get_authorized_connection_logs_offset,
    get_connection_logs_offset,
    get_connection_logs_page,
)
from connlog.generated.models import ConnectionStatus, ConnectionType
from connlog.purge import purge
from connlog.record import WEB_TYPES, ConnectionEvent, record_event, record_events

DAY: Final = datetime(2025, 3, 14, tzinfo=UTC)
# The platform the events happen in; inserted once (ON CONFLICT DO NOTHING keeps reruns quiet).
ORGS: Final = ((UUID(int=1), "acme", "Acme Corp"), (UUID(int=2), "globex", "Globex"))
USERS: Final = ((UUID(int=11), "alice"), (UUID(int=12), "bob"), (UUID(int=13), "carol"))
WORKSPACES: Final = (
    (UUID(int=21), UUID(int=11), UUID(int=1), "alice-dev"),
    (UUID(int=22), UUID(int=12), UUID(int=1), "bob-api"),
    (UUID(int=23), UUID(int=13), UUID(int=2), "carol-ml"),
)
INSERT_ORG: Final = """
    INSERT INTO organizations (id, name, display_name) VALUES (%s, %s, %s) ON CONFLICT DO NOTHING
"""
INSERT_USER: Final = """
    INSERT INTO users (id, username, email) VALUES (%s, %s, %s || '@example.com')
    ON CONFLICT DO NOTHING
"""
# Audit rows from before the connection log existed: connection events the purge clears out,
# and other actions it must leave alone.
AUDIT_ACTIONS: Final = ("connect", "disconnect", "open", "close", "login", "write")
INSERT_AUDIT_LOG: Final = """
    INSERT INTO audit_logs (id, time, user_id, organization_id, ip, resource_type, resource_id,
                            resource_target, action, status_code, request_id)
    VALUES (%s, %s, %s, %s, '10.0.0.1', 'workspace', %s, %s, %s, 200, %s)
    ON CONFLICT DO NOTHING
"""
INSERT_WORKSPACE: Final = """
    INSERT INTO workspaces (id, owner_id, organization_id, name) VALUES (%s, %s, %s, %s)
    ON CONFLICT DO NOTHING
"""


def a_day_of_events(seed: int = 2025) -> list[ConnectionEvent]:
    """Sessions of every type with their disconnects, web requests, all shuffled, some twice."""
    rnd = random.Random(seed)
    events: list[ConnectionEvent] = []
    for n in range(60):
        ws_id, owner_id, org_id, ws_name = rnd.choice(WORKSPACES)
        kind = list(ConnectionType)[n % len(ConnectionType)]
        web = kind in WEB_TYPES
        user_id = rnd.choice(USERS)[0]
        start = DAY + timedelta(minutes=rnd.randint(0, 24 * 60 - 1))
        event = ConnectionEvent(
            id=UUID(int=rnd.getrandbits(128), version=4),
            time=start,
            organization_id=org_id,
            workspace_owner_id=owner_id,
            workspace_id=ws_id,
            workspace_name=ws_name,
            agent_name="main",
            type=kind,
            connection_status=ConnectionStatus.CONNECTED,
            ip=ip_address(f"10.0.{rnd.randint(0, 3)}.{rnd.randint(1, 254)}"),
            code=rnd.choice([200, 200, 404]) if web else None,
            user_agent="Mozilla/5.0" if web else None,
            user_id=user_id if web else None,
            slug_or_port=("code-server" if kind is ConnectionType.WORKSPACE_APP else "8080")
            if web
            else None,
            connection_id=None if web else UUID(int=rnd.getrandbits(128), version=4),
        )
        events.append(event)
        if not web and rnd.random() < 0.75:  # the rest are still open at the end of the day
            events.append(
                replace(
                    event,
                    id=UUID(int=rnd.getrandbits(128), version=4),
                    time=start + timedelta(minutes=rnd.randint(1, 180)),
                    connection_status=ConnectionStatus.DISCONNECTED,
                    code=rnd.choice([0, 0, 1, 130]),
                    disconnect_reason=rnd.choice(["exited", "client closed", "agent restart"]),
                )
            )
    rnd.shuffle(events)  # disconnects before their connects, too
    return events + rnd.sample(events, 10)  # and some delivered twice


def old_audit_rows() -> list[tuple[object, ...]]:
    """Two audit rows of each action, early in the morning, as the old audit log kept them."""
    rows: list[tuple[object, ...]] = []
    for n, action in enumerate(AUDIT_ACTIONS * 2):
        ws_id, owner_id, org_id, ws_name = WORKSPACES[n % len(WORKSPACES)]
        at = DAY + timedelta(hours=n % 10)
        rows.append((UUID(int=1000 + n), at, owner_id, org_id, ws_id, ws_name, action, UUID(int=n)))
    return rows


def run(conn: psycopg.Connection[object]) -> None:
    """Record the day, then show the log through the generated functions."""
    with conn.cursor() as cur:
        cur.executemany(INSERT_ORG, ORGS)
        cur.executemany(INSERT_USER, [(i, name, name) for i, name in USERS])
        cur.executemany(INSERT_WORKSPACE, WORKSPACES)
        cur.executemany(INSERT_AUDIT_LOG, old_audit_rows())
    events = a_day_of_events()
    half = len(events) // 2
    # One call a transaction: separate calls in one transaction hold their sessions' locks
    # until its end, and deadlock with another writer taking them in the other order.
    for event in events[:half]:
        record_event(conn, event)
        conn.commit()
    rows = record_events(conn, events[half:])
    conn.commit()
    print(f"\nrecorded {len(events)} events ({half} one by one, the rest in one batch);")
    print(f"  the batch touched {len(rows)} rows")

    print("\nalice's open SSH/IDE sessions (status=ongoing, workspace_owner='ALICE'):")
    for row in get_connection_logs_offset(conn, workspace_owner="ALICE", status="ongoing"):
        log = row.connection_log
        when = f"{log.connect_time:%Y-%m-%d %H:%M %Z}"
        print(f"  {when}  {log.type:<16} {log.workspace_name:<10} {log.ip}")

    print("\nweb requests by bob (username='bob', types=workspace_app, port_forwarding):")
    web = get_connection_logs_offset(conn, username="bob", types=sorted(WEB_TYPES), limit=5)
    for row in web:
        log = row.connection_log
        print(
            f"  {log.connect_time:%Y-%m-%d %H:%M %Z}  {log.type:<16} {log.slug_or_port or '':<12} "
            f"HTTP {log.code}  in {row.organization_display_name}"
        )

    total = count_connection_logs(conn)
    capped = count_connection_logs(conn, count_cap=25)
    shown = "25+" if capped > 25 else str(capped)
    print(f"\ncount: {total} rows; with count_cap=25: {shown}")

    pages, cursor = 0, None
    while True:
        page = get_connection_logs_page(
            conn,
            after_connect_time=cursor.connect_time if cursor else None,
            after_id=cursor.id if cursor else None,
            limit=20,
        )
        if not page:
            break
        pages, cursor = pages + 1, page[-1].connection_log
    print(f"keyset paging, 20 a page: {pages} pages")

    globex = get_authorized_connection_logs_offset(
        conn, site_wide=False, readable_organization_ids=[ORGS[1][0]], limit=1000
    )
    print(f"a reader of Globex only sees {len(globex)} rows")

    conn.commit()
    result = purge(conn, before=DAY + timedelta(hours=12), batch_size=10)
    print(
        f"\npurged everything before noon: {result.connection_logs} connection logs, "
        f"{result.audit_logs} audit log connection events"
    )
    with conn.cursor(row_factory=scalar_row) as cur:
        kept = cur.execute("SELECT count(*) FROM audit_logs").fetchone()
    print(f"  audit log rows of other actions, kept: {kept}")
