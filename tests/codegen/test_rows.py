"""Generated rows: frozen slotted dataclasses, built by the query modules' loaders.

A loader builds a row with its class's fast constructor (``_runtime.builder``: a twin with a
plain ``__init__`` that hands the object over to the class) rather than dataclass's
``__init__`` (``object.__setattr__`` by name): what it builds must be exactly the row
``__init__`` builds, and a frozen dataclass of that very class in every other respect.
"""

from __future__ import annotations

import dataclasses
import pickle
from datetime import UTC, datetime
from enum import StrEnum
from ipaddress import ip_address
from uuid import UUID

import pytest

from connlog.generated import EnumDriftError
from connlog.generated._runtime import builder, enum_label
from connlog.generated.connection_logs import (
    GetConnectionLogsOffsetRow,
    _load_get_connection_logs_offset,  # pyright: ignore[reportPrivateUsage]
)
from connlog.generated.models import ConnectionLog, ConnectionType

AT = datetime(2025, 1, 2, 3, 4, tzinfo=UTC)


def _log(**changes: object) -> ConnectionLog:
    fields: dict[str, object] = {
        "id": UUID(int=1),
        "connect_time": AT,
        "organization_id": UUID(int=2),
        "workspace_owner_id": UUID(int=3),
        "workspace_id": UUID(int=4),
        "workspace_name": "dev",
        "agent_name": "main",
        "type": ConnectionType.SSH,
        "ip": ip_address("10.0.0.1"),
        "code": None,
        "user_agent": None,
        "user_id": None,
        "slug_or_port": None,
        "connection_id": UUID(int=5),
        "disconnect_time": None,
        "disconnect_reason": None,
    }
    return ConnectionLog(**{**fields, **changes})  # type: ignore[arg-type]


def test_every_field_is_set_by_name_and_by_position() -> None:
    log = _log()
    assert [getattr(log, f.name) for f in dataclasses.fields(log)][:3] == [
        UUID(int=1),
        AT,
        UUID(int=2),
    ]
    positional = ConnectionLog(*(getattr(log, f.name) for f in dataclasses.fields(log)))
    assert positional == log
    assert log.type is ConnectionType.SSH and log.agent_name == "main"


def test_rows_stay_frozen_hashable_and_comparable() -> None:
    log = _log()
    with pytest.raises(dataclasses.FrozenInstanceError):
        log.agent_name = "other"  # type: ignore[misc]
    assert not hasattr(log, "__dict__")  # slotted: no attribute can be added either
    assert log == _log() and hash(log) == hash(_log())
    assert log != _log(agent_name="other")
    assert dataclasses.replace(log, code=7).code == 7
    assert repr(log).startswith("ConnectionLog(id=UUID(")


def test_rows_pickle_and_nest() -> None:
    row = GetConnectionLogsOffsetRow(_log(), None, None, None, "ada", "acme", "Acme", "")
    assert pickle.loads(pickle.dumps(row)) == row
    assert row.connection_log.type is ConnectionType.SSH
    with pytest.raises(TypeError, match="missing 1 required positional argument"):
        GetConnectionLogsOffsetRow(_log(), None, None, None, "ada", "acme", "Acme")  # type: ignore[call-arg]


def test_a_loader_builds_what_init_builds_and_names_an_unknown_label() -> None:
    log = _log(type=ConnectionType.WORKSPACE_APP, code=200)
    rest = ("bob", "Bob", "bob@example.com", "ada", "acme", "Acme", "icon")
    values = tuple(getattr(log, f.name) for f in dataclasses.fields(log))
    loaded = _load_get_connection_logs_offset((*values[:7], "workspace_app", *values[8:], *rest))
    assert loaded == GetConnectionLogsOffsetRow(log, *rest)
    assert type(loaded.connection_log.type) is ConnectionType
    # Of the class itself, not of the twin that built it: frozen, hashed, pickled as one.
    assert (
        type(loaded) is GetConnectionLogsOffsetRow and type(loaded.connection_log) is ConnectionLog
    )
    with pytest.raises(dataclasses.FrozenInstanceError):
        loaded.connection_log.code = 1  # type: ignore[misc]
    assert hash(loaded) == hash(GetConnectionLogsOffsetRow(log, *rest))
    assert pickle.loads(pickle.dumps(loaded)) == loaded
    assert dataclasses.replace(loaded, user_name="Eve").user_name == "Eve"
    assert loaded != (log, *rest)  # type: ignore[comparison-overlap]  # equal only to its class
    with pytest.raises(EnumDriftError, match=r"connection_logs\.type of query GetConnect.*'rdp'"):
        _load_get_connection_logs_offset((*values[:7], "rdp", *values[8:], *rest))


def test_a_builder_refuses_a_class_without_slots() -> None:
    @dataclasses.dataclass(frozen=True)
    class Plain:
        x: int

    with pytest.raises(AssertionError, match="Plain has no slots"):
        builder(Plain)


def test_an_enum_label_loads_and_drifts_from_the_first_use_on() -> None:
    class Mood(StrEnum):
        CALM = "calm"

    # The first use of an enum builds its look-up: an unknown label then is drift as well.
    with pytest.raises(EnumDriftError, match=r"moods\.mood.*'angry'"):
        enum_label(Mood, "angry", "moods.mood")
    assert enum_label(Mood, "calm", "moods.mood") is Mood.CALM

    class Other(StrEnum):
        EMPTY = ""

    assert enum_label(Other, "", "others.other") is Other.EMPTY  # a falsy member, first use
