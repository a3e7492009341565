"""Python names from SQL names, for plan (and parse's check of query names).

Generated code uses these names as keyword arguments and attributes, so they
must be valid, unique identifiers whatever the SQL author wrote. The rules
(documented in docs/generator.md):

- a parameter's Python name is the snake_case of its SQL name (``@userId`` ->
  ``user_id``), a keyword gets a final ``_`` (``@from`` -> ``from_``), and one
  of the generated function's own names (``conn``, ``cur``, ``row``) is numbered
  (``conn_2``); two SQL names becoming one Python name is an error;
- a query ``GetConnectionLog`` becomes the function ``get_connection_log``, its
  SQL the constant ``GET_CONNECTION_LOG`` and its row ``GetConnectionLogRow``;
- a PostgreSQL enum ``user_status`` becomes ``class UserStatus(StrEnum)`` whose
  members are the labels in UPPER_SNAKE case (``'active'`` -> ``ACTIVE``);
- a table becomes the CamelCase of its name made singular: ``-ies`` -> ``-y``
  (``policies`` -> ``Policy``); ``-sses``, ``-xes``, ``-ches``, ``-shes`` and
  ``-tuses`` lose ``-es`` (``addresses`` -> ``Address``, ``statuses`` ->
  ``Status``); otherwise a final ``s`` not after another ``s`` goes
  (``connection_logs`` -> ``ConnectionLog``, ``users`` -> ``User``).
"""

from __future__ import annotations

import builtins
import keyword
import re
from collections.abc import Iterable
from typing import Final

# The modules of an out package beside the query modules.
MODELS_MODULE: Final = "models"
# The helpers query modules share (call-time checks, the enum array loader), once per
# out package: a private module with public names, imported under the private names
# the function bodies call (``types.ENUM_GUARD``...).
RUNTIME_MODULE: Final = "_runtime"
# The migrations generated from, and ``verify_schema``.
MIGRATIONS_MODULE: Final = "_migrations"
AIO_PACKAGE: Final = "aio"  # the asyncio twins: ``aio/<stem>.py``
# The generated function's own names (its first parameter, its locals): parameters are
# renamed around them.
RESERVED_PARAMETER_NAMES: Final = frozenset({"conn", "cur", "row"})

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


def class_name(snake: str) -> str:
    """CamelCase of a snake_case (or any non-alphanumeric separated) name."""
    parts = [part for part in "".join(c if c.isalnum() else "_" for c in snake).split("_") if part]
    name = "".join(part[:1].upper() + part[1:] for part in parts)
    return name if name and not name[0].isdigit() else "T" + name


def singular(table: str) -> str:
    """The documented singular of a table name (see the module docstring)."""
    for plural in ("ies", "sses", "xes", "ches", "shes", "tuses"):
        if table.endswith(plural) and len(table) > len(plural):
            return table[:-3] + "y" if plural == "ies" else table[:-2]
    if table.endswith("s") and not table.endswith("ss") and len(table) > 1:
        return table[:-1]
    return table


def model_name(schema: str, table: str) -> str:
    """A table's model class: ``Invoice`` for public.invoices, ``BillingInvoice`` for
    billing.invoices (as sqlc names a struct outside the default schema)."""
    name = class_name(singular(table))
    return name if schema == "public" else class_name(schema) + name


def model_field(key: str) -> str:
    """The field holding an embedded table's model: ``invoice``, ``billing_invoice``."""
    schema, _, table = key.rpartition(".")
    return f"{schema}_{singular(table)}" if schema else singular(table)


def builder_name(cls: str) -> str:
    """The module constant holding the fast constructor of ``cls``: ``_new_connection_log``."""
    return f"_new_{snake_case(cls)}"
