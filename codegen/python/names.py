"""Python identifiers from SQL names, for plan (and parse's check of query names).

Generated code uses these names as keyword arguments and attributes, so they
must be valid, unique identifiers whatever the SQL author wrote.
"""

from __future__ import annotations

import builtins
import keyword
import re
from collections.abc import Iterable

# Word boundaries of CamelCase: "userID" -> user_id, "HTTPServer" -> http_server.
_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_NOT_WORD = re.compile(r"[^0-9A-Za-z]+")


def snake_case(name: str) -> str:
    """``GetConnectionLog`` -> ``get_connection_log``; may be a keyword or start with a digit."""
    words = _NOT_WORD.split(_CAMEL_BOUNDARY.sub("_", name))
    return "_".join(word.lower() for word in words if word)


def python_identifier(name: str, fallback: str = "param") -> str:
    """A valid Python identifier from any SQL name: snake_case, ASCII, not a keyword."""
    ident = snake_case(name) or fallback
    if ident[0].isdigit():
        ident = f"{fallback}_{ident}"
    # Soft keywords (type, match, case) are legal parameter names; hard ones are not.
    if keyword.iskeyword(ident):
        ident += "_"
    assert ident.isidentifier(), ident
    return ident


def function_name(query: str) -> str:
    """The generated function of query ``query``: snake_case, ``_`` after a keyword or builtin.

    ``In`` -> ``in_``, ``List`` -> ``list_`` (a module-level ``list`` would shadow the
    builtin in every annotation after it), ``GetUser`` -> ``get_user``.
    """
    name = snake_case(query)
    if keyword.iskeyword(name) or keyword.issoftkeyword(name) or hasattr(builtins, name):
        name += "_"
    assert name.isidentifier(), name
    return name


def unique_identifiers(names: Iterable[str], reserved: Iterable[str] = ()) -> tuple[str, ...]:
    """``python_identifier`` of each name, numbered ``_2``, ``_3``... where two collide.

    ``reserved`` names are never produced (e.g. ``conn``, the generated function's
    first parameter).
    """
    used = set(reserved)
    result: list[str] = []
    for name in names:
        base = python_identifier(name)
        ident, n = base, 1
        while ident in used:
            n += 1
            ident = f"{base}_{n}"
        used.add(ident)
        result.append(ident)
    return tuple(result)
