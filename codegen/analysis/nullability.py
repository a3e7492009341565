"""What the AST proves about a statement's NULLs, for the analyze stage.

The server's describe gives types but not nullability of expressions, and it
cannot see outer joins. This module walks the parsed statement and claims NOT
NULL only with proof: a NOT NULL table column outside the nullable side of an
outer join, a non-NULL literal, count(*), and the operators and functions in
``codegen.analysis.nullexpr`` over such values. Anything not understood is nullable.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import cast

from pglast import ast
from pglast.enums import (
    OnConflictAction,
    SetOperation,
)
from pglast.parser import parse_sql

from connlog.codegen.analysis.nullexpr import (
    Column,
    Scope,
    column_name,
    elements_nullable,
    may_be_row,
    nullable,
    proven_by_filter,
)
from connlog.codegen.model import Catalog
from connlog.codegen.parsing.sqlast import param_number, strings, walk


@dataclass(frozen=True, slots=True)
class StatementFacts:
    """The AST facts about one statement; columns line up 1:1 with the server's describe.

    When an output ``*`` cannot be expanded (a function in FROM, a table the
    catalog does not know), the three column tuples are empty: the caller then
    has no proof and must treat every column as nullable.
    """

    column_names: tuple[str, ...]  # override suffix removed; "" where the server's name rules
    column_nullable: tuple[bool, ...]
    column_forced: tuple[bool | None, ...]  # "x!" -> False (not null), "x?" -> True
    # Per column: an array that may hold NULL elements (True for every non-array too).
    column_elements_nullable: tuple[bool, ...]
    param_nullable: frozenset[int]  # $n inserted into or assigned to a nullable column
    # $n -> (table, column) it is inserted into or assigned to (the statement's target).
    param_columns: Mapping[int, tuple[str, str]] = field(default_factory=dict[int, tuple[str, str]])
    row_is_certain: bool = False  # INSERT ... VALUES (one row) ... RETURNING; SELECT count(*)


def split_override(name: str) -> tuple[str, bool | None]:
    """``count!`` -> ("count", False); ``note?`` -> ("note", True); else (name, None)."""
    if len(name) > 1 and name[-1] in "!?":
        return name[:-1], name[-1] == "?"
    return name, None


def infer(sql: str, catalog: Catalog, narg: frozenset[int] = frozenset()) -> StatementFacts:
    """The facts about the single statement ``sql`` (already rewritten to ``$n``).

    ``narg``: the parameters written ``sqlc.narg()``, which may be NULL.
    """
    (raw,) = parse_sql(sql)
    stmt = raw.stmt
    assert stmt is not None
    targets = _param_targets(stmt, catalog)
    # A parameter the generated function requires (typed T, not T | None) is not NULL.
    numbers = {number for node in walk(stmt) if (number := param_number(node)) is not None}
    may_be_null = narg | {n for n, (_, is_null) in targets.items() if is_null}
    scope = Scope(
        catalog,
        required_params=frozenset(n for n in numbers if n not in may_be_null),
        scalar=_scalar_subquery,
    )
    output = _statement(stmt, scope)
    names: list[str] = []
    forced: list[bool | None] = []
    is_nullable: list[bool] = []
    for col in output.columns or ():
        names.append(col.name if col.forced is None else split_override(col.name)[0])
        forced.append(col.forced)
        is_nullable.append(col.nullable if col.forced is None else col.forced)
    return StatementFacts(
        column_names=tuple(names),
        column_nullable=tuple(is_nullable),
        column_forced=tuple(forced),
        column_elements_nullable=tuple(col.elements_nullable for col in output.columns or ()),
        param_nullable=frozenset(n for n, (_, is_null) in targets.items() if is_null),
        param_columns={n: column for n, (column, _) in targets.items()},
        row_is_certain=_row_is_certain(stmt, catalog),
    )


@dataclass(frozen=True, slots=True)
class _Output:
    columns: tuple[Column, ...] | None  # None: a ``*`` that could not be expanded


def _statement(stmt: ast.Node, outer: Scope) -> _Output:
    """The output columns of any statement that returns rows."""
    match stmt:
        case ast.SelectStmt():
            return _select(stmt, outer)
        case ast.InsertStmt(relation=target, withClause=with_):
            return _returning(target, (), with_, stmt.returningClause, outer)
        case ast.UpdateStmt(relation=target, fromClause=others, withClause=with_):
            return _returning(target, others or (), with_, stmt.returningClause, outer)
        case ast.DeleteStmt(relation=target, usingClause=others, withClause=with_):
            return _returning(target, others or (), with_, stmt.returningClause, outer)
        case _:
            pass  # any other node: the default after the match
    return _Output(None)


def _select(stmt: ast.SelectStmt, outer: Scope) -> _Output:
    scope = _with(stmt.withClause, outer)
    if stmt.op not in (None, SetOperation.SETOP_NONE):
        # A column is nullable when it is nullable in any branch; names come from the first.
        assert stmt.larg is not None and stmt.rarg is not None
        left, right = _select(stmt.larg, scope).columns, _select(stmt.rarg, scope).columns
        if left is None or right is None or len(left) != len(right):
            return _Output(None)
        return _Output(
            tuple(
                replace(
                    a,
                    nullable=a.nullable or b.nullable,
                    elements_nullable=a.elements_nullable or b.elements_nullable,
                    category=a.category if a.category == b.category else "",
                )
                for a, b in zip(left, right, strict=True)
            )
        )
    if stmt.valuesLists:
        rows = [tuple(row) for row in stmt.valuesLists]
        return _Output(
            tuple(
                Column(
                    f"column{i + 1}",
                    any(nullable(row[i], scope) for row in rows),
                    elements_nullable=any(elements_nullable(row[i], scope) for row in rows),
                )
                for i in range(len(rows[0]))
            )
        )
    for item in stmt.fromClause or ():
        scope = scope.with_item(item, _statement)
    for name in proven_by_filter(stmt.whereClause):
        scope = scope.narrowed(name)
    sets = [g for g in stmt.groupClause or () if isinstance(g, ast.GroupingSet)]
    if not sets:
        return _targets(stmt.targetList or (), scope)
    # ROLLUP, CUBE and GROUPING SETS put NULL in place of what they group by, in the rows of
    # the sets without it: grouped columns (the scope nulls every column), and, unless they
    # group by columns alone, any target.
    only_columns = _by_columns_only(tuple(sets), scope)
    return _targets(stmt.targetList or (), scope.with_grouping_sets(), grouped=not only_columns)


def _returning(
    target: ast.RangeVar | None,
    others: tuple[object, ...],
    with_: ast.WithClause | None,
    returning: ast.ReturningClause | None,
    outer: Scope,
) -> _Output:
    scope = _with(with_, outer)
    if target is not None:
        scope = scope.with_item(target, _statement)
    for item in others:
        scope = scope.with_item(item, _statement)
    return _targets(returning.exprs or () if returning else (), scope)


def _with(clause: ast.WithClause | None, scope: Scope) -> Scope:
    for cte in clause.ctes or () if clause else ():
        match cte:
            case ast.CommonTableExpr(ctename=str(name), ctequery=ast.Node() as query):
                aliases = strings(cte.aliascolnames) or ()
                columns = _cte_columns(
                    query, name, aliases, bool(clause and clause.recursive), scope
                )
                scope = scope.with_cte(name, columns)
            case _:
                pass  # any other node: the default after the match
    return scope


def _cte_columns(
    query: ast.Node, name: str, aliases: tuple[str, ...], recursive: bool, scope: Scope
) -> tuple[Column, ...] | None:
    def rename(cols: tuple[Column, ...] | None) -> tuple[Column, ...] | None:
        if cols is None:
            return None
        return tuple(
            replace(c, name=aliases[i] if i < len(aliases) else c.name, forced=None)
            for i, c in enumerate(cols)
        )

    match query:
        case ast.SelectStmt(op=op, larg=ast.SelectStmt() as seed) if (
            recursive and op == SetOperation.SETOP_UNION
        ):
            # Iterate to a fixed point: assume the seed's nullability, widen by what the
            # recursive term produces from it. Nullability only grows, so this ends.
            columns = rename(_select(seed, scope).columns)
            for _ in range(len(columns or ()) + 1):
                if columns is None:
                    return None
                step = rename(_statement(query, scope.with_cte(name, columns)).columns)
                if step == columns:
                    return columns
                columns = step
            return None
        case _:
            pass  # any other node: the default after the match
    return rename(_statement(query, scope).columns)


def _by_columns_only(node: object, scope: Scope) -> bool:
    """Whether grouping sets group by input columns alone (``ROLLUP (region)``), not by an
    expression, a position or a target's alias: only then is what they put NULL in place of
    known to be just those columns, which the scope already makes nullable. PostgreSQL
    matches any other grouping item to every target equal to it after resolving names,
    which no comparison of syntax follows exactly (casts, ``BETWEEN``, ``pg_catalog.``)."""
    match node:
        case ast.GroupingSet(content=content):
            return _by_columns_only(content, scope)
        case tuple():  # a set's items, or a parenthesised list of them
            return all(_by_columns_only(item, scope) for item in cast("tuple[object, ...]", node))
        case ast.ColumnRef(fields=fields):
            name = strings(fields)
            # A bare name is an input column when there is one of that name (SQL's rule),
            # else the target it names.
            return name is not None and (len(name) > 1 or scope.resolves_here(name) is True)
        case _:
            return False


def _never_null_in_any_set(value: object) -> bool:
    """``count(...)`` and ``GROUPING(...)``: an aggregate reads the input rows, which grouping
    sets never null; GROUPING says which set a row is of."""
    match value:
        case ast.GroupingFunc():
            return True
        case ast.FuncCall(funcname=name, over=None, func_variadic=False | None):
            return strings(name) in (("count",), ("pg_catalog", "count"))
        case _:
            return False


def _targets(targets: tuple[object, ...], scope: Scope, *, grouped: bool = False) -> _Output:
    """The output columns; ``grouped``: any target may be what a grouping set nulls."""
    columns: list[Column] = []
    for target in targets:
        match target:
            case ast.ResTarget(val=ast.ColumnRef(fields=tuple(fields))) if isinstance(
                fields[-1], ast.A_Star
            ):
                qualifier = strings(fields[:-1])
                assert qualifier is not None
                star = scope.star(qualifier)
                if star is None:
                    return _Output(None)
                if scope.grouping_sets:  # a grouped column is NULL in the rows of other sets
                    star = tuple(replace(c, nullable=True) for c in star)
                columns.extend(star)
            case ast.ResTarget(val=value, name=str(alias)):
                _, forced = split_override(alias)
                column = _computed(alias, value, scope, forced)
                columns.append(_nulled(column, value) if grouped else column)
            case ast.ResTarget(val=value):
                column = _computed(column_name(value), value, scope, None)
                columns.append(_nulled(column, value) if grouped else column)
            case _:
                pass  # any other node: the default after the match
    return _Output(tuple(columns))


def _nulled(column: Column, value: object) -> Column:
    """The target, nullable unless overridden or never NULL in any grouping set's rows."""
    if column.forced is not None or _never_null_in_any_set(value):
        return column
    return replace(column, nullable=True)


