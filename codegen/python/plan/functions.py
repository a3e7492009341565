"""Plan one query's function: the kind its command makes, with its parameters and rows."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from connlog.codegen.model import (
    AnalyzedColumn,
    AnalyzedParam,
    AnalyzedQuery,
    CodegenError,
    Command,
)
from connlog.codegen.python.conversions import copy_type
from connlog.codegen.python.flavors import AIO, SYNC
from connlog.codegen.python.forms import (
    BatchExec,
    BatchMany,
    BatchOne,
    Copy,
    Exec,
    ExecResult,
    ExecRows,
    FetchMany,
    FetchOne,
    FetchOptional,
    Field,
    Function,
    Intake,
    Iterate,
    Keywords,
    Kind,
    ParamBatch,
    ParamRows,
    RowClass,
    Rows,
)
from connlog.codegen.python.literals import (
    docstring,
    pep257,
    quote_identifier,
    sql_literal,
    string,
    tuple_literal,
)
from connlog.codegen.python.names import class_name, function_name
from connlog.codegen.python.plan.models import Model
from connlog.codegen.python.plan.parameters import Parameters, plan_parameters
from connlog.codegen.python.plan.rows import plan_rows
from connlog.codegen.python.types import Overrides, python_type

EXEC_RESULT: Final = "ExecResult"  # what an :execresult function returns, from _runtime.py
# Commands whose functions take an iterable of ``<QueryName>Params``.
_BATCHES: Final = (Command.COPYFROM, Command.BATCHEXEC, Command.BATCHONE, Command.BATCHMANY)
_ROW_COMMANDS: Final = (
    Command.ONE,
    Command.MANY,
    Command.ITER,
    Command.BATCHONE,
    Command.BATCHMANY,
)


def plan_function(
    query: AnalyzedQuery, models: Mapping[str, Model], overrides: Overrides
) -> Function:
    """``query``'s function."""
    name = function_name(query.name)
    batch = query.command in _BATCHES
    parameters = plan_parameters(query, overrides, batch=batch)
    rows = plan_rows(query, name, models, overrides) if query.command in _ROW_COMMANDS else None
    kind, returns = _kind(query, name, rows)
    composites = composites_needed(query, overrides)
    return Function(
        name=name,
        query_name=query.name,
        constant=name.upper(),
        # The annotation leads the statement PostgreSQL sees: the query's name shows in the
        # server's logs and in pg_stat_statements.
        sql_literal=sql_literal(f"-- name: {query.name} :{query.command.value}\n{query.sql}"),
        doc=docstring(pep257(query.doc.strip() or f"Run query {query.name} ({query.location}).")),
        arguments=parameters.arguments,
        # Only a one-element tuple needs its comma; more would make ruff explode the call.
        values=tuple_literal(parameters.values, quote=False) if parameters.values else "",
        returns=returns,
        intake=_intake(query, parameters, batch=batch),
        kind=kind,
        composites=tuple_literal(composites, quote=False) if composites else "",
    )


def _kind(query: AnalyzedQuery, name: str, rows: Rows | None) -> tuple[Kind, dict[str, str]]:
    """The kind of function ``query``'s command makes, and its return annotations."""
    if rows is None:
        assert query.command not in _ROW_COMMANDS, query.command
        match query.command:
            case Command.EXECROWS:
                return ExecRows(), _both("int")
            case Command.EXECRESULT:
                return ExecResult(), _both(EXEC_RESULT)
            case Command.COPYFROM:
                return _copy(query, name), _both("int")
            case Command.BATCHEXEC:
                return BatchExec(), _both("None")
            case _:
                return Exec(), _both("None")
    match query.command:
        case Command.ONE if query.row_is_certain:
            return FetchOne(rows), _both(rows.type)
        case Command.ONE:
            return FetchOptional(rows), _both(_or_none(rows.type))
        case Command.MANY:
            return FetchMany(rows), _both(f"list[{rows.type}]")
        case Command.ITER:
            returns = {SYNC.name: f"Iterator[{rows.type}]", AIO.name: f"AsyncIterator[{rows.type}]"}
            return Iterate(rows), returns
        case Command.BATCHONE:
            results = f"list[{_or_none(rows.type)}]"
            return BatchOne(rows, results), _both(results)
        case _:
            assert query.command is Command.BATCHMANY, query.command
            results = f"list[list[{rows.type}]]"
            return BatchMany(rows, results), _both(results)


def _intake(query: AnalyzedQuery, parameters: Parameters, *, batch: bool) -> Intake:
    """How the function takes its parameters: keywords, or a Params class of them."""
    if not batch and not query.param_rows:
        return Keywords()
    params = RowClass(
        class_name(query.name) + "Params",
        docstring(f"The parameters of one {query.name}."),
        tuple(Field(a.name, a.annotation + a.default) for a in parameters.arguments),
    )
    if query.param_rows:
        return ParamRows(params, parameters.items_checked)
    if query.copy is not None:
        ordered = list(query.copy.params)
    else:
        ordered = [param.number for param in query.params]
    values = tuple_literal([parameters.item_values[number] for number in ordered], quote=False)
    return ParamBatch(params, values, parameters.items_checked)


def _copy(query: AnalyzedQuery, name: str) -> Copy:
    """A :copyfrom's COPY statement, and the binary types of its columns."""
    assert query.copy is not None, query.name
    target = ".".join(
        quote_identifier(part) for part in (query.copy.schema, query.copy.table) if part is not None
    )
    columns = ", ".join(quote_identifier(column) for column in query.copy.columns)
    by_number = {param.number: param for param in query.params}
    types = [
        copy_type(by_number[number].type, query, by_number[number].name)
        for number in query.copy.params
    ]
    return Copy(
        f"{name.upper()}_COPY",
        string(f"COPY {target} ({columns}) FROM STDIN (FORMAT BINARY)"),
        tuple_literal(types),
    )


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


def _both(annotation: str) -> dict[str, str]:
    """The same return annotation in the sync and the aio renderings."""
    return {SYNC.name: annotation, AIO.name: annotation}


def _or_none(annotation: str) -> str:
    """``annotation | None``, once: a nullable one-column result already says it."""
    return annotation if annotation.endswith(" | None") else f"{annotation} | None"
