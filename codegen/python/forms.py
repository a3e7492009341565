"""The planned modules: what ``plan`` decides and ``render`` lays out, as frozen dataclasses.

Every expression here is Python text that ``plan`` built (a row's loader, a parameter's
dumped value, an annotation): the templates place them and decide nothing. A generated
function is one variant per kind of function (fetch one, many, iterate; exec, rowcount,
result; copy; batch exec, one, many: ``Function.kind``), and each variant names the
template macro that lays out its body (``body``); how it takes its parameters is one of
three ``Intake`` variants, each naming the macros of its signature and of what its body
does first.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

from connlog.codegen.python.imports import Namespace


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

    It calls ``builder``, ``cls``'s fast constructor (``_runtime.builder``): a frozen
    dataclass's own ``__init__`` goes through ``object.__setattr__`` by name for every field,
    which made a 1000-row listing cost 1.5x the same rows as plain tuples.
    """

    name: str
    cls: str
    builder: str  # the module constant holding ``cls``'s fast constructor
    arguments: tuple[tuple[str, str], ...]  # (expression, field) of each field, in field order


@dataclass(frozen=True, slots=True)
class Rows:
    """How a function builds what it returns from each tuple ``row`` psycopg fetched."""

    type: str  # the annotation of one result: a row class, or a value's type
    build: str  # the expression building one result from ``row``
    loaders: tuple[Loader, ...] = ()  # what ``build`` calls, the embedded tables' first
    row_class: RowClass | None = None  # declared in this module, when not a model


@dataclass(frozen=True, slots=True)
class Argument:
    """One keyword-only parameter of a generated function."""

    name: str
    annotation: str
    value: str  # the expression passed to psycopg for it
    default: str = ""  # `` = None`` when it may be left out


# --- how a function takes its parameters -------------------------------------------


@dataclass(frozen=True, slots=True)
class Keywords:
    """Keyword-only arguments (``Function.arguments``), sent as ``Function.values``."""

    signature: ClassVar[str] = "keywords"
    preamble: ClassVar[str] = "no_preamble"


@dataclass(frozen=True, slots=True)
class ParamRows:
    """``-- params: rows``: a sequence of ``params``, sent as one array per field.

    ``Function.values`` builds the arrays from ``rows``, the sequence checked, before the
    statement runs (as ``arrays``); ``checked``: a check reads the fields, and its refusal
    names the row.
    """

    params: RowClass
    checked: bool
    signature: ClassVar[str] = "param_rows"
    preamble: ClassVar[str] = "transpose"


@dataclass(frozen=True, slots=True)
class ParamBatch:
    """:copyfrom and :batch*: an iterable of ``params``, one statement (or COPY row) each."""

    params: RowClass
    values: str  # the parameters tuple built from one of them, ``p``
    checked: bool  # a check reads the fields, and its refusal names the set
    signature: ClassVar[str] = "param_batch"
    preamble: ClassVar[str] = "no_preamble"


Intake = Keywords | ParamRows | ParamBatch


# --- the kinds of generated function, one variant each ---------------------------------


@dataclass(frozen=True, slots=True)
class Fetching:
    """A kind of function returning rows: ``row`` says how each is built."""

    row: Rows


@dataclass(frozen=True, slots=True)
class FetchOne(Fetching):
    """:one whose row is certain (an aggregate, an INSERT ... RETURNING): NoRowError if none."""

    body: ClassVar[str] = "fetch_one"


@dataclass(frozen=True, slots=True)
class FetchOptional(Fetching):
    """:one that may find nothing: the row or None."""

    body: ClassVar[str] = "fetch_optional"


@dataclass(frozen=True, slots=True)
class FetchMany(Fetching):
    """:many: a list of rows, fetched at once."""

    body: ClassVar[str] = "fetch_many"


@dataclass(frozen=True, slots=True)
class Iterate(Fetching):
    """:iter: a generator over a named server-side cursor."""

    body: ClassVar[str] = "iterate"


@dataclass(frozen=True, slots=True)
class BatchOne(Fetching):
    """:batchone: a row or None for each parameter set."""

    results: str  # the annotation of the list of results built
    body: ClassVar[str] = "batch_one"


@dataclass(frozen=True, slots=True)
class BatchMany(Fetching):
    """:batchmany: a list of rows for each parameter set."""

    results: str  # the annotation of the list of results built
    body: ClassVar[str] = "batch_many"


