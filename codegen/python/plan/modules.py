"""Plan one query module (and its aio twin) from the queries of one file."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

from connlog.codegen.model import AnalyzedQuery, CodegenError, CodegenErrors, Location
from connlog.codegen.python.forms import (
    Fetching,
    Field,
    Function,
    Iterate,
    QueryModule,
    RowClass,
)
from connlog.codegen.python.imports import Namespace
from connlog.codegen.python.literals import docstring
from connlog.codegen.python.names import (
    AIO_PACKAGE,
    MIGRATIONS_MODULE,
    MODELS_MODULE,
    RUNTIME_MODULE,
    builder_name,
)
from connlog.codegen.python.plan.functions import plan_function
from connlog.codegen.python.plan.models import Model
from connlog.codegen.python.plan.namespace import aio_namespace
from connlog.codegen.python.types import Overrides


def plan_query_module(
    source: str,
    queries: Sequence[AnalyzedQuery],
    models: Mapping[str, Model],
    overrides: Overrides,
    namespace: Namespace,
) -> QueryModule:
    """The module of query file ``source``; CodegenErrors with every error of its queries."""
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
    functions: list[Function] = []
    planned: list[tuple[AnalyzedQuery, Function]] = []
    errors: list[CodegenError] = []
    first_with_fields: dict[tuple[Field, ...], str] = {}  # the first row class of each shape
    tagged: dict[str, list[tuple[AnalyzedQuery, Function]]] = {}  # by ``-- filters:`` name
    for query in queries:
        try:
            function = plan_function(query, models, overrides)
        except CodegenError as exc:
            errors.append(exc)
            continue
        except CodegenErrors as exc:
            errors.extend(exc.errors)
            continue
        function = _same_rows_one_class(function, first_with_fields)
        if query.filters is not None:
            tagged.setdefault(query.filters, []).append((query, function))
        functions.append(function)
        planned.append((query, function))
    errors.extend(_colliding_names(planned, namespace))
    filters: list[RowClass] = []
    for filters_name, members in tagged.items():
        try:
            filters.append(_filters_class(filters_name, members))
        except CodegenError as exc:
            errors.append(exc)
    if errors:
        raise CodegenErrors(errors)
    # The row and parameter classes are part of the aio module's API as well: re-exported
    # explicitly (``X as X``), so ``from .aio.users import GetUserRow`` type-checks.
    exported = [f.row_class.name for f in functions if f.row_class is not None]
    exported += [f.params_class.name for f in functions if f.params_class is not None]
    exported += [f.name for f in filters]
    built = sorted({loader.cls for f in functions for loader in f.loaders})
    return QueryModule(
        f"{stem}.py",
        source,
        tuple(functions),
        aio_filename=f"{AIO_PACKAGE}/{stem}.py",
        aio_namespace=aio_namespace(namespace, stem, [f.runs for f in functions], exported),
        cursor_ids=any(isinstance(f.kind, Iterate) for f in functions),
        filters=tuple(filters),
        builders=tuple((builder_name(cls), cls) for cls in built),
    )


def _colliding_names(
    planned: Sequence[tuple[AnalyzedQuery, Function]], namespace: Namespace
) -> list[CodegenError]:
    """A located error for each name a query's code would define twice in the module, or over
    a name it imports: the later definition would win, silently (``KwRow``, a query's row
    class, replacing the model ``KwRow`` loaded another table's columns into it)."""
    imported = {name for name, _ in namespace.names}
    defined: dict[str, str] = {}  # name -> which query defines it
    errors: list[CodegenError] = []
    for query, function in planned:
        names = [function.name, *(name for name, _ in function.constants)]
        names += [loader.name for loader in function.loaders]
        names += [cls.name for cls in (function.row_class, function.params_class) if cls]
        for name in dict.fromkeys(names):
            owner = "an import of the module" if name in imported else defined.get(name)
            if owner is None:
                defined[name] = f"query {query.name}'s"
                continue
            errors.append(
                CodegenError(
                    query.location,
                    f"in query {query.name}: the generated name {name!r} is already {owner}",
                    "rename the query (or the one it collides with)",
                )
            )
    return errors


def _same_rows_one_class(function: Function, first: dict[tuple[Field, ...], str]) -> Function:
    """``function`` with its row class an alias of the module's first with the same fields."""
    kind = function.kind
    if not isinstance(kind, Fetching) or kind.row.row_class is None:
        return function
    row_class = kind.row.row_class
    same_as = first.setdefault(row_class.fields, row_class.name)
    if same_as == row_class.name:
        return function
    row = replace(kind.row, row_class=replace(row_class, same_as=same_as))
    return replace(function, kind=replace(kind, row=row))


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
