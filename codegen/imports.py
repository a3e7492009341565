"""Import bookkeeping for the generated modules: sets of ``Import`` to sorted lines."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from codegen.types import Import

_STDLIB: Final = frozenset(
    {
        "collections.abc",
        "dataclasses",
        "datetime",
        "decimal",
        "enum",
        "ipaddress",
        "itertools",
        "typing",
        "uuid",
    }
)


def import_lines(imports: Iterable[Import]) -> tuple[str, ...]:
    """Import statements in ruff's isort order: stdlib, third party, then relative."""
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
        kind = 0 if name.isupper() and len(name) > 1 else 1 if name[:1].isupper() else 2
        return kind, name

    lines: list[str] = []
    for number in range(3):
        lines.extend(f"import {m}" for m in sorted(plain) if section(m) == number)
        lines.extend(
            f"from {m} import {', '.join(sorted(modules[m], key=name_key))}"
            for m in sorted(modules, key=lambda m: m.lower())
            if section(m) == number
        )
        if lines and lines[-1] != "":
            lines.append("")
    return tuple(lines[:-1]) if lines else ()


def from_subpackage(imports: Iterable[Import]) -> set[Import]:
    """Relative imports as written one package further down (in ``aio/``)."""
    return {(f".{module}" if module.startswith(".") else module, name) for module, name in imports}
