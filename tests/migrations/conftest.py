"""Fixtures of the migration tests."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.migrations.migration_support import MIGRATIONS_DIR


@pytest.fixture
def migrations_copy(tmp_path: Path) -> Path:
    """A scratch copy of migrations/ (with its sum file) to tamper with or add to."""
    copy = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS_DIR, copy)
    return copy
