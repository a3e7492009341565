"""Where a project is: the nearest pyproject.toml. Standard library only, for the fast path."""

from __future__ import annotations

from pathlib import Path


def find_pyproject(start: Path) -> Path | None:
    """The nearest pyproject.toml in ``start`` or a parent directory."""
    for directory in (start.resolve(), *start.resolve().parents):
        candidate = directory / "pyproject.toml"
        if candidate.is_file():
            return candidate
    return None