def _computed(name: str, value: object, scope: Scope, forced: bool | None) -> Column:
    """The output column ``value AS name``; a plain column reference keeps its type facts."""
    reference = strings(value.fields) if isinstance(value, ast.ColumnRef) else None
    source = scope.column(reference) if reference else None
    return Column(
        name,
        nullable(value, scope) if forced is None else forced,
        forced,
        # A row value marks its column composite, so comparing it is NULL-prone.
        category="C" if may_be_row(value, scope) else source.category if source is not None else "",
        elements_nullable=elements_nullable(value, scope),
    )


def _param_targets(stmt: ast.Node, catalog: Catalog) -> dict[int, tuple[tuple[str, str], bool]]:
    """$n written into a column -> ((table, column), whether it may be NULL there).

    INSERT values, UPDATE SET and ON CONFLICT DO UPDATE SET, in the statement and in
    its data-modifying CTEs (``WITH ins AS (INSERT ... VALUES (@a)) SELECT ...``). The
    column is the first one written; the parameter may be NULL only when every column
    it is written into is nullable.
    """
    found: dict[int, tuple[tuple[str, str], bool]] = {}
    for node in walk(stmt):
        if isinstance(node, ast.InsertStmt | ast.UpdateStmt):
            for number, column, is_nullable in _written(node, catalog):
                first, all_nullable = found.get(number, (column, True))
                found[number] = (first, all_nullable and is_nullable)
    return found


