"""Import bookkeeping for the generated modules: sets of ``Import`` to sorted lines."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from connlog.codegen.python.types import Import

_STDLIB: Final = frozenset(
    {
        "collections.abc",
        "dataclasses",
        "datetime",
        "decimal",
        "enum",
        "functools",
        "ipaddress",
        "itertools",
        "typing",
        "uuid",
    }
)


def import_lines(imports: Iterable[Import]) -> tuple[str, ...]:
    """Import statements in ruff's isort order: stdlib, third party, then relative.

    A name may be ``name as alias``.
    """
    modules: dict[str, set[str]] = {}
    plain: set[str] = set()
    for module, name in imports:
        if name:
            modules.setdefault(module, set()).add(name)
        else:
            plain.add(module)

    def section(module: str) -> int:
        if module.startswith("."):
            return 2
        return 1 if module.split(".")[0] in ("psycopg",) or module not in _STDLIB else 0

    def name_key(name: str) -> tuple[int, str]:
        # isort's order-by-type: CONSTANTS, then Classes, then everything else.
        name = name.split(" as ")[0]
        kind = 0 if name.isupper() and len(name) > 1 else 1 if name[:1].isupper() else 2
        # Case-insensitive within a kind, as isort (and ruff): EVENT_ROWS before EVENTS_BETWEEN.
        return kind, name.lower()

    def from_lines(module: str) -> list[str]:
        # Each ``name as alias`` is a statement of its own (isort's combine-as-imports is
        # off), placed among the module's other names by the name it imports.
        names = sorted(modules[module], key=name_key)
        combined = [name for name in names if " as " not in name]
        statements = [(name_key(name), name) for name in names if " as " in name]
        if combined:
            statements.append((name_key(combined[0]), ", ".join(combined)))
        return [f"from {module} import {names}" for _, names in sorted(statements)]

    lines: list[str] = []
    for number in range(3):
        lines.extend(f"import {m}" for m in sorted(plain) if section(m) == number)
        for m in sorted(modules, key=lambda m: m.lower()):
            if section(m) == number:
                lines.extend(from_lines(m))
        if lines and lines[-1] != "":
            lines.append("")
    return tuple(lines[:-1]) if lines else ()


def from_subpackage(imports: Iterable[Import]) -> set[Import]:
    """Relative imports as written one package further down (in ``aio/``)."""
    return {(f".{module}" if module.startswith(".") else module, name) for module, name in imports}
