"""PostgreSQL types to Python types: the one table ``plan`` consults.

A ``PyType`` says how a value of a PostgreSQL type looks in Python
(``annotation``) and, where psycopg's own loaders and dumpers are not enough,
how to convert a loaded value (``load``) or a parameter (``dump``). Both are
expression templates with ``{}`` for the value, expanded by ``plan``; templates
never see a PgType. They write names only (``UUID``, ``Jsonb``): where each is
imported from is ``plan.namespace``'s table.

A type without a mapping is an error, never a silent ``Any`` (sqlc falls
back to ``interface{}``): the message names the type and shows the
``[tool.codegen.overrides]`` entry that maps it.

Overrides (``[tool.codegen.overrides]`` in pyproject.toml) replace the mapping
of a PostgreSQL type, or of one ``table.column``, by a Python type given by
import path, with optional ``load``/``dump`` callables (import paths too)::

    [tool.codegen.overrides]
    "citext" = "builtins.str"                       # shorthand for { python = ... }
    "events.payload" = { python = "myapp.types.Payload" }  # a jsonb column as a TypedDict
    "shapes.box" = { python = "myapp.geo.Box", load = "myapp.geo.box_from_json",
                     dump = "dataclasses.asdict" }       # a jsonb column as a dataclass

- A key is a column when its part before the dot names a table (``table.column``),
  else a type (``typname`` or ``schema.typname``); a column override wins over a
  type override, and a type override applies to arrays of it element by element.
- ``load`` and ``dump`` name module-level callables (``module.function``, or
  ``builtins.int``); ``load`` is called on the value as it would be without the override (after
  psycopg, and after the enum conversion of an enum column); ``dump`` on the
  argument, and its result is passed as the unoverridden type would be (a jsonb
  value is still wrapped in ``Jsonb``). Without them, values pass unchanged:
  the override is then only an annotation (a TypedDict over a jsonb dict).
- Arrays: a result is ``list[T | None]``, since any PostgreSQL array may hold NULLs
  whatever its column's NOT NULL says, and ``list[T]`` only where analysis proved the
  elements not NULL (``element_nullable`` false: ``array_agg`` of a not-null column); a
  parameter is ``Sequence[T | None]`` (``PyType.parameter``), and its None
  elements are SQL NULLs, neither checked nor converted. A str (a sequence of str)
  is refused at the call, and any sequence is sent as a list (psycopg sends a
  tuple as a record).
- Columns: result columns taken straight from the table (and the table's model
  in models.py), and parameters inserted into or assigned to it (``INSERT``
  values, ``UPDATE ... SET``, ``ON CONFLICT DO UPDATE SET``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Final, Protocol, TypeAlias

from connlog.codegen.model import CodegenError, Location, PgType
from connlog.codegen.python.imports import Import
from connlog.codegen.python.names import class_name

# The helpers of the out package's ``_runtime.py``, by the names query modules import
# them as (``from ._runtime import aware as _aware``): private there, so neither a
# parameter nor a function of the module can shadow them.
ENUM_GUARD: Final = "_enum_value"  # the helper converting a label to its StrEnum member
AWARE_GUARD: Final = "_aware"  # the helper rejecting a naive datetime
NAIVE_GUARD: Final = "_naive"  # the helper rejecting an aware datetime (for a timestamp)
DATE_GUARD: Final = "_plain_date"  # the helper rejecting a datetime for a date
ENUM_ARRAY_LOADER: Final = "_enum_array"  # the helper loading an enum array's text form
ENUM_LOADER: Final = "_enum_label"  # the helper loading an enum label, EnumDriftError if unknown
NON_NEGATIVE_GUARD: Final = "_non_negative"  # a LIMIT or OFFSET parameter is at least 0
LABELS_GUARD: Final = "_one_of"  # a parameter only compared with fixed labels is one of them
REQUIRES_GUARD: Final = "_requires"  # a parameter read only when another one is given
BUILDER: Final = "_builder"  # makes a frozen row class's fast constructor
SEQUENCE_GUARD: Final = "_sequence"  # an array parameter is a sequence (not a str), as a list
NO_ROW_ERROR: Final = "_NoRowError"  # raised by a :one whose row is certain, when none came
BATCH: Final = "_Batch"  # a batch's parameter sets, naming the one a check refused
ARGUMENT_ERROR: Final = "_ArgumentError"  # what the call-time checks raise
# Loads a composite column: the value psycopg built is the composite's dataclass, or the
# type changed under the connection (CompositeDriftError).
COMPOSITE_LOADER: Final = "_composite_value"
# Where a load template names the column it loads (for the enum loader's error): plan
# puts the column's description there. Not ``{}``-formatting: templates are formatted
# with the value alone, over and over as they compose.
COLUMN_MARK: Final = "__column__"


def runtime_import(helper: str) -> Import:
    """``from ._runtime import enum_label as _enum_label``, for the helper ``_enum_label``."""
    return ("._runtime", f"{helper.removeprefix('_')} as {helper}")


@dataclass(frozen=True, slots=True)
class Guard:
    """A call-time check of a parameter, by a helper the query module imports.

    An enum parameter given a plain string that is not one of its labels, and a
    naive datetime for a timestamptz (which PostgreSQL would read in the server's
    time zone), are ValueErrors at the call. An override clears it: an overridden
    type is the override's business.
    """

    helper: str  # ENUM_GUARD, AWARE_GUARD, NAIVE_GUARD or DATE_GUARD
    enum: str = ""  # the StrEnum ENUM_GUARD converts to
    each: bool = False  # an array: each element is checked, a None element skipped


@dataclass(frozen=True, slots=True)
class PyType:
    annotation: str  # of a value loaded from the server (a result column, a model field)
    load: str | None = None  # converts what psycopg returns, e.g. "UserStatus({})"
    dump: str | None = None  # wraps a parameter for psycopg, e.g. "Jsonb({})"
    enum_array: str | None = None  # the StrEnum of an enum array: loaded from text by plan
    guard: Guard | None = None  # the call-time check of a parameter of this type
    # Of a parameter, when it differs from ``annotation``: an array parameter is any
    # sequence and may hold None elements (SQL NULLs), ``Sequence[T | None]``, where a
    # result is ``list[T]``; an enum parameter takes the member or its label.
    param_annotation: str | None = None
    # The composite types (their ``Composite`` constants in models.py) psycopg must be taught
    # on the connection before a value of this type is loaded or dumped: nested ones first.
    composites: tuple[str, ...] = ()
    array: bool = False  # a parameter of this type is checked to be a sequence, sent as a list

    @property
    def parameter(self) -> str:
        """The annotation of a parameter of this type."""
        return self.param_annotation or self.annotation


@dataclass(frozen=True, slots=True)
class Override:
    """One ``[tool.codegen.overrides]`` entry: import paths of a type and its converters."""

    python: str  # e.g. "myapp.codes.ExitCode"; "builtins.str" for a builtin
    load: str | None = None  # called on the loaded value
    dump: str | None = None  # called on the argument before psycopg dumps it


# Keyed by "typname", "schema.typname" or "table.column".
Overrides: TypeAlias = Mapping[str, Override]


class ColumnSource(Protocol):
    """Where a value comes from or goes to: a result column or a parameter."""

    @property
    def table(self) -> str | None: ...
    @property
    def table_column(self) -> str | None: ...


# Unions named once, in models.py (``Inet = IPv4Address | ...``), and used by name.
INET: Final = "Inet"
CIDR: Final = "Cidr"

# Built-in types psycopg returns as their text form: bits, system identifiers, geometry.
_TEXT_FORM: Final = (
    "bit", "varbit", "xid", "xid8", "cid", "tid", "point", "line", "lseg", "box", "path",
    "polygon", "circle",
)  # fmt: skip
# psycopg's Range and Multirange of the element type (builtin ranges load as such).
_RANGES: Final[Mapping[str, str]] = {
    f"{prefix}{suffix}": f"{kind}[{element}]"
    for suffix, kind in (("range", "Range"), ("multirange", "Multirange"))
    for prefix, element in (
        ("int4", "int"),
        ("int8", "int"),
        ("num", "Decimal"),
        ("ts", "datetime"),
        ("tstz", "datetime"),
        ("date", "date"),
    )
}

# Keyed by pg_type.typname of built-in types (schema pg_catalog), plus citext,
# which an extension installs into whatever schema it is created in.
BUILTIN: Final[Mapping[str, PyType]] = {
    "int2": PyType("int"),
    "int4": PyType("int"),
    "int8": PyType("int"),
    "oid": PyType("int"),
    "numeric": PyType("Decimal"),
    "float4": PyType("float"),
    "float8": PyType("float"),
    "text": PyType("str"),
    "varchar": PyType("str"),
    "bpchar": PyType("str"),
    "char": PyType("str"),
    "name": PyType("str"),
    "citext": PyType("str"),
    "bool": PyType("bool"),
    "uuid": PyType("UUID"),
    # psycopg loads timestamptz as an aware datetime and timestamp as a naive one.
    "timestamptz": PyType("datetime", guard=Guard(AWARE_GUARD)),
    "timestamp": PyType("datetime", guard=Guard(NAIVE_GUARD)),
    "date": PyType("date", guard=Guard(DATE_GUARD)),
    "time": PyType("time"),
    "timetz": PyType("time"),
    "interval": PyType("timedelta"),
    "bytea": PyType("bytes"),
    # psycopg loads inet as an address, or an interface when it has a netmask.
    "inet": PyType(INET),
    "cidr": PyType(CIDR),
    # Wrapped for psycopg, which cannot tell a JSON string from a text parameter.
    "json": PyType("JsonValue", dump="Json({})"),
    "jsonb": PyType("JsonValue", dump="Jsonb({})"),
    "void": PyType("None"),
    # No psycopg loader: the value is its text form, as psycopg returns it ('101', '(1,2)').
    **{name: PyType("str") for name in _TEXT_FORM},
    **{name: PyType(annotation) for name, annotation in _RANGES.items()},
}


def enum_labels_name(enum_class: str) -> str:
    """The ``Literal`` alias of an enum's labels in models.py: ``ConnectionTypeLabel``."""
    return f"{enum_class}Label"