def _written(
    stmt: ast.InsertStmt | ast.UpdateStmt, catalog: Catalog
) -> Iterator[tuple[int, tuple[str, str], bool]]:
    """(parameter, (table, column), column nullable) for each $n one statement writes."""
    target = stmt.relation
    if target is None or target.relname is None:
        return
    table = catalog.columns(target.schemaname, target.relname)
    if table is None:
        return
    is_nullable = {c.name: not c.not_null for c in table}
    pairs: list[tuple[object, str | None]] = []
    match stmt:
        case ast.InsertStmt(cols=cols, selectStmt=ast.SelectStmt() as source):
            names = [c.name for c in cols or () if isinstance(c, ast.ResTarget)]
            names = names or [c.name for c in table]
            rows = source.valuesLists or (
                (tuple(getattr(t, "val", None) for t in source.targetList or ()),)
            )
            for row in rows:
                pairs.extend((value, column) for column, value in zip(names, row, strict=False))
            clause = stmt.onConflictClause
            for t in clause.targetList or () if clause else ():
                if isinstance(t, ast.ResTarget):
                    pairs.append((t.val, t.name))
        case ast.UpdateStmt(targetList=targets):
            for t in targets or ():
                if isinstance(t, ast.ResTarget):
                    pairs.append((t.val, t.name))
        case _:
            pass  # an INSERT of DEFAULT VALUES writes no parameter
    for value, column in pairs:
        number = param_number(value)
        if number is not None and column is not None and column in is_nullable:
            yield number, (str(target.relname), column), is_nullable[column]


