"""Stage 4: every Python decision about the generated modules.

Names, annotations, imports, return shapes and the expressions that build rows
and wrap parameters are all chosen here, so the templates only lay out text.

Naming rules (documented in the README):

- a parameter's Python name is the snake_case of its SQL name (``@userId`` ->
  ``user_id``), a keyword gets a final ``_`` (``@from`` -> ``from_``), and one
  of the generated function's own names (``conn``, ``cur``, ``row``) is numbered
  (``conn_2``); two SQL names becoming one Python name is an error;
- a query ``GetConnectionLog`` becomes the function ``get_connection_log``, its
  SQL the constant ``GET_CONNECTION_LOG`` and its row ``GetConnectionLogRow``;
- a PostgreSQL enum ``user_status`` becomes ``class UserStatus(StrEnum)`` whose
  members are the labels in UPPER_SNAKE case (``'active'`` -> ``ACTIVE``);
- a table becomes the CamelCase of its name made singular: ``-ies`` -> ``-y``
  (``policies`` -> ``Policy``); ``-sses``, ``-xes``, ``-ches``, ``-shes`` and
  ``-tuses`` lose ``-es`` (``addresses`` -> ``Address``, ``statuses`` ->
  ``Status``); otherwise a final ``s`` not after another ``s`` goes
  (``connection_logs`` -> ``ConnectionLog``, ``users`` -> ``User``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Final

from connlog.codegen.model import (
    Analysis,
    AnalyzedColumn,
    AnalyzedParam,
    AnalyzedQuery,
    CodegenError,
    CodegenErrors,
    Command,
    Location,
    PgType,
    table_key,
)
from connlog.codegen.python.conversions import (
    convert,
    copy_type,
    guard_check,
    load,
    load_imports,
    optional,
)
from connlog.codegen.python.imports import from_subpackage, import_lines
from connlog.codegen.python.literals import (
    docstring,
    pep257,
    quote_identifier,
    sql_literal,
    string,
    tuple_literal,
)
from connlog.codegen.python.names import (
    function_name,
    python_identifier,
    snake_case,
    unique_identifiers,
)
from connlog.codegen.python.types import (
    CIDR,
    ENUM_ARRAY_LOADER,
    INET,
    LABELS_GUARD,
    NO_ROW_ERROR,
    NON_NEGATIVE_GUARD,
    REQUIRES_GUARD,
    SEQUENCE_GUARD,
    SLOT_SETTERS,
    Import,
    Overrides,
    PyType,
    class_name,
    composite_constant,
    composite_enum,
    enum_labels_name,
    python_type,
    runtime_import,
)

MODELS_MODULE: Final = "models"
# The helpers query modules share (call-time checks, the enum array loader), once per
# out package: a private module with public names, imported under the private names
# the function bodies call (``types.ENUM_GUARD``...).
RUNTIME_MODULE: Final = "_runtime"
# The migrations generated from, and ``verify_schema``.
MIGRATIONS_MODULE: Final = "_migrations"
EXEC_RESULT: Final = "ExecResult"  # what an :execresult function returns, from _runtime.py
AIO_PACKAGE: Final = "aio"  # the asyncio twins: ``aio/<stem>.py``
# The generated function's own names (its first parameter, its locals): parameters are
# renamed around them.
RESERVED_PARAMETER_NAMES: Final = frozenset({"conn", "cur", "row"})


class Shape(StrEnum):
    """What a generated function returns, and so how its body fetches."""

    ROW = "row"  # exactly one row: the row, or an error if the server sent none
    OPTIONAL_ROW = "optional_row"  # the row or None
    ROWS = "rows"  # a list of rows
    NOTHING = "nothing"  # None
    ROWCOUNT = "rowcount"  # the number of rows affected
    RESULT = "result"  # the number of rows affected and the command status: an ExecResult
    ITER = "iter"  # a generator over a server-side cursor
    COPY = "copy"  # binary COPY of an iterable of parameter sets: the number of rows
    BATCH_EXEC = "batch_exec"  # an iterable of parameter sets, pipelined: None
    BATCH_ONE = "batch_one"  # ... a row or None for each
    BATCH_MANY = "batch_many"  # ... a list of rows for each


# Commands whose functions take an iterable of ``<QueryName>Params``.
_BATCHES: Final = {
    Command.COPYFROM: Shape.COPY,
    Command.BATCHEXEC: Shape.BATCH_EXEC,
    Command.BATCHONE: Shape.BATCH_ONE,
    Command.BATCHMANY: Shape.BATCH_MANY,
}
_ROW_COMMANDS: Final = (
    Command.ONE,
    Command.MANY,
    Command.ITER,
    Command.BATCHONE,
    Command.BATCHMANY,
)


@dataclass(frozen=True, slots=True)
class Field:
    name: str
    annotation: str


@dataclass(frozen=True, slots=True)
class RowClass:
    name: str
    doc: str  # docstring body, already escaped
    fields: tuple[Field, ...]
    # Another row class of the module with exactly these fields: this name is an alias of it,
    # so identical results are one type (interchangeable, one schema in OpenAPI).
    same_as: str | None = None


@dataclass(frozen=True, slots=True)
class Loader:
    """A function of the query module building one row object from the tuple ``row``.

    It sets each slot of a new ``cls`` through the slot's own setter (``setters[i]``, from
    ``_runtime.slot_setters``): a frozen dataclass's ``__init__`` goes through
    ``object.__setattr__`` by name for every field, which made a 1000-row listing cost 1.35x
    the same rows as plain tuples.
    """

    name: str
    cls: str
    values: tuple[str, ...]  # the expression of each field, in field order

    @property
    def setters(self) -> str:
        return slot_setters_name(self.cls)


def slot_setters_name(cls: str) -> str:
    """The module constant holding the slots' setters of ``cls``: ``_CONNECTION_LOG_SLOTS``."""
    return f"_{snake_case(cls).upper()}_SLOTS"


@dataclass(frozen=True, slots=True)
class Argument:
    """One keyword-only parameter of a generated function."""

    name: str
    annotation: str
    value: str  # the expression passed to psycopg for it
    default: str = ""  # `` = None`` when it may be left out


