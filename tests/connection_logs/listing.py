"""The listing side of the reference: which stored rows a reader and a set of filters select."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from uuid import UUID

from hypothesis import strategies as st

from connlog.generated.models import ConnectionLog, ConnectionType
from connlog.record import WEB_TYPES
from tests.connection_logs.world import T0, World

FILTERS = (
    "organization_id",
    "workspace_owner",
    "workspace_owner_id",
    "workspace_owner_email",
    "types",
    "user_id",
    "username",
    "user_email",
    "connected_after",
    "connected_before",
    "workspace_id",
    "connection_id",
    "status",
)


@dataclass(frozen=True, slots=True)
class Reader:
    site_wide: bool
    readable_organization_ids: list[UUID]

    def may_read(self, log: ConnectionLog) -> bool:
        return self.site_wide or log.organization_id in self.readable_organization_ids

    def params(self) -> dict[str, Any]:
        return {
            "site_wide": self.site_wide,
            "readable_organization_ids": self.readable_organization_ids,
        }


def matches(log: ConnectionLog, world: World, filters: Mapping[str, Any]) -> bool:
    """Whether ``log`` passes every filter, written from the queries' documentation."""
    owner = world.workspace(log.workspace_id).owner
    user = world.user(log.user_id)
    checks: dict[str, Callable[[Any], bool]] = {
        "organization_id": lambda v: log.organization_id == v,
        "workspace_owner": lambda v: owner.username.lower() == v.lower(),
        "workspace_owner_id": lambda v: log.workspace_owner_id == v,
        "workspace_owner_email": lambda v: owner.email.lower() == v.lower(),
        "types": lambda v: log.type in v,
        "user_id": lambda v: log.user_id == v,
        "username": lambda v: user is not None and user.username.lower() == v.lower(),
        "user_email": lambda v: user is not None and user.email.lower() == v.lower(),
        "connected_after": lambda v: log.connect_time >= v,
        "connected_before": lambda v: log.connect_time <= v,
        "workspace_id": lambda v: log.workspace_id == v,
        "connection_id": lambda v: log.connection_id == v,
        "status": lambda v: (
            log.type not in WEB_TYPES and (log.disconnect_time is None) == (v == "ongoing")
        ),
    }
    return all(checks[name](value) for name, value in filters.items() if value is not None)


def newest_first(logs: Sequence[ConnectionLog]) -> list[ConnectionLog]:
    return sorted(logs, key=lambda log: (log.connect_time, log.id), reverse=True)


def expected_listing(
    logs: Sequence[ConnectionLog],
    world: World,
    filters: Mapping[str, Any],
    reader: Reader | None = None,
) -> list[UUID]:
    chosen = [
        log
        for log in logs
        if matches(log, world, filters) and (reader is None or reader.may_read(log))
    ]
    return [log.id for log in newest_first(chosen)]


def _case(draw: st.DrawFn, text: str) -> str:
    return draw(st.sampled_from([text, text.upper(), text.lower()]))


@st.composite
def filter_values(draw: st.DrawFn, world: World, logs: Sequence[ConnectionLog], name: str) -> Any:
    """A value for one filter: usually one that occurs in the data, sometimes one that does not."""
    log = draw(st.sampled_from(logs)) if logs else None
    seconds = draw(st.integers(-1, 10))
    workspace = draw(st.sampled_from(world.workspaces))
    user = draw(st.sampled_from(world.users))
    values: dict[str, Any] = {
        "organization_id": log.organization_id if log else world.organizations[0].id,
        "workspace_owner": _case(draw, workspace.owner.username),
        "workspace_owner_id": workspace.owner.id,
        "workspace_owner_email": _case(draw, workspace.owner.email),
        "types": draw(st.lists(st.sampled_from(list(ConnectionType)), unique=True, max_size=3)),
        "user_id": user.id,
        "username": _case(draw, user.username),
        "user_email": _case(draw, user.email),
        # Exactly a stored time, often: the bounds are inclusive.
        "connected_after": log.connect_time
        if log and seconds < 0
        else T0 + timedelta(seconds=seconds),
        "connected_before": log.connect_time
        if log and seconds < 0
        else T0 + timedelta(seconds=seconds),
        "workspace_id": workspace.id,
        "connection_id": log.connection_id if log else None,
        "status": draw(st.sampled_from(["ongoing", "completed"])),
    }
    if draw(st.integers(0, 9)) == 0 and name not in ("types", "status"):
        return (
            draw(st.sampled_from([UUID(int=12345)]))
            if name.endswith("_id")
            else (values[name] if name.startswith("connected") else "nobody")
        )
    return values[name]


@st.composite
def some_filters(
    draw: st.DrawFn, world: World, logs: Sequence[ConnectionLog], *, at_most: int = 4
) -> dict[str, Any]:
    names = draw(st.lists(st.sampled_from(FILTERS), unique=True, max_size=at_most))
    return {name: draw(filter_values(world, logs, name)) for name in names}


@st.composite
def readers(draw: st.DrawFn, world: World) -> Reader:
    orgs = draw(st.lists(st.sampled_from([o.id for o in world.organizations]), unique=True))
    strangers = draw(st.lists(st.uuids(version=4), max_size=2))
    return Reader(site_wide=draw(st.booleans()), readable_organization_ids=[*orgs, *strangers])


def cursor(rows: list[Any]) -> dict[str, Any]:
    """The keyset cursor after the last row of the pages so far: none before the first page."""
    if not rows:
        return {}
    last = rows[-1].connection_log
    return {"after_connect_time": last.connect_time, "after_id": last.id}
