"""Safety at the call: mistakes PostgreSQL would accept silently are ValueErrors.

A naive datetime for a timestamptz would be read in the server's time zone; a
plain string that is not one of an enum's labels would fail later, at the
server, without naming the labels. Both are caught before anything is sent.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from connlog.codegen.database import migrate
from connlog.generated import _runtime
from tests.codegen.conftest import CASES, Compiled, bound_queries, import_generated

BULK = CASES / "bulk"
NAIVE = datetime(2024, 1, 1, 12, 0)


def test_naive_datetimes_and_unknown_labels_are_value_errors(
    compiled: Compiled, empty_db_url: str, flavor: str
) -> None:
    package = compiled(BULK)
    migrate.apply_all(empty_db_url, BULK / "migrations")
    sync = import_generated(package, "queries")
    models = import_generated(package, "models")

    def event(**changes: object) -> object:
        fields: dict[str, object] = {
            "id": 1,
            "at": datetime(2024, 1, 1, 12, 0, tzinfo=UTC),
            "level": models.Level.INFO,
            "source": __import__("uuid").UUID(int=1),
            "payload": None,
            "note": None,
        }
        return sync.LoadEventsParams(**{**fields, **changes})

    with bound_queries(package, "queries", empty_db_url, flavor) as q:
        with pytest.raises(ValueError, match="min_level='loud': expected a Level"):
            q.each("stream_events", lambda _: None, min_level="loud")
        # A label given as a plain string is fine, and so is an aware datetime.
        assert q.load_events([event(level="error")]) == 1
        levels: list[object] = []
        q.each("stream_events", lambda r: levels.append(r.level), min_level="info")
        assert levels == [models.Level.ERROR]
    # A bad row stops the COPY and leaves the transaction failed: one connection each.
    with (
        bound_queries(package, "queries", empty_db_url, flavor) as q,
        pytest.raises(
            ValueError,
            match=r"at=datetime\.datetime\(2024, 1, 1, 12, 0\): expected a datetime with a "
            r"time zone \(timestamptz\), not a naive one",
        ),
    ):
        q.load_events([event(id=2), event(id=3, at=NAIVE)])
    with (
        bound_queries(package, "queries", empty_db_url, flavor) as q,
        pytest.raises(
            ValueError,
            match=r"level='warning': expected a Level: one of 'debug', 'info', 'error'",
        ),
    ):
        q.load_events([event(id=4, level="warning")])
    with bound_queries(package, "queries", empty_db_url, flavor) as q:
        assert q.count_events() == 1


def test_an_aware_datetime_for_a_timestamp_or_a_datetime_for_a_date_is_refused() -> None:
    """PostgreSQL would shift the one into the server's local time and drop the other's time
    (``all_types``' insert_everything calls these for its timestamp and date parameters)."""
    aware = datetime(2024, 1, 1, 23, 30, tzinfo=UTC)
    with pytest.raises(ValueError, match=r"ts=.*: expected a datetime without a time zone"):
        _runtime.naive(aware, "ts")
    assert _runtime.naive(NAIVE, "ts") is NAIVE
    with pytest.raises(ValueError, match=r"d=.*: expected a date \(not a datetime"):
        _runtime.plain_date(aware, "d")
    assert _runtime.plain_date(date(2024, 1, 1), "d") == date(2024, 1, 1)
