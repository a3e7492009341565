"""What a statement tells about the values its parameters may sensibly take.

PostgreSQL types a parameter but says nothing of the values a query can use; some
mistakes it accepts silently. Three rules are read from the statement itself, so the
generated function can refuse such a value at the call, naming the parameter:

- a parameter feeding ``LIMIT`` or ``OFFSET`` must not be negative: ``LIMIT @cap + 1``
  with ``cap = -1`` is ``LIMIT 0``, an answer of nothing to a question nobody asked;
- a parameter that is only tested for NULL and compared with fixed string labels
  (``CASE @status WHEN 'ongoing' ... WHEN 'completed'``, ``@kind = 'a'``,
  ``@kind IN ('a', 'b')``) can usefully be only one of those labels: any other value
  matches nothing, silently;
- a parameter read only where another one is known not NULL (inside
  ``CASE WHEN @b IS NULL THEN ... ELSE <here> END``) is ignored when the other is
  missing: given alone, it is a mistake.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import cast

from pglast import ast
from pglast.enums.parsenodes import A_Expr_Kind
from pglast.enums.primnodes import NullTestType
from pglast.parser import parse_sql

from connlog.codegen.parsing.sqlast import param_number

# A node and the path to it: each ancestor with the field of it the path goes through.
_Path = tuple[tuple[ast.Node, str], ...]


@dataclass(frozen=True, slots=True)
class ParamRules:
    """The rules found, by parameter number."""

    non_negative: frozenset[int] = frozenset()
    labels: dict[int, tuple[str, ...]] = field(default_factory=dict[int, tuple[str, ...]])
    requires: dict[int, int] = field(default_factory=dict[int, int])


def param_rules(statement: str) -> ParamRules:
    (raw,) = parse_sql(statement)
    non_negative: set[int] = set()
    labels: dict[int, list[str]] = {}
    not_labels: set[int] = set()
    guards: dict[int, set[int | None]] = {}  # the parameter each use is guarded by
    assert raw.stmt is not None, statement
    # In the order written, so labels are listed as the SQL lists them.
    refs = sorted(_param_refs(raw.stmt), key=lambda found: _location(found[0]))
    for ref, path in refs:
        number = ref.number
        assert isinstance(number, int), ref
        if _counts_rows(path):
            non_negative.add(number)
        compared = _labels_compared(path)
        if compared is None:
            not_labels.add(number)
        else:
            labels.setdefault(number, []).extend(compared)
        guards.setdefault(number, set()).add(_guard(path, number))
    requires: dict[int, int] = {}
    for number, by in guards.items():
        (only,) = by if len(by) == 1 else (None,)
        if only is not None:
            requires[number] = only
    return ParamRules(
        frozenset(non_negative),
        {
            number: tuple(dict.fromkeys(found))
            for number, found in labels.items()
            if number not in not_labels and found
        },
        requires,
    )


def _param_refs(node: ast.Node) -> Iterator[tuple[ast.ParamRef, _Path]]:
    stack: list[tuple[object, _Path]] = [(node, ())]
    while stack:
        item, path = stack.pop()
        if isinstance(item, ast.ParamRef):
            yield item, path
        elif isinstance(item, ast.Node):
            for member in item:
                child = getattr(item, member)
                stack.extend((c, (*path, (item, member))) for c in _flattened(child))


def _flattened(child: object) -> Iterator[object]:
    """A member's nodes; nested tuples too (a FROM function's arguments are a list of lists)."""
    if isinstance(child, tuple):
        for element in cast("tuple[object, ...]", child):
            yield from _flattened(element)
    else:
        yield child


def _counts_rows(path: _Path) -> bool:
    """The use is (part of) a LIMIT or OFFSET value, not a filter of a subquery inside one."""
    inside = [i for i, (_, name) in enumerate(path) if name in ("limitCount", "limitOffset")]
    return bool(inside) and not any(
        isinstance(node, ast.SubLink) for node, _ in path[inside[-1] + 1 :]
    )


def _location(node: ast.ParamRef) -> int:
    return node.location if isinstance(node.location, int) else 0


def _uncast(path: _Path) -> _Path:
    """``path`` without the casts directly around its end: ``$1::text`` is ``$1``."""
    while path and isinstance(path[-1][0], ast.TypeCast):
        path = path[:-1]
    return path


def _labels_compared(path: _Path) -> list[str] | None:
    """The labels this use compares the parameter with ([] for a NULL test), else None."""
    path = _uncast(path)
    if not path:
        return None
    parent, member = path[-1]
    match parent:
        case ast.NullTest():
            return []
        case ast.CaseExpr(args=tuple(whens)) if member == "arg":
            found = [_string(cast("ast.CaseWhen", when).expr) for when in whens]
            return None if None in found else [s for s in found if s is not None]
        case ast.A_Expr(kind=A_Expr_Kind.AEXPR_OP, name=(ast.String(sval="=" | "<>"),)):
            other = parent.rexpr if member == "lexpr" else parent.lexpr
            label = _string(other)
            return None if label is None else [label]
        case ast.A_Expr(kind=A_Expr_Kind.AEXPR_IN, rexpr=tuple(items)) if member == "lexpr":
            found = [_string(item) for item in items]
            return None if None in found else [s for s in found if s is not None]
        case _:
            return None


def _string(node: object) -> str | None:
    match node:
        case ast.A_Const(val=ast.String(sval=str(value))):
            return value
        case ast.TypeCast(arg=inner):
            return _string(inner)
        case _:
            return None


def _guard(path: _Path, number: int) -> int | None:
    """The other parameter this use is read only without being NULL, if any."""
    for index, (node, member) in enumerate(path):
        if not isinstance(node, ast.CaseExpr) or node.arg is not None:
            continue
        whens = cast("tuple[ast.CaseWhen, ...]", node.args or ())
        if len(whens) != 1:
            continue
        test = whens[0].expr
        if not isinstance(test, ast.NullTest):
            continue
        other = param_number(test.arg)
        if other is None or other == number:
            continue
        is_null = test.nulltesttype == NullTestType.IS_NULL
        # ELSE of ``WHEN b IS NULL``, or THEN of ``WHEN b IS NOT NULL``: b is not NULL there.
        inside_result = index + 1 < len(path) and path[index + 1][0] is whens[0]
        if (is_null and member == "defresult") or (
            not is_null and member == "args" and inside_result and path[index + 1][1] == "result"
        ):
            return other
    return None