def python_type(
    pg: PgType,
    *,
    where: Location | None,
    subject: str = "a value",
    overrides: Overrides | None = None,
    column: ColumnSource | None = None,
    element_nullable: bool = False,
) -> PyType:
    """The Python type of a value of ``pg``; a CodegenError when there is none.

    ``column`` is the table column the value comes from or goes to, if any.
    ``element_nullable``: an array result whose elements may be NULL, ``list[T | None]``.
    """
    overrides = overrides or {}
    if column is not None and column.table and column.table_column:
        key = f"{column.table}.{column.table_column}"
        if key in overrides:
            # Under a column override, type overrides still say what psycopg's value is.
            base = _base(pg, overrides)
            return _override(overrides[key], key, where, base)
    for key in (f"{pg.schema}.{pg.name}", pg.name):
        if key in overrides:
            return _override(overrides[key], key, where, _base(pg, {}))
    if pg.base is not None:  # a domain: values are its base type's
        return python_type(
            pg.base,
            where=where,
            subject=subject,
            overrides=overrides,
            element_nullable=element_nullable,
        )
    if pg.element is not None:
        element = python_type(
            pg.element,
            where=where,
            subject=subject,
            overrides=overrides,
        )
        # A None element is SQL NULL: it is neither converted nor checked.
        dump = (
            f"[None if x is None else {element.dump.format('x')} for x in {{}}]"
            if element.dump
            else None
        )
        guard = None if element.guard is None else replace(element.guard, each=True)
        # Any sequence but a str (checked at the call: ``SEQUENCE_GUARD``).
        param_annotation = f"Sequence[{element.parameter} | None]"
        # A result's elements are ``T | None`` unless analysis proved them not NULL.
        item = f"{element.annotation} | None" if element_nullable else element.annotation
        if pg.element.category == "E":
            # psycopg does not know the array type of an unregistered enum and
            # returns its text form '{a,b}': plan parses it with psycopg's own
            # text[] loader, then converts each label.
            return PyType(
                f"list[{item}]",
                dump=dump,
                enum_array=element.annotation,
                guard=guard,
                param_annotation=param_annotation,
                array=True,
            )
        of_domain = pg.element.base is not None
        of_extension = pg.element.schema not in ("pg_catalog", "information_schema")
        if of_domain or (of_extension and pg.element.category != "C"):
            # An array of a domain or of an extension's type: psycopg has no loader for its
            # OID and hands back the text form, '{1,2}', where the type says a list.
            raise CodegenError(
                where,
                f"{subject} has PostgreSQL type {f'{pg.schema}.{pg.name}'!r}, an array psycopg "
                "has no loader for: its values would arrive as text ('{...}'), not lists",
                "cast it to an array of a built-in type in the query (e.g. `x::int4[]`, "
                f'`x::text[]`), or map it: [tool.codegen.overrides] "{pg.name}" = ...',
            )
        load = None
        if element.load is not None:
            each = element.load.format("x")
            each = f"None if x is None else {each}" if element_nullable else each
            load = f"[{each} for x in {{}}]"
        return PyType(
            f"list[{item}]",
            load=load,
            dump=dump,
            guard=guard,
            param_annotation=param_annotation,
            composites=element.composites,
            array=True,
        )
    if pg.category == "E":
        name = class_name(pg.name)
        return PyType(
            name,
            load=f"{ENUM_LOADER}({name}, {{}}, {COLUMN_MARK})",
            guard=Guard(ENUM_GUARD, name),
            # The member or its label (``type="ssh"``), checked at the call.
            param_annotation=f"{name} | {enum_labels_name(name)}",
        )
    if pg.category == "C" and pg.schema not in ("pg_catalog", "information_schema"):
        return _composite(pg, where, subject, overrides)
    if pg.name in BUILTIN and (pg.schema == "pg_catalog" or pg.name == "citext"):
        return BUILTIN[pg.name]
    if pg.schema not in ("pg_catalog", "information_schema") and pg.category in ("S", "U"):
        # An extension's base type (ltree, hstore, a citext in its own schema): psycopg has no
        # loader registered for it and returns its text form, and a str parameter is sent
        # for the server to parse with the type's input function.
        return PyType("str")
    raise CodegenError(
        where,
        f"{subject} has PostgreSQL type {f'{pg.schema}.{pg.name}'!r}, which has no Python mapping",
        f'map it in pyproject.toml: [tool.codegen.overrides] "{pg.name}" = "module.Type"',
    )