@dataclass(frozen=True, slots=True)
class Function:
    name: str
    constant: str
    sql_literal: str  # a Python string literal of the SQL
    doc: str  # docstring body, already escaped
    arguments: tuple[Argument, ...]
    values: str  # the parameters tuple expression, "" when there are none
    returns: Mapping[str, str]  # the return annotation, by ``Flavor.name``
    shape: Shape
    row: str  # the expression building a row from the tuple ``row``
    query_name: str
    row_class: RowClass | None  # declared in this module, when not a model
    row_type: str = "None"  # the class of one row
    loaders: tuple[Loader, ...] = ()  # what ``row`` calls, the embedded tables' first
    # :copyfrom and :batch*: a ``<QueryName>Params`` per call, and the parameters tuple
    # built from one of them, ``p``.
    params_class: RowClass | None = None
    # ``-- params: rows``: a sequence of ``params_class``, sent as one array per field.
    transposes: bool = False
    item_values: str = ""
    empty_result: str = ""  # :batch*: what an empty iterable returns, without a round trip
    rows_annotation: str = ""  # :batchone and :batchmany: the list of results built
    copy_constant: str = ""  # :copyfrom: the COPY statement's constant
    copy_sql_literal: str = ""
    copy_types: str = ""  # a tuple literal of type names for ``Copy.set_types``
    # The composite types to register on the connection first (``Composite`` constants of
    # models.py): a tuple literal, "" when it uses none.
    composites: str = ""


@dataclass(frozen=True, slots=True)
class QueryModule:
    filename: str  # e.g. "users.py"
    source: str  # the query file, as shown in the header
    imports: tuple[str, ...]  # import lines, sorted as ruff's isort does
    functions: tuple[Function, ...]
    row_classes: tuple[RowClass, ...]
    # The asyncio twin: the same functions, importing SQL constants and row classes
    # from the sync module rather than declaring them again.
    aio_filename: str
    aio_imports: tuple[str, ...]
    cursor_ids: bool = False  # an :iter function names its server cursors from a counter
    # (constant, class) of each class the loaders build, for its slots' setters.
    slot_setters: tuple[tuple[str, str], ...] = ()
    # ``-- filters: Name``: one TypedDict of the optional parameters its queries share.
    filters: tuple[RowClass, ...] = ()


@dataclass(frozen=True, slots=True)
class Flavor:
    """The words in which the sync and the asyncio renderings of one module differ."""

    name: str  # "sync" or "aio"
    module_doc: str  # appended to the module docstring
    declares: bool  # declares the SQL constants and row classes (the sync module does)
    connection: str
    define: str
    with_: str
    await_: str
    for_: str
    raw_cursor: str
    raw_server_cursor: str
    register_composites: str = ""  # the ``_runtime`` helper registering composite types


SYNC: Final = Flavor(
    name="sync",
    module_doc="",
    declares=True,
    connection="psycopg.Connection[object]",
    define="def",
    with_="with",
    await_="",
    for_="for",
    raw_cursor="psycopg.RawCursor",
    raw_server_cursor="psycopg.RawServerCursor",
    register_composites="_register_composites",
)
AIO: Final = Flavor(
    name="aio",
    module_doc=", for asyncio",
    declares=False,
    connection="psycopg.AsyncConnection[object]",
    define="async def",
    with_="async with",
    await_="await ",
    for_="async for",
    raw_cursor="psycopg.AsyncRawCursor",
    raw_server_cursor="psycopg.AsyncRawServerCursor",
    register_composites="_register_composites_async",
)


@dataclass(frozen=True, slots=True)
class EnumMember:
    name: str
    value: str  # a Python string literal


@dataclass(frozen=True, slots=True)
class EnumClass:
    name: str
    doc: str  # docstring body, already escaped
    members: tuple[EnumMember, ...]
    labels_name: str  # the ``Literal`` alias of its labels, which parameters accept too
    labels: str  # ``Literal[...]`` of its labels


@dataclass(frozen=True, slots=True)
class CompositeClass:
    """A composite type's frozen dataclass, and the ``Composite`` constant registering it."""

    row_class: RowClass
    constant: str  # e.g. PAIR_COMPOSITE
    schema: str  # Python string literals of the type's schema and name
    name: str
    fields: str  # a tuple literal of (attribute, "schema.type") pairs, in attnum order
    # (index, StrEnum, is an array) of each enum attribute, "" when there is none.
    enums: str = ""


@dataclass(frozen=True, slots=True)
class ModelsModule:
    filename: str
    source: str  # the migrations directory, as shown in the header
    imports: tuple[str, ...]
    enums: tuple[EnumClass, ...]
    tables: tuple[RowClass, ...]
    composites: tuple[CompositeClass, ...] = ()  # dependencies first


@dataclass(frozen=True, slots=True)
class RuntimeModule:
    """``_runtime.py``: the helpers query modules import, whole in every out package.

    Always written, the same text whatever the queries, so adding or removing a
    query never rewrites it (nor leaves it stale).
    """

    filename: str
    imports: tuple[str, ...]


RUNTIME: Final = RuntimeModule(
    f"{RUNTIME_MODULE}.py",
    import_lines(
        {
            ("collections.abc", "Callable"),
            ("collections.abc", "Mapping"),
            ("collections.abc", "Sequence"),
            ("dataclasses", "dataclass"),
            ("dataclasses", "fields"),
            ("datetime", "datetime"),
            ("enum", "StrEnum"),
            ("typing", "Final"),
            ("typing", "Any"),
            ("typing", "TypeVar"),
            ("typing", "NamedTuple"),
            ("collections.abc", "Callable"),
            ("functools", "cache"),
            ("typing", "cast"),
            ("psycopg.adapt", "Transformer"),
            ("psycopg.pq", "Format"),
            ("collections.abc", "Sequence"),
            ("dataclasses", "fields"),
            ("psycopg", "AsyncConnection"),
            ("psycopg", "Connection"),
            ("psycopg.rows", "tuple_row"),
            ("psycopg.types.composite", "CompositeInfo"),
            ("psycopg.types.composite", "register_composite"),
        }
    ),
)


