"""A pytest plugin for the recipe test's inner run: every Hypothesis test tries a few examples.

The inner run asks whether the tests still work with one more migration. A test that spells out
a table's columns, or assumes which migration is the last, fails on its first example; the full
example counts (the outer run's) search for bugs in the code, which the new column cannot add.
"""

from __future__ import annotations

from typing import Final

import pytest
from hypothesis import settings

EXAMPLES: Final = 3
# Where @given reads its settings when the test runs (hypothesis/core.py): there is no public way
# to lower an explicit @settings(max_examples=...) from outside the test.
_SETTINGS: Final = "_hypothesis_internal_use_settings"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        test = getattr(item, "obj", None)
        if not getattr(test, "is_hypothesis_test", False):
            continue
        current = getattr(test, _SETTINGS, None)
        # Without it every example would run: slower, not wrong, but say so rather than drift.
        assert isinstance(current, settings), f"hypothesis keeps no {_SETTINGS} on {item.nodeid}"
        fewer = settings(current, max_examples=min(current.max_examples, EXAMPLES))
        setattr(test, _SETTINGS, fewer)