def composite_constant(pg: PgType) -> str:
    """The models.py constant describing composite type ``pg``: ``PAIR_COMPOSITE`` for pair."""
    name = class_name(pg.name)
    snake = "".join(f"_{c}" if c.isupper() and i else c for i, c in enumerate(name))
    return f"{snake.upper()}_COMPOSITE"


def composite_enum(field_type: PyType) -> tuple[str, bool] | None:
    """The StrEnum of an enum attribute of a composite (and whether it is an array of them).

    psycopg loads it as its label (or the text form of the array) inside the composite:
    the ``Composite`` constant names the enum, and the runtime converts it.
    """
    guard = field_type.guard
    if guard is None or guard.helper != ENUM_GUARD:
        return None  # not an enum, or an overridden one
    return guard.enum, guard.each


def _composite(pg: PgType, where: Location | None, subject: str, overrides: Overrides) -> PyType:
    """A composite type of its own: its frozen dataclass in models.py, every field nullable.

    psycopg builds the dataclass (``psycopg.types.composite``) once the generated function
    has registered the type on the connection, looked up by name; so a field must be of a
    type psycopg loads and dumps as its Python type unconverted (no json, no override with
    load or dump), an enum (converted by the runtime, ``composite_enum``), or a composite.
    """
    qualified = f"{pg.schema}.{pg.name}"
    if not pg.fields:
        raise CodegenError(
            where,
            f"{subject} has PostgreSQL type {qualified!r}, a table's row type (or a composite "
            "without attributes), which has no Python mapping",
            f"select the table's columns, or sqlc.embed({pg.name}) for its model; or map it in "
            f'pyproject.toml: [tool.codegen.overrides] "{pg.name}" = "module.Type"',
        )
    composites: list[str] = []
    for field in pg.fields:
        field_type = python_type(
            field.type,
            where=where,
            subject=f"field {field.name!r} of composite type {qualified!r} ({subject})",
            overrides=overrides,
            element_nullable=True,
        )
        converted = field_type.load or field_type.enum_array or field_type.dump
        if converted and not field_type.composites and composite_enum(field_type) is None:
            raise CodegenError(
                where,
                f"{subject} has composite type {qualified!r}, whose field {field.name!r} "
                f"has type {f'{field.type.schema}.{field.type.name}'!r}: psycopg would load "
                "and dump it unconverted inside the composite (json unwrapped, an override's "
                "load or dump not applied), so it has no Python mapping there",
                f'map the composite in pyproject.toml: [tool.codegen.overrides] "{pg.name}" = '
                '{ python = "module.Type", load = "module.from_text" } (load gets its text form)',
            )
        composites.extend(c for c in field_type.composites if c not in composites)
    name = class_name(pg.name)
    composites.append(composite_constant(pg))
    return PyType(
        name,
        load=f"{COMPOSITE_LOADER}({name}, {{}}, {COLUMN_MARK})",
        composites=tuple(composites),
    )


