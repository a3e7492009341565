"""PostgreSQL types to Python types: the one table ``plan`` consults.

A ``PyType`` says how a value of a PostgreSQL type looks in Python
(``annotation``), what the module must import for it, and, where psycopg's
own loaders and dumpers are not enough, how to convert a loaded value
(``load``) or a parameter (``dump``). Both are expression templates with
``{}`` for the value, expanded by ``plan``; templates never see a PgType.

A type without a mapping is an error, never a silent ``Any`` (sqlc falls
back to ``interface{}``): the message names the type and shows the
``[tool.codegen.types]`` override that maps it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, TypeAlias

from codegen.model import CodegenError, Location, PgType

# An import the generated module needs: ``from module import name``; a
# ``module`` starting with "." is a sibling generated module.
Import: TypeAlias = tuple[str, str]


@dataclass(frozen=True, slots=True)
class PyType:
    annotation: str
    imports: frozenset[Import] = frozenset()
    load: str | None = None  # converts what psycopg returns, e.g. "UserStatus({})"
    dump: str | None = None  # wraps a parameter for psycopg, e.g. "Jsonb({})"
    dump_imports: frozenset[Import] = frozenset()
    enum_array: str | None = None  # the StrEnum of an enum array: loaded from text by plan


def _simple(annotation: str, module: str | None = None) -> PyType:
    imports: frozenset[Import] = frozenset({(module, annotation)} if module else ())
    return PyType(annotation, imports)


_INET: Final = PyType(
    "IPv4Address | IPv6Address | IPv4Interface | IPv6Interface",
    frozenset(
        ("ipaddress", name)
        for name in ("IPv4Address", "IPv6Address", "IPv4Interface", "IPv6Interface")
    ),
)
_CIDR: Final = PyType(
    "IPv4Network | IPv6Network",
    frozenset(("ipaddress", name) for name in ("IPv4Network", "IPv6Network")),
)

# Keyed by pg_type.typname of built-in types (schema pg_catalog), plus citext,
# which an extension installs into whatever schema it is created in.
BUILTIN: Final[Mapping[str, PyType]] = {
    "int2": _simple("int"),
    "int4": _simple("int"),
    "int8": _simple("int"),
    "oid": _simple("int"),
    "numeric": _simple("Decimal", "decimal"),
    "float4": _simple("float"),
    "float8": _simple("float"),
    "text": _simple("str"),
    "varchar": _simple("str"),
    "bpchar": _simple("str"),
    "char": _simple("str"),
    "name": _simple("str"),
    "citext": _simple("str"),
    "bool": _simple("bool"),
    "uuid": _simple("UUID", "uuid"),
    # psycopg loads timestamptz as an aware datetime and timestamp as a naive one.
    "timestamptz": _simple("datetime", "datetime"),
    "timestamp": _simple("datetime", "datetime"),
    "date": _simple("date", "datetime"),
    "time": _simple("time", "datetime"),
    "timetz": _simple("time", "datetime"),
    "interval": _simple("timedelta", "datetime"),
    "bytea": _simple("bytes"),
    # psycopg loads inet as an address, or an interface when it has a netmask.
    "inet": _INET,
    "cidr": _CIDR,
    # Wrapped for psycopg, which cannot tell a JSON string from a text parameter.
    "json": PyType(
        "JsonValue",
        frozenset({(".models", "JsonValue")}),
        dump="Json({})",
        dump_imports=frozenset({("psycopg.types.json", "Json")}),
    ),
    "jsonb": PyType(
        "JsonValue",
        frozenset({(".models", "JsonValue")}),
        dump="Jsonb({})",
        dump_imports=frozenset({("psycopg.types.json", "Jsonb")}),
    ),
    "void": _simple("None"),
}


def class_name(snake: str) -> str:
    """CamelCase of a snake_case (or any non-alphanumeric separated) name."""
    parts = [part for part in "".join(c if c.isalnum() else "_" for c in snake).split("_") if part]
    name = "".join(part[:1].upper() + part[1:] for part in parts)
    return name if name and not name[0].isdigit() else "T" + name


def python_type(
    pg: PgType,
    *,
    where: Location | None,
    subject: str = "a value",
    overrides: Mapping[str, str] | None = None,
    models_module: str = ".models",
) -> PyType:
    """The Python type of a value of ``pg``; a CodegenError when there is none."""
    overrides = overrides or {}
    for key in (f"{pg.schema}.{pg.name}", pg.name):
        if key in overrides:
            return _override(overrides[key], key, where)
    if pg.base is not None:  # a domain: values are its base type's
        return python_type(
            pg.base, where=where, subject=subject, overrides=overrides, models_module=models_module
        )
    if pg.element is not None:
        element = python_type(
            pg.element,
            where=where,
            subject=subject,
            overrides=overrides,
            models_module=models_module,
        )
        dump = f"[{element.dump.format('x')} for x in {{}}]" if element.dump else None
        if pg.element.category == "E":
            # psycopg does not know the array type of an unregistered enum and
            # returns its text form '{a,b}': plan parses it with psycopg's own
            # text[] loader, then converts each label.
            return PyType(
                f"list[{element.annotation}]",
                element.imports,
                dump=dump,
                dump_imports=element.dump_imports,
                enum_array=element.annotation,
            )
        load = f"[{element.load.format('x')} for x in {{}}]" if element.load else None
        return PyType(
            f"list[{element.annotation}]",
            element.imports,
            load=load,
            dump=dump,
            dump_imports=element.dump_imports,
        )
    if pg.category == "E":
        name = class_name(pg.name)
        return PyType(name, frozenset({(models_module, name)}), load=f"{name}({{}})")
    if pg.name in BUILTIN and (pg.schema == "pg_catalog" or pg.name == "citext"):
        return BUILTIN[pg.name]
    raise CodegenError(
        where,
        f"{subject} has PostgreSQL type {f'{pg.schema}.{pg.name}'!r}, which has no Python mapping",
        f'map it in pyproject.toml: [tool.codegen.types] "{pg.name}" = "module.Type"',
    )


def _override(target: str, key: str, where: Location | None) -> PyType:
    module, _, name = target.rpartition(".")
    if not module or not name.isidentifier():
        raise CodegenError(
            where,
            f"type override {key!r} = {target!r} is not an import path",
            'write it as "package.module.Type", e.g. "decimal.Decimal"',
        )
    if module == "builtins":
        return PyType(name)
    return PyType(name, frozenset({(module, name)}))
