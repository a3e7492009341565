"""Name scopes and expression nullability, the building blocks of ``codegen.analysis.nullability``.

A ``Scope`` is one query level's FROM clause as the AST shows it: which
relations are visible under which names, which sit on the nullable side of an
outer join, and what ``*`` expands to. ``nullable`` then answers "can this
expression be NULL?" and says yes whenever it cannot prove otherwise.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Final, Protocol, cast

from pglast import ast
from pglast.enums import (
    A_Expr_Kind,
    BoolExprType,
    JoinType,
    NullTestType,
    SetOperation,
    SQLValueFunctionOp,
    SubLinkType,
)
from pglast.parser import ParseError, parse_sql

from connlog.codegen.model import Catalog
from connlog.codegen.parsing.sqlast import column_ref, strings, unwrap_casts


@dataclass(frozen=True, slots=True)
class Column:
    name: str  # as PostgreSQL names it, override suffix included
    nullable: bool
    forced: bool | None = None  # set by an explicit alias ending in ! or ?
    # pg_type.typcategory of a table column's type ('S' string, 'A' array, 'C' composite),
    # "" when not known (a computed column): what type-dependent rules may rely on.
    category: str = ""
    # An array whose elements (at any depth) are proven not NULL; for any other column,
    # or without proof, True: PostgreSQL arrays may hold NULLs whatever a column says.
    elements_nullable: bool = True


@dataclass(frozen=True, slots=True)
class Relation:
    """A FROM item as column references see it."""

    name: str  # the alias, else the table's name
    schema: str | None  # as written, for ``schema.table.column``; None once aliased
    columns: tuple[Column, ...] | None  # None: unknown (a function, an unknown table)
    # On the nullable side of an outer join: its columns as they were before, which
    # hold again once a WHERE condition proves the joined row is there.
    inner: tuple[Column, ...] | None = None

    def made_outer(self) -> Relation:
        cols = (
            None if self.columns is None else tuple(replace(c, nullable=True) for c in self.columns)
        )
        return replace(self, columns=cols, inner=self.inner or self.columns)

    def narrowed(self, column: str) -> Relation:
        """This relation under ``WHERE column IS NOT NULL`` (or any strict test of it).

        The row is there, so the outer join that made its columns nullable is reduced
        to an inner one (as PostgreSQL's planner does), and ``column`` is not null.
        """
        base = self.inner or self.columns
        if base is None:
            return self
        cols = tuple(replace(c, nullable=False) if c.name == column else c for c in base)
        return replace(self, columns=cols, inner=None)


class StatementColumns(Protocol):
    """``nullability._statement``: the output columns of a subquery or CTE."""

    def __call__(self, stmt: ast.Node, outer: Scope, /) -> _HasColumns: ...


class ScalarSubquery(Protocol):
    """``nullability._scalar_subquery``: a one-row subquery's value nullability, or None."""

    def __call__(self, stmt: ast.SelectStmt, outer: Scope, /) -> bool | None: ...


class _HasColumns(Protocol):
    @property
    def columns(self) -> tuple[Column, ...] | None: ...


@dataclass(frozen=True, slots=True)
class _Item:
    relations: tuple[Relation, ...]
    star: tuple[Column, ...] | None
    merged: tuple[Column, ...] = ()  # JOIN ... USING columns, visible unqualified

    def made_outer(self) -> _Item:
        return _Item(
            tuple(r.made_outer() for r in self.relations),
            _all_nullable(self.star),
            _all_nullable(self.merged) or (),
        )


def _all_nullable(cols: tuple[Column, ...] | None) -> tuple[Column, ...] | None:
    return None if cols is None else tuple(replace(c, nullable=True) for c in cols)


@dataclass(frozen=True, slots=True)
class Scope:
    """One query level; ``parent`` is the enclosing level (correlated references)."""

    catalog: Catalog
    relations: tuple[Relation, ...] = ()
    star_columns: tuple[Column, ...] | None = ()
    merged: tuple[Column, ...] = ()
    ctes: tuple[tuple[str, tuple[Column, ...] | None], ...] = ()  # innermost last
    parent: Scope | None = None
    grouping_sets: bool = False
    # Parameters the generated function requires as a non-None value: not sqlc.narg(),
    # not written into a nullable column. Every other $n may be NULL.
    required_params: frozenset[int] = frozenset()
    # The value of a scalar subquery ``(SELECT x ...)`` when it is certain to return one
    # row: whether x may be NULL; None when not certain (then it is NULL over no rows).
    scalar: ScalarSubquery | None = None
    # The SQL-language functions whose bodies are being analyzed: a recursive one is not
    # analyzed again.
    inlining: tuple[tuple[str | None, str], ...] = ()

    def child(self) -> Scope:
        """A new query level nested in this one (a subquery or CTE body)."""
        return Scope(
            self.catalog,
            parent=self,
            required_params=self.required_params,
            scalar=self.scalar,
            inlining=self.inlining,
        )

    def with_cte(self, name: str, columns: tuple[Column, ...] | None) -> Scope:
        return replace(self, ctes=(*self.ctes, (name, columns)))

    def with_grouping_sets(self) -> Scope:
        return replace(self, grouping_sets=True)

    def with_item(self, node: object, statement: StatementColumns) -> Scope:
        item = self._item(node, statement)
        star = (
            None
            if self.star_columns is None or item.star is None
            else self.star_columns + item.star
        )
        return replace(
            self,
            relations=self.relations + item.relations,
            star_columns=star,
            merged=self.merged + item.merged,
        )

    def _cte(self, name: str) -> tuple[bool, tuple[Column, ...] | None]:
        scope: Scope | None = self
        while scope is not None:
            for cte_name, columns in reversed(scope.ctes):
                if cte_name == name:
                    return True, columns
            scope = scope.parent
        return False, None

    def _item(self, node: object, statement: StatementColumns) -> _Item:
        match node:
            case ast.RangeVar(relname=str(table), schemaname=schema, alias=alias):
                is_cte, columns = self._cte(table) if schema is None else (False, None)
                if not is_cte:
                    found = self.catalog.columns(schema, table)
                    columns = (
                        tuple(
                            Column(c.name, not c.not_null, category=c.category) for c in found or ()
                        )
                        or None
                    )
                return _single(table, None if is_cte else schema, columns, alias)
            case ast.RangeSubselect(subquery=ast.Node() as sub, lateral=lateral, alias=alias):
                # A LATERAL subquery sees the FROM items before it; others only outer levels.
                base = self if lateral else replace(self, relations=(), star_columns=(), merged=())
                columns = statement(sub, base.child()).columns
                return _single("unnamed_subquery", None, columns, alias)
            case ast.RangeFunction(alias=alias):
                names = strings(alias.colnames) if alias else None
                columns = tuple(Column(n, True) for n in names) if names else None
                return _single("unnamed_function", None, columns, alias)
            case ast.JoinExpr():
                return self._join(node, statement)
            case _:
                pass  # any other node: the default after the match
        return _Item((Relation("", None, None),), None)

    def _join(self, join: ast.JoinExpr, statement: StatementColumns) -> _Item:
        left = self._item(join.larg, statement)
        right = replace(self, relations=self.relations + left.relations)._item(join.rarg, statement)
        kind = join.jointype or JoinType.JOIN_INNER
        using = strings(join.usingClause) or ()
        if join.isNatural:
            if left.star is None or right.star is None:
                using = ()
            else:
                right_names = {c.name for c in right.star}
                using = tuple(c.name for c in left.star if c.name in right_names)
        merged = _merge(using, left.star, right.star, kind)
        left, right = self._joined_on(join.quals, kind, left, right)
        if kind in (JoinType.JOIN_RIGHT, JoinType.JOIN_FULL):
            left = left.made_outer()
        if kind in (JoinType.JOIN_LEFT, JoinType.JOIN_FULL):
            right = right.made_outer()
        star = None
        if left.star is not None and right.star is not None and merged is not None:
            star = (
                merged
                + tuple(c for c in left.star if c.name not in using)
                + tuple(c for c in right.star if c.name not in using)
            )
        if join.alias is not None:
            return _single("", None, star, join.alias)
        return _Item(left.relations + right.relations, star, merged or ())

    def _joined_on(
        self, quals: object, kind: JoinType, left: _Item, right: _Item
    ) -> tuple[_Item, _Item]:
        """The two sides of a join as its ON condition leaves them (``proven_by_filter``).

        A joined row satisfied the condition: an inner join proves both sides' columns,
        a LEFT join its right side's (when the row is there at all), a RIGHT join its
        left side's; a FULL join proves nothing.
        """
        if quals is None or kind == JoinType.JOIN_FULL:
            return left, right
        both = Scope(self.catalog, relations=left.relations + right.relations)
        for name in proven_by_filter(quals):
            both = both.narrowed(name)
        count = len(left.relations)
        if kind != JoinType.JOIN_LEFT:
            left = replace(left, relations=both.relations[:count])
        if kind != JoinType.JOIN_RIGHT:
            right = replace(right, relations=both.relations[count:])
        return left, right

    # --- lookups ---------------------------------------------------------------

    def column_nullable(self, name: tuple[str, ...]) -> bool:
        """Whether the column reference ``name`` (1 to 3 parts) may be NULL."""
        found = self.column(name)
        return found is None or found.nullable

    def column(self, name: tuple[str, ...]) -> Column | None:
        """The column the reference ``name`` (1 to 3 parts) resolves to; None if not sure."""
        if self.grouping_sets:
            return None  # ROLLUP and friends fill grouped columns with NULLs
        *qualifier, column = name
        if not qualifier:
            hits = [c for c in self.merged if c.name == column]
            unknown = False
            if not hits:
                for rel in self.relations:
                    unknown = unknown or rel.columns is None
                    hits.extend(c for c in rel.columns or () if c.name == column)
            if len(hits) == 1:
                return hits[0]
            if hits or unknown:
                return None  # ambiguous or possibly in an unknown relation
        else:
            found = self._relation(tuple(qualifier))
            if found is not None:
                hits = [c for c in found.columns or () if c.name == column]
                return hits[0] if len(hits) == 1 else None
        return self.parent.column(name) if self.parent else None

    def resolves_here(self, name: tuple[str, ...]) -> bool | None:
        """Whether the column reference ``name`` is this level's own (not an outer level's):
        True, False, or None when this level has an item whose columns are not known."""
        *qualifier, column = name
        if qualifier:
            return self._relation(tuple(qualifier)) is not None
        if any(c.name == column for c in self.merged):
            return True
        if any(c.name == column for rel in self.relations for c in rel.columns or ()):
            return True
        return None if any(rel.columns is None for rel in self.relations) else False

    def narrowed(self, name: tuple[str, ...]) -> Scope:
        """This level where the column ``name`` is proven not null (a WHERE conjunct).

        Only a column of one of this level's FROM items, found unambiguously; a USING
        column or an outer level's column is left as it was.
        """
        *qualifier, column = name
        if qualifier:
            matches = [
                i
                for i, rel in enumerate(self.relations)
                if tuple(qualifier) in ((rel.name,), (rel.schema, rel.name))
            ]
            matches = matches[-1:]
        elif any(c.name == column for c in self.merged) or any(
            rel.columns is None for rel in self.relations
        ):
            return self
        else:
            matches = [
                i
                for i, rel in enumerate(self.relations)
                if any(c.name == column for c in rel.columns or ())
            ]
        if len(matches) != 1:
            return self
        (index,) = matches
        relations = list(self.relations)
        relations[index] = relations[index].narrowed(column)
        return replace(self, relations=tuple(relations))

    def _relation(self, qualifier: tuple[str, ...]) -> Relation | None:
        for rel in reversed(self.relations):
            if qualifier == (rel.name,) or qualifier == (rel.schema, rel.name):
                return rel
        return None

    def star(self, qualifier: tuple[str, ...]) -> tuple[Column, ...] | None:
        """What ``*`` or ``t.*`` expands to; None when not known."""
        if not qualifier:
            return self.star_columns
        rel = self._relation(qualifier)
        if rel is None and self.parent is not None:
            return self.parent.star(qualifier)
        return None if rel is None else rel.columns


def _single(
    default: str,
    schema: str | None,
    columns: tuple[Column, ...] | None,
    alias: ast.Alias | None,
) -> _Item:
    """One relation, renamed by ``AS alias(col, ...)`` if given."""
    name = default
    if alias is not None and alias.aliasname:
        name, schema = alias.aliasname, None
        renames = strings(alias.colnames) or ()
        if columns is not None:
            columns = tuple(
                replace(c, name=renames[i]) if i < len(renames) else c
                for i, c in enumerate(columns)
            )
    return _Item((Relation(name, schema, columns),), columns)


def _merge(
    using: tuple[str, ...],
    left: tuple[Column, ...] | None,
    right: tuple[Column, ...] | None,
    kind: JoinType,
) -> tuple[Column, ...] | None:
    """The USING columns of a join: the left value, the right one, or COALESCE of both."""
    result: list[Column] = []
    for name in using:
        lhs = [c for c in left or () if c.name == name]
        rhs = [c for c in right or () if c.name == name]
        if len(lhs) != 1 or len(rhs) != 1:
            return None
        nullable = {
            JoinType.JOIN_LEFT: lhs[0].nullable,
            JoinType.JOIN_RIGHT: rhs[0].nullable,
            # COALESCE of both: a row from one side only has that side's value, NULL or not.
            JoinType.JOIN_FULL: lhs[0].nullable or rhs[0].nullable,
        }.get(kind, lhs[0].nullable and rhs[0].nullable)
        result.append(replace(lhs[0], nullable=nullable))
    return tuple(result)


# --- expressions ---------------------------------------------------------------

# Comparison operators NULL when either side is: a WHERE keeps no row where one is NULL.
_STRICT_COMPARISONS: Final = frozenset(
    {"=", "<>", "!=", "<", ">", "<=", ">=", "~~", "!~~", "~~*", "!~~*", "~", "!~", "~*", "!~*",
     "@>", "<@", "&&"}
)  # fmt: skip


def proven_by_filter(where: object) -> Iterator[tuple[str, ...]]:
    """The columns a WHERE (or JOIN ... ON) condition proves not null in the rows it keeps.

    Its top-level AND conjuncts: ``x IS NOT NULL``, a boolean column ``x``, and tests
    NULL for a NULL ``x`` (so false for the WHERE): ``x = ...`` and the other strict
    comparisons (both sides), ``x LIKE ...``, ``x IN (...)``, ``x = ANY(...)``,
    ``x BETWEEN ...``. ``x = ALL('{}')`` is true for a NULL x, so ALL is not one.
    """
    match where:
        case ast.BoolExpr(boolop=BoolExprType.AND_EXPR, args=args):
            for arg in args or ():
                yield from proven_by_filter(arg)
            return
        case ast.NullTest(arg=arg, nulltesttype=NullTestType.IS_NOT_NULL, argisrow=False):
            operands: tuple[object, ...] = (arg,)
        case ast.ColumnRef():
            operands = (where,)
        case ast.A_Expr(kind=A_Expr_Kind.AEXPR_OP, name=name, lexpr=lhs, rexpr=rhs) if (
            strings(name) or ("",)
        )[-1] in _STRICT_COMPARISONS:
            operands = (lhs, rhs)
        case ast.A_Expr(
            kind=A_Expr_Kind.AEXPR_LIKE
            | A_Expr_Kind.AEXPR_ILIKE
            | A_Expr_Kind.AEXPR_IN
            | A_Expr_Kind.AEXPR_OP_ANY
            | A_Expr_Kind.AEXPR_BETWEEN,
            lexpr=lhs,
        ):
            operands = (lhs,)
        case _:
            return
    for operand in operands:
        name = column_ref(unwrap_casts(operand))
        if name:
            yield name


# Operators that return NULL only for a NULL operand. Not ->, ->>, #> (a missing key is NULL).
_STRICT_OPERATORS: Final = frozenset(
    {"+", "-", "*", "/", "%", "^", "=", "<>", "!=", "<", ">", "<=", ">=", "||", "@", "|/",
     "~~", "!~~", "~~*", "!~~*", "~", "!~", "~*", "!~*", "@>", "<@", "&&"}
)  # fmt: skip
# Functions (of schema pg_catalog) that never return NULL when no argument is NULL. Being
# STRICT is not enough: lower('empty'::int4range), substring('a' from 'x+'),
# array_length('{}', 1), extract(month from 'infinity'::timestamp), to_char(now(), '') and
# to_char('infinity'::timestamp, 'YYYY') are all NULL. Every other function, strict or
# not, built in or not, may return NULL.
NOT_NULL_FOR_NOT_NULL_ARGUMENTS: Final = frozenset(
    {
        "lower", "upper", "length", "char_length", "character_length", "octet_length",
        "bit_length", "abs", "md5", "replace", "btrim", "ltrim", "rtrim", "lpad", "rpad",
        "left", "right", "round", "trunc", "floor", "ceil", "ceiling", "sign", "mod", "power",
        "date_trunc", "initcap", "reverse", "repeat", "cardinality", "array_to_string",
        "to_json", "to_jsonb", "nextval", "pg_try_advisory_lock",
        "pg_try_advisory_xact_lock", "upper_inf", "lower_inf", "upper_inc", "lower_inc",
        "isempty", "ntile",
    }
)  # fmt: skip
# ... of which these only on text: lower and upper of an empty or unbounded range are NULL.
_TEXT_ONLY: Final = frozenset({"lower", "upper"})
# Functions that skip NULLs after the first argument, which alone must not be NULL.
_FIRST_ARGUMENT_ONLY: Final = frozenset({"concat_ws"})
# Functions never NULL whatever their arguments: the scalar ones, then count and the
# ranking window functions.
NEVER_NULL_SCALAR_FUNCTIONS: Final = frozenset(
    {
        "now", "clock_timestamp", "statement_timestamp", "transaction_timestamp", "random",
        "gen_random_uuid", "concat", "json_build_object", "jsonb_build_object",
        "json_build_array", "jsonb_build_array", "num_nulls", "num_nonnulls",
    }
)  # fmt: skip
_NEVER_NULL_FUNCTIONS: Final = NEVER_NULL_SCALAR_FUNCTIONS | frozenset(
    {"count", "row_number", "rank", "dense_rank", "percent_rank", "cume_dist"}
)
# Type names (as a cast writes them) whose values are text.
_TEXT_TYPES: Final = frozenset({"text", "varchar", "bpchar", "char", "name", "citext"})


def _all(nodes: tuple[object, ...] | None, scope: Scope) -> bool:
    """True when every node is provably not null."""
    return all(not nullable(n, scope) for n in nodes or ())


def nullable(node: object, scope: Scope) -> bool:
    """Whether ``node`` may evaluate to NULL; True unless proven otherwise."""
    match node:
        case ast.A_Const(isnull=isnull):
            return bool(isnull)
        case ast.ColumnRef(fields=fields):
            name = strings(fields)
            return True if name is None else scope.column_nullable(name)
        case ast.ParamRef(number=int(number)):
            return number not in scope.required_params
        case ast.TypeCast(arg=arg) | ast.CollateClause(arg=arg):
            return nullable(arg, scope)
        case ast.NullTest() | ast.BooleanTest() | ast.GroupingFunc():
            return False
        case ast.SubLink(subLinkType=SubLinkType.EXPR_SUBLINK, subselect=ast.SelectStmt() as sub):
            value = scope.scalar(sub, scope) if scope.scalar is not None else None
            return True if value is None else value
        case ast.BoolExpr(args=args):  # AND, OR, NOT: NULL only from a NULL operand
            return not _all(args, scope)
        case ast.A_Expr(kind=A_Expr_Kind() as kind, name=name, lexpr=lhs, rexpr=rhs):
            return _operator_nullable(kind, strings(name) or (), lhs, rhs, scope)
        case ast.FuncCall(
            funcname=funcname, args=args, agg_star=star, over=over, func_variadic=variadic
        ):
            name = strings(funcname) or ()
            return _function_nullable(name, args, bool(star), over, bool(variadic), scope)
        case ast.CoalesceExpr(args=args) | ast.MinMaxExpr(args=args):
            # COALESCE, GREATEST and LEAST skip NULLs: one not-null argument is enough.
            return all(nullable(a, scope) for a in args or ())
        case ast.CaseExpr(args=whens, defresult=default):
            if default is None:
                return True
            results = tuple(w.result for w in whens or () if isinstance(w, ast.CaseWhen))
            return not _all((*results, default), scope)
        case ast.SubLink(subLinkType=kind):
            # EXISTS is true or false; ARRAY(SELECT ...) is '{}' when there are no rows.
            return kind not in (SubLinkType.EXISTS_SUBLINK, SubLinkType.ARRAY_SUBLINK)
        case ast.SQLValueFunction(op=SQLValueFunctionOp.SVFOP_CURRENT_SCHEMA):
            return True  # NULL when the search path is empty
        case ast.A_ArrayExpr() | ast.RowExpr() | ast.SQLValueFunction():
            return False
        case _:
            pass  # any other node: the default after the match
    return True


def elements_nullable(node: object, scope: Scope) -> bool:
    """Whether ``node``, if it is an array, may hold a NULL element (at any depth).

    False only with proof: ``ARRAY[...]`` or ``ARRAY(SELECT x ...)`` or ``array_agg(x)`` of
    not-null values that are not arrays with NULLs themselves, or a column so proven.
    """
    match node:
        case ast.A_ArrayExpr(elements=elements):
            return not all(_clean_value(e, scope) for e in elements or ())
        case ast.SubLink(subLinkType=SubLinkType.ARRAY_SUBLINK, subselect=ast.SelectStmt() as sub):
            targets = sub.targetList or ()
            if len(targets) != 1 or sub.fromClause or sub.op not in (None, SetOperation.SETOP_NONE):
                # Over a FROM clause the target's columns resolve in the subquery's scope,
                # which this function does not build: no proof.
                return True
            value = getattr(targets[0], "val", None)
            return not _clean_value(value, scope.child())
        case ast.FuncCall(funcname=funcname, args=(arg,), agg_star=False, over=None):
            if _builtin_name(strings(funcname) or (), scope) == "array_agg":
                return not _clean_value(arg, scope)
            return True
        case ast.TypeCast(arg=arg) | ast.CollateClause(arg=arg):
            return elements_nullable(arg, scope)
        case ast.ColumnRef(fields=fields):
            name = strings(fields)
            found = scope.column(name) if name is not None else None
            return found is None or found.elements_nullable
        case _:
            pass  # any other node: the default after the match
    return True


def _clean_value(node: object, scope: Scope) -> bool:
    """Not NULL, and not an array holding a NULL: a value an array may claim as not null."""
    if nullable(node, scope):
        return False
    return _is_scalar(node, scope) or not elements_nullable(node, scope)


def _is_scalar(node: object, scope: Scope) -> bool:
    """Proven not an array: a literal, a cast to a non-array type, a non-array column."""
    match node:
        case ast.A_Const():
            return True
        case ast.TypeCast(typeName=ast.TypeName(arrayBounds=bounds)):
            return not bounds
        case ast.ColumnRef(fields=fields):
            name = strings(fields)
            found = scope.column(name) if name is not None else None
            return found is not None and found.category not in ("", "A")
        case ast.NullTest() | ast.BooleanTest() | ast.BoolExpr():
            return True
        case _:
            pass  # any other node: the default after the match
    return False


def _operand_nullable(node: object, scope: Scope) -> bool:
    """Whether an operand of a comparison may make it NULL.

    A row compares field by field, so ``(id, email) = (1, 'x')`` is NULL when email is:
    a row operand is safe only when every field is proven not null, and a composite
    value whose fields are not known (a composite column) never is.
    """
    match node:
        case ast.RowExpr(args=args):
            return any(_operand_nullable(a, scope) for a in args or ())
        case ast.TypeCast(arg=arg) | ast.CollateClause(arg=arg):
            return _operand_nullable(arg, scope)
        case _ if may_be_row(node, scope):
            return True
        case _:
            return nullable(node, scope)


def may_be_row(node: object, scope: Scope) -> bool:
    """Whether a not-null ``node`` may be a row value with NULL fields.

    Only these are not-null rows: ``ROW(...)`` (possibly cast), a composite column, and
    CASE or COALESCE over them; any other composite value (a function's) is nullable.
    """
    match node:
        case ast.RowExpr():
            return True
        case ast.TypeCast(arg=arg) | ast.CollateClause(arg=arg):
            return may_be_row(arg, scope)
        case ast.ColumnRef(fields=fields):
            name = strings(fields)
            found = scope.column(name) if name is not None else None
            return found is not None and found.category == "C"
        case ast.CaseExpr(args=whens, defresult=default):
            results = tuple(w.result for w in whens or () if isinstance(w, ast.CaseWhen))
            return any(may_be_row(r, scope) for r in (*results, default))
        case ast.CoalesceExpr(args=args) | ast.MinMaxExpr(args=args):
            return any(may_be_row(a, scope) for a in args or ())
        case _:
            pass  # any other node: the default after the match
    return False


def _operator_nullable(
    kind: A_Expr_Kind, name: tuple[str, ...], lhs: object, rhs: object, scope: Scope
) -> bool:
    # BETWEEN and IN (list) keep their right-hand operands in a tuple.
    right = cast("tuple[object, ...]", rhs) if isinstance(rhs, tuple) else (rhs,)
    present = tuple(o for o in (lhs, *right) if o is not None)
    operands_proven = not any(_operand_nullable(o, scope) for o in present)
    match kind:
        case A_Expr_Kind.AEXPR_DISTINCT | A_Expr_Kind.AEXPR_NOT_DISTINCT:
            return False
        case A_Expr_Kind.AEXPR_OP if name and name[-1] in _STRICT_OPERATORS:
            return not operands_proven
        case (
            A_Expr_Kind.AEXPR_IN
            | A_Expr_Kind.AEXPR_LIKE
            | A_Expr_Kind.AEXPR_ILIKE
            | A_Expr_Kind.AEXPR_BETWEEN
            | A_Expr_Kind.AEXPR_NOT_BETWEEN
            | A_Expr_Kind.AEXPR_BETWEEN_SYM
            | A_Expr_Kind.AEXPR_NOT_BETWEEN_SYM
        ):
            return not operands_proven
        case _:
            pass  # any other node: the default after the match
    # = ANY(array) is NULL when the array holds a NULL; NULLIF makes NULLs; unknown operators.
    return True


def _builtin_name(name: tuple[str, ...], scope: Scope) -> str | None:
    """The name of a call that can only mean a pg_catalog function, else None.

    ``lower(x)`` beside a user's ``public.lower(mytype)`` could mean either: None.
    """
    match name:
        case (str(func),):
            facts = scope.catalog.function(None, func)
        case ("pg_catalog", str(func)):
            facts = scope.catalog.function("pg_catalog", func)
        case _:
            return None  # a function of another schema could return anything
    return func if facts is not None and facts.builtin else None


def _function_nullable(
    name: tuple[str, ...],
    args: tuple[object, ...] | None,
    star: bool,
    over: object,
    variadic: bool,
    scope: Scope,
) -> bool:
    func = _builtin_name(name, scope)
    if func is None:
        return (
            _sql_function_nullable(name, args or (), scope) if not star and over is None else True
        )
    if func in _NEVER_NULL_FUNCTIONS:
        # concat(VARIADIC NULL::text[]) is NULL: the array itself is the argument.
        return variadic and (not args or nullable(args[-1], scope))
    if star or not args or (over is not None and func != "ntile"):
        return True
    if func in _FIRST_ARGUMENT_ONLY:
        return nullable(args[0], scope)
    if func not in NOT_NULL_FOR_NOT_NULL_ARGUMENTS or not _all(args, scope):
        return True
    if func in _TEXT_ONLY:
        return not all(_is_text(a, scope) for a in args)
    return False


def _sql_function_nullable(name: tuple[str, ...], args: tuple[object, ...], scope: Scope) -> bool:
    """A call of a ``LANGUAGE sql`` function, analyzed through its body.

    Its value is the first row of its single SELECT, or NULL when there is none: so the
    body must be certain of one row, and is analyzed with the arguments' nullability
    (by name, or as ``$n``). A STRICT one is NULL for any NULL argument.
    """
    match name:
        case (str(func),):
            key: tuple[str | None, str] = (None, func)
        case (str(schema), str(func)):
            key = (schema, func)
        case _:
            return True
    function = scope.catalog.sql_function(*key, len(args))
    if function is None or key in scope.inlining or scope.scalar is None:
        return True
    arguments = [nullable(a, scope) for a in args]
    if function.strict and any(arguments):
        return True
    try:
        statements = parse_sql(function.body)
    except ParseError:
        return True
    match statements:
        case (ast.RawStmt(stmt=ast.SelectStmt() as body),):
            pass
        case _:
            return True
    # The arguments, as columns of a relation named after the function (``twice.x``).
    named = tuple(Column(n, a) for n, a in zip(function.arguments, arguments, strict=True) if n)
    body_scope = Scope(
        scope.catalog,
        relations=(Relation(key[1], None, named),),
        required_params=frozenset(i for i, a in enumerate(arguments, start=1) if not a),
        scalar=scope.scalar,
        inlining=(*scope.inlining, key),
    )
    value = scope.scalar(body, body_scope)
    return True if value is None else value


def _is_text(node: object, scope: Scope) -> bool:
    """Proven a text value: a string literal, a cast to a text type, a text column."""
    match node:
        case ast.A_Const(val=ast.String()):
            return True
        case ast.TypeCast(typeName=ast.TypeName(names=names, arrayBounds=bounds)):
            return not bounds and (strings(names) or ("",))[-1] in _TEXT_TYPES
        case ast.ColumnRef(fields=fields):
            name = strings(fields)
            found = scope.column(name) if name is not None else None
            return found is not None and found.category == "S"
        case ast.FuncCall(funcname=funcname):
            return _builtin_name(strings(funcname) or (), scope) in ("lower", "upper")
        case _:
            pass  # any other node: the default after the match
    return False


def column_name(node: object) -> str:
    """The name PostgreSQL gives an unaliased output column (its FigureColname).

    "" when not sure: the caller then takes the name the server describes.
    """
    match node:
        case ast.ColumnRef(fields=fields):
            name = strings(fields)
            return name[-1] if name else ""
        case ast.FuncCall(funcname=funcname):
            return (strings(funcname) or ("",))[-1]
        case ast.TypeCast(arg=arg, typeName=type_name):
            inner = column_name(arg)
            if inner != "?column?" or type_name is None:
                return inner
            return (strings(type_name.names) or ("",))[-1]
        case ast.A_Expr(kind=A_Expr_Kind.AEXPR_NULLIF):
            return "nullif"
        case ast.A_Const() | ast.A_Expr() | ast.BoolExpr() | ast.NullTest() | ast.BooleanTest():
            return "?column?"
        case ast.ParamRef():
            return "?column?"
        case ast.CaseExpr():
            return "case"
        case ast.CoalesceExpr():
            return "coalesce"
        case ast.MinMaxExpr(op=op):
            return "greatest" if op is not None and op.name == "IS_GREATEST" else "least"
        case ast.SubLink(subLinkType=SubLinkType.EXISTS_SUBLINK):
            return "exists"
        case ast.SubLink(subLinkType=SubLinkType.ARRAY_SUBLINK) | ast.A_ArrayExpr():
            return "array"
        case ast.RowExpr():
            return "row"
        case ast.SQLValueFunction(op=SQLValueFunctionOp() as op):
            return op.name.removeprefix("SVFOP_").removesuffix("_N").lower()
        case _:
            pass  # any other node: the default after the match
    return ""


__all__ = [
    "NEVER_NULL_SCALAR_FUNCTIONS",
    "NOT_NULL_FOR_NOT_NULL_ARGUMENTS",
    "Column",
    "Relation",
    "Scope",
    "column_name",
    "elements_nullable",
    "may_be_row",
    "nullable",
    "proven_by_filter",
]
