"""Between parse and analyze: the offline metadata cache, ``<out>/analysis.json``.

The manifest is the serialized ``Analysis`` (every ``AnalyzedQuery`` with its
parameters and columns, types, nullability and enum labels; every table and
enum that ``models.py`` declares), written beside the generated modules so
reviewers read it in the diff and a fresh clone has it. It doubles as the JSON
dump for debugging the analyze stage (sqlc's ``internal/codegen/json``).

Each query is keyed by a hash of what its analysis depends on:

- every file under the migrations directory (names and bytes): the schema;
- ``ANALYSIS_DIGEST``, a digest of the generator's own code that analysis
  runs (``ANALYSIS_CODE``), so any edit of ``analyze``,
  ``nullability`` or the model they fill invalidates every cached query, with
  no number to remember to bump (a test checks that the list covers every
  module ``analyze`` imports);
- the parsed query, every field but those that only place it (``origins`` and
  every ``Location``, so that a query moving in its file is still cached) or do
  not reach the server (``doc``): the rewritten SQL, its parameters, its
  command and whatever parse adds later.

Type overrides are not part of the key: they are applied by ``plan`` to the
PostgreSQL types recorded here, so changing one re-renders without a database.

``split`` sorts parsed queries into those the manifest answers and those to
describe; ``merge`` puts the two back together in the original order. Every
analysis goes through the manifest's own encoding (``normalize``) before
``plan`` sees it, so a cached run renders byte for byte what a fresh one does.
OIDs of user types differ between databases and are recorded as 0.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import types
import typing
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Final, TypeVar

from connlog.codegen.fingerprint import GENERATOR
from connlog.codegen.model import (
    Analysis,
    AnalyzedQuery,
    AnalyzedTable,
    Location,
    ParsedQuery,
    PgType,
)

MANIFEST_FILE: Final = "analysis.json"
# The generator's code that decides what a query's analysis is, relative to the package:
# describing (analysis/), the model it fills and this encoding of it, the SQL helpers it
# parses with, the migrations tooling it reports through. Not the Python backend: a
# template edit re-renders from the manifest, without a database.
ANALYSIS_CODE: Final = (
    "analysis",
    "model.py",
    "parsing",
    "database/__init__.py",
    "database/migrate.py",
)


def code_digest(package: Path, parts: Sequence[str]) -> str:
    """sha256 over the relative name and text of every ``.py`` file of ``parts`` of ``package``.

    Line ends are normalized, so a checkout with CRLF line ends agrees with one with LF.
    """
    digest = hashlib.sha256(b"codegen-analysis\0")
    files = sorted(
        path
        for part in parts
        for path in (
            (package / part).rglob("*.py") if (package / part).is_dir() else [package / part]
        )
    )
    for path in files:
        digest.update(f"{path.relative_to(package).as_posix()}\0".encode())
        digest.update(path.read_bytes().replace(b"\r\n", b"\n"))
        digest.update(b"\0")
    return digest.hexdigest()[:16]


ANALYSIS_DIGEST: Final = code_digest(GENERATOR, ANALYSIS_CODE)
# OIDs below this are built in and the same on every server (PostgreSQL's FirstNormalObjectId).
_FIRST_USER_OID: Final = 16384
# ParsedQuery fields that do not change what the server says about the statement.
_NOT_KEYED: Final = frozenset({"location", "origins", "doc", "filters", "param_rows"})
# AnalyzedQuery (and AnalyzedParam) fields copied from the parsed query on every run:
# not stored.
_NOT_STORED: Final = frozenset({"location", "doc", "filters", "param_rows"})
_NOT_STORED_PARAM: Final = frozenset({"location"})
_NO_PLACE: Final = {"path": "", "line": 0, "column": 0}

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

_T = TypeVar("_T")


class ManifestError(ValueError):
    """The manifest cannot be read as this version's analysis: it is ignored."""


