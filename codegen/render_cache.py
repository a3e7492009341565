"""Render and format only what changed: the last run's files, reused when made from the same.

After one query is edited, only its module and that module's aio twin can come
out different, yet rendering every module with Jinja and formatting them all
with ruff was most of such a run. So each file's formatted text is remembered
under a key over everything it is made from:

- the generator: every ``.py`` and ``.j2`` file of the package (the plan, the
  templates, render, the formatting step), the Python and the installed tools
  running it (jinja2, and the ruff that formats: where, size, when written);
- what ruff formats with: the pyproject.toml's bytes, the line length;
- the file's name, its template, and the template's variables, pickled in full
  (every dataclass field, whatever its repr; mappings in iteration order, so a
  different order is a different key, never the same one).

A file whose key is remembered is taken as it was; the others are rendered and
formatted, by one ruff run as before. The memo is local, beside the fingerprint
stamps (``$XDG_CACHE_HOME/codegen/rendered``), one per out directory, rewritten
with exactly the files of a run when they changed: a lost or unreadable memo only
costs a render of everything.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import pickle
from collections.abc import Sequence
from pathlib import Path
from typing import Final

from connlog.codegen import memo as memo_file
from connlog.codegen import write
from connlog.codegen.python.render import Job, RenderedFile, render_job

_MEMO_KIND: Final = "rendered"
_MEMO_VERSION: Final = 2  # 1 was JSON


@dataclasses.dataclass(frozen=True, slots=True)
class Finished:
    files: tuple[RenderedFile, ...]  # formatted, in the order of the jobs
    rendered: int  # of them, rendered and formatted by this run (the others remembered)


def finish(
    jobs: Sequence[Job], *, out: Path, project: Path | None, line_length: int, generator: str
) -> Finished:
    """Every job's file, formatted: remembered when its key is, else rendered now.

    ``generator`` is ``fingerprint.generator_identity()``.
    """
    environment = _environment(project, line_length, generator)
    keys = [_key(job, environment) for job in jobs]
    memo = {
        key: text
        for key, text in memo_file.load(_MEMO_KIND, out, _MEMO_VERSION).items()
        if isinstance(text, str)
    }
    todo = [job for job, key in zip(jobs, keys, strict=True) if key not in memo]
    fresh = {
        file.name: file.text
        for file in write.finish(
            [render_job(job) for job in todo], project=project, line_length=line_length
        )
    }
    files = tuple(
        RenderedFile(job.name, memo[key] if key in memo else fresh[job.name])
        for job, key in zip(jobs, keys, strict=True)
    )
    if set(keys) != memo.keys():  # the same keys are the same texts: nothing to write
        memo_file.save(
            _MEMO_KIND,
            out,
            _MEMO_VERSION,
            {key: file.text for key, file in zip(keys, files, strict=True)},
        )
    return Finished(files, len(todo))


def _environment(project: Path | None, line_length: int, generator: str) -> str:
    settings = b"" if project is None else project.read_bytes()
    return json.dumps([generator, hashlib.sha256(settings).hexdigest(), line_length])


def _key(job: Job, environment: str) -> str:
    """sha256 over the job in full, pickled: every dataclass field whatever its repr, each
    value with its type, mappings in iteration order.

    Without pickle's memo (``fast``), so the bytes follow from the values alone, not from
    which of them happen to be one object: a query decoded from the manifest and the same
    query just described give one key. No template variable is a set (whose order would
    differ from one process to the next: tests/codegen/test_render_cache.py checks).
    """
    buffer = io.BytesIO()
    pickler = pickle.Pickler(buffer, protocol=5)
    # Documented as deprecated, kept by CPython all along; test_render_cache checks that keys
    # hold across processes. A job's variables are a tree, never a cycle (which fast refuses).
    pickler.fast = True
    pickler.dump((environment, job.name, job.template, job.context))
    return hashlib.sha256(buffer.getbuffer()).hexdigest()
