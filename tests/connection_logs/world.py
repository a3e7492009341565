"""The platform around the connection log (organizations, users, workspaces), the events that
happen in it, and a plain-Python reference of how events become rows and how rows are listed.

The reference is written from the rules in queries/connection_logs.sql, not from its SQL: the
tests compare the two.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, fields, replace
from datetime import UTC, datetime, timedelta
from ipaddress import IPv4Address, IPv6Address, ip_address
from typing import Any, Final
from uuid import UUID

import psycopg
from hypothesis import strategies as st
from psycopg import sql

from connlog.generated.models import ConnectionLog, ConnectionStatus, ConnectionType
from connlog.record import WEB_TYPES, ConnectionEvent, is_web

CONNECTED: Final = ConnectionStatus.CONNECTED
DISCONNECTED: Final = ConnectionStatus.DISCONNECTED
SESSION_TYPES: Final = tuple(t for t in ConnectionType if t not in WEB_TYPES)
WEB: Final = tuple(t for t in ConnectionType if t in WEB_TYPES)
T0: Final = datetime(2024, 5, 1, tzinfo=UTC)
# A purge cutoff halfway through example_events' ten hours: some of their rows are older.
CUTOFF: Final = T0 + timedelta(hours=5)

INSERT_ORGANIZATION: Final = (
    "INSERT INTO organizations (id, name, display_name, icon) VALUES (%s, %s, %s, %s)"
)
INSERT_USER: Final = "INSERT INTO users (id, username, email, name) VALUES (%s, %s, %s, %s)"
INSERT_WORKSPACE: Final = (
    "INSERT INTO workspaces (id, owner_id, organization_id, name) VALUES (%s, %s, %s, %s)"
)
# Rows are read by column name, the model's own fields: a column a later migration adds, or a
# physical order changed by dropping and re-adding one, never shifts a value.
_LOG_FIELDS: Final = tuple(field.name for field in fields(ConnectionLog))
ALL_LOGS: Final = sql.SQL("SELECT {} FROM connection_logs ORDER BY id").format(
    sql.SQL(", ").join(map(sql.Identifier, _LOG_FIELDS))
)


# The purge's advisory lock held in this test's database (TryLockPurge's key as pg_locks splits
# a bigint key); other runs on the shared server, and every session writer, hold locks of
# their own.
PURGE_LOCK_HELD: Final = """
    SELECT count(*) FROM pg_locks
    WHERE locktype = 'advisory' AND granted AND objsubid = 1
        AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
        AND classid::bigint = 27988542784040807 >> 32
        AND objid::bigint = 27988542784040807 & 4294967295
"""


@dataclass(frozen=True, slots=True)
class Organization:
    id: UUID
    name: str
    display_name: str
    icon: str


@dataclass(frozen=True, slots=True)
class User:
    id: UUID
    username: str
    email: str
    name: str


@dataclass(frozen=True, slots=True)
class Workspace:
    id: UUID
    name: str
    owner: User
    organization: Organization


@dataclass(frozen=True, slots=True)
class World:
    organizations: tuple[Organization, ...]
    users: tuple[User, ...]
    workspaces: tuple[Workspace, ...]

    def user(self, user_id: UUID | None) -> User | None:
        return next((u for u in self.users if u.id == user_id), None)

    def organization(self, organization_id: UUID) -> Organization:
        return next(o for o in self.organizations if o.id == organization_id)

    def workspace(self, workspace_id: UUID) -> Workspace:
        return next(w for w in self.workspaces if w.id == workspace_id)


def make_world(
    conn: psycopg.Connection[Any],
    *,
    seed: int = 0,
    organizations: int = 3,
    users: int = 5,
    workspaces: int = 6,
    usernames: Sequence[str] = (),
) -> World:
    """Insert a small platform; ``usernames`` replace the first users' plain names."""
    rnd = random.Random(seed)

    def uid() -> UUID:
        return UUID(int=rnd.getrandbits(128), version=4)

    orgs = tuple(
        Organization(uid(), f"org-{i}", f"Organization {i}", f"/icons/{i}.svg")
        for i in range(organizations)
    )
    names = [*usernames, *(f"User{i}" for i in range(len(usernames), users))]
    people = tuple(User(uid(), n, f"{n}@Example.com", f"Name of {n}") for n in names)
    spaces = tuple(
        Workspace(uid(), f"ws-{i}", rnd.choice(people), rnd.choice(orgs)) for i in range(workspaces)
    )
    with conn.cursor() as cur:
        cur.executemany(INSERT_ORGANIZATION, [(o.id, o.name, o.display_name, o.icon) for o in orgs])
        cur.executemany(INSERT_USER, [(u.id, u.username, u.email, u.name) for u in people])
        cur.executemany(
            INSERT_WORKSPACE, [(w.id, w.owner.id, w.organization.id, w.name) for w in spaces]
        )
    return World(orgs, people, spaces)


