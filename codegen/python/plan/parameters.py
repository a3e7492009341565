"""Plan a query's parameters: Python names, annotations, and the values sent for them.

A value is the argument with its call-time checks (an enum label, an aware datetime, a
sequence that is not a str, what the statement implies: ``param_rules``) and its dump
(``Jsonb(...)``) applied, composed from ``conversions``' templates.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from connlog.codegen.model import AnalyzedParam, AnalyzedQuery, CodegenError, CodegenErrors
from connlog.codegen.python.conversions import convert, guard_check, optional
from connlog.codegen.python.forms import Argument
from connlog.codegen.python.literals import string, tuple_literal
from connlog.codegen.python.names import RESERVED_PARAMETER_NAMES, python_identifier
from connlog.codegen.python.types import (
    LABELS_GUARD,
    NON_NEGATIVE_GUARD,
    REQUIRES_GUARD,
    SEQUENCE_GUARD,
    Overrides,
    PyType,
    python_type,
)


@dataclass(frozen=True, slots=True)
class Parameters:
    """A query's parameters as the generated function takes and sends them."""

    # Required keyword parameters first, then the optional ones, each group in SQL order.
    arguments: tuple[Argument, ...]
    values: tuple[str, ...]  # the value sent for each, in SQL order (the placeholders')
    # By parameter number: the value read from ``p``, one parameter set of a batch.
    item_values: Mapping[int, str]
    # Whether a call-time check reads a batch's sets (and may refuse one: ArgumentError).
    items_checked: bool


def parameter_names(params: Sequence[AnalyzedParam]) -> tuple[str, ...]:
    """The Python name of each parameter (see ``names``): unique identifiers.

    A name is changed only to avoid ``RESERVED_PARAMETER_NAMES``; ``conn`` becomes
    ``conn_2``, or ``conn_3`` when another parameter is already ``conn_2``. Two SQL
    names that become one Python name (``@userId`` and ``@user_id``) raise
    CodegenErrors, at the later one's first occurrence.
    """
    bases = [python_identifier(param.name) for param in params]
    errors: list[CodegenError] = []
    first: dict[str, AnalyzedParam] = {}
    for param, base in zip(params, bases, strict=True):
        other = first.setdefault(base, param)
        if other is not param:
            errors.append(
                CodegenError(
                    param.location,
                    f"parameters {other.name!r} and {param.name!r} both become the Python "
                    f"name {base!r}",
                    "spell them the same way to make them one parameter, or rename one",
                )
            )
    if errors:
        raise CodegenErrors(errors)
    used = set(RESERVED_PARAMETER_NAMES) | set(bases)
    names: list[str] = []
    for base in bases:
        ident, n = base, 1
        while base in RESERVED_PARAMETER_NAMES and ident in used:
            n += 1
            ident = f"{base}_{n}"
        used.add(ident)
        names.append(ident)
    return tuple(names)


def plan_parameters(query: AnalyzedQuery, overrides: Overrides, *, batch: bool) -> Parameters:
    """The arguments of ``query``'s function and the values sent for them.

    ``batch``: the function takes an iterable of Params, whose class alone names the
    parameters' types.
    """
    arguments: list[Argument] = []
    values: list[str] = []
    item_values: dict[int, str] = {}
    items_checked = False
    idents = parameter_names(query.params)
    named = {p.number: (p, i) for p, i in zip(query.params, idents, strict=True)}
    for param, ident in zip(query.params, idents, strict=True):
        pytype = python_type(
            param.type,
            where=query.location,
            subject=f"parameter {param.name!r} of query {query.name}",
            overrides=overrides,
            column=param,
        )
        if query.param_rows:
            argument, checked = _row_field(query, param, pytype, ident, overrides)
            items_checked = items_checked or checked
            arguments.append(argument)
            values.append(argument.value)
            item_values[param.number] = argument.value
            continue
        check: str | None = None  # a template on ``{}``, applied before ``dump``
        if pytype.array:
            check = f"{SEQUENCE_GUARD}({{}}, {string(ident)})"
        if pytype.guard is not None:
            guarded = guard_check(pytype.guard, ident)
            check = guarded if check is None else guarded.format(check)
        dump = pytype.dump
        if check is not None:
            dump = check if dump is None else dump.format(check)
        rules = _rule_checks(param, pytype, ident, named)
        items_checked = items_checked or check is not None or bool(rules.check)
        item_values[param.number] = convert(
            _then(dump, rules.check.format(other="p.")), f"p.{ident}", param.nullable
        )
        dump = _then(dump, rules.check.format(other=""))
        value = convert(dump, ident, param.nullable)
        annotation = optional(rules.annotation or pytype.parameter, param.nullable)
        # Only a parameter written sqlc.narg() is optional; one that is merely nullable
        # (inserted into a nullable column) must still be given, possibly as None.
        default = " = None" if param.narg else ""
        arguments.append(Argument(ident, annotation, value, default))
        values.append(value)
    # Required keyword parameters first, then the optional ones, each group in SQL order (the
    # values keep SQL order: they follow the placeholders).
    arguments.sort(key=lambda argument: bool(argument.default))
    return Parameters(tuple(arguments), tuple(values), item_values, items_checked)


