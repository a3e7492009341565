"""Plan how a query's results are built from psycopg's tuples: row classes and loaders.

A query returning a whole table gets its model; one column, the value itself (as sqlc
returns it); ``sqlc.embed`` columns, one field each holding the table's model; any other
result, a row class of its own. Each built with one loader per class (``forms.Loader``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from connlog.codegen.model import AnalyzedColumn, AnalyzedQuery, CodegenError
from connlog.codegen.python.conversions import load, optional
from connlog.codegen.python.forms import Field, Loader, RowClass, Rows
from connlog.codegen.python.literals import docstring, string
from connlog.codegen.python.names import (
    builder_name,
    class_name,
    model_field,
    unique_identifiers,
)
from connlog.codegen.python.plan.models import Model, row_fields
from connlog.codegen.python.types import Overrides, PyType, python_type


def plan_rows(
    query: AnalyzedQuery, function: str, models: Mapping[str, Model], overrides: Overrides
) -> Rows:
    """How ``function``, the function of ``query``, builds each of its results."""
    loader = f"_load_{function}"
    if query.embeds:
        return _embedded_rows(query, class_name(query.name) + "Row", models, overrides, loader)
    model = models.get(query.whole_table) if query.whole_table else None
    row_class: RowClass | None = None
    scalar = model is None and len(query.columns) == 1
    if model is not None:
        row_type = model.row_class.name
        types = model.types
        fields = model.row_class.fields
    elif scalar:
        # One column: the value itself, as sqlc returns it (``count(...) -> int``).
        column = query.columns[0]
        fields, types = row_fields(query.columns, query.location, overrides, f"query {query.name}")
        row_type = optional(types[0].annotation, column.nullable)
    else:
        row_type = class_name(query.name) + "Row"
        fields, types = row_fields(query.columns, query.location, overrides, f"query {query.name}")
        row_class = RowClass(row_type, docstring(f"A row of {query.name}."), fields)
    loads = _column_loads(
        types,
        [column.nullable for column in query.columns],
        0,
        [_column_label(query, column) for column in query.columns],
    )
    loaders: tuple[Loader, ...] = ()
    if scalar:
        build = loads[0]
        if build == "row[0]":
            # A tuple row's field is Any: returned as is, mypy --strict refuses it.
            build = f"cast({string(row_type)}, row[0])"
    elif loads:
        loaders = (_loader(loader, row_type, loads, fields),)
        build = f"{loader}(row)"
    else:
        # No columns: the row is the empty tuple, passed on so that it is used.
        build = f"{row_type}(*row)"
    return Rows(row_type, build, loaders, row_class)


def embed_field_names(query: AnalyzedQuery) -> dict[int, str]:
    """The field of each ``sqlc.embed``, by its first column: named like sqlc's.

    sqlc names the field after the table's struct (``sqlc.embed(a)`` of ``authors`` is
    ``Author``): here the snake_case singular, ``author``. A table embedded more than
    once (a self join) is named by each alias instead, which tells them apart.
    """
    tables = [embed.table for embed in query.embeds]
    return {
        # A qualified name (``sqlc.embed(billing.invoices)``) as one identifier.
        embed.start: embed.name.replace(".", "_")
        if tables.count(embed.table) > 1
        else model_field(embed.table)
        for embed in query.embeds
    }


def _column_loads(
    types: Sequence[PyType], nullables: Sequence[bool], start: int, columns: Sequence[str]
) -> tuple[str, ...]:
    """Load ``row[start]``, ``row[start + 1]``... as ``types`` say; ``columns`` names them."""
    return tuple(
        load(pytype, f"row[{start + offset}]", nullable, column)
        for offset, (pytype, nullable, column) in enumerate(
            zip(types, nullables, columns, strict=True)
        )
    )


def _column_label(query: AnalyzedQuery, column: AnalyzedColumn) -> str:
    """How a loader's error names a result column: its table column, else its name."""
    source = f"{column.table}.{column.table_column}" if column.table else repr(column.name)
    return f"{source} of query {query.name}"


def _embedded_rows(
    query: AnalyzedQuery,
    row_type: str,
    models: Mapping[str, Model],
    overrides: Overrides,
    loader: str,
) -> Rows:
    """A row class whose ``sqlc.embed`` columns are one field each, holding the model.

    Its loaders are ``loader``, the row's, last; one per embedded table before it.
    """
    embedded: list[Loader] = []
    embeds = {embed.start: embed for embed in query.embeds}
    embed_names = embed_field_names(query)
    names: list[str] = []
    annotations: list[str] = []
    loads: list[str] = []
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
            names.append(column.name)
            annotations.append(optional(pytype.annotation, column.nullable))
            built = loaded[0]
            index += 1
        else:
            model = models.get(embed.table)
            if model is None:
                raise CodegenError(
                    query.location,
                    f"query {query.name} embeds table {embed.table!r}, which has no model",
                    "embed a table the migrations create",
                )
            cls = model.row_class.name
            loaded = _column_loads(
                model.types,
                model.nullables,
                index,
                [f"{column} of query {query.name}" for column in model.columns],
            )
            field_name = embed_names[index]
            embedded.append(_loader(f"{loader}_{field_name}", cls, loaded, model.row_class.fields))
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
            annotations.append(optional(cls, embed.nullable))
            index += embed.count
        loads.append(built)
    fields = tuple(
        Field(name, annotation)
        for name, annotation in zip(
            unique_identifiers(names, reserved=("self",)), annotations, strict=True
        )
    )
    row_class = RowClass(row_type, docstring(f"A row of {query.name}."), fields)
    loaders = (
        *embedded,
        _loader(loader, row_type, tuple(loads), fields),
    )
    return Rows(row_type, f"{loader}(row)", loaders, row_class)


def _loader(name: str, cls: str, values: Sequence[str], fields: Sequence[Field]) -> Loader:
    """The loader ``name`` building a ``cls`` of ``values``, one for each of its ``fields``."""
    arguments = tuple((value, field.name) for value, field in zip(values, fields, strict=True))
    return Loader(name, cls, builder_name(cls), arguments)