@dataclass(frozen=True, slots=True)
class Manifest:
    """What ``analysis.json`` holds."""

    migrations: str  # the hash of the migrations directory
    schema_sql: str  # sha256 of schema.sql as generated from those migrations
    analysis: Analysis
    keys: tuple[str, ...]  # the cache key of each of ``analysis.queries``
    # The migration ids in the order yoyo applies them: known without importing yoyo
    # while the migrations are unchanged.
    migration_ids: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Split:
    """Parsed queries sorted into those the manifest answers and those to describe."""

    queries: tuple[ParsedQuery, ...]  # all of them, in order
    keys: tuple[str, ...]  # their cache keys
    cached: tuple[AnalyzedQuery | None, ...]  # the cached analysis, None where stale
    schema: Analysis | None  # tables and enums, when the migrations did not change
    schema_sql: str | None  # sha256 of schema.sql, when the migrations did not change
    stale_reason: str  # why nothing is cached, "" when something is
    migration_ids: tuple[str, ...] | None = None  # in apply order, when they did not change

    @property
    def to_describe(self) -> tuple[ParsedQuery, ...]:
        return tuple(q for q, a in zip(self.queries, self.cached, strict=True) if a is None)


def migrations_hash(directory: Path) -> str:
    """sha256 over the relative path and bytes of every file under ``directory``.

    The schema alone: the describe database of these migrations is named after it,
    and the manifest records the analysis digest apart.
    """
    digest = hashlib.sha256(b"migrations\0")
    if directory.is_dir():
        for path in sorted(p for p in directory.rglob("*") if p.is_file()):
            name = path.relative_to(directory).as_posix()
            digest.update(f"{name}\0{path.stat().st_size}\0".encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def query_key(query: ParsedQuery, migrations: str) -> str:
    """The cache key of ``query`` on the schema whose migrations hash to ``migrations``."""
    keyed = {
        field.name: _encode(getattr(query, field.name), {}, places=False)
        for field in dataclasses.fields(query)
        if field.name not in _NOT_KEYED
    }
    text = json.dumps([ANALYSIS_DIGEST, migrations, keyed], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def split(queries: Sequence[ParsedQuery], manifest: Manifest | None, migrations: str) -> Split:
    """Which of ``queries`` the manifest answers (for the schema ``migrations`` hashes to)."""
    keys = tuple(query_key(query, migrations) for query in queries)
    if manifest is None:
        return Split(tuple(queries), keys, (None,) * len(keys), None, None, "no manifest")
    if manifest.migrations != migrations:
        return Split(
            tuple(queries), keys, (None,) * len(keys), None, None, "the migrations changed"
        )
    known = dict(zip(manifest.keys, manifest.analysis.queries, strict=True))
    cached = tuple(
        _refresh(known[key], query) if key in known else None
        for key, query in zip(keys, queries, strict=True)
    )
    return Split(
        tuple(queries),
        keys,
        cached,
        manifest.analysis,
        manifest.schema_sql,
        "",
        manifest.migration_ids,
    )


def merge(split: Split, described: Analysis | None) -> Analysis:
    """The analysis of every query of ``split``: cached, else from ``described``.

    ``described`` holds the queries of ``split.to_describe`` in order, and the
    schema; it is None only when nothing needed describing.
    """
    # Only what was described goes through the encoding: the cached part was read from it.
    described = normalize(described) if described else None
    fresh = iter(described.queries if described else ())
    queries = [
        cached if cached is not None else _refresh(next(fresh), query)
        for query, cached in zip(split.queries, split.cached, strict=True)
    ]
    assert next(fresh, None) is None, "described a query that was not asked for"
    schema = described or split.schema
    assert schema is not None, "neither a described nor a cached schema"
    return Analysis(tuple(queries), schema.tables, schema.enums, schema.composites)


def normalize(analysis: Analysis) -> Analysis:
    """``analysis`` as it reads back from the manifest (user type OIDs 0)."""
    types: dict[str, object] = {}
    encoded = _encode(analysis, types)
    return _Decoder(types).read(Analysis, encoded)


# --- the file -------------------------------------------------------------------


def dumps(manifest: Manifest) -> str:
    """The manifest's text: sorted keys, indented, no timestamps, paths as given."""
    types: dict[str, object] = {}
    document = {
        "analysis_digest": ANALYSIS_DIGEST,
        "migrations": manifest.migrations,
        "migration_ids": list(manifest.migration_ids),
        "schema_sql": manifest.schema_sql,
        "enums": _encode(manifest.analysis.enums, types),
        "composites": _encode(manifest.analysis.composites, types),
        "tables": _encode(manifest.analysis.tables, types),
        "queries": [
            {"cache_key": key, **_stored(query, types)}
            for key, query in zip(manifest.keys, manifest.analysis.queries, strict=True)
        ],
        "types": types,
    }
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def loads(text: str) -> Manifest:
    """The manifest in ``text``; ManifestError when it is not this version's."""
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ManifestError(f"not JSON: {exc}") from exc
    if not isinstance(document, dict):
        raise ManifestError("not a JSON object")
    fields = typing.cast(dict[str, object], document)
    written_by = fields.get("analysis_digest")
    if written_by != ANALYSIS_DIGEST:
        raise ManifestError(
            f"written by another version of the analysis code ({written_by!r}, "
            f"this is {ANALYSIS_DIGEST!r})"
        )
    decoder = _Decoder(_object(fields.get("types")))
    entries = _list(fields.get("queries"))
    keys: list[str] = []
    queries: list[AnalyzedQuery] = []
    for entry in entries:
        stored = dict(_object(entry))
        key = stored.pop("cache_key", None)
        if not isinstance(key, str):
            raise ManifestError("a query without its cache_key")
        stored["params"] = [
            {"location": _NO_PLACE, **_object(p)} for p in _list(stored.get("params"))
        ]
        # Taken from parse.
        defaults = {"doc": "", "filters": None, "param_rows": False, "location": _NO_PLACE}
        queries.append(decoder.read(AnalyzedQuery, {**defaults, **stored}))
        keys.append(key)
    analysis = Analysis(
        tuple(queries),
        decoder.read(tuple[AnalyzedTable, ...], fields.get("tables")),
        decoder.read(tuple[PgType, ...], fields.get("enums")),
        decoder.read(tuple[PgType, ...], fields.get("composites")),
    )
    return Manifest(
        decoder.read(str, fields.get("migrations")),
        decoder.read(str, fields.get("schema_sql")),
        analysis,
        tuple(keys),
        decoder.read(tuple[str, ...], fields.get("migration_ids")),
    )


def load(out_dir: Path) -> tuple[Manifest | None, str]:
    """The manifest in ``out_dir``, or None and why not."""
    try:
        text = (out_dir / MANIFEST_FILE).read_text(encoding="utf-8")
    except FileNotFoundError:
        return None, f"there is no {MANIFEST_FILE}"
    try:
        return loads(text), ""
    except ManifestError as exc:
        return None, f"{MANIFEST_FILE} is unreadable ({exc})"


def schema_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


# --- encoding ---------------------------------------------------------------------


def _refresh(analyzed: AnalyzedQuery, query: ParsedQuery) -> AnalyzedQuery:
    """``analyzed`` with what parse says about where the query is and how it reads."""
    places = {param.number: param.location for param in query.params}
    return dataclasses.replace(
        analyzed,
        params=tuple(
            dataclasses.replace(param, location=places[param.number]) for param in analyzed.params
        ),
        name=query.name,
        command=query.command,
        doc=query.doc,
        filters=query.filters,
        param_rows=query.param_rows,
        # Not the parsed SQL: the stored one has its stars expanded (``expand``); the key
        # covers the parsed SQL, so the stored one is what describing it gives.
        source=query.location.path,
        location=query.location,
    )


def _stored(query: AnalyzedQuery, types: dict[str, object]) -> dict[str, object]:
    encoded = _encode(query, types)
    assert isinstance(encoded, dict)
    stored = {
        k: v for k, v in typing.cast(dict[str, object], encoded).items() if k not in _NOT_STORED
    }
    stored["params"] = [
        {k: v for k, v in _object(param).items() if k not in _NOT_STORED_PARAM}
        for param in _list(stored["params"])
    ]
    return stored


def _type_name(pg: PgType) -> str:
    return f"{pg.schema}.{pg.name}"


def _encode(value: object, types: dict[str, object], *, places: bool = True) -> object:
    """Plain JSON data for a tree of frozen dataclasses, tuples, enums and scalars.

    A PgType becomes its qualified name, described once in ``types``. Without
    ``places``, every Location is left out (null): for keys that a query moving
    in its file must not change.
    """
    if isinstance(value, Location) and not places:
        return None
    if isinstance(value, PgType):
        name = _type_name(value)
        if name not in types:
            oid = value.oid if value.oid < _FIRST_USER_OID else 0
            types[name] = {
                f.name: _encode(oid if f.name == "oid" else getattr(value, f.name), types)
                for f in dataclasses.fields(value)
            }
        return name
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: _encode(getattr(value, f.name), types, places=places)
            for f in dataclasses.fields(value)
        }
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, tuple | list):
        return [
            _encode(item, types, places=places) for item in typing.cast(Sequence[object], value)
        ]
    if isinstance(value, frozenset):
        items = (
            _encode(item, types, places=places) for item in typing.cast(frozenset[object], value)
        )
        return sorted(items, key=json.dumps)
    if value is None or isinstance(value, str | int | float):
        return value
    raise AssertionError(f"cannot store {value!r} in the manifest")