def _base(pg: PgType, overrides: Overrides) -> PyType | None:
    """What an override of ``pg`` builds on: None when ``pg`` has no mapping of its own."""
    try:
        return python_type(pg, where=None, overrides=overrides)
    except CodegenError:
        return None


def _override(override: Override, key: str, where: Location | None, base: PyType | None) -> PyType:
    """``override`` composed with ``base``: load after base's load, dump before its dump."""
    annotation = _import_path(override.python, key, "python", where)
    base = base or PyType(annotation)
    load = base.load
    if override.load is not None:
        if base.enum_array:
            raise CodegenError(
                where,
                f"override {key!r}: load is not supported on an array of enums",
                "override the element type instead, or drop load",
            )
        function = _import_path(override.load, key, "load", where)
        load = f"{function}({base.load or '{}'})"
    dump = base.dump
    if override.dump is not None:
        function = _import_path(override.dump, key, "dump", where)
        dump = (base.dump or "{}").format(f"{function}({{}})")
    return PyType(
        annotation,
        load=load,
        dump=dump,
        enum_array=base.enum_array,
        composites=base.composites,  # the value ``load`` gets is still the composite's class
    )


def _import_path(target: str, key: str, what: str, where: Location | None) -> str:
    """The name to write for import path ``target`` (its namespace imports it)."""
    module, _, name = target.rpartition(".")
    if not module or not all(part.isidentifier() for part in target.split(".")):
        raise CodegenError(
            where,
            f"override {key!r}: {what} = {target!r} is not an import path",
            'write it as "package.module.Name", e.g. "decimal.Decimal" or "builtins.int"',
        )
    return name