def stored_logs(conn: psycopg.Connection[Any]) -> list[tuple[Any, ...]]:
    """Every stored row, as plain tuples in id order."""
    return list(conn.execute(ALL_LOGS).fetchall())


@contextmanager
def fresh(db: psycopg.Connection[Any]) -> Iterator[None]:
    """An empty connection log for one hypothesis example, rolled back afterwards."""
    with db.transaction(force_rollback=True):
        db.execute("DELETE FROM connection_logs")
        yield


def stored(db: psycopg.Connection[Any]) -> list[ConnectionLog]:
    return [ConnectionLog(*row) for row in db.execute(ALL_LOGS)]


# --- events -------------------------------------------------------------------------------------

IPS: Final[tuple[IPv4Address | IPv6Address | None, ...]] = (
    None,
    ip_address("10.0.0.1"),
    ip_address("10.0.0.2"),
    ip_address("::1"),
)


@st.composite
def session_events(
    draw: st.DrawFn, world: World, *, connection_id: UUID | None = None
) -> list[ConnectionEvent]:
    """The distinct events of one SSH/IDE session: at least one connect or disconnect.

    Respects the assumption queries/connection_logs.sql states: no connect is later than a
    disconnect of the same session. Times come from few values, so exact ties happen.
    """
    workspace = draw(st.sampled_from(world.workspaces))
    cid = connection_id or draw(st.uuids(version=4))
    agent = draw(st.sampled_from(["main", "dev"]))
    connects = draw(st.lists(st.integers(0, 3), max_size=3))
    latest_connect = max(connects, default=0)
    disconnects = draw(
        st.lists(st.integers(latest_connect, latest_connect + 3), max_size=3, min_size=not connects)
    )

    def event(seconds: int, status: ConnectionStatus) -> ConnectionEvent:
        ending = status is DISCONNECTED
        return ConnectionEvent(
            id=draw(st.uuids(version=4)),
            time=T0 + timedelta(seconds=seconds),
            organization_id=workspace.organization.id,
            workspace_owner_id=workspace.owner.id,
            workspace_id=workspace.id,
            # Agents describe a session the same way on each event, nearly always: vary a
            # little, so the tie rules for disagreeing events are exercised too.
            workspace_name=draw(st.sampled_from([workspace.name, workspace.name.upper()])),
            agent_name=agent,
            type=draw(st.sampled_from(SESSION_TYPES[:2])),
            connection_status=status,
            ip=draw(st.sampled_from(IPS)),
            code=draw(st.sampled_from([None, 0, 1, 255])) if ending else None,
            # A session has no connecting user, agent string or app; one sent anyway is not kept.
            user_agent=draw(st.sampled_from([None, None, "OpenSSH_9.6"])),
            user_id=draw(st.sampled_from((None, None, *(u.id for u in world.users)))),
            slug_or_port=draw(st.sampled_from([None, None, "22"])),
            connection_id=cid,
            disconnect_reason=draw(st.sampled_from([None, "", "exit", "timeout"]))
            if ending
            else None,
        )

    return [event(s, CONNECTED) for s in connects] + [event(s, DISCONNECTED) for s in disconnects]