class _Decoder:
    """Reads encoded data back as the type it was encoded from; ManifestError on a mismatch."""

    def __init__(self, types: dict[str, object]) -> None:
        self._types = types
        self._decoded: dict[str, PgType] = {}
        self._pending: set[str] = set()

    def read(self, hint: type[_T] | object, data: object) -> _T:
        return typing.cast(_T, self._any(hint, data))

    def _any(self, hint: object, data: object) -> object:
        origin = typing.get_origin(hint)
        args = typing.get_args(hint)
        if origin in (types.UnionType, typing.Union):
            if data is None and type(None) in args:
                return None
            (inner,) = [arg for arg in args if arg is not type(None)]
            return self._any(inner, data)
        if origin is tuple:
            assert len(args) == 2 and args[1] is Ellipsis, hint
            return tuple(self._any(args[0], item) for item in _list(data))
        if origin is frozenset:
            return frozenset(self._any(args[0], item) for item in _list(data))
        if hint is PgType:
            return self._pg_type(data)
        if isinstance(hint, type) and dataclasses.is_dataclass(hint):
            return self._dataclass(hint, data)
        if isinstance(hint, type) and issubclass(hint, Enum):
            try:
                return hint(data)
            except ValueError as exc:
                raise ManifestError(str(exc)) from exc
        if hint in (str, int, bool, float) and type(data) is hint:
            return data
        raise ManifestError(f"expected {hint}, got {data!r}")

    def _dataclass(self, cls: type[DataclassInstance], data: object) -> object:
        fields = _object(data)
        hints = _type_hints(cls)
        names = {f.name for f in dataclasses.fields(cls)}
        if set(fields) != names:
            missing, extra = sorted(names - set(fields)), sorted(set(fields) - names)
            raise ManifestError(f"{cls.__name__}: missing {missing}, unexpected {extra}")
        return cls(**{name: self._any(hints[name], fields[name]) for name in names})

    def _pg_type(self, data: object) -> PgType:
        if not isinstance(data, str) or data not in self._types:
            raise ManifestError(f"unknown type {data!r}")
        if data not in self._decoded:
            if data in self._pending:
                raise ManifestError(f"type {data!r} refers to itself")
            self._pending.add(data)
            decoded = self._dataclass(PgType, self._types[data])
            assert isinstance(decoded, PgType)
            self._decoded[data] = decoded
        return self._decoded[data]


def _list(data: object) -> list[object]:
    if not isinstance(data, list):
        raise ManifestError(f"expected a list, got {data!r}")
    return typing.cast(list[object], data)


def _object(data: object) -> dict[str, object]:
    if not isinstance(data, dict):
        raise ManifestError(f"expected an object, got {data!r}")
    return typing.cast(dict[str, object], data)


@functools.cache
def _type_hints(cls: type[DataclassInstance]) -> dict[str, object]:
    # Once per class: evaluating the annotations was most of the time a manifest took to read.
    return typing.get_type_hints(cls)
