"""Parse only the query files that changed: the others' queries as the last run parsed them.

After one query is edited the other files are the same text, yet parsing every file
again (pglast, the placeholders, the annotations) was a fifth of a warm run. Each
file's parsed queries are remembered (``codegen.memo``) under a key over the file's
shown path and text and the generator itself (its source, the Python, pglast: the
fingerprint's digest and environment). A file with problems is parsed every run:
its errors are made fresh, and a clean file is the case worth keeping.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Final, cast

from connlog.codegen import memo
from connlog.codegen.model import CodegenError, ParsedQuery, SourceFile
from connlog.codegen.parsing import parse

_KIND: Final = "parsed"
_VERSION: Final = 1


def parse_files(
    sources: Sequence[SourceFile], out: Path, generator: str
) -> tuple[list[ParsedQuery], list[CodegenError]]:
    """Every query of ``sources`` that parses, and every problem of the others, as
    ``parse.parse_queries`` gives them file by file; ``out`` names the memo, ``generator``
    is ``fingerprint.generator_identity()``."""
    remembered = memo.load(_KIND, out, _VERSION)
    kept: dict[str, object] = {}
    queries: list[ParsedQuery] = []
    errors: list[CodegenError] = []
    for source in sources:
        key = hashlib.sha256("\0".join([generator, source.path, source.text]).encode()).hexdigest()
        parsed = _queries(remembered.get(key))
        if parsed is None:
            parsed, problems = parse.parse_queries(source)
            errors.extend(problems)
            if problems:  # its queries that parsed are still described and planned
                queries.extend(parsed)
                continue
        kept[key] = parsed
        queries.extend(parsed)
    if kept.keys() != remembered.keys():  # the same keys are the same entries
        memo.save(_KIND, out, _VERSION, kept)
    return queries, errors


def _queries(entry: object) -> tuple[ParsedQuery, ...] | None:
    """``entry``, if it is what ``parse_files`` keeps: a file's parsed queries."""
    if not isinstance(entry, tuple):
        return None
    items = cast(tuple[object, ...], entry)
    if not all(isinstance(item, ParsedQuery) for item in items):
        return None
    return cast(tuple[ParsedQuery, ...], items)
