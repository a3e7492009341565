"""Where a project and its tools are: the nearest pyproject.toml, the ruff that formats.

Standard library only, for the fast path.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path


def find_pyproject(start: Path) -> Path | None:
    """The nearest pyproject.toml in ``start`` or a parent directory."""
    for directory in (start.resolve(), *start.resolve().parents):
        candidate = directory / "pyproject.toml"
        if candidate.is_file():
            return candidate
    return None


def ruff_command() -> list[str]:
    """How ``write`` runs ruff: the one installed beside this Python (the project's virtual
    environment) first, else whichever PATH finds, else ``python -m ruff``."""
    beside = Path(sys.executable).parent / "ruff"
    if beside.is_file():
        return [str(beside)]
    found = shutil.which("ruff")
    return [found] if found else [sys.executable, "-m", "ruff"]
