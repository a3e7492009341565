"""The plain data that flows between the pipeline's stages.

load -> parse -> analyze -> plan -> render -> write. Each stage takes and
returns the frozen dataclasses below; no pglast node and no Python-rendering
decision crosses a stage boundary. ``AnalyzedQuery`` is the neutral,
template-free description of a query (what the metadata cache stores).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Protocol


class Command(StrEnum):
    """The annotation suffix: ``-- name: GetThing :one``."""

    ONE = "one"
    MANY = "many"
    EXEC = "exec"
    EXECROWS = "execrows"
    EXECRESULT = "execresult"  # the row count and the command status ("UPDATE 3")
    ITER = "iter"  # a generator over a server-side cursor: rows are never all in memory
    COPYFROM = "copyfrom"  # an INSERT of one row of parameters, loaded many times by COPY
    BATCHEXEC = "batchexec"  # many parameter sets in one pipelined round trip: None
    BATCHONE = "batchone"  # ... a row (or None) per parameter set
    BATCHMANY = "batchmany"  # ... a list of rows per parameter set


@dataclass(frozen=True, slots=True, order=True)
class Location:
    """A place in a source file; line and column count from 1."""

    path: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.column}"


class CodegenError(Exception):
    """Bad input: printed as ``path:line:column: error: message`` plus an optional hint."""

    def __init__(self, location: Location | None, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.location = location
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        where = f"{self.location}: " if self.location else ""
        text = f"{where}error: {self.message}"
        return f"{text}\n  hint: {self.hint}" if self.hint else text


class CodegenErrors(Exception):
    """Every error of one run, sorted by location; nothing was written."""

    def __init__(self, errors: list[CodegenError]) -> None:
        self.errors = sorted(errors, key=lambda e: (e.location or Location("", 0, 0), e.message))
        super().__init__("\n".join(str(e) for e in self.errors))


# --- load -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SourceFile:
    """One ``queries/*.sql`` file as read from disk; ``path`` is as shown in messages."""

    path: str
    text: str

    @property
    def stem(self) -> str:
        return Path(self.path).stem


# --- parse ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Parameter:
    """One distinct parameter of a query, numbered as ``$number`` in ``ParsedQuery.sql``."""

    number: int
    # The SQL name, unique within the query: as written (``@userId`` -> "userId"), or for
    # ``$n`` the column it meets (``id = $1`` -> "id"), else "param<n>". Not a Python name:
    # plan decides those.
    name: str
    narg: bool  # written sqlc.narg(...): nullable whatever the column says
    location: Location  # its first occurrence


@dataclass(frozen=True, slots=True)
class ParsedQuery:
    """One annotated statement, parameters rewritten to PostgreSQL's ``$n`` placeholders."""

    name: str  # as annotated, e.g. GetConnectionLog
    command: Command
    doc: str  # the comment lines after the annotation, joined by newlines
    sql: str  # the statement with $n placeholders: what is prepared and what runs
    params: tuple[Parameter, ...]  # ordered by number, 1..n without gaps
    location: Location  # the ``-- name:`` line
    # (offset in ``sql``, location in the file) for the start of each run of
    # unchanged text, so a server error position maps back to file:line:column.
    origins: tuple[tuple[int, Location], ...] = field(default=())
    # ``sqlc.embed(t)`` rewritten to ``t.*``: the embedded tables or aliases, in order.
    embeds: tuple[str, ...] = ()
    # ``-- filters: Name`` under the annotation: the typed filter object it shares, if any.
    filters: str | None = None
    # ``-- params: rows`` under the annotation: its array parameters are the columns of one
    # sequence of parameter rows, which the generated function transposes.
    param_rows: bool = False

    def locate(self, offset: int) -> Location:
        """The file location of character ``offset`` (0-based) of ``sql``."""
        best = self.location
        best_start = 0
        for start, origin in self.origins:
            if start > offset:
                break
            best, best_start = origin, start
        if best is self.location:
            return best
        return Location(best.path, best.line, best.column + (offset - best_start))


# --- analyze ----------------------------------------------------------------


class Catalog(Protocol):
    """What nullability inference needs to know about the schema."""

    def columns(self, schema: str | None, table: str) -> tuple[CatalogColumn, ...] | None:
        """A table's or view's columns in order, or None when there is no such relation.

        ``schema`` None means "as found on the search path".
        """
        ...

    def function(self, schema: str | None, name: str) -> FunctionFacts | None:
        """What ``pg_proc`` says of every function called ``name`` a call could mean.

        ``schema`` None: the overloads visible on the search path. None when there is none.
        """
        ...

    def sql_function(self, schema: str | None, name: str, arity: int) -> SqlFunction | None:
        """The one ``LANGUAGE sql`` function a call ``name(<arity> arguments)`` can mean.

        None unless the name has exactly that one overload: a plain function returning
        one value, with no defaults or variadic argument, and a body in ``prosrc``.
        """
        ...


@dataclass(frozen=True, slots=True)
class SqlFunction:
    """A ``LANGUAGE sql`` function a call can only mean: its body, to analyze in place."""

    body: str  # prosrc: the SQL text of the body
    strict: bool  # STRICT: NULL for any NULL argument, without running the body
    arguments: tuple[str, ...]  # the argument names ("" for an unnamed one)


@dataclass(frozen=True, slots=True)
class FunctionFacts:
    """The overloads of one function name, from ``pg_proc``: a call may mean any of them."""

    kinds: frozenset[str]  # pg_proc.prokind: 'f' normal, 'a' aggregate, 'w' window, 'p'
    returns_set: bool  # some overload is set-returning (proretset)
    builtin: bool  # every overload is of schema pg_catalog


@dataclass(frozen=True, slots=True)
class CatalogColumn:
    name: str
    not_null: bool
    # pg_type.typcategory of its type ('S' string, 'A' array, 'C' composite...); "" unknown.
    category: str = ""


@dataclass(frozen=True, slots=True)
class PgType:
    """A PostgreSQL type as the server describes it."""

    oid: int
    name: str  # e.g. "int4", "connection_type", "_uuid" for arrays
    schema: str
    category: str  # pg_type.typcategory: 'A' array, 'E' enum, 'N' numeric, ...
    element: PgType | None = None  # for arrays
    base: PgType | None = None  # for domains
    enum_labels: tuple[str, ...] = ()  # for enums, in declaration order
    # For a composite type of its own (CREATE TYPE ... AS (...)), its attributes in attnum
    # order; () for a table's row type, which generated code does not map.
    fields: tuple[CompositeField, ...] = ()


@dataclass(frozen=True, slots=True)
class CompositeField:
    """One attribute of a composite type."""

    name: str
    type: PgType
    # Always true: PostgreSQL has no NOT NULL for a composite's attributes (a NOT NULL
    # domain is not checked inside a row value), so ``ROW(NULL)::t`` is a value of any t.
    nullable: bool = True


@dataclass(frozen=True, slots=True)
class AnalyzedParam:
    number: int
    name: str  # the SQL name (``Parameter.name``), unique within the query
    type: PgType
    nullable: bool
    # Its first occurrence. Like the query's location, not stored in the manifest: a cached
    # analysis takes it from the parsed query.
    location: Location
    narg: bool = False  # written sqlc.narg(...): may be left out, defaulting to NULL
    # The table column it is inserted into or assigned to, if any (for column overrides).
    table: str | None = None
    table_column: str | None = None
    # Call-time rules the statement implies (``analysis.param_rules``): it feeds LIMIT or
    # OFFSET; it is only compared with these string labels; it is read only when the
    # parameter numbered ``requires`` is not NULL.
    non_negative: bool = False
    labels: tuple[str, ...] = ()
    requires: int | None = None


@dataclass(frozen=True, slots=True)
class AnalyzedColumn:
    name: str  # as the server names it, override suffix ``!``/``?`` removed
    type: PgType
    nullable: bool
    table: str | None  # the source table when the column is a plain table column
    table_column: str | None
    # An array whose elements may be NULL: true unless proven otherwise (``array_agg`` of
    # a not-null column), whatever the column's NOT NULL says; false for a non-array.
    element_nullable: bool = False


def table_key(schema: str, table: str) -> str:
    """How a table's model is named between the stages: ``table``, or ``schema.table``
    outside schema public."""
    return table if schema == "public" else f"{schema}.{table}"


@dataclass(frozen=True, slots=True)
class AnalyzedEmbed:
    """``sqlc.embed(name)``: ``count`` result columns from ``start`` are one table's row."""

    name: str  # as written: the table (``billing.invoices`` if qualified) or its alias
    table: str  # the table's ``table_key``
    start: int  # index in ``AnalyzedQuery.columns`` of its first column
    count: int
    # On the nullable side of an outer join: the embedded row may be absent. ``key`` is
    # the index (in ``columns``) of a NOT NULL column of the table, NULL exactly when the
    # row is absent; None when the table has no NOT NULL column (then: all columns NULL).
    nullable: bool
    key: int | None


@dataclass(frozen=True, slots=True)
class AnalyzedCopy:
    """A ``:copyfrom`` INSERT: the COPY target and, per column, the parameter it takes."""

    schema: str | None  # as written
    table: str
    columns: tuple[str, ...]
    params: tuple[int, ...]  # the parameter number for each column


@dataclass(frozen=True, slots=True)
class AnalyzedQuery:
    """The neutral description of one query: no AST, no Python."""

    name: str
    command: Command
    doc: str
    sql: str
    params: tuple[AnalyzedParam, ...]
    columns: tuple[AnalyzedColumn, ...]
    row_is_certain: bool  # exactly one row whenever the statement succeeds
    source: str  # the query file's path
    location: Location
    whole_table: str | None  # the columns are exactly this table's (its ``table_key``), in order
    embeds: tuple[AnalyzedEmbed, ...] = ()  # in column order, not overlapping
    copy: AnalyzedCopy | None = None  # set for :copyfrom
    filters: str | None = None  # from ``-- filters: Name`` (parse's; never stored)
    param_rows: bool = False  # from ``-- params: rows`` (parse's; never stored)


@dataclass(frozen=True, slots=True)
class AnalyzedTable:
    """A table of the migrated schema: what ``models.py`` declares a dataclass for."""

    schema: str
    name: str
    columns: tuple[AnalyzedColumn, ...]  # in attnum order, dropped columns left out


@dataclass(frozen=True, slots=True)
class Analysis:
    """Everything ``analyze`` learnt from the server: the input of ``plan``."""

    queries: tuple[AnalyzedQuery, ...]  # in file order, then query order
    tables: tuple[AnalyzedTable, ...]  # sorted by schema and name
    enums: tuple[PgType, ...]  # every user enum, sorted by schema and name
    # Every composite type of its own (not a table's row type), sorted by schema and name.
    composites: tuple[PgType, ...] = ()