@dataclass(frozen=True, slots=True)
class MigrationsModule:
    """``_migrations.py``: the migration ids generated from, and ``verify_schema``."""

    filename: str
    source: str  # the migrations directory, as shown in the header
    ids: str  # a tuple literal of the yoyo migration ids, in apply order


@dataclass(frozen=True, slots=True)
class Plan:
    models: ModelsModule
    modules: tuple[QueryModule, ...]
    runtime: RuntimeModule
    migrations: MigrationsModule


@dataclass(frozen=True, slots=True)
class _Model:
    """A table's dataclass as query modules see it."""

    row_class: RowClass
    types: tuple[PyType, ...]
    nullables: tuple[bool, ...]  # per column, as the table declares it
    columns: tuple[str, ...]  # ``table.column`` of each, as the loaders' errors name them


def plan(
    analysis: Analysis,
    *,
    migrations_source: str,
    sources: Sequence[str] = (),
    overrides: Overrides | None = None,
    migration_ids: Sequence[str] = (),
) -> Plan:
    """Decide the generated modules for ``analysis``; every error of the run at once.

    ``sources`` lists every query file, so a file without queries still gets its module.
    """
    overrides = overrides or {}
    errors: list[CodegenError] = []
    models, model_types = _models(analysis, migrations_source, overrides, errors)
    by_source: dict[str, list[AnalyzedQuery]] = {source: [] for source in sources}
    for query in analysis.queries:
        by_source.setdefault(query.source, []).append(query)
    modules: list[QueryModule] = []
    for source in sorted(by_source):
        try:
            modules.append(_query_module(source, by_source[source], model_types, overrides))
        except CodegenErrors as exc:
            errors.extend(exc.errors)
    if errors:
        raise CodegenErrors(errors)
    migrations = MigrationsModule(
        f"{MIGRATIONS_MODULE}.py",
        migrations_source,
        # Always a tuple: ``()`` when there are none.
        tuple_literal(migration_ids),
    )
    return Plan(models, tuple(modules), RUNTIME, migrations)


# --- models.py ----------------------------------------------------------------


def model_name(schema: str, table: str) -> str:
    """A table's model class: ``Invoice`` for public.invoices, ``BillingInvoice`` for
    billing.invoices (as sqlc names a struct outside the default schema)."""
    name = class_name(singular(table))
    return name if schema == "public" else class_name(schema) + name


def _model_field(key: str) -> str:
    """The field holding an embedded table's model: ``invoice``, ``billing_invoice``."""
    schema, _, table = key.rpartition(".")
    return f"{schema}_{singular(table)}" if schema else singular(table)


def singular(table: str) -> str:
    """The documented singular of a table name (see the module docstring)."""
    for plural in ("ies", "sses", "xes", "ches", "shes", "tuses"):
        if table.endswith(plural) and len(table) > len(plural):
            return table[:-3] + "y" if plural == "ies" else table[:-2]
    if table.endswith("s") and not table.endswith("ss") and len(table) > 1:
        return table[:-1]
    return table


def _models(
    analysis: Analysis,
    migrations_source: str,
    overrides: Overrides,
    errors: list[CodegenError],
) -> tuple[ModelsModule, dict[str, _Model]]:
    # JsonValue, Inet and Cidr are always declared: query modules import them for parameters too.
    imports: set[Import] = {
        ("typing_extensions", "TypeAliasType"),
        ("typing", "TypeAlias"),
        *(
            ("ipaddress", name)
            for name in ("IPv4Address", "IPv6Address", "IPv4Interface", "IPv6Interface")
        ),
        *(("ipaddress", name) for name in ("IPv4Network", "IPv6Network")),
    }
    if analysis.enums:
        imports |= {("enum", "StrEnum"), ("typing", "Literal")}
    if analysis.tables:
        imports.add(("dataclasses", "dataclass"))
    names: dict[str, str] = {}  # class name -> what it was made from, for collisions
    where = Location(migrations_source, 1, 1)

    def claim(name: str, what: str) -> None:
        if name in names:
            errors.append(
                CodegenError(
                    where,
                    f"{what} and {names[name]} both become class {name!r} in models.py",
                    "rename one of them in a migration",
                )
            )
        names[name] = what

    enums: list[EnumClass] = []
    for enum in analysis.enums:
        name = class_name(enum.name)
        claim(name, f"enum {enum.name!r}")
        members = unique_identifiers(enum.enum_labels)
        labels_name = enum_labels_name(name)
        claim(labels_name, f"the labels of enum {enum.name!r}")
        enums.append(
            EnumClass(
                name,
                docstring(f"PostgreSQL enum {enum.schema}.{enum.name}."),
                tuple(
                    EnumMember(member.upper(), string(label))
                    for member, label in zip(members, enum.enum_labels, strict=True)
                ),
                labels_name,
                f"Literal[{', '.join(string(label) for label in enum.enum_labels)}]",
            )
        )
    claim("JsonValue", "the JSON value type")
    composites, needs = _composite_classes(analysis.composites, overrides)
    imports |= needs
    for composite in composites:
        claim(composite.row_class.name, f"composite type {composite.name}")
    if composites:
        imports |= {("typing", "Final"), (f".{RUNTIME_MODULE}", "Composite")}
        imports.add(("dataclasses", "dataclass"))
    claim(INET, "the inet type")
    claim(CIDR, "the cidr type")

    tables: list[RowClass] = []
    model_types: dict[str, _Model] = {}
    for table in analysis.tables:
        name = model_name(table.schema, table.name)
        claim(name, f"table {table.name!r}")
        try:
            fields, types = _fields(
                table.columns, where, overrides, ".models", f"table {table.name!r}"
            )
        except CodegenError as exc:
            errors.append(exc)
            continue
        for pytype in types:
            # The enums and JsonValue it names are declared in models.py itself.
            imports |= {(m, n) for m, n in pytype.imports if m != f".{MODELS_MODULE}"}
        row_class = RowClass(
            name, docstring(f"A row of table {table.schema}.{table.name}."), fields
        )
        tables.append(row_class)
        model_types[table_key(table.schema, table.name)] = _Model(
            row_class,
            types,
            tuple(column.nullable for column in table.columns),
            tuple(
                f"{table_key(table.schema, table.name)}.{column.name}" for column in table.columns
            ),
        )
    return (
        ModelsModule(
            f"{MODELS_MODULE}.py",
            migrations_source,
            import_lines(imports),
            tuple(enums),
            tuple(tables),
            composites,
        ),
        model_types,
    )


