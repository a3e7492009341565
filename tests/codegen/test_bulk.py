""":copyfrom, :iter and :batch* against PostgreSQL, sync and async.

100,000 rows go in through binary COPY from a generator and come back out
through a server-side cursor; neither side ever holds them all.
"""

from __future__ import annotations

import tracemalloc
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest

from connlog.codegen.database import migrate
from tests.codegen.conftest import CASES, Compiled, bound_queries, import_generated

BULK = CASES / "bulk"
ROWS = 10_000  # the whole result is some 5 MB; a stream and a COPY hold about 100 KB and 50 KB
START = datetime(2024, 1, 1, tzinfo=UTC)


@pytest.fixture
def bulk(compiled: Compiled, empty_db_url: str) -> tuple[Path, str]:
    package = compiled(BULK)
    migrate.apply_all(empty_db_url, BULK / "migrations")
    return package, empty_db_url


def _events(sync: Any, models: Any, count: int) -> Iterator[Any]:
    levels = list(models.Level)
    source = uuid.UUID(int=7)
    for n in range(count):
        yield sync.LoadEventsParams(
            id=n,
            at=START + timedelta(seconds=n),
            level=levels[n % 3],
            source=source,
            payload={"n": n} if n % 2 else None,
            note=None if n % 5 else f"note {n}",
        )


def _peak(action: Callable[[], object]) -> int:
    tracemalloc.start()
    try:
        action()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.slow
def test_copyfrom_and_iter_stream_10k_rows_in_bounded_memory(
    bulk: tuple[Path, str], flavor: str
) -> None:
    package, url = bulk
    sync = import_generated(package, "queries")
    models = import_generated(package, "models")
    with bound_queries(package, "queries", url, flavor) as q:
        # COPY from a generator: the rows are made one at a time as COPY sends them.
        loaded = 0

        def load() -> None:
            nonlocal loaded
            loaded = q.load_events(_events(sync, models, ROWS))

        copy_peak = _peak(load)
        assert loaded == ROWS
        assert q.count_events() == ROWS

        seen = 0
        cursors: list[tuple[Any, ...]] = []

        def visit(event: Any) -> None:
            nonlocal seen
            if seen == 0:
                first = models.Event(0, START, models.Level.DEBUG, uuid.UUID(int=7), None, "note 0")
                assert event == first
            assert event.id == seen
            seen += 1

        def stream() -> None:
            cursors.extend(q.each("stream_all", visit, probe="SELECT name FROM pg_cursors"))

        stream_peak = _peak(stream)
        assert seen == ROWS
        assert [name for (name,) in cursors] == [cursors[0][0]]
        assert str(cursors[0][0]).startswith("stream_all_"), "a server-side cursor streams"

        everything = _peak(lambda: q.list_all())
        # The whole result as a list is tens of megabytes; a stream holds a few fetches.
        assert stream_peak < everything / 20, (stream_peak, everything)
        assert copy_peak < everything / 20, (copy_peak, everything)

        levels: list[Any] = []
        q.each("stream_events", lambda r: levels.append(r.level), min_level=models.Level.ERROR)
        assert len(levels) == ROWS // 3 and set(levels) == {models.Level.ERROR}


def test_batches_in_one_pipeline(bulk: tuple[Path, str], flavor: str) -> None:
    package, url = bulk
    sync = import_generated(package, "queries")
    models = import_generated(package, "models")
    with bound_queries(package, "queries", url, flavor) as q:
        assert q.load_events(_events(sync, models, 10)) == 10
        assert q.load_events([]) == 0
        assert q.set_notes(sync.SetNotesParams(note=f"n{i}", id=i) for i in (1, 2, 99)) is None
        assert q.set_notes([]) is None
        got: list[Any] = q.get_events([sync.GetEventsParams(id=i) for i in (2, 99, 1)])
        assert [None if e is None else (e.id, e.note) for e in got] == [
            (2, "n2"),
            None,
            (1, "n1"),
        ]
        assert isinstance(got[0], models.Event) and got[0].payload is None
        assert q.get_events([]) == []
        ranges: list[list[Any]] = q.events_between(
            [sync.EventsBetweenParams(low=2, high=4), sync.EventsBetweenParams(low=50, high=60)]
        )
        assert ranges == [[2, 3, 4], []]
        assert q.events_between([]) == []
        ids: list[int] = []
        q.each("stream_all", lambda e: ids.append(e.id))
        assert ids == list(range(10))