def _scalar_subquery(stmt: ast.SelectStmt, outer: Scope) -> bool | None:
    """Whether ``(SELECT x ...)`` may be NULL when it certainly returns one row; else None.

    ``(SELECT count(*) FROM t WHERE ...)`` is one row, its count: not null.
    """
    catalog = outer.catalog
    here = _level(stmt, outer)
    if not (_single_group(stmt, catalog, here) or _one_row(stmt, catalog, here)):
        return None
    if len(stmt.targetList or ()) != 1:
        return None
    columns = _statement(stmt, outer.child()).columns
    return None if columns is None or len(columns) != 1 else columns[0].nullable


def _row_is_certain(stmt: ast.Node, catalog: Catalog) -> bool:
    """Exactly one row whenever the statement succeeds.

    An INSERT of one VALUES row with RETURNING that ON CONFLICT cannot skip, or a
    plain aggregate SELECT (``_single_group``).
    """
    match stmt:
        case ast.InsertStmt(
            selectStmt=ast.SelectStmt(valuesLists=rows, op=op),
            returningClause=ast.ReturningClause(exprs=tuple()),
            onConflictClause=conflict,
        ) if rows is not None and len(rows) == 1 and op in (None, SetOperation.SETOP_NONE):
            return conflict is None or (
                conflict.action == OnConflictAction.ONCONFLICT_UPDATE
                and conflict.whereClause is None
            )
        case ast.SelectStmt():
            return _single_group(stmt, catalog, None) or _one_row(stmt, catalog, None)
        case _:
            pass  # any other node: the default after the match
    return False


def _one_row(stmt: ast.SelectStmt, catalog: Catalog, here: Scope | None) -> bool:
    """A SELECT of exactly one row: no FROM (or only such one-row subqueries), no filter.

    No WHERE, GROUP BY, HAVING, LIMIT, OFFSET, set operation, VALUES or INTO, and no call
    that might return a set (``SELECT generate_series(1, 3)`` is three rows; one in ORDER BY
    or DISTINCT ON multiplies the rows as well). ``here``: see ``_single_group``.
    """
    if (
        stmt.op not in (None, SetOperation.SETOP_NONE)
        or stmt.valuesLists
        or stmt.whereClause is not None
        or stmt.groupClause
        or stmt.havingClause is not None
        or stmt.limitCount is not None
        or stmt.limitOffset is not None
        or stmt.intoClause is not None
        or not stmt.targetList
    ):
        return False
    for item in stmt.fromClause or ():
        match item:
            case ast.RangeSubselect(subquery=ast.SelectStmt() as sub, lateral=False):
                inner = None if here is None else _level(sub, here)
                if not (_one_row(sub, catalog, inner) or _single_group(sub, catalog, inner)):
                    return False
            case _:
                return False
    calls = _level_calls(stmt, catalog)
    return all(_call_kind(call, catalog) in ("scalar", "window") for call in calls)