@st.composite
def web_event(draw: st.DrawFn, world: World) -> ConnectionEvent:
    workspace = draw(st.sampled_from(world.workspaces))
    user = draw(st.sampled_from((None, *world.users)))
    return ConnectionEvent(
        id=draw(st.uuids(version=4)),
        time=T0 + timedelta(seconds=draw(st.integers(0, 5))),
        organization_id=workspace.organization.id,
        workspace_owner_id=workspace.owner.id,
        workspace_id=workspace.id,
        workspace_name=workspace.name,
        agent_name="main",
        type=draw(st.sampled_from(WEB)),
        connection_status=draw(st.sampled_from([CONNECTED, DISCONNECTED])),
        ip=draw(st.sampled_from(IPS)),
        code=draw(st.sampled_from([None, 200, 404, 502])),
        user_agent=draw(st.sampled_from([None, "curl/8", "Mozilla/5.0"])),
        user_id=None if user is None else user.id,
        slug_or_port=draw(st.sampled_from([None, "code-server", "8080"])),
        # Web events carry no connection id; one that does anyway must still not merge.
        connection_id=draw(st.sampled_from([None, None, UUID(int=7)])),
    )


def deliveries(events: Sequence[ConnectionEvent]) -> st.SearchStrategy[list[ConnectionEvent]]:
    """Every event at least once, some twice or three times, in any order."""
    return st.lists(st.sampled_from(events), max_size=len(events) + 3).flatmap(
        lambda repeats: st.permutations([*events, *repeats])
    )


# --- the reference ------------------------------------------------------------------------------

_TYPE_ORDER: Final = {t: i for i, t in enumerate(ConnectionType)}


def _last(value: Any) -> tuple[bool, Any]:
    """A sort key putting None after every value (NULLS LAST)."""
    return (value is None, value if value is not None else 0)


def _ip_key(ip: IPv4Address | IPv6Address | None) -> tuple[bool, Any]:
    return _last(None if ip is None else (ip.version, int(ip)))


def row_id(event: ConnectionEvent) -> UUID:
    if is_web(event) or event.connection_id is None:
        return event.id
    key = f"{event.connection_id}/{event.workspace_id}/{event.agent_name}"
    return UUID(hashlib.md5(key.encode()).hexdigest())


def expected_logs(events: Iterable[ConnectionEvent]) -> list[ConnectionLog]:
    """The rows the stored log should hold after seeing ``events``, in id order."""
    groups: dict[UUID, list[ConnectionEvent]] = {}
    for event in events:
        groups.setdefault(row_id(event), []).append(event)
    return [_merge(rid, group) for rid, group in sorted(groups.items())]


def _merge(rid: UUID, group: list[ConnectionEvent]) -> ConnectionLog:
    def descriptive(e: ConnectionEvent) -> tuple[Any, ...]:
        return (
            _TYPE_ORDER[ConnectionType(e.type)],
            e.organization_id,
            e.workspace_owner_id,
            e.workspace_id,
            e.workspace_name,  # str order is code point order, which is UTF-8 byte order
            e.agent_name,
            _ip_key(e.ip),
            _last(e.user_agent if is_web(e) else None),
            _last(e.user_id if is_web(e) else None),
            _last(e.slug_or_port if is_web(e) else None),
            _last(e.code if is_web(e) else None),
        )

    first = min(group, key=descriptive)
    ends = [e for e in group if not is_web(e) and e.connection_status is DISCONNECTED]
    ended = min(
        ends, key=lambda e: (e.time, _last(e.disconnect_reason), _last(e.code)), default=None
    )
    decided: dict[str, Any] = dict(
        id=rid,
        connect_time=min(e.time for e in group),
        organization_id=first.organization_id,
        workspace_owner_id=first.workspace_owner_id,
        workspace_id=first.workspace_id,
        workspace_name=first.workspace_name,
        agent_name=first.agent_name,
        type=first.type,
        ip=first.ip,
        code=first.code if is_web(first) else (ended.code if ended else None),
        user_agent=first.user_agent if is_web(first) else None,
        user_id=first.user_id if is_web(first) else None,
        slug_or_port=first.slug_or_port if is_web(first) else None,
        connection_id=None if is_web(first) else first.connection_id,
        disconnect_time=ended.time if ended else None,
        disconnect_reason=ended.disconnect_reason if ended else None,
    )
    # A column a later migration added (nullable, no default): recording never writes it.
    later: dict[str, Any] = {name: None for name in _LOG_FIELDS if name not in decided}
    return ConnectionLog(**decided, **later)