def test_params_are_frozen_and_keyword_only(bulk: tuple[Path, str]) -> None:
    package, _ = bulk
    sync = import_generated(package, "queries")
    with pytest.raises(TypeError):
        sync.SetNotesParams("x", 1)
    params = sync.SetNotesParams(note="x", id=1)
    with pytest.raises(AttributeError):
        params.id = 2


def test_params_rows_are_sent_as_one_array_per_field(bulk: tuple[Path, str], flavor: str) -> None:
    package, url = bulk
    sync = import_generated(package, "queries")
    models = import_generated(package, "models")
    params = [
        sync.EventRowsParams(id=1, at=START, level=models.Level.INFO, note="a"),
        sync.EventRowsParams(id=2, at=START, level="error"),  # a label; note left out: None
    ]
    with bound_queries(package, "queries", url, flavor) as q:
        assert q.event_rows(params) == [
            sync.EventRowsRow(1, START, models.Level.INFO, "a"),
            sync.EventRowsRow(2, START, models.Level.ERROR, None),
        ]
        assert q.event_rows(()) == []
        naive = sync.EventRowsParams(id=3, at=datetime(2024, 1, 1), level="info")
        at = r"^params\[2\]\.at=datetime\.datetime\(2024, 1, 1, 0, 0\)"
        with pytest.raises(ValueError, match=at):
            q.event_rows([*params, naive])
        with pytest.raises(ValueError, match=r"^params\[0\]\.level='loud': expected a Level"):
            q.event_rows([sync.EventRowsParams(id=4, at=START, level="loud")])
        # Each field is read once per row: a one-shot iterator would leave later arrays empty.
        with pytest.raises(ValueError, match=r"params=<generator .*: expected a sequence"):
            q.event_rows(p for p in params)


def test_a_refused_parameter_set_is_named_by_its_position(
    bulk: tuple[Path, str], flavor: str
) -> None:
    """A batch of many sets with one bad value says which set, whatever the batch command."""
    package, url = bulk
    sync = import_generated(package, "queries")
    runtime = import_generated(package, "_runtime")
    events = list(_events(sync, import_generated(package, "models"), 5))
    events[3] = sync.LoadEventsParams(**{**vars_of(events[3]), "at": datetime(2024, 1, 1)})
    with bound_queries(package, "queries", url, flavor) as q:
        with pytest.raises(runtime.ArgumentError, match=r"^params\[3\]\.at=") as refused:
            q.load_events(iter(events))
        assert refused.value.parameter == "params[3].at"
        assert refused.value.value == datetime(2024, 1, 1)
    with psycopg.connect(url) as check:  # the COPY was aborted: nothing of the batch is stored
        assert check.execute("SELECT count(*) FROM events").fetchone() == (0,)
    since = [
        sync.EventsSinceParams(since=START),
        sync.EventsSinceParams(since=START.replace(tzinfo=None)),
    ]
    with bound_queries(package, "queries", url, flavor) as q:
        with pytest.raises(runtime.ArgumentError, match=r"^params\[1\]\.since=.*time zone"):
            q.events_since(since)
        assert q.events_since(since[:1]) == [[]]


def vars_of(params: Any) -> dict[str, Any]:
    """The fields of a slotted Params object, by name."""
    return {name: getattr(params, name) for name in type(params).__slots__}