def _composite_classes(
    composites: Sequence[PgType], overrides: Overrides
) -> tuple[tuple[CompositeClass, ...], set[Import]]:
    """A dataclass for each composite type with a Python mapping, nested types first.

    And what their fields name beyond models.py itself.

    One without (a field of an enum type...) is left out: a query using it is an error
    there, with the override hint, and an override may make the class unnecessary.
    """
    by_name = {(pg.schema, pg.name): pg for pg in composites}
    ordered: list[PgType] = []

    def visit(pg: PgType) -> None:
        while pg.base is not None or pg.element is not None:
            pg = pg.base or pg.element or pg
        if (pg.schema, pg.name) not in by_name or pg in ordered:
            return
        for field in pg.fields:
            visit(field.type)
        ordered.append(pg)

    for pg in composites:
        visit(pg)
    classes: list[CompositeClass] = []
    imports: set[Import] = set()
    for pg in ordered:
        # Whether its own fields map (under the overrides of their types), even where an
        # override of the composite itself would answer for it.
        own = {k: v for k, v in overrides.items() if k not in (pg.name, f"{pg.schema}.{pg.name}")}
        try:
            python_type(pg, where=None, overrides=own, models_module=".models")
            field_types = [
                python_type(
                    field.type,
                    where=None,
                    overrides=overrides,
                    models_module=".models",
                    element_nullable=True,
                )
                for field in pg.fields
            ]
        except CodegenError:
            continue
        for pytype in field_types:
            imports |= {(m, n) for m, n in pytype.imports if m != f".{MODELS_MODULE}"}
        enums = [
            (index, found)
            for index, pytype in enumerate(field_types)
            if (found := composite_enum(pytype)) is not None
        ]
        names = unique_identifiers((field.name for field in pg.fields), reserved=("self",))
        row_class = RowClass(
            class_name(pg.name),
            docstring(
                f"PostgreSQL composite type {pg.schema}.{pg.name}: any attribute may be NULL."
            ),
            tuple(
                Field(name, optional(pytype.annotation, field.nullable))
                for name, pytype, field in zip(names, field_types, pg.fields, strict=True)
            ),
        )
        classes.append(
            CompositeClass(
                row_class,
                composite_constant(pg),
                string(pg.schema),
                string(pg.name),
                tuple_literal(
                    [tuple_literal([f.name, f"{f.type.schema}.{f.type.name}"]) for f in pg.fields],
                    quote=False,
                ),
                tuple_literal(
                    [f"({index}, {enum}, {array})" for index, (enum, array) in enums], quote=False
                )
                if enums
                else "",
            )
        )
    return tuple(classes), imports


def _fields(
    columns: Sequence[AnalyzedColumn],
    where: Location,
    overrides: Overrides,
    models_module: str,
    owner: str,
) -> tuple[tuple[Field, ...], tuple[PyType, ...]]:
    names = unique_identifiers((column.name for column in columns), reserved=("self",))
    types = tuple(
        python_type(
            column.type,
            where=where,
            subject=f"column {column.name!r} of {owner}",
            overrides=overrides,
            column=column,
            models_module=models_module,
            element_nullable=column.element_nullable,
        )
        for column in columns
    )
    fields = tuple(
        Field(name, optional(pytype.annotation, column.nullable))
        for name, pytype, column in zip(names, types, columns, strict=True)
    )
    return fields, types


# --- query modules --------------------------------------------------------------


