"""Small helpers over pglast's AST, shared by parse and nullability.

pglast types child lists as ``tuple[Any, ...]``; these helpers are where that
``Any`` is narrowed, so the callers can ``match`` on concrete node classes.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import cast

from pglast import ast


def walk(node: ast.Node) -> Iterator[ast.Node]:
    """Every node below and including ``node``, depth first, children in field order."""
    stack: list[object] = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, ast.Node):
            yield item
            stack.extend(reversed([getattr(item, member) for member in item]))
        elif isinstance(item, tuple):
            stack.extend(reversed(cast("tuple[object, ...]", item)))


def strings(nodes: tuple[object, ...] | None) -> tuple[str, ...] | None:
    """The values of a list of ``String`` nodes (a qualified name), None if anything else."""
    result: list[str] = []
    for node in nodes or ():
        match node:
            case ast.String(sval=str(value)):
                result.append(value)
            case _:
                return None
    return tuple(result)


def column_ref(node: object) -> tuple[str, ...] | None:
    """The dotted name of a plain column reference (no ``*``), else None."""
    match node:
        case ast.ColumnRef(fields=tuple(fields)):
            return strings(fields)
        case _:
            pass  # any other node: the default after the match
    return None


def unwrap_casts(node: object) -> object:
    """``$1::int::text`` -> ``$1``: a cast keeps the value (and its NULL-ness)."""
    while True:
        match node:
            case ast.TypeCast(arg=inner):
                node = inner
            case _:
                return node


def param_number(node: object) -> int | None:
    """The ``n`` of ``$n`` (possibly cast), else None."""
    match unwrap_casts(node):
        case ast.ParamRef(number=int(number)):
            return number
        case _:
            pass  # any other node: the default after the match
    return None


def positional_names(stmt: ast.Node) -> dict[int, str]:
    """``$n`` -> the column it is compared with, inserted into or assigned to (first wins)."""
    found: list[tuple[int, int, str]] = []  # (location, number, column)

    def note(param: object, column: str | None, location: object) -> None:
        number = param_number(param)
        if number is not None and column is not None and isinstance(location, int):
            found.append((location, number, column))

    for node in walk(stmt):
        match node:
            case ast.A_Expr(lexpr=left, rexpr=right, location=loc):
                for param, other in ((right, left), (left, right)):
                    ref = column_ref(other)
                    note(param, ref[-1] if ref else None, loc)
            case ast.InsertStmt(cols=tuple(cols), selectStmt=ast.SelectStmt(valuesLists=rows)):
                targets = [c.name if isinstance(c, ast.ResTarget) else None for c in cols]
                for row in rows or ():
                    for column, value in zip(targets, row, strict=False):
                        note(value, column, getattr(value, "location", 0))
            case ast.ResTarget(name=str(column), val=value, indirection=None):
                # UPDATE ... SET col = $1 and ON CONFLICT DO UPDATE SET col = $1
                # (a SELECT's ``$1 AS x`` is a ResTarget too; naming it x is just as good).
                note(value, column, node.location)
            case _:
                pass  # any other node: the default after the match
    names: dict[int, str] = {}
    for _, number, column in sorted(found):
        names.setdefault(number, column)
    return names
