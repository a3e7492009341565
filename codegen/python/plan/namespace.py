"""Where every name a generated module may use is imported from: its ``Namespace``.

The generated text names things; this table alone says where they come from: the
standard library, psycopg, the out package's ``_runtime`` helpers and ``models``, and
the modules ``[tool.codegen.overrides]`` names.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from connlog.codegen.model import CodegenError, CodegenErrors, Location
from connlog.codegen.python.flavors import AIO, SYNC
from connlog.codegen.python.forms import ModelsModule
from connlog.codegen.python.imports import Import, Namespace, bound_name, from_subpackage
from connlog.codegen.python.names import MODELS_MODULE, RUNTIME_MODULE
from connlog.codegen.python.types import (
    ARGUMENT_ERROR,
    AWARE_GUARD,
    BATCH,
    BUILDER,
    CIDR,
    COMPOSITE_LOADER,
    DATE_GUARD,
    ENUM_ARRAY_LOADER,
    ENUM_GUARD,
    ENUM_LOADER,
    INET,
    LABELS_GUARD,
    NAIVE_GUARD,
    NO_ROW_ERROR,
    NON_NEGATIVE_GUARD,
    REQUIRES_GUARD,
    SEQUENCE_GUARD,
    Overrides,
    runtime_import,
)

# The helpers of ``_runtime.py`` the function bodies call, under their private names.
_HELPERS: Final = (
    ARGUMENT_ERROR,
    AWARE_GUARD,
    DATE_GUARD,
    NAIVE_GUARD,
    BATCH,
    COMPOSITE_LOADER,
    ENUM_ARRAY_LOADER,
    ENUM_GUARD,
    ENUM_LOADER,
    LABELS_GUARD,
    NO_ROW_ERROR,
    NON_NEGATIVE_GUARD,
    REQUIRES_GUARD,
    SEQUENCE_GUARD,
    BUILDER,
    SYNC.register_composites,
    AIO.register_composites,
)
STANDARD: Final[tuple[Import, ...]] = (
    ("psycopg", ""),
    ("itertools", ""),
    ("psycopg.rows", "tuple_row"),
    ("psycopg.types.json", "Json"),
    ("psycopg.types.json", "Jsonb"),
    ("psycopg.types.range", "Range"),
    ("psycopg.types.multirange", "Multirange"),
    *(("typing", name) for name in ("Any", "Final", "Literal", "TypeAlias", "TypedDict", "cast")),
    ("typing_extensions", "TypeAliasType"),
    *(("collections.abc", name) for name in ("AsyncIterator", "Iterable", "Iterator", "Sequence")),
    ("dataclasses", "dataclass"),
    ("enum", "StrEnum"),
    *(("datetime", name) for name in ("date", "datetime", "time", "timedelta")),
    ("decimal", "Decimal"),
    ("uuid", "UUID"),
    *(
        ("ipaddress", name)
        for name in (
            "IPv4Address",
            "IPv6Address",
            "IPv4Interface",
            "IPv6Interface",
            "IPv4Network",
            "IPv6Network",
        )
    ),
    (f".{RUNTIME_MODULE}", "ExecResult"),
    (f".{RUNTIME_MODULE}", "Composite"),
    *(runtime_import(helper) for helper in _HELPERS),
)


def namespace(models: ModelsModule, overrides: Overrides) -> Namespace:
    """The names a module of the out package may import: the standard ones, every name
    models.py declares, and every import path of ``overrides``.

    A class of models.py (a table ``decimals`` becomes ``Decimal``) or an override (``myapp.UUID``)
    binding a name the generated code already imports is an error: one of the two would
    silently shadow the other.
    """
    models_names = {"JsonValue", INET, CIDR}
    for enum in models.enums:
        models_names |= {enum.name, enum.labels_name}
    models_names |= {table.name for table in models.tables}
    for composite in models.composites:
        models_names |= {composite.row_class.name, composite.constant}
    entries: dict[str, Import] = {bound_name(entry): entry for entry in STANDARD}
    errors: list[CodegenError] = []
    for name in sorted(models_names):
        other = entries.setdefault(name, (f".{MODELS_MODULE}", name))
        if other[0] != f".{MODELS_MODULE}":
            errors.append(
                CodegenError(
                    Location(models.source, 1, 1),
                    f"models.py would declare {name!r}, a name the generated code imports "
                    f"from {other[0]!r}",
                    "rename the table, enum or composite type in a migration",
                )
            )
    for key, override in sorted(overrides.items()):
        for path in (override.python, override.load, override.dump):
            entry = _import_of(path)
            if entry is None:
                continue  # a builtin, or not an import path (planning reports it)
            other = entries.setdefault(entry[1], entry)
            if other != entry:
                errors.append(
                    CodegenError(
                        None,
                        f"override {key!r}: {path!r} would be imported as {entry[1]!r}, "
                        f"a name the generated code already imports from {other[0]!r}",
                        "give the type or function a name of its own in its module",
                    )
                )
    if errors:
        raise CodegenErrors(errors)
    return Namespace.of(entries.values())


def aio_namespace(
    sync: Namespace, module: str, declared: Iterable[str], exported: Iterable[str]
) -> Namespace:
    """The namespace of the aio twin of ``module``: ``sync``'s, one package down, and the
    sync module's SQL constants (``declared``), its classes re-exported (``exported``)."""
    own = {(f".{module}", name) for name in declared}
    always = {(f".{module}", f"{name} as {name}") for name in exported}
    return Namespace.of(
        from_subpackage({entry for _, entry in sync.names} | own), from_subpackage(always)
    )


def _import_of(path: str | None) -> Import | None:
    """The import of an override's import path ``module.name``; None for a builtin."""
    if path is None:
        return None
    module, _, name = path.rpartition(".")
    if not module or module == "builtins" or not all(p.isidentifier() for p in path.split(".")):
        return None
    return (module, name)