def _query_module(
    source: str,
    queries: Sequence[AnalyzedQuery],
    models: Mapping[str, _Model],
    overrides: Overrides,
) -> QueryModule:
    stem = source.rsplit("/", 1)[-1].removesuffix(".sql")
    if not stem.isidentifier() or stem in (MODELS_MODULE, RUNTIME_MODULE, MIGRATIONS_MODULE):
        raise CodegenErrors(
            [
                CodegenError(
                    Location(source, 1, 1),
                    f"query file {source!r} cannot become the module {stem + '.py'!r}",
                    "name it as a Python module, e.g. connection_logs.sql, "
                    f"and not {MODELS_MODULE}.sql or {RUNTIME_MODULE}.sql",
                )
            ]
        )
    # Both renderings: what the function bodies name.
    common: set[Import] = {("psycopg", "")}
    declared: set[Import] = {("typing", "Final")}  # the sync module's declarations
    shared: set[Import] = set()  # what the async module takes from the sync one
    functions: list[Function] = []
    row_classes: list[RowClass] = []
    errors: list[CodegenError] = []
    helpers: set[str] = set()  # the ``_runtime`` helpers the function bodies call
    sync_only: set[Import] = set()
    aio_only: set[Import] = set()
    first_with_fields: dict[tuple[Field, ...], str] = {}  # the first row class of each shape
    tagged: dict[str, list[tuple[AnalyzedQuery, Function]]] = {}  # by ``-- filters:`` name
    for query in queries:
        try:
            planned = _function(query, models, overrides)
        except CodegenError as exc:
            errors.append(exc)
            continue
        except CodegenErrors as exc:
            errors.extend(exc.errors)
            continue
        function = planned.function
        if query.filters is not None:
            tagged.setdefault(query.filters, []).append((query, function))
        if function.row_class is not None:
            row_class = function.row_class
            first = first_with_fields.setdefault(row_class.fields, row_class.name)
            if first != row_class.name:
                function = replace(function, row_class=replace(row_class, same_as=first))
        common |= planned.imports
        declared |= planned.declared
        if planned.enum_array:
            helpers.add(ENUM_ARRAY_LOADER)
        helpers |= planned.guards
        functions.append(function)
        # A :copyfrom runs its COPY statement; the INSERT it was written as is documentation.
        shared.add((f".{stem}", function.copy_constant or function.constant))
        # The row and parameter classes are part of the aio module's API as well: re-exported
        # explicitly (``X as X``), so ``from .aio.users import GetUserRow`` type-checks.
        if function.row_class is not None:
            row_classes.append(function.row_class)
            shared.add((f".{stem}", _reexport(function.row_class.name)))
        if function.params_class is not None:
            shared.add((f".{stem}", _reexport(function.params_class.name)))
        if function.composites:
            sync_only.add(runtime_import(SYNC.register_composites))
            aio_only.add(runtime_import(AIO.register_composites))
    if row_classes:
        declared.add(("dataclasses", "dataclass"))
    built = sorted({loader.cls for f in functions for loader in f.loaders})
    if built:
        common |= {("typing", "Any"), ("typing", "Final"), runtime_import(SLOT_SETTERS)}
    no_rows = (Shape.NOTHING, Shape.ROWCOUNT, Shape.RESULT, Shape.COPY, Shape.BATCH_EXEC)
    if any(f.shape not in no_rows for f in functions):
        common.add(("psycopg.rows", "tuple_row"))
    cursor_ids = any(f.shape is Shape.ITER for f in functions)
    if cursor_ids:
        common.add(("typing", "Final"))
        sync_only.add(("collections.abc", "Iterator"))
        aio_only.add(("collections.abc", "AsyncIterator"))
    # ``from ._runtime import aware as _aware``: a module-level name, as a local helper was.
    common |= {(f".{RUNTIME_MODULE}", f"{h.removeprefix('_')} as {h}") for h in helpers}
    filters: list[RowClass] = []
    for filters_name, members in tagged.items():
        try:
            filters.append(_filters_class(filters_name, members))
        except CodegenError as exc:
            errors.append(exc)
    if filters:
        declared.add(("typing", "TypedDict"))
        shared |= {(f".{stem}", _reexport(f.name)) for f in filters}
    if errors:
        raise CodegenErrors(errors)
    return QueryModule(
        f"{stem}.py",
        source,
        import_lines(common | declared | sync_only),
        tuple(functions),
        tuple(row_classes),
        aio_filename=f"{AIO_PACKAGE}/{stem}.py",
        aio_imports=import_lines(from_subpackage(common | shared | aio_only)),
        cursor_ids=cursor_ids,
        filters=tuple(filters),
        slot_setters=tuple((slot_setters_name(cls), cls) for cls in built),
    )


def _reexport(name: str) -> str:
    return f"{name} as {name}"


def _filters_class(name: str, members: list[tuple[AnalyzedQuery, Function]]) -> RowClass:
    """The optional parameters every query marked ``-- filters: name`` has, with one type.

    In the first query's order. A service builds one ``name`` and passes it as ``**filters``
    to any of those functions; a type checker checks its keys against each signature.
    """
    shared: dict[str, str] | None = None
    for _, function in members:
        optional = {a.name: a.annotation for a in function.arguments if a.default}
        shared = (
            optional
            if shared is None
            else {
                key: annotation
                for key, annotation in shared.items()
                if optional.get(key) == annotation
            }
        )
    first = members[0][0]
    if not shared:
        raise CodegenError(
            first.location,
            f"the queries marked `-- filters: {name}` share no optional parameter",
            "mark only queries that take the same sqlc.narg() filters",
        )
    names = ", ".join(f"{function.name}()" for _, function in members)
    return RowClass(
        name,
        docstring(f"The optional filters of {names}: pass one as ``**filters``."),
        tuple(Field(key, annotation) for key, annotation in shared.items()),
    )


@dataclass(frozen=True, slots=True)
class _Planned:
    function: Function
    imports: set[Import]  # what the function's own text names: both renderings need them
    declared: set[Import]  # what its row class's fields name: only where it is declared
    enum_array: bool  # its rows load an enum array from text
    guards: frozenset[str] = frozenset()  # the call-time check helpers it uses


@dataclass(frozen=True, slots=True)
class _Loads:
    """The expressions loading a run of columns of the tuple ``row``."""

    exprs: tuple[str, ...]
    imports: frozenset[Import]  # what they name
    enum_array: bool  # one loads an enum array from text


def _column_loads(
    types: Sequence[PyType], nullables: Sequence[bool], start: int, columns: Sequence[str]
) -> _Loads:
    """Load ``row[start]``, ``row[start + 1]``... as ``types`` say; ``columns`` names them."""
    imports: set[Import] = set()
    exprs: list[str] = []
    for offset, (pytype, nullable, column) in enumerate(
        zip(types, nullables, columns, strict=True)
    ):
        imports |= load_imports(pytype)
        exprs.append(load(pytype, f"row[{start + offset}]", nullable, column))
    enum_array = any(pytype.enum_array is not None for pytype in types)
    return _Loads(tuple(exprs), frozenset(imports), enum_array)


def parameter_names(params: Sequence[AnalyzedParam]) -> tuple[str, ...]:
    """The Python name of each parameter (see the module docstring): unique identifiers.

    A name is changed only to avoid ``RESERVED_PARAMETER_NAMES``; ``conn`` becomes
    ``conn_2``, or ``conn_3`` when another parameter is already ``conn_2``. Two SQL
    names that become one Python name (``@userId`` and ``@user_id``) raise
    CodegenErrors, at the later one's first occurrence.
    """
    bases = [python_identifier(param.name) for param in params]
    errors: list[CodegenError] = []
    first: dict[str, AnalyzedParam] = {}
    for param, base in zip(params, bases, strict=True):
        other = first.setdefault(base, param)
        if other is not param:
            errors.append(
                CodegenError(
                    param.location,
                    f"parameters {other.name!r} and {param.name!r} both become the Python "
                    f"name {base!r}",
                    "spell them the same way to make them one parameter, or rename one",
                )
            )
    if errors:
        raise CodegenErrors(errors)
    used = set(RESERVED_PARAMETER_NAMES) | set(bases)
    names: list[str] = []
    for base in bases:
        ident, n = base, 1
        while base in RESERVED_PARAMETER_NAMES and ident in used:
            n += 1
            ident = f"{base}_{n}"
        used.add(ident)
        names.append(ident)
    return tuple(names)


