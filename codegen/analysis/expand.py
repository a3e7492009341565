"""Before describing: ``*`` and ``t.*`` over a table become the table's columns, by name.

Generated code builds rows by position. Were the SQL to keep ``SELECT t.*``, a column
added to ``t`` after generation (a newer migration another service applied) would come
in the middle of the result and shift every later field by one, silently; a column
dropped and added again would move to the end. So every star that stands for a
table's (or view's) columns, in a SELECT list or a RETURNING clause at any depth, is
replaced by those columns as the schema has them at generation time, each qualified
with the name the query gives the table: the statement that runs then returns the same
columns in the same order whatever the table's physical layout, ignores added columns,
and fails with the server's "column t.x does not exist" when one was dropped.

A star over a CTE, a subquery, VALUES or a function with column names is left: its
columns are the query's own and come by name (stars inside it were expanded too).
Where a star cannot be expanded faithfully (over a USING or NATURAL join, an aliased
join, or a table whose alias renames its columns), the query is refused.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final, cast

from pglast import ast
from pglast.keywords import RESERVED_KEYWORDS, TYPE_FUNC_NAME_KEYWORDS
from pglast.parser import parse_sql, scan

from connlog.codegen.parsing.sqlast import strings

# The columns of a table or view in attnum order, or None when the name is none.
ColumnsOf = Callable[[str | None, str], Sequence[str] | None]

# Where an expanded star's columns go onto lines of their own.
_LINE_LENGTH: Final = 100
_PLAIN_IDENTIFIER: Final = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_$")
# Keywords that cannot stand bare as a table qualifier (``"user".id``); after the dot any
# keyword is a column name.
_QUOTED_KEYWORDS: Final = frozenset(RESERVED_KEYWORDS) | frozenset(TYPE_FUNC_NAME_KEYWORDS)


class StarError(ValueError):
    """A star the generator cannot replace by columns; ``offset`` is where it is in the SQL."""

    def __init__(self, offset: int, message: str) -> None:
        super().__init__(message)
        self.offset = offset
        self.message = message


@dataclass(frozen=True, slots=True)
class _Item:
    """A name the FROM clause makes visible, and what it stands for."""

    name: str  # the alias, else the relation name as written
    qualifier: str  # the text to write before ``.column``
    columns: Sequence[str] | None  # a table's columns; None: not a table (left as is)
    renames: bool = False  # a table alias with column names: ``t AS x (a, b)``
    join: bool = False  # an aliased join: its columns include its tables'
    unknown: bool = False  # an item this module does not read (XMLTABLE...): never guessed
    schema: str | None = None  # the schema written before an unaliased table's name


def expand_stars(statement: str, columns_of: ColumnsOf) -> str:
    """``statement`` with every table star replaced by its qualified columns.

    Raises StarError for a star that cannot be expanded faithfully.
    """
    (raw,) = parse_sql(statement)
    tokens = scan(statement)
    edits: list[tuple[int, int, str]] = []  # (start, end exclusive, replacement)

    def replace(ref: ast.ColumnRef, pieces: list[str]) -> None:
        start = ref.location
        assert isinstance(start, int), ref
        # The ColumnRef ends at its ``*`` token: the first one from its start.
        end = next(t.end + 1 for t in tokens if t.start >= start and t.name == "ASCII_42")
        line_start = statement.rfind("\n", 0, start) + 1
        line_end = statement.find("\n", end)
        before = statement[line_start:start]
        after = statement[end : len(statement) if line_end < 0 else line_end]
        one_line = ", ".join(pieces)
        if before.strip() == "":
            # A star alone on its line gets one column a line, at its indentation.
            text = (",\n" + before).join(pieces)
        elif len(before) + len(one_line) + len(after) > _LINE_LENGTH:
            # Else one a line under the first, when they would not fit on the line.
            text = (",\n" + " " * len(before)).join(pieces)
        else:
            text = one_line
        edits.append((start, end, text))

    def targets(nodes: object, items: list[_Item], join_using: bool) -> None:
        for target in cast("tuple[object, ...]", nodes or ()):
            match target:
                case ast.ResTarget(val=ast.ColumnRef(fields=tuple(fields)) as ref) if isinstance(
                    fields[-1], ast.A_Star
                ):
                    qualifier = strings(fields[:-1])
                    if qualifier is None:
                        continue  # not a plain name: the server's business
                    pieces = _star(ref, qualifier, items, join_using)
                    if pieces is not None:
                        replace(ref, pieces)
                case _:
                    pass  # an expression, or a named column: nothing to expand

    def visit(node: object, ctes: frozenset[str]) -> None:
        if isinstance(node, tuple):
            for child in cast("tuple[object, ...]", node):
                visit(child, ctes)
            return
        if not isinstance(node, ast.Node):
            return
        with_clause = getattr(node, "withClause", None) if _has_with(node) else None
        if isinstance(with_clause, ast.WithClause):
            ctes = ctes | {
                str(cte.ctename)
                for cte in cast("tuple[ast.CommonTableExpr, ...]", with_clause.ctes or ())
            }
        match node:
            case ast.SelectStmt(targetList=target_list, fromClause=from_clause):
                found, using = _items(from_clause, ctes, columns_of)
                targets(target_list, found, using)
            case ast.InsertStmt(relation=target):
                found, using = _items((target,), ctes, columns_of)
                targets(_returning(node), found, using)
            case ast.UpdateStmt(relation=target, fromClause=extra):
                items = (target, *cast("tuple[object, ...]", extra or ()))
                found, using = _items(items, ctes, columns_of)
                targets(_returning(node), found, using)
            case ast.DeleteStmt(relation=target, usingClause=extra):
                items = (target, *cast("tuple[object, ...]", extra or ()))
                found, using = _items(items, ctes, columns_of)
                targets(_returning(node), found, using)
            case _:
                pass  # no target list of its own: only its children may have one
        for member in node:
            visit(getattr(node, member), ctes)

    visit(raw.stmt, frozenset())
    for start, end, text in sorted(edits, reverse=True):
        statement = statement[:start] + text + statement[end:]
    return statement


def _returning(stmt: ast.Node) -> object:
    """The RETURNING list of an INSERT, UPDATE or DELETE (pglast 7: a ReturningClause)."""
    clause = getattr(stmt, "returningClause", None)
    return clause.exprs if isinstance(clause, ast.ReturningClause) else None


def _has_with(node: ast.Node) -> bool:
    return isinstance(node, ast.SelectStmt | ast.InsertStmt | ast.UpdateStmt | ast.DeleteStmt)


def _star(
    ref: ast.ColumnRef, qualifier: tuple[str, ...], items: list[_Item], join_using: bool
) -> list[str] | None:
    """The qualified columns ``ref`` stands for; None to leave it as written."""
    offset = ref.location if isinstance(ref.location, int) else 0
    if qualifier:
        name = qualifier[-1]
        named = [item for item in items if item.name == name]
        if len(qualifier) > 1 and len(named) > 1:
            # ``billing.invoices.*`` beside ``public.invoices``: the schema tells them apart.
            named = [item for item in named if item.schema == qualifier[-2]]
        if len(named) != 1:
            return None  # an outer query's name, or ambiguous: the server says which
        (item,) = named
        if item.join:
            raise StarError(
                offset,
                f"{name}.* stands for an aliased join, whose columns follow its tables' "
                "physical column order",
            )
        if item.columns is None:
            return None
        _check_plain(item, offset)
        # As written (``"Mixed".*``, ``public.t.*``): the qualifier keeps its spelling.
        written = ".".join(_quote(part, qualifier=True) for part in qualifier)
        return [f"{written}.{_quote(column)}" for column in item.columns]
    if not any(item.columns is not None or item.join for item in items):
        return None  # nothing but CTEs, subqueries and functions: their columns, by name
    if join_using:
        raise StarError(offset, "* over a USING or NATURAL join lists the merged columns first")
    if any(item.unknown for item in items):
        raise StarError(offset, "* over a FROM item the generator does not expand")
    pieces: list[str] = []
    for item in items:
        if item.join:
            raise StarError(
                offset,
                f"* includes the aliased join {item.name!r}, whose columns follow its "
                "tables' physical column order",
            )
        if item.columns is None:
            pieces.append(f"{item.qualifier}.*")
            continue
        _check_plain(item, offset)
        pieces.extend(f"{item.qualifier}.{_quote(column)}" for column in item.columns)
    return pieces


def _check_plain(item: _Item, offset: int) -> None:
    if item.renames:
        raise StarError(
            offset,
            f"the alias {item.name!r} renames the table's columns by position",
        )


def _items(
    from_clause: object, ctes: frozenset[str], columns_of: ColumnsOf
) -> tuple[list[_Item], bool]:
    """The names a FROM clause makes visible, in order, and whether a join merges columns."""
    items: list[_Item] = []
    merges = False

    def add(node: object) -> None:
        nonlocal merges
        match node:
            case ast.RangeTableSample(relation=sampled):
                add(sampled)  # ``t TABLESAMPLE ...``: t's columns
            case ast.RangeVar(relname=str(table), schemaname=schema, alias=alias):
                written_schema = schema if isinstance(schema, str) else None
                is_cte = written_schema is None and table in ctes
                columns = None if is_cte else columns_of(written_schema, table)
                if isinstance(alias, ast.Alias):
                    name = str(alias.aliasname)
                    qualifier = _quote(name, qualifier=True)
                    renames = bool(alias.colnames)
                else:
                    name = table
                    qualifier = ".".join(
                        _quote(p, qualifier=True) for p in (written_schema, table) if p
                    )
                    renames = False
                unaliased_schema = None if isinstance(alias, ast.Alias) else written_schema
                items.append(_Item(name, qualifier, columns, renames, schema=unaliased_schema))
            case ast.JoinExpr(alias=ast.Alias(aliasname=str(name))):
                items.append(_Item(name, _quote(name, qualifier=True), None, join=True))
            case ast.JoinExpr(larg=left, rarg=right, usingClause=using, isNatural=natural):
                merges = merges or bool(using) or bool(natural)
                add(left)
                add(right)
            case (
                ast.RangeSubselect(alias=ast.Alias(aliasname=str(name)))
                | ast.RangeFunction(alias=ast.Alias(aliasname=str(name)))
            ):
                items.append(_Item(name, _quote(name, qualifier=True), None))
            case ast.RangeFunction(functions=tuple(calls)):
                # An unaliased function is named after itself: ``unnest.*``.
                call = cast("tuple[object, ...]", calls[0])[0]
                func = strings(call.funcname) if isinstance(call, ast.FuncCall) else None
                name = func[-1] if func else "?"
                items.append(_Item(name, _quote(name, qualifier=True), None))
            case _:
                items.append(_Item("", "", None, unknown=True))

    for item in cast("tuple[object, ...]", from_clause or ()):
        add(item)
    return items, merges


def _quote(name: str, *, qualifier: bool = False) -> str:
    """``name`` as SQL: bare when PostgreSQL would read it back unchanged, else quoted."""
    plain = bool(name) and not name[0].isdigit() and all(c in _PLAIN_IDENTIFIER for c in name)
    if plain and not (qualifier and name in _QUOTED_KEYWORDS):
        return name
    return '"' + name.replace('"', '""') + '"'