def new_session_connect(
    rnd: random.Random, workspace: Workspace, time: datetime
) -> ConnectionEvent:
    """The connect of a new SSH/IDE session on ``workspace`` at ``time`` (random ids and agent)."""
    return ConnectionEvent(
        id=UUID(int=rnd.getrandbits(128), version=4),
        time=time,
        organization_id=workspace.organization.id,
        workspace_owner_id=workspace.owner.id,
        workspace_id=workspace.id,
        workspace_name=workspace.name,
        agent_name=rnd.choice(["main", "dev"]),
        type=rnd.choice(SESSION_TYPES),
        connection_status=CONNECTED,
        connection_id=UUID(int=rnd.getrandbits(128), version=4),
    )


def random_id(rnd: random.Random) -> UUID:
    return UUID(int=rnd.getrandbits(128), version=4)


def disconnect_of(
    connect: ConnectionEvent,
    event_id: UUID,
    time: datetime,
    *,
    code: int | None,
    reason: str | None = None,
) -> ConnectionEvent:
    """The event ending ``connect``'s session at ``time``: the same session and agent, an event
    id of its own, the exit ``code`` and ``reason``."""
    return replace(
        connect,
        id=event_id,
        time=time,
        connection_status=DISCONNECTED,
        code=code,
        disconnect_reason=reason,
    )


# --- plain examples, for tests that need data but no search ------------------------------------


def example_events(
    world: World, *, sessions: int, web: int, seed: int = 0
) -> list[ConnectionEvent]:
    """``sessions`` sessions (a connect, and for most a disconnect) and ``web`` web events."""
    rnd = random.Random(seed)
    events: list[ConnectionEvent] = []
    for i in range(sessions + web):
        workspace = rnd.choice(world.workspaces)
        user = rnd.choice((None, *world.users))
        web_kind = i >= sessions
        event = ConnectionEvent(
            id=UUID(int=rnd.getrandbits(128), version=4),
            time=T0 + timedelta(minutes=rnd.randint(0, 600)),
            organization_id=workspace.organization.id,
            workspace_owner_id=workspace.owner.id,
            workspace_id=workspace.id,
            workspace_name=workspace.name,
            agent_name="main",
            type=rnd.choice(WEB if web_kind else SESSION_TYPES),
            connection_status=CONNECTED,
            ip=rnd.choice(IPS),
            code=200 if web_kind else None,
            user_agent="Mozilla/5.0" if web_kind else None,
            user_id=user.id if web_kind and user else None,
            slug_or_port="code-server" if web_kind else None,
            connection_id=None if web_kind else UUID(int=rnd.getrandbits(128), version=4),
        )
        events.append(event)
        if not web_kind and rnd.random() < 0.7:
            events.append(
                disconnect_of(
                    event,
                    random_id(rnd),
                    event.time + timedelta(minutes=rnd.randint(0, 90)),
                    code=rnd.choice([0, 1, 130]),
                    reason=rnd.choice(["exit", "timeout", None]),
                )
            )
    return events