def _function(query: AnalyzedQuery, models: Mapping[str, _Model], overrides: Overrides) -> _Planned:
    imports: set[Import] = set()
    declared: set[Import] = set()
    name = function_name(query.name)
    arguments: list[Argument] = []
    values: list[str] = []
    item_values: dict[int, str] = {}  # by parameter number: read from ``p``, a Params
    guards: set[str] = set()  # the call-time check helpers its parameters use
    batch = _BATCHES.get(query.command)
    idents = parameter_names(query.params)
    named = {p.number: (p, i) for p, i in zip(query.params, idents, strict=True)}
    for param, ident in zip(query.params, idents, strict=True):
        pytype = python_type(
            param.type,
            where=query.location,
            subject=f"parameter {param.name!r} of query {query.name}",
            overrides=overrides,
            column=param,
        )
        if query.param_rows:
            argument, value, field_needs = _row_field(query, param, pytype, ident)
            arguments.append(argument)
            values.append(value)
            item_values[param.number] = value
            imports |= field_needs.imports
            declared |= field_needs.declared
            guards |= field_needs.guards
            continue
        # A batch's parameter types are named only by its Params class.
        imports |= pytype.dump_imports
        if batch is None:
            imports |= pytype.imports | pytype.param_imports
        else:
            declared |= pytype.imports | pytype.param_imports
        check: str | None = None  # a template on ``{}``, applied before ``dump``
        if pytype.array:
            check = f"{SEQUENCE_GUARD}({{}}, {string(ident)})"
            guards.add(SEQUENCE_GUARD)
        if pytype.guard is not None:
            guarded = guard_check(pytype.guard, ident)
            check = guarded if check is None else guarded.format(check)
            guards.add(pytype.guard.helper)
            if pytype.guard.enum:
                imports |= pytype.imports  # the enum class the check converts to
        dump = pytype.dump
        if check is not None:
            dump = check if dump is None else dump.format(check)
        rules = _rule_checks(param, pytype, ident, named)
        guards |= rules.helpers
        imports |= rules.imports
        declared |= rules.imports
        item_values[param.number] = convert(
            _then(dump, rules.check.format(other="p.")), f"p.{ident}", param.nullable
        )
        dump = _then(dump, rules.check.format(other=""))
        annotation = optional(rules.annotation or pytype.parameter, param.nullable)
        # Only a parameter written sqlc.narg() is optional; one that is merely nullable
        # (inserted into a nullable column) must still be given, possibly as None.
        default = " = None" if param.narg else ""
        arguments.append(Argument(ident, annotation, "", default))
        values.append(convert(dump, ident, param.nullable))
    arguments = [
        Argument(a.name, a.annotation, value, a.default)
        for a, value in zip(arguments, values, strict=True)
    ]
    # Required keyword parameters first, then the optional ones, each group in SQL order (the
    # values tuple keeps SQL order: it follows the placeholders).
    arguments.sort(key=lambda argument: bool(argument.default))
    row_class: RowClass | None = None
    row_expr = ""
    loaders: tuple[Loader, ...] = ()
    row_type = "None"
    enum_array = False
    if query.command in _ROW_COMMANDS:
        model = models.get(query.whole_table) if query.whole_table else None
        if query.embeds:
            row_type = class_name(query.name) + "Row"
            row_class, loaders, needs, row_declares, enum_array = _embedded_row(
                query, row_type, models, overrides, f"_load_{name}"
            )
            row_expr = f"{loaders[-1].name}(row)"
            imports |= needs
            declared |= row_declares  # beside what a Params class declared above
        else:
            scalar = model is None and len(query.columns) == 1
            if model is not None:
                row_type = model.row_class.name
                imports.add((f".{MODELS_MODULE}", row_type))
                types = model.types
            elif scalar:
                # One column: the value itself, as sqlc returns it (``count(...) -> int``).
                column = query.columns[0]
                _, types = _fields(
                    query.columns, query.location, overrides, ".models", f"query {query.name}"
                )
                row_type = optional(types[0].annotation, column.nullable)
                imports |= types[0].imports
            else:
                row_type = class_name(query.name) + "Row"
                fields, types = _fields(
                    query.columns, query.location, overrides, ".models", f"query {query.name}"
                )
                row_class = RowClass(row_type, docstring(f"A row of {query.name}."), fields)
            loads = _column_loads(
                types,
                [column.nullable for column in query.columns],
                0,
                [_column_label(query, column) for column in query.columns],
            )
            imports |= loads.imports
            if row_class is not None:
                for pytype in types:
                    declared |= pytype.imports
            enum_array = loads.enum_array
            if scalar:
                row_expr = loads.exprs[0]
                if row_expr == "row[0]":
                    # A tuple row's field is Any: returned as is, mypy --strict refuses it.
                    row_expr = f"cast({string(row_type)}, row[0])"
                    imports.add(("typing", "cast"))
            elif loads.exprs:
                loaders = (Loader(f"_load_{name}", row_type, loads.exprs),)
                row_expr = f"_load_{name}(row)"
            else:
                # No columns: the row is the empty tuple, passed on so that it is used.
                row_expr = f"{row_type}(*row)"

    if query.command is Command.ONE:
        shape = Shape.ROW if query.row_is_certain else Shape.OPTIONAL_ROW
        if shape is Shape.ROW:
            guards.add(NO_ROW_ERROR)
        returns = row_type if query.row_is_certain else _or_none(row_type)
    elif query.command is Command.MANY:
        shape, returns = Shape.ROWS, f"list[{row_type}]"
    elif query.command is Command.EXECROWS:
        shape, returns = Shape.ROWCOUNT, "int"
    elif query.command is Command.EXECRESULT:
        shape, returns = Shape.RESULT, EXEC_RESULT
        imports.add((f".{RUNTIME_MODULE}", EXEC_RESULT))
    elif query.command is Command.ITER:
        shape, returns = Shape.ITER, f"Iterator[{row_type}]"
        imports.add(("itertools", ""))
    elif query.command is Command.COPYFROM:
        shape, returns = Shape.COPY, "int"
    elif query.command is Command.BATCHONE:
        shape, returns = Shape.BATCH_ONE, f"list[{_or_none(row_type)}]"
    elif query.command is Command.BATCHMANY:
        shape, returns = Shape.BATCH_MANY, f"list[list[{row_type}]]"
    else:
        shape, returns = Shape.BATCH_EXEC if batch else Shape.NOTHING, "None"
    aio_returns = f"AsyncIterator[{row_type}]" if shape is Shape.ITER else returns
    empty_result = {Shape.BATCH_EXEC: "None", Shape.BATCH_ONE: "[]", Shape.BATCH_MANY: "[]"}
    rows_annotation = returns if shape in (Shape.BATCH_ONE, Shape.BATCH_MANY) else ""

    params_class: RowClass | None = None
    copy_constant = copy_sql = copy_types = ""
    ordered = [param.number for param in query.params]
    if query.param_rows:
        imports.add(("collections.abc", "Sequence"))
        guards.add(SEQUENCE_GUARD)
    elif batch is not None:
        imports.add(("collections.abc", "Iterable"))
    if batch is not None or query.param_rows:
        params_class = RowClass(
            class_name(query.name) + "Params",
            docstring(f"The parameters of one {query.name}."),
            tuple(Field(a.name, a.annotation + a.default) for a in arguments),
        )
        declared.add(("dataclasses", "dataclass"))
    if query.copy is not None:
        ordered = list(query.copy.params)
        copy_constant = f"{name.upper()}_COPY"
        target = ".".join(
            quote_identifier(part)
            for part in (query.copy.schema, query.copy.table)
            if part is not None
        )
        columns = ", ".join(quote_identifier(column) for column in query.copy.columns)
        copy_sql = string(f"COPY {target} ({columns}) FROM STDIN (FORMAT BINARY)")
        by_number = {param.number: param for param in query.params}
        copy_types = tuple_literal(
            [copy_type(by_number[number].type, query, by_number[number].name) for number in ordered]
        )
    item_tuple = [item_values[number] for number in ordered]
    composites = composites_needed(query, overrides)
    imports |= {(f".{MODELS_MODULE}", constant) for constant in composites}

    function = Function(
        name=name,
        constant=name.upper(),
        # The annotation leads the statement PostgreSQL sees: the query's name shows in the
        # server's logs and in pg_stat_statements.
        sql_literal=sql_literal(f"-- name: {query.name} :{query.command.value}\n{query.sql}"),
        doc=docstring(pep257(query.doc.strip() or f"Run query {query.name} ({query.location}).")),
        arguments=tuple(arguments),
        # Only a one-element tuple needs its comma; more would make ruff explode the call.
        values=tuple_literal(values, quote=False) if values else "",
        returns={SYNC.name: returns, AIO.name: aio_returns},
        shape=shape,
        row=row_expr,
        loaders=loaders,
        query_name=query.name,
        row_class=row_class,
        row_type=row_type,
        params_class=params_class,
        transposes=query.param_rows,
        item_values=tuple_literal(item_tuple, quote=False),
        empty_result=empty_result.get(shape, ""),
        rows_annotation=rows_annotation,
        copy_constant=copy_constant,
        copy_sql_literal=copy_sql,
        copy_types=copy_types,
        composites=tuple_literal(composites, quote=False) if composites else "",
    )
    return _Planned(function, imports, declared, enum_array, frozenset(guards))


