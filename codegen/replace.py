"""Replacing a file whole: a reader (or a run interrupted mid-write) never sees half of it.

Standard library only, imported where a run writes: the fingerprint's fast path imports
nothing it does not use.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path


def replace_text(path: Path, text: str) -> None:
    """``replace_bytes`` of ``text`` in UTF-8 (its ``\\n`` line ends as they are)."""
    replace_bytes(path, text.encode("utf-8"))


def replace_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` by renaming a finished file over it; on any failure ``path``
    is as it was, and no temporary file is left beside it. The file keeps its mode (a new one
    gets what ``open`` would give it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
        os.chmod(temporary, _mode(path))
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


def _mode(path: Path) -> int:
    try:
        return stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask
