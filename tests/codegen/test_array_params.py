"""Array parameters may hold None elements: SQL NULLs, never checked or converted.

Parameters are typed ``Sequence[T | None]`` (any sequence but a str, sent as a list); rows
``list[T | None]`` (any PostgreSQL array may hold NULLs, whatever its column's NOT NULL
says), and ``list[T]`` only where analysis proved the elements not NULL (``array_agg`` of a
NOT NULL column).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from connlog.codegen.database import migrate
from tests.codegen.conftest import CASES, Compiled, bound_queries, import_generated

CASE = CASES / "array_nulls"
AT = datetime(2024, 1, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def arrays(compiled: Compiled, empty_db_url: str) -> tuple[Path, str]:
    package = compiled(CASE)
    migrate.apply_all(empty_db_url, CASE / "migrations")
    return package, empty_db_url


def test_null_elements_round_trip(arrays: tuple[Path, str], flavor: str) -> None:
    package, url = arrays
    models = import_generated(package, "models")
    sync = import_generated(package, "queries")
    with bound_queries(package, "queries", url, flavor) as q:
        row: Any = q.insert_lists(
            id=1,
            moods=[models.Mood.HAPPY, None, "sad"],
            ints=[1, None, 3],
            texts=[None, "b"],
            times=[AT, None],
            docs=[{"a": 1}, None, "s"],
        )
        expected = models.List(
            1,
            [models.Mood.HAPPY, None, models.Mood.SAD],
            [1, None, 3],
            [None, "b"],
            [AT, None],
            [{"a": 1}, None, "s"],
        )
        assert row == expected
        assert q.get_lists(id=1) == expected
        # None is SQL NULL, not the JSON value null.
        assert q.first_null_doc(id=1) == 2

        q.set_lists([sync.SetListsParams(moods=[None], times=[None, AT], docs=[None], id=1)])
        got: Any = q.get_lists(id=1)
        assert (got.moods, got.times, got.docs) == ([None], [None, AT], [None])
        assert q.first_null_doc(id=1) == 1


def test_elements_are_still_checked(arrays: tuple[Path, str], flavor: str) -> None:
    package, url = arrays
    with bound_queries(package, "queries", url, flavor) as q:
        lists: dict[str, Any] = {"id": 1, "ints": [], "texts": [], "docs": []}
        # Each error names the element's position in its list.
        with pytest.raises(ValueError, match=r"times\[1\]=datetime\.datetime"):
            q.insert_lists(moods=[], times=[None, datetime(2024, 1, 1)], **lists)
        with pytest.raises(ValueError, match=r"moods\[1\]='meh': expected a Mood"):
            q.insert_lists(moods=[None, "meh"], times=[], **lists)


def test_any_sequence_is_an_array_but_a_str_is_refused(
    arrays: tuple[Path, str], flavor: str
) -> None:
    package, url = arrays
    with bound_queries(package, "queries", url, flavor) as q:
        lists: dict[str, Any] = {"id": 1, "moods": (), "times": (), "docs": ()}
        # A tuple is sent as an array (psycopg alone would send it as a record).
        row: Any = q.insert_lists(ints=(1, None), texts=("a",), **{**lists, "id": 2})
        assert (row.ints, row.texts, row.moods) == ([1, None], ["a"], [])
        # A str is a sequence of str: PostgreSQL would have parsed '{x,y}' as an array literal.
        with pytest.raises(ValueError, match=r"texts='\{x,y\}': expected a sequence"):
            q.insert_lists(ints=[], texts="{x,y}", **lists)
        with pytest.raises(ValueError, match=r"ints=5: expected a sequence"):
            q.insert_lists(ints=5, texts=[], **lists)


def test_parameter_and_row_annotations(arrays: tuple[Path, str]) -> None:
    package, _ = arrays
    text = (package / "queries.py").read_text()
    assert "moods: Sequence[Mood | MoodLabel | None]," in text
    assert "times: Sequence[datetime | None]," in text
    models = (package / "models.py").read_text()
    assert "moods: list[Mood | None]\n" in models
    assert "ids: list[int] | None\n" in text  # array_agg(id): elements proven, NULL over no rows
    assert "moods: list[Mood | None] | None\n" in text  # array_agg(moods): its elements' NULLs