def composites_needed(query: AnalyzedQuery, overrides: Overrides) -> tuple[str, ...]:
    """The composite types psycopg must know before ``query``'s values are dumped or loaded.

    Their ``Composite`` constants, nested types first. A type without a mapping is the
    business of the planning that names it, which reports it.
    """
    needed: list[str] = []
    sources: list[AnalyzedParam | AnalyzedColumn] = [*query.params, *query.columns]
    for source in sources:
        try:
            pytype = python_type(source.type, where=None, overrides=overrides, column=source)
        except CodegenError:
            continue
        needed.extend(c for c in pytype.composites if c not in needed)
    return tuple(needed)


def _or_none(annotation: str) -> str:
    """``annotation | None``, once: a nullable one-column result already says it."""
    return annotation if annotation.endswith(" | None") else f"{annotation} | None"


@dataclass(frozen=True, slots=True)
class _Needs:
    """What an expression of a generated function needs: imports and ``_runtime`` helpers."""

    imports: frozenset[Import]  # named by the function body (both renderings)
    declared: frozenset[Import]  # named by the declarations (the Params class)
    guards: frozenset[str]


def _row_field(
    query: AnalyzedQuery, param: AnalyzedParam, pytype: PyType, ident: str
) -> tuple[Argument, str, _Needs]:
    """A field of a ``-- params: rows`` query's Params class, and the array built from it.

    The array parameter ``@x::T[]`` becomes the field ``x: T`` of each row, ``T | None =
    None`` when written ``sqlc.narg(x)``; the array sent is ``[p.x for p in rows]``, each
    element checked and dumped as a parameter of type ``T`` would be.
    """
    element_pg = param.type.element
    if not pytype.array or element_pg is None:
        raise CodegenError(
            param.location,
            f"query {query.name} takes `-- params: rows`, but parameter {param.name!r} "
            "is not an array",
            f"write it as an array of one value per row (@{param.name}::type[]), "
            "or drop `-- params: rows`",
        )
    element = python_type(
        element_pg,
        where=query.location,
        subject=f"parameter {param.name!r} of query {query.name}",
    )
    imports = set(element.dump_imports)
    guards: set[str] = set()
    template = element.dump
    if element.guard is not None:
        check = guard_check(element.guard, ident)
        template = check if template is None else template.format(check)
        guards.add(element.guard.helper)
        if element.guard.enum:
            imports |= element.imports  # the enum class the check converts to
    item = convert(template, f"p.{ident}", param.narg)
    argument = Argument(
        ident, optional(element.parameter, param.narg), "", " = None" if param.narg else ""
    )
    needs = _Needs(frozenset(imports), element.imports | element.param_imports, frozenset(guards))
    return argument, f"[{item} for p in rows]", needs