def _single_group(stmt: ast.SelectStmt, catalog: Catalog, here: Scope | None) -> bool:
    """A SELECT that aggregates its FROM clause (if any) into exactly one row.

    An aggregate of this query in the target list, no GROUP BY (not even ``GROUP BY ()``), no
    HAVING, no set operation, LIMIT, OFFSET or INTO, and nothing in the target list, ORDER BY
    or DISTINCT ON that might return a set. A WHERE filters the rows aggregated, not the
    result; DISTINCT, ORDER BY and window functions act on the one row. A locking clause
    beside an aggregate is an error, so it never returns a row. ``here``: this query's own
    level (its CTEs and FROM items) when it is nested in another, else None. An aggregate
    whose arguments read only an outer query's columns is the outer query's (``(SELECT
    count(a.id) FROM b)`` over ``a`` is a row of b's each, perhaps none): only one that
    certainly reads this level's columns (or none: ``count(*)``) makes it one row.
    """
    if (
        stmt.op not in (None, SetOperation.SETOP_NONE)
        or stmt.valuesLists
        or stmt.groupClause
        or stmt.havingClause is not None
        or stmt.limitCount is not None
        or stmt.limitOffset is not None
        or stmt.intoClause is not None
    ):
        return False
    calls = _level_calls(stmt, catalog)
    kinds = [_call_kind(call, catalog) for call in calls]
    if "unknown" in kinds:
        return False
    aggregates = [call for call, kind in zip(calls, kinds, strict=True) if kind == "aggregate"]
    return any(here is None or _aggregates_here(call, here) for call in aggregates)


def _level_calls(stmt: ast.SelectStmt, catalog: Catalog) -> list[ast.FuncCall]:
    """The calls of this query level in what makes its rows: targets, ORDER BY, DISTINCT ON."""
    parts = (stmt.targetList, stmt.sortClause, stmt.distinctClause)
    return [call for part in parts for call in _calls(part or (), catalog)]


def _level(stmt: ast.SelectStmt, enclosing: Scope) -> Scope:
    """The query level of ``stmt`` nested in ``enclosing``: its CTEs and FROM items."""
    scope = _with(stmt.withClause, enclosing.child())
    for item in stmt.fromClause or ():
        scope = scope.with_item(item, _statement)
    return scope


def _aggregates_here(call: ast.FuncCall, here: Scope) -> bool:
    """Whether the aggregate ``call`` certainly belongs to the level ``here``: PostgreSQL gives
    an aggregate to the innermost level whose columns its arguments read, and to the level it
    is written in when they read none."""
    references = list(_column_refs(call))
    if any(ref is None for ref in references):
        return False  # a subquery in the arguments, or a reference not understood
    return not references or any(here.resolves_here(ref) is True for ref in references if ref)


def _column_refs(call: ast.FuncCall) -> Iterator[tuple[str, ...] | None]:
    """The column references in a call (its arguments, FILTER and ORDER BY), by name; None
    for a subquery, which is not looked into."""
    for node in walk(call):
        match node:
            case ast.SubLink():
                yield None
            case ast.ColumnRef(fields=tuple(fields)):
                if fields and isinstance(fields[-1], ast.A_Star):  # t.*: a reference to t's row
                    qualifier = strings(fields[:-1])
                    yield None if qualifier is None else (*qualifier, "*")
                else:
                    yield strings(fields)
            case _:
                pass  # any other node: its children come next


def _calls(node: object, catalog: Catalog) -> Iterator[ast.FuncCall]:
    """The function calls of this query level in ``node``: not in a subquery, nor in the
    arguments of an aggregate or window function (PostgreSQL rejects a set-returning
    function there)."""
    match node:
        case ast.SubLink():
            return
        case ast.FuncCall():
            yield node
            if _call_kind(node, catalog) != "scalar":
                return
        case tuple():
            for item in cast("tuple[object, ...]", node):
                yield from _calls(item, catalog)
            return
        case ast.Node():
            pass  # its children, below
        case _:
            return
    for member in node:
        yield from _calls(getattr(node, member), catalog)


def _call_kind(call: ast.FuncCall, catalog: Catalog) -> str:
    """ "aggregate", "window", "scalar" (one value, not a set) or "unknown", from pg_proc.

    User-defined functions and aggregates are classified as built-in ones are; a name
    with overloads of different kinds, or one that may return a set, is "unknown".
    """
    match strings(call.funcname):
        case (str(func),):
            facts = catalog.function(None, func)
        case (str(schema), str(func)):
            facts = catalog.function(schema, func)
        case _:
            return "unknown"
    if facts is None:
        return "unknown"
    if call.over is not None:
        return "window"
    if facts.kinds == frozenset("a"):
        return "aggregate"
    return "scalar" if facts.kinds == frozenset("f") and not facts.returns_set else "unknown"
