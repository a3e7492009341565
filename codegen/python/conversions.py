"""The Python expressions around a value: loading a column, dumping and checking a parameter.

Each function turns a ``PyType`` (``codegen.python.types``) into an expression, or an
expression template with ``{}`` for the value, for ``plan``; none of them
decides what a type maps to.
"""

from __future__ import annotations

from connlog.codegen.model import AnalyzedQuery, CodegenError, PgType
from connlog.codegen.python.literals import string
from connlog.codegen.python.types import COLUMN_MARK, ENUM_ARRAY_LOADER, Guard, PyType


def optional(annotation: str, nullable: bool) -> str:
    return f"{annotation} | None" if nullable else annotation


def convert(template: str | None, value: str, nullable: bool) -> str:
    """``template`` applied to ``value``; a nullable value's None passes unconverted."""
    if template is None:
        return value
    converted = template.format(value)
    # NULL stays NULL: Jsonb(None) would be the JSON value null, not SQL NULL.
    return f"None if {value} is None else {converted}" if nullable else converted


def load(pytype: PyType, value: str, nullable: bool, column: str) -> str:
    """The expression building a field from ``value``, what psycopg loaded.

    ``column`` describes where the value comes from, for the errors of the loaders.
    """
    if pytype.enum_array:
        loaded = f"{ENUM_ARRAY_LOADER}({pytype.enum_array}, {value}, {string(column)})"
        return f"None if {value} is None else {loaded}" if nullable else loaded
    return convert(pytype.load, value, nullable).replace(COLUMN_MARK, string(column))


def guard_check(guard: Guard, parameter: str) -> str:
    """The call-time check ``guard`` of the parameter ``parameter``, a template on ``{}``."""
    enum = f"{guard.enum}, " if guard.enum else ""
    check = f"{guard.helper}({enum}{{}}, {string(parameter)})"
    if guard.each:
        # The error names the element's position, ``types[1]='telnet'``: the list is not 'telnet'.
        # No braces: the template is formatted again by the steps after this one.
        position = f"{string(parameter + '[')} + str(i) + {string(']')}"
        element = f"{guard.helper}({enum}x, {position})"
        return f"[None if x is None else {element} for i, x in enumerate({{}})]"
    return check


def copy_type(pg: PgType, query: AnalyzedQuery, param: str) -> str:
    """The type name ``Copy.set_types`` dumps a column of ``pg`` as, in binary format."""
    while pg.base is not None:  # a domain is sent as its base type
        pg = pg.base
    if pg.element is not None:
        if pg.element.category != "E":
            return copy_type(pg.element, query, param) + "[]"
    elif pg.category == "E":
        return "text"  # an enum's binary form is its label, as text's is
    elif pg.schema == "pg_catalog" or pg.name == "citext":
        return "text" if pg.name == "citext" else pg.name
    raise CodegenError(
        query.location,
        f"query {query.name} is :copyfrom but parameter {param!r} has type "
        f"{f'{pg.schema}.{pg.name}'!r}, which binary COPY cannot send without its OID",
        "use :batchexec for this table, which sends the rows in one pipelined round trip",
    )