@dataclass(frozen=True, slots=True)
class _RuleChecks:
    """The checks a parameter's rules (``AnalyzedParam``) add at the call."""

    # A template on ``{{}}`` (the value) and ``{other}``, the prefix of other parameters'
    # names (``p.`` in a batch); "" when there is none.
    check: str = ""
    helpers: frozenset[str] = frozenset()
    imports: frozenset[Import] = frozenset()
    annotation: str = ""  # a narrower annotation than the type's (``Literal[...]``)


def _rule_checks(
    param: AnalyzedParam,
    pytype: PyType,
    ident: str,
    by_number: Mapping[int, tuple[AnalyzedParam, str]],
) -> _RuleChecks:
    """Checks for what the statement implies about the parameter: see ``param_rules``.

    Only plain values get them: an overridden type (or an array) is the override's business.
    """
    check = ""
    helpers: set[str] = set()
    imports: set[Import] = set()
    annotation = ""
    name = _escaped(string(ident))

    def then(template: str, helper: str) -> None:
        nonlocal check
        check = template if not check else check.replace("{{}}", template, 1)
        helpers.add(helper)

    if param.non_negative and pytype.annotation == "int":
        then(f"{NON_NEGATIVE_GUARD}({{{{}}}}, {name})", NON_NEGATIVE_GUARD)
    if param.labels and pytype.annotation == "str":
        labels = _escaped(tuple_literal(param.labels))
        then(f"{LABELS_GUARD}({{{{}}}}, {labels}, {name})", LABELS_GUARD)
        annotation = f"Literal[{', '.join(string(label) for label in param.labels)}]"
        imports.add(("typing", "Literal"))
    other = by_number.get(param.requires) if param.requires is not None else None
    if other is not None and param.narg and other[0].narg:
        needs = _escaped(string(other[1]))
        then(f"{REQUIRES_GUARD}({{{{}}}}, {{other}}{other[1]}, {name}, {needs})", REQUIRES_GUARD)
    return _RuleChecks(check, frozenset(helpers), frozenset(imports), annotation)


def _escaped(literal: str) -> str:
    """``literal`` safe inside a template that is ``str.format``-ed twice."""
    return literal.replace("{", "{{{{").replace("}", "}}}}")


def _then(dump: str | None, check: str) -> str | None:
    """The template applying ``check`` (a template on ``{}``) and then ``dump``."""
    if not check:
        return dump
    return check if dump is None else dump.format(check)


def _column_label(query: AnalyzedQuery, column: AnalyzedColumn) -> str:
    """How a loader's error names a result column: its table column, else its name."""
    source = f"{column.table}.{column.table_column}" if column.table else repr(column.name)
    return f"{source} of query {query.name}"


def embed_field_names(query: AnalyzedQuery) -> dict[int, str]:
    """The field of each ``sqlc.embed``, by its first column: named like sqlc's.

    sqlc names the field after the table's struct (``sqlc.embed(a)`` of ``authors`` is
    ``Author``): here the snake_case singular, ``author``. A table embedded more than
    once (a self join) is named by each alias instead, which tells them apart.
    """
    tables = [embed.table for embed in query.embeds]
    return {
        embed.start: embed.name if tables.count(embed.table) > 1 else _model_field(embed.table)
        for embed in query.embeds
    }


def _embedded_row(
    query: AnalyzedQuery,
    row_type: str,
    models: Mapping[str, _Model],
    overrides: Overrides,
    loader: str,
) -> tuple[RowClass, tuple[Loader, ...], set[Import], set[Import], bool]:
    """A row class whose ``sqlc.embed`` columns are one field each, holding the model.

    Returns it, its loaders (``loader``, the row's, last; one per embedded table before
    it), what they and what the class's fields need imported, and whether it loads an
    enum array.
    """
    embedded: list[Loader] = []
    imports: set[Import] = set()
    declared: set[Import] = set()
    embeds = {embed.start: embed for embed in query.embeds}
    embed_names = embed_field_names(query)
    names: list[str] = []
    annotations: list[str] = []
    loads: list[str] = []
    enum_array = False
    index = 0
    while index < len(query.columns):
        embed = embeds.get(index)
        if embed is None:
            column = query.columns[index]
            pytype = python_type(
                column.type,
                where=query.location,
                subject=f"column {column.name!r} of query {query.name}",
                overrides=overrides,
                column=column,
                element_nullable=column.element_nullable,
            )
            loaded = _column_loads(
                (pytype,), (column.nullable,), index, (_column_label(query, column),)
            )
            declared |= pytype.imports
            names.append(column.name)
            annotations.append(optional(pytype.annotation, column.nullable))
            built = loaded.exprs[0]
            index += 1
        else:
            model = models.get(embed.table)
            if model is None:
                raise CodegenError(
                    query.location,
                    f"query {query.name} embeds table {embed.table!r}, which has no model",
                    "embed a table the migrations create",
                )
            imports.add((f".{MODELS_MODULE}", model.row_class.name))
            loaded = _column_loads(
                model.types,
                model.nullables,
                index,
                [f"{column} of query {query.name}" for column in model.columns],
            )
            field_name = embed_names[index]
            embedded.append(Loader(f"{loader}_{field_name}", model.row_class.name, loaded.exprs))
            built = f"{embedded[-1].name}(row)"
            if embed.nullable:
                # Absent (the outer join found no row): its NOT NULL column is NULL.
                absent = (
                    f"row[{embed.key}] is None"
                    if embed.key is not None
                    else f"all(v is None for v in row[{index}:{index + embed.count}])"
                )
                built = f"None if {absent} else {built}"
            names.append(field_name)
            annotations.append(optional(model.row_class.name, embed.nullable))
            index += embed.count
        imports |= loaded.imports
        enum_array |= loaded.enum_array
        loads.append(built)
    fields = tuple(
        Field(name, annotation)
        for name, annotation in zip(
            unique_identifiers(names, reserved=("self",)), annotations, strict=True
        )
    )
    row_class = RowClass(row_type, docstring(f"A row of {query.name}."), fields)
    loaders = (*embedded, Loader(loader, row_type, tuple(loads)))
    return row_class, loaders, imports, declared, enum_array
