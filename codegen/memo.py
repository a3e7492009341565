"""A run's local memos: what the last run made, kept to be reused by the next.

One file per kind and out directory, beside the fingerprint stamps
(``$XDG_CACHE_HOME/codegen/<kind>/``), rewritten with exactly a run's entries whenever
they differ from the last run's (its callers compare the keys), so it never grows. Each
entry is keyed by the caller over everything it is made from; a key that matches is
taken as it was. A lost, unreadable or foreign memo (another version) only costs making
everything again: it is never an error.

The file is a pickle: it holds the generator's own plain dataclasses, it is written
(0600, through a temporary file and a rename) and read only by this user's runs, and
every key covers the generator's source, so a changed generator never reads an older
generator's objects.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import typing
from pathlib import Path

from connlog.codegen import fingerprint
from connlog.codegen.replace import replace_bytes


def path(kind: str, out: Path) -> Path:
    """Where the memo of ``kind`` for the out directory ``out`` lives."""
    name = hashlib.sha256(os.fsencode(out.resolve())).hexdigest()[:32]
    return fingerprint.cache_directory() / kind / f"{name}.pickle"


def load(kind: str, out: Path, version: int) -> dict[str, object]:
    """The entries the last run saved, or none when there is no usable memo."""
    try:
        with path(kind, out).open("rb") as handle:
            document = pickle.load(handle)
    except Exception:
        # Missing, truncated, or pickled by objects that are gone: unpickling can raise
        # almost anything, and every one of them is only a miss, never an error of the run.
        return {}
    if not isinstance(document, tuple) or len(typing.cast(tuple[object, ...], document)) != 2:
        return {}
    saved_version, entries = typing.cast(tuple[object, object], document)
    if saved_version != version or not isinstance(entries, dict):
        return {}
    return {str(key): value for key, value in typing.cast(dict[object, object], entries).items()}


def save(kind: str, out: Path, version: int, entries: dict[str, object]) -> None:
    """Replace the memo with ``entries``; silently nothing when the cache is not writable."""
    try:
        data = pickle.dumps((version, entries), protocol=pickle.HIGHEST_PROTOCOL)
        replace_bytes(path(kind, out), data)
    except OSError:
        pass  # no writable cache: the next run makes everything again