def _row_field(
    query: AnalyzedQuery, param: AnalyzedParam, pytype: PyType, ident: str, overrides: Overrides
) -> tuple[Argument, bool]:
    """A field of a ``-- params: rows`` query's Params class, the array built from it, and
    whether a call-time check reads the field.

    The array parameter ``@x::T[]`` becomes the field ``x: T`` of each row, ``T | None =
    None`` when written ``sqlc.narg(x)``; the array sent is ``[p.x for p in rows]``, each
    element checked (then through ``batch``) and dumped as a parameter of type ``T`` would be.
    """
    element_pg = param.type.element
    if not pytype.array or element_pg is None:
        raise CodegenError(
            param.location,
            f"query {query.name} takes `-- params: rows`, but parameter {param.name!r} "
            "is not an array",
            f"write it as an array of one value per row (@{param.name}::type[]), "
            "or drop `-- params: rows`",
        )
    # Overridden as a parameter of the element's type would be: without them a type override's
    # dump was never called (its value was sent as it was).
    element = python_type(
        element_pg,
        where=query.location,
        subject=f"parameter {param.name!r} of query {query.name}",
        overrides=overrides,
    )
    template = element.dump
    if element.guard is not None:
        check = guard_check(element.guard, ident)
        template = check if template is None else template.format(check)
    item = convert(template, f"p.{ident}", param.narg)
    checked = element.guard is not None
    # A checked field reads the rows through the ``_Batch`` that names a refused row.
    argument = Argument(
        ident,
        optional(element.parameter, param.narg),
        f"[{item} for p in {'batch' if checked else 'rows'}]",
        " = None" if param.narg else "",
    )
    return argument, checked


@dataclass(frozen=True, slots=True)
class _RuleChecks:
    """The checks a parameter's rules (``AnalyzedParam``) add at the call."""

    # A template on ``{{}}`` (the value) and ``{other}``, the prefix of other parameters'
    # names (``p.`` in a batch); "" when there is none.
    check: str = ""
    annotation: str = ""  # a narrower annotation than the type's (``Literal[...]``)


def _rule_checks(
    param: AnalyzedParam,
    pytype: PyType,
    ident: str,
    by_number: Mapping[int, tuple[AnalyzedParam, str]],
) -> _RuleChecks:
    """Checks for what the statement implies about the parameter: see ``param_rules``.

    Only plain values get them: an overridden type (or an array) is the override's business.
    """
    check = ""
    annotation = ""
    name = _escaped(string(ident))

    def then(template: str) -> None:
        nonlocal check
        check = template if not check else check.replace("{{}}", template, 1)

    if param.non_negative and pytype.annotation == "int":
        then(f"{NON_NEGATIVE_GUARD}({{{{}}}}, {name})")
    if param.labels and pytype.annotation == "str":
        labels = _escaped(tuple_literal(param.labels))
        then(f"{LABELS_GUARD}({{{{}}}}, {labels}, {name})")
        annotation = f"Literal[{', '.join(string(label) for label in param.labels)}]"
    other = by_number.get(param.requires) if param.requires is not None else None
    if other is not None and param.narg and other[0].narg:
        needs = _escaped(string(other[1]))
        then(f"{REQUIRES_GUARD}({{{{}}}}, {{other}}{other[1]}, {name}, {needs})")
    return _RuleChecks(check, annotation)


def _escaped(literal: str) -> str:
    """``literal`` safe inside a template that is ``str.format``-ed twice."""
    return literal.replace("{", "{{{{").replace("}", "}}}}")


def _then(dump: str | None, check: str) -> str | None:
    """The template applying ``check`` (a template on ``{}``) and then ``dump``."""
    if not check:
        return dump
    return check if dump is None else dump.format(check)