@dataclass(frozen=True, slots=True)
class Exec:
    """:exec: None."""

    body: ClassVar[str] = "exec"


@dataclass(frozen=True, slots=True)
class ExecRows:
    """:execrows: the number of rows affected."""

    body: ClassVar[str] = "exec_rows"


@dataclass(frozen=True, slots=True)
class ExecResult:
    """:execresult: the number of rows affected and the command status."""

    body: ClassVar[str] = "exec_result"


@dataclass(frozen=True, slots=True)
class BatchExec:
    """:batchexec: an iterable of parameter sets, pipelined; None."""

    body: ClassVar[str] = "batch_exec"


@dataclass(frozen=True, slots=True)
class Copy:
    """:copyfrom: binary COPY of an iterable of parameter sets; the number of rows."""

    constant: str  # the COPY statement's constant
    sql_literal: str
    types: str  # a tuple literal of type names for ``Copy.set_types``
    body: ClassVar[str] = "copy"


Kind = (
    FetchOne
    | FetchOptional
    | FetchMany
    | Iterate
    | BatchOne
    | BatchMany
    | Exec
    | ExecRows
    | ExecResult
    | BatchExec
    | Copy
)


@dataclass(frozen=True, slots=True)
class Function:
    """A generated function: what every kind has, and its ``kind``."""

    name: str
    query_name: str
    constant: str
    sql_literal: str  # a Python string literal of the SQL
    doc: str  # docstring body, already escaped
    arguments: tuple[Argument, ...]
    values: str  # the parameters tuple expression, "" when there are none
    returns: Mapping[str, str]  # the return annotation, by ``Flavor.name``
    intake: Intake
    kind: Kind
    # The composite types to register on the connection first (``Composite`` constants of
    # models.py): a tuple literal, "" when it uses none.
    composites: str = ""

    @property
    def statement(self) -> str:
        """What ``execute`` is given: the SQL constant, and the parameters when there are."""
        if isinstance(self.intake, ParamRows):
            return f"{self.constant}, arrays"
        return f"{self.constant}, {self.values}" if self.values else self.constant

    @property
    def constants(self) -> tuple[tuple[str, str], ...]:
        """The (name, string literal) of each SQL constant the module declares for it."""
        own = (self.constant, self.sql_literal)
        if isinstance(self.kind, Copy):
            return (own, (self.kind.constant, self.kind.sql_literal))
        return (own,)

    @property
    def runs(self) -> str:
        """The constant of the statement it runs, which the aio twin imports.

        A :copyfrom runs its COPY statement; the INSERT it was written as is documentation.
        """
        return self.kind.constant if isinstance(self.kind, Copy) else self.constant

    @property
    def rows(self) -> Rows | None:
        """How its results are built, when it returns rows."""
        return self.kind.row if isinstance(self.kind, Fetching) else None

    @property
    def row_class(self) -> RowClass | None:
        """The row class the module declares for it."""
        return None if self.rows is None else self.rows.row_class

    @property
    def loaders(self) -> tuple[Loader, ...]:
        """The loaders the module defines after it, building its rows."""
        return () if self.rows is None else self.rows.loaders

    @property
    def params_class(self) -> RowClass | None:
        """The Params class the module declares for it."""
        return None if isinstance(self.intake, Keywords) else self.intake.params


# --- modules -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class QueryModule:
    filename: str  # e.g. "users.py"
    source: str  # the query file, as shown in the header
    functions: tuple[Function, ...]
    # The asyncio twin: the same functions, importing SQL constants and row classes
    # from the sync module rather than declaring them again (its namespace says so).
    aio_filename: str
    aio_namespace: Namespace
    cursor_ids: bool = False  # an :iter function names its server cursors from a counter
    # (constant, class) of each class the loaders build: its fast constructor.
    builders: tuple[tuple[str, str], ...] = ()
    # ``-- filters: Name``: one TypedDict of the optional parameters its queries share.
    filters: tuple[RowClass, ...] = ()


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
    # The ``Composite(...)`` call's arguments: the type's schema and name (string literals),
    # the class, a tuple literal of (attribute, "schema.type") pairs in attnum order, then
    # (index, StrEnum, is an array) of each enum attribute when there is one.
    arguments: str


@dataclass(frozen=True, slots=True)
class ModelsModule:
    filename: str
    source: str  # the migrations directory, as shown in the header
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
    namespace: Namespace  # where the names it uses come from


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
    namespace: Namespace  # where the names of models.py and the sync query modules come from
